// The play barrier alone: meetings, once results, agreement, leaving, and the --forks place given up while waiting.
import { describe, expect, it } from 'vitest';
import { PlayBarrier } from '../../../src/engine/barrier.js';
import { Semaphore } from '../../../src/engine/semaphore.js';

const tick = () => new Promise((r) => setTimeout(r, 0));
/** A barrier for these hosts whose callers each hold a place of a semaphore with room for all. */
async function barrier(hosts: string[]) {
  const sem = new Semaphore(hosts.length);
  for (const _ of hosts) await sem.acquire();
  return new PlayBarrier(hosts, sem);
}

describe('PlayBarrier', () => {
  it('a meeting ends only when every host has arrived; nobody is missing', async () => {
    const b = await barrier(['a', 'b', 'c']);
    let done = false;
    b.arrive('k', 'a');
    const m = b.meet('k').then((x) => { done = true; return x; });
    b.arrive('k', 'b');
    await tick();
    expect(done).toBe(false);
    b.arrive('k', 'c');
    expect(await m).toEqual([]);
    expect(b.runner).toBe('a');
  });

  it('a host that leaves early without arriving ends the wait and is named; one that simply finished is not', async () => {
    const b = await barrier(['a', 'b', 'c']);
    b.arrive('k', 'a');
    const m = b.meet('k');
    b.leave('c', false); // its play had no such task (e.g. `when` false)
    b.leave('b', true); // failed on the way
    expect(await m).toEqual(['b']);
  });

  it('a host that left early after arriving is not missing', async () => {
    const b = await barrier(['a', 'b']);
    b.arrive('k', 'b');
    b.leave('b', true);
    b.arrive('k', 'a');
    expect(await b.meet('k')).toEqual([]);
  });

  it('the first once result counts; waiters get it', async () => {
    const b = await barrier(['a', 'b']);
    const r = b.onceResult('k');
    b.settleOnce('k', 'changed');
    b.settleOnce('k', 'failed');
    expect(await r).toBe('changed');
    expect(await b.onceResult('k')).toBe('changed');
  });

  it('agree hands every host the values of all, once all have planned', async () => {
    const b = await barrier(['a', 'b']);
    const ra = b.agree('a', 'disk', 'x');
    const rb = b.agree('b', 'disk', 'y');
    const [ma, mb] = await Promise.all([ra, rb]);
    expect([...ma]).toEqual([['a', 'x'], ['b', 'y']]);
    expect(mb).toBe(ma);
  });

  it('a waiting host gives its --forks place up, so that the host it waits for can get there', async () => {
    const sem = new Semaphore(1);
    const b = new PlayBarrier(['a', 'b'], sem);
    const hostA = sem.with(async () => { b.arrive('k', 'a'); return b.meet('k'); });
    const hostB = sem.with(async () => { b.arrive('k', 'b'); return b.meet('k'); });
    expect(await Promise.all([hostA, hostB])).toEqual([[], []]);
  });
});
