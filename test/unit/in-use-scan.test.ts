// The open-file scan of IN_USE_SH, run by a real sh over a fake /proc tree. CI once saw a udev blkid (a read-only probe)
// reported as a writer of the shared disk: it exited between the scan's find and its fdinfo read, and a missing
// flags value counted as read-write. A process that is gone holds nothing; an fd still open with unreadable flags does.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_DAEMONS, daemonsSh, IN_USE_SH, openScanSh } from '../../src/modules/support/disks.js';

type Proc = { pid: number; fd: number; dev: string; comm?: string; flags?: string };
let root = '';
afterEach(() => { if (root) rmSync(root, { recursive: true, force: true }); });

function scan(procs: Proc[], prelude = ''): string[] {
  root = mkdtempSync(join(tmpdir(), 'cf-proc-'));
  for (const p of procs) {
    mkdirSync(join(root, String(p.pid), 'fd'), { recursive: true });
    mkdirSync(join(root, String(p.pid), 'fdinfo'), { recursive: true });
    symlinkSync(p.dev, join(root, String(p.pid), 'fd', String(p.fd)));
    if (p.comm !== undefined) writeFileSync(join(root, String(p.pid), 'comm'), `${p.comm}\n`);
    if (p.flags !== undefined) writeFileSync(join(root, String(p.pid), 'fdinfo', String(p.fd)), `pos:\t0\nflags:\t${p.flags}\nmnt_id:\t20\n`);
  }
  const mine = IN_USE_SH.split('\n')[0]!;
  const script = [`ROOT=${root}`, 'D=/dev/cfx; P=/dev/cfx', mine, prelude, openScanSh(root)].join('\n');
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

describe('open-file scan (IN_USE_SH)', () => {
  it('IN_USE_SH scans the real /proc with it', () => {
    expect(IN_USE_SH).toContain(openScanSh('/proc'));
  });
  it('names writers and non-probe readers of the disk or its partitions; skips read-only probes, other disks, gone processes', () => {
    expect(scan([
      { pid: 11, fd: 3, dev: '/dev/cfx1', comm: 'blkid', flags: '0100000' },   // probe, read-only: no holder
      { pid: 12, fd: 4, dev: '/dev/cfx1', comm: 'blkid', flags: '0100002' },   // probe opened read-write: a holder
      { pid: 13, fd: 5, dev: '/dev/cfx', comm: 'sbd', flags: '0100000' },      // reader that is not a probe
      { pid: 14, fd: 6, dev: '/dev/cfx2', comm: 'dd', flags: '01' },           // probe name but write-only
      { pid: 15, fd: 7, dev: '/dev/other1', comm: 'mkfs', flags: '02' },       // another disk
      { pid: 16, fd: 8, dev: '/dev/cfx3', flags: '02' },                        // comm gone: exited
      { pid: 17, fd: 9, dev: '/dev/cfx10', comm: 'sleep' },                     // fd open, flags unreadable: counted
    ])).toEqual([
      'open /dev/cfx pid 13 (sbd)',
      'open /dev/cfx1 pid 12 (blkid)',
      'open /dev/cfx10 pid 17 (sleep)',
      'open /dev/cfx2 pid 14 (dd)',
    ]);
  });
  it('a probe that exits between the find and the fdinfo read is no holder (the CI flake)', () => {
    // sed is what reads fdinfo: make the process exit right then
    const exitOnRead = 'sed() { case "$*" in *"/21/fdinfo/"*) rm -rf "$ROOT/21/fd/3" "$ROOT/21/fdinfo/3"; return 0;; esac; command sed "$@"; }';
    expect(scan([
      { pid: 21, fd: 3, dev: '/dev/cfx3', comm: 'blkid', flags: '0100000' },
      { pid: 22, fd: 4, dev: '/dev/cfx3', comm: 'mkfs.ext3', flags: '0100002' },
    ], exitOnRead)).toEqual(['open /dev/cfx3 pid 22 (mkfs.ext3)']);
  });
});

describe('cluster daemons (IN_USE_SH): one pgrep for every name', () => {
  /** Start copies of sleep named as given (comm = the file name); the scan's lines; the copies are killed and reaped. */
  async function running(names: string[], wanted: string[]): Promise<string[]> {
    root = mkdtempSync(join(tmpdir(), 'cf-daemons-'));
    const kids = names.map((n, i) => {
      mkdirSync(join(root, String(i)));
      const bin = join(root, String(i), n);
      copyFileSync('/bin/sleep', bin);
      chmodSync(bin, 0o755);
      return spawn(bin, ['30'], { stdio: 'ignore' });
    });
    await Promise.all(kids.map((k) => new Promise((res, rej) => { k.once('spawn', res); k.once('error', rej); })));
    try {
      return execFileSync('sh', ['-c', daemonsSh(wanted)], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } finally {
      await Promise.all(kids.map((k) => new Promise((res) => { k.once('exit', res); k.kill('SIGKILL'); })));
    }
  }
  const uniq = `cfd${process.pid}`; // names no other process on the machine has

  it('IN_USE_SH uses it for the cluster daemons', () => {
    expect(IN_USE_SH).toContain(daemonsSh(CLUSTER_DAEMONS));
  });
  it('names each running one once, in the order asked, and only whole names', async () => {
    expect(await running([`${uniq}b`, `${uniq}a`, `${uniq}a`, `x${uniq}c`], [`${uniq}a`, `${uniq}b`, `${uniq}c`, `${uniq}d`]))
      .toEqual([`daemon - ${uniq}a running`, `daemon - ${uniq}b running`]);
  });
  it('nothing running: no line, and the script still succeeds', async () => {
    expect(await running([], [`${uniq}a`])).toEqual([]);
  });
});
