// The engine: plays in order with a barrier between them, hosts of a play in parallel, tasks of a host in order.
// This file only orchestrates: which hosts (--limit), render (render.ts), connect (connect.ts), each play (play.ts),
// the recap (recap.ts).
import type { HostEntry, Inventory } from '../inventory/load.js';
import { resolveTargets } from '../inventory/load.js';
import type { PlaySpec } from '../playbook/schema.js';
import { InputError } from '../util/input.js';
import type { Transport } from '../transport/types.js';
import { closeAll, connectAll } from './connect.js';
import { Reporter } from './events.js';
import type { HostState, RunScope } from './host-state.js';
import { runPlay, type RunEnv } from './play.js';
import { Generation } from './probe-cache.js';
import { withStats } from './recap.js';
import { Renderer, type HostTasks } from './render.js';
import type { EngineEvent, RunFlags, RunResult } from './types.js';

export interface RunOptions {
  mode: RunResult['mode'];
  inventory: Inventory;
  plays: PlaySpec[];
  limit?: string;
  forks?: number;
  flags?: Partial<RunFlags>;
  waitLockSec?: number;
  /** the sudo password for one host (its own become_password_env), if it has one: never shared between hosts */
  becomePasswordFor?: (h: HostEntry) => string | undefined;
  onEvent?: (e: EngineEvent) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
  transport: (h: HostEntry) => Transport;
}

/** Which hosts the run touches: --limit's, each play's members, and those of them --limit leaves in. */
export interface Targets {
  /** the hosts --limit names (all without it), in inventory order */
  targets: string[];
  /** per play: all of its hosts */
  playMembers: string[][];
  /** per play: its hosts that --limit leaves in */
  playHosts: string[][];
  /** every host some play runs on */
  needed: HostEntry[];
}

export function resolveRunTargets(inv: Inventory, plays: PlaySpec[], limit = 'all'): Targets {
  const { hosts: targets, unknown } = resolveTargets(inv, limit);
  if (unknown.length) throw new InputError([{ file: '--limit', line: 0, col: 0, path: '', message: `no host or group named ${unknown.map((u) => `"${u}"`).join(', ')}` }]);
  const playMembers = plays.map((p) => {
    const r = resolveTargets(inv, p.hosts);
    if (r.unknown.length) throw new InputError([{ file: p.where.file, line: p.where.line, col: p.where.col, path: 'hosts', message: `play "${p.name}": no host or group named ${r.unknown.join(', ')}` }]);
    return r.hosts;
  });
  const limited = new Set(targets);
  const playHosts = playMembers.map((m) => m.filter((h) => limited.has(h)));
  const inSomePlay = new Set(playHosts.flat());
  const needed = inv.hosts.filter((h) => inSomePlay.has(h.name));
  return { targets, playMembers, playHosts, needed };
}

/** Every connected host's tasks with its real facts; bad arguments close every host and stop the run (exit 2). */
async function renderConnected(renderer: Renderer, states: Map<string, HostState>): Promise<Map<string, HostTasks>> {
  const alive = [...states.values()].filter((st) => st.alive);
  const rendered = renderer.hosts(alive.map((st) => ({ entry: st.session.entry, facts: st.session.facts })));
  const issues = renderer.takeIssues();
  if (issues.length) {
    await closeAll(states);
    throw new InputError(issues);
  }
  return rendered;
}

export async function runPlaybook(o: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const inv = o.inventory;
  const forks = Math.max(1, o.forks ?? 100);
  const t = resolveRunTargets(inv, o.plays, o.limit);
  const renderer = new Renderer(inv, o.plays, t.playHosts);
  renderer.preflight(t.needed); // before any host is contacted
  const reporter = new Reporter(o.onEvent);
  const scope: RunScope = { inv, flags: { forceDisks: false, ...(o.flags ?? {}) }, dryRun: o.mode === 'plan', generation: new Generation() };
  const states = await connectAll(t.needed, { ...o, forks }, scope, reporter.emit);
  const rendered = await renderConnected(renderer, states);
  const interrupted = () => o.signal?.aborted === true;
  const env: RunEnv = { ...t, ...scope, states, forks, rendered, emit: reporter.emit, report: reporter.task, progress: o.onEvent, interrupted, signal: o.signal };
  for (const [pi, play] of o.plays.entries()) await runPlay(env, pi, play);
  const hosts = t.needed.map((h) => { const st = states.get(h.name)!; return withStats(st.recap, st.session.transport.stats); });
  await closeAll(states);
  return { mode: o.mode, hosts, events: reporter.events, wallMs: Date.now() - started, interrupted: interrupted() };
}
