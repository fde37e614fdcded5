// lab up refuses a running lab of the same name that another state directory started (it adopted it before, and every
// ssh then failed with HOST KEY CHANGED: the hosts had the other checkout's keys).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimOwner, ownerConflict, ownerFile, readOwner, releaseOwner } from '../../src/lab/owner.js';

let dir = '';
afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('lab owner', () => {
  const base = { lab: 'demo', stateDir: '/srv/a/.lab/demo' };
  it.each([
    ['not running: no conflict, whatever the owner file says', { running: false, owner: '/srv/b/.lab/demo', ownState: false }, undefined],
    ['running, started from here', { running: true, owner: '/srv/a/.lab/demo', ownState: true }, undefined],
    ['running, no owner recorded, this state directory started it (an older version)', { running: true, ownState: true }, undefined],
    ['running from another state directory', { running: true, owner: '/srv/b/.lab/demo', ownState: false }, /^lab demo is already running from \/srv\/b\/\.lab\/demo, not \/srv\/a\/\.lab\/demo: .*lab down INVENTORY.*another cluster name/],
    ['running from another state directory, even with a state file here (an earlier lab of ours went)', { running: true, owner: '/srv/b/.lab/demo', ownState: true }, /from \/srv\/b\/\.lab\/demo/],
    ['running, nobody recorded, never started from here', { running: true, ownState: false }, /already running from another state directory \(none recorded\)/],
  ] as const)('%s', (_n, o, want) => {
    const r = ownerConflict({ ...base, ...o });
    if (want === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(want);
  });
  it('claim writes the state directory, read returns it, release removes it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cf-owner-'));
    expect(readOwner('demo', dir)).toBeUndefined();
    await claimOwner(base, join(dir, 'labs'));
    expect(readFileSync(ownerFile('demo', join(dir, 'labs')), 'utf8')).toBe('/srv/a/.lab/demo\n');
    expect(readOwner('demo', join(dir, 'labs'))).toBe('/srv/a/.lab/demo');
    await releaseOwner('demo', join(dir, 'labs'));
    expect(readOwner('demo', join(dir, 'labs'))).toBeUndefined();
    await releaseOwner('demo', join(dir, 'labs')); // idempotent
  });
});
