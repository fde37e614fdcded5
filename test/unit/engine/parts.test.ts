// The small parts: recap counting, the semaphore, who is missing for a once-task's peers.
import { describe, expect, it } from 'vitest';
import { countTask, newRecap, withStats } from '../../../src/engine/recap.js';
import { Semaphore } from '../../../src/engine/semaphore.js';
import { peerSource, type PeerLookup } from '../../../src/engine/peers.js';
import { HostSession } from '../../../src/engine/host.js';
import { HostState } from '../../../src/engine/host-state.js';
import { Generation } from '../../../src/engine/probe-cache.js';
import { taskEvent } from '../../../src/engine/task.js';
import { FakeLab } from '../../support/fake-transport.js';
import { inventory, kv, peersKv } from './fixtures.js';

describe('recap', () => {
  it('counts each status and prefixes warnings with the task; stats are a copy', () => {
    const r = newRecap('n1');
    const t = { name: 'x', module: { name: 'kv' } } as never;
    for (const status of ['ok', 'changed', 'changed', 'failed', 'skipped'] as const) countTask(r, taskEvent('n1', 'p', t, { status, warnings: status === 'ok' ? ['no raw driver'] : [] }));
    expect(r).toMatchObject({ ok: 1, changed: 2, failed: 1, skipped: 1, warnings: ['x: no raw driver'] });
    const stats = { connections: 1, commands: 2, busyMs: 3, bytesIn: 4, bytesOut: 5 };
    expect(withStats(r, stats).stats).toEqual(stats);
    stats.commands = 9;
    expect(r.stats!.commands).toBe(2);
  });
});

describe('Semaphore', () => {
  it('lets at most N run at once, in the order they asked', async () => {
    const sem = new Semaphore(2);
    let active = 0, most = 0;
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3, 4].map((i) => sem.with(async () => {
      order.push(i);
      most = Math.max(most, ++active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
    })));
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('peers: who is missing and why', () => {
  const inv = inventory(['n1', 'n2']);
  const lab = new FakeLab();
  const state = () => new HostState(new HostSession(inv.host('n2'), lab.transport(inv.host('n2'))), { inv, flags: { forceDisks: false }, dryRun: false, generation: new Generation() });
  const task = (module = peersKv, skip = false) => ({ key: 't0.1.0', spec: {} as never, name: 'look', module, args: { key: 'k' }, skip });
  const lookup = (st?: HostState, t = task()): PeerLookup => ({ targets: st ? ['n1', 'n2'] : ['n1'], states: new Map(st ? [['n2', st]] : []), taskOn: () => t });
  const why = (l: PeerLookup) => { const s = peerSource('n2', 't0.1.0', l); return 'missing' in s ? s.missing : 'read'; };

  it('left out by --limit, unreachable (with why), failed, or the task is not for it', () => {
    expect(why(lookup())).toBe('left out by --limit');
    const st = state();
    expect(why(lookup(st))).toBe('unreachable');
    st.markUnreachable('no route to host');
    expect(why(lookup(st))).toBe('unreachable (no route to host)');
    st.alive = true;
    expect(why(lookup(st))).toBe('read');
    expect(why(lookup(st, task(peersKv, true)))).toBe('the task does not apply to it here');
    expect(why(lookup(st, task(kv)))).toBe('the task does not apply to it here');
    st.failed = true;
    expect(why(lookup(st))).toBe('stopped earlier in this run after a failed task');
  });
});
