// One round trip's read script under a real sh: a snippet that several tasks read runs once, and every task gets
// its answer (issue #17: the HA members' three identical in-use scans of the shared disk were ~85 ms each).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRound, withCopies } from '../../../src/engine/script.js';

const dir = mkdtempSync(join(tmpdir(), 'cf-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the sections as the engine does (readRound: distinct ones only), under sh; which ran, and the result. */
function probe(sections: [string, string][]) {
  const read = readRound(sections);
  const out = execFileSync('sh', ['-c', read.script], { encoding: 'utf8', env: { ...process.env, LOG: join(dir, 'log') } });
  rmSync(join(dir, 'log'), { force: true });
  return { unique: read.sections, res: read.parse(out) };
}

describe('distinct read snippets in one round trip', () => {
  it('a repeated snippet runs once; every name gets its output, stderr and exit code', () => {
    const scan = 'echo scan >> "$LOG"; wc -l < "$LOG" | tr -d " "; echo warn >&2; exit 3';
    const { unique, res } = probe([['t1/inuse', scan], ['t1/dev', 'echo /dev/vdb'], ['t2/inuse', scan], ['t3/inuse', scan], ['t3/dev', 'echo /dev/vdb']]);
    expect(unique.map(([n]) => n)).toEqual(['t1/inuse', 't1/dev']);
    for (const n of ['t1/inuse', 't2/inuse', 't3/inuse']) expect(res[n]).toEqual({ out: '1\n', err: 'warn\n', rc: 3 });
    for (const n of ['t1/dev', 't3/dev']) expect(res[n]).toEqual({ out: '/dev/vdb\n', err: '', rc: 0 });
  });

  it('different snippets all run, in order, even when their names repeat a section name', () => {
    const { unique, res } = probe([['a/x', 'echo one >> "$LOG"; cat "$LOG"'], ['b/x', 'echo two >> "$LOG"; cat "$LOG"']]);
    expect(unique).toHaveLength(2);
    expect(res['a/x']!.out).toBe('one\n');
    expect(res['b/x']!.out).toBe('one\ntwo\n');
  });

  it('a copy is a copy: changing one task\'s result leaves the others alone; a missing original gives no copy', () => {
    const res = withCopies({ a: { out: 'x', err: '', rc: 0 } }, [['b', 'a'], ['c', 'gone']]);
    res.b!.out = 'changed';
    expect(res.a!.out).toBe('x');
    expect(res.c).toBeUndefined();
  });
});
