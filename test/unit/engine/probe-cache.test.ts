// The read-ahead cache alone: one round trip for a task and every later unread one; invalidation.
import { describe, expect, it } from 'vitest';
import { Generation, ProbeCache } from '../../../src/engine/probe-cache.js';
import type { TaskInstance } from '../../../src/engine/render.js';
import type { ProbeResult } from '../../../src/engine/types.js';
import { kv } from './fixtures.js';

const task = (key: string, skip = false): TaskInstance => ({ key, spec: {} as TaskInstance['spec'], name: key, module: kv, args: { key }, skip });

/** A cache whose probe answers `<section> = out` from `world` and records every round trip. */
function cache(world: Record<string, string> = {}) {
  const gen = new Generation();
  const trips: string[][] = [];
  const probe = async (sections: [string, string][]): Promise<ProbeResult> => {
    trips.push(sections.map(([n]) => n));
    return Object.fromEntries(sections.map(([n, s]) => [n, { out: world[s] ?? '', err: '', rc: 0 }]));
  };
  const c = new ProbeCache(gen, (t) => ({ cur: `get ${t.key}`, other: 'echo' }), probe);
  return { gen, trips, c };
}

describe('ProbeCache', () => {
  const [a, b, c, skipped] = [task('t0.0.0'), task('t0.1.0'), task('t1.0.0'), task('t0.2.0', true)];

  it('names sections `<task key>/<section>` and keeps each task\'s own under its key', () => {
    const { c: cc } = cache();
    expect(cc.sections([a, b]).map(([n]) => n)).toEqual(['t0.0.0/cur', 't0.0.0/other', 't0.1.0/cur', 't0.1.0/other']);
    cc.store([a, b], { 't0.0.0/cur': { out: '1', err: '', rc: 0 }, 't0.1.0/cur': { out: '2', err: '', rc: 0 } });
    expect(cc.get('t0.1.0')).toEqual({ cur: { out: '2', err: '', rc: 0 } });
  });

  it('reads a task with every later unread task (skipped ones left out) in one round trip', async () => {
    const { c: cc, trips } = cache({ 'get t0.1.0': 'B' });
    await cc.ensure(a, [b, skipped, c]);
    expect((await cc.ensure(b, [c])).cur!.out).toBe('B');
    await cc.ensure(c, []);
    expect(trips).toEqual([['t0.0.0/cur', 't0.0.0/other', 't0.1.0/cur', 't0.1.0/other', 't1.0.0/cur', 't1.0.0/other']]);
  });

  it('after clear() (own change) the next task is read again', async () => {
    const { c: cc, trips } = cache();
    await cc.ensure(a, [b]);
    cc.clear();
    await cc.ensure(b, []);
    expect(trips).toEqual([['t0.0.0/cur', 't0.0.0/other', 't0.1.0/cur', 't0.1.0/other'], ['t0.1.0/cur', 't0.1.0/other']]);
  });

  it('after another host\'s change (the generation bumped) it is not current and reads again', async () => {
    const { c: cc, trips, gen } = cache();
    await cc.ensure(a, [b]);
    expect(cc.current).toBe(true);
    gen.bump();
    expect(cc.current).toBe(false);
    expect(cc.has('t0.1.0')).toBe(true); // dropped at the next lookup, not before
    await cc.ensure(b, []);
    expect(cc.current).toBe(true);
    expect(trips).toHaveLength(2);
  });
});
