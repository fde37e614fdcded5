// Connecting: every host of the run in parallel (at most `forks` at once): connect, take the run lock, read the facts.
import type { HostEntry } from '../inventory/load.js';
import type { Transport } from '../transport/types.js';
import { HostSession, LockedError } from './host.js';
import { HostState, type RunScope } from './host-state.js';
import { Semaphore } from './semaphore.js';
import type { EngineEvent } from './types.js';

export interface ConnectOptions {
  transport: (h: HostEntry) => Transport;
  becomePasswordFor?: (h: HostEntry) => string | undefined;
  waitLockSec?: number;
  log?: (line: string) => void;
  forks: number;
}

/** A state for every host, in the order given; those that could not be opened are unreachable (or locked). */
export async function connectAll(hosts: HostEntry[], o: ConnectOptions, scope: RunScope, emit: (e: EngineEvent) => void): Promise<Map<string, HostState>> {
  const sem = new Semaphore(o.forks);
  const states = new Map<string, HostState>();
  await Promise.all(hosts.map((h) => sem.with(async () => {
    const st = newHostState(h, o, scope, emit);
    states.set(h.name, st);
    await open(st, emit);
  })));
  // in the order given, whichever connected first
  return new Map(hosts.map((h) => [h.name, states.get(h.name)!]));
}

function newHostState(h: HostEntry, o: ConnectOptions, scope: RunScope, emit: (e: EngineEvent) => void): HostState {
  const t = o.transport(h);
  const session = new HostSession(h, t, { becomePassword: o.becomePasswordFor?.(h), waitLockSec: o.waitLockSec, log: o.log });
  const st = new HostState(session, scope);
  t.onLost = (err) => { if (st.lose(err.message)) emit({ type: 'host', host: h.name, status: 'lost', message: err.message }); };
  return st;
}

async function open(st: HostState, emit: (e: EngineEvent) => void): Promise<void> {
  try {
    await st.session.open();
    st.alive = true;
    const t = st.session.transport;
    emit({ type: 'host', host: st.name, status: 'connected', message: t.hostKeyNote ?? undefined, ...(t.endpoint ? { endpoint: t.endpoint } : {}) });
  } catch (e) {
    st.markUnreachable((e as Error).message);
    emit({ type: 'host', host: st.name, status: e instanceof LockedError ? 'locked' : 'unreachable', message: (e as Error).message });
    await st.session.close().catch(() => {});
  }
}

export async function closeAll(states: Map<string, HostState>): Promise<void> {
  await Promise.all([...states.values()].map((s) => s.session.close().catch(() => {})));
}
