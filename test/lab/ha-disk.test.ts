// HA disk modules on a real loop device: read snippets through a local shell, planned actions applied with applyScript.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyScript, nonce, parseProbe, probeScript } from '../../src/engine/script.js';
import type { ModuleDef, Plan } from '../../src/engine/types.js';
import { diskLayout } from '../../src/modules/ha/disk_layout.js';
import { partitionTable } from '../../src/modules/ha/partition_table.js';
import { filesystem } from '../../src/modules/ha/filesystem.js';
import { type CtxOpts, type FactsOver, makeCtx, runModule } from '../support/module-harness.js';

const root = process.getuid?.() === 0;

describe.skipIf(!root)('HA disk modules on a loop device', () => {
  let dir = '';
  let loop = '';
  const loops: string[] = [];
  const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  const facts: FactsOver = { hostname: 'lab', os: { id: 'debian', like: [], version: '12', family: 'debian' }, kernel: os.release(), init: 'none', pkg: 'apt', uid: 0, features: { ipvs: 'none', raw: 'none', ipip: 'none', arpHidden: false, udevRaw: false }, tools: {} };
  const ha = (disk: string, over: Record<string, unknown> = {}) => ({
    members: ['lab'], shared_disk: disk, disk_label: 'dos' as const, quorum: { size: '10M', primary: '/dev/raw/raw1', shadow: '/dev/raw/raw2' }, cluster_managed_services: [],
    services: [
      { name: 'nfs', address: '10.0.0.50', size: '20M', fstype: 'ext3' as const, mountpoint: '/srv/nfs' },
      { name: 'smb', address: '10.0.0.51', size: '8M', fstype: 'ext3' as const, mountpoint: '/srv/smb' },
      { name: 'web', address: '10.0.0.52', size: '4M', fstype: 'ext3' as const, mountpoint: '/srv/web' },
    ],
    format: 'clumanager' as const,
    ...over,
  });
  /** read on this machine (the real probe script through sh), then parse and plan through the module harness */
  function plan<A>(m: ModuleDef<A, any>, args: unknown, disk = loop, force = false, o: { ha?: Record<string, unknown>; flags?: Record<string, unknown> } = {}): Plan {
    const opts: CtxOpts = { cluster: { name: 'lab', hosts: { lab: '127.0.0.1' }, ha: ha(disk, o.ha) }, host: 'lab', facts, force, flags: o.flags ?? {} };
    const n = nonce();
    const r = sh(probeScript(Object.entries(m.read(makeCtx(m, args, opts))), n));
    return runModule(m, args, parseProbe(r.stdout, n), opts).plan;
  }
  function apply(p: Plan): void {
    const r = sh(applyScript(p.changes.flatMap((c) => c.actions)));
    expect(r.stderr + `rc=${r.status}`).toMatch(/rc=0$/);
  }
  /** apply a plan that must be stopped by its guard step (the first one) */
  function applyRefused(p: Plan): string {
    const r = sh(applyScript(p.changes.flatMap((c) => c.actions)));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/@@CF-FAILED-STEP 0 /);
    return r.stderr;
  }
  function newLoop(name: string, size = '96M'): string {
    const img = path.join(dir, name);
    execFileSync('truncate', ['-s', size, img]);
    const l = execFileSync('losetup', ['-f', '--show', '-P', img], { encoding: 'utf8' }).trim();
    loops.push(l);
    return l;
  }
  const sha = (dev: string) => createHash('sha256').update(readFileSync(dev)).digest('hex');
  const kernelParts = () => readFileSync('/proc/partitions', 'utf8').split('\n').map((l) => l.trim().split(/\s+/)[3]).filter((x) => x?.startsWith(loop.slice(5) + 'p'));

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cf-ha-disk-'));
    execFileSync('truncate', ['-s', '96M', path.join(dir, 'a.img')]);
    loop = execFileSync('losetup', ['-f', '--show', '-P', path.join(dir, 'a.img')], { encoding: 'utf8' }).trim();
    loops.push(loop);
  });
  afterAll(() => {
    for (const l of loops) spawnSync('losetup', ['-d', l]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('blank disk: one change; after apply the kernel lists partitions 1,2,3,5,6 (extended 4); second plan is []', () => {
    const p = plan(diskLayout, {});
    expect(p.refuse).toBeUndefined();
    expect(p.changes).toHaveLength(1);
    apply(p);
    expect(kernelParts().sort()).toEqual(['1', '2', '3', '4', '5', '6'].map((n) => `${loop.slice(5)}p${n}`));
    expect(plan(diskLayout, {})).toMatchObject({ changes: [] });
    expect(plan(partitionTable, {})).toMatchObject({ changes: [] });
  });

  it('partition_table: partitions dropped from the kernel are re-added and verified', () => {
    sh(`partx -d ${loop}`);
    expect(kernelParts()).toEqual([]);
    const p = plan(partitionTable, {});
    expect(p.changes).toHaveLength(1);
    apply(p);
    expect(kernelParts()).toHaveLength(6);
    expect(plan(partitionTable, {}).changes).toEqual([]);
  });

  it('ext3 is created once per service partition; ext4 is refused', () => {
    for (const s of ['nfs', 'smb']) {
      const p = plan(filesystem, { service: s });
      expect(p.changes).toHaveLength(1);
      apply(p);
      expect(plan(filesystem, { service: s })).toMatchObject({ changes: [] });
    }
    expect(sh(`blkid -p -o value -s TYPE ${loop}p5`).stdout.trim()).toBe('ext3');
    sh(`mkfs.ext4 -q ${loop}p6`);
    const before = sha(`${loop}p6`);
    expect(plan(filesystem, { service: 'web' }).refuse).toMatch(/holds ext4/);
    expect(sha(`${loop}p6`)).toBe(before);
  });

  it('a foreign table is refused and the disk is left byte-for-byte unchanged', () => {
    const img = path.join(dir, 'b.img');
    execFileSync('truncate', ['-s', '96M', img]);
    const b = execFileSync('losetup', ['-f', '--show', '-P', img], { encoding: 'utf8' }).trim();
    loops.push(b);
    sh(`printf 'label: dos\\n\\nsize=+, type=83\\n' | sfdisk -q ${b}`);
    const before = sha(b);
    const p = plan(diskLayout, {}, b);
    expect(p.changes).toEqual([]);
    expect(p.refuse).toMatch(/refusing to repartition/);
    expect(sha(b)).toBe(before);
    // --force-disks rewrites it
    const f = plan(diskLayout, {}, b, true);
    expect(f.changes).toHaveLength(1);
    apply(f);
    expect(plan(diskLayout, {}, b).changes).toEqual([]);
  });

  it('the guard: a table written between plan and apply stops the apply; nothing more is written', () => {
    const c = newLoop('guard.img');
    const p = plan(diskLayout, {}, c);
    expect(p.changes).toHaveLength(1);
    sh(`printf 'label: gpt\\n,10M\\n' | sfdisk -q --no-tell-kernel ${c}`); // another run / member got there first
    const before = sha(c);
    expect(applyRefused(p)).toMatch(/changed since clusterform read it/);
    expect(sha(c)).toBe(before);
  });

  it('the guard: a process that opened the disk between plan and apply stops it', () => {
    const c = newLoop('guard2.img');
    const p = plan(diskLayout, {}, c);
    const holder = spawn('sh', ['-c', `exec 7<>${c}; exec sleep 30`], { stdio: 'ignore' }); // sleep keeps fd 7 open read-write
    execFileSync('sh', ['-c', `for i in $(seq 50); do ls -l /proc/${holder.pid}/fd 2>/dev/null | grep -q ${c}$ && exit 0; sleep 0.1; done; exit 1`]);
    const before = sha(c);
    try {
      expect(applyRefused(p)).toMatch(new RegExp(`is in use now, nothing was written:\\s+open ${c} pid \\d+ \\(sleep\\)`));
      expect(sha(c)).toBe(before);
      expect(plan(diskLayout, {}, c).refuse).toMatch(new RegExp(`lab: ${c} open by pid \\d+ \\(sleep\\)`));
    } finally { holder.kill(); }
  });

  it('blank means blank: no table and no signature but data at 2 MiB is refused; --force-disks writes it', () => {
    const c = newLoop('offset.img');
    sh(`printf 'quorum-data' | dd of=${c} bs=1M seek=2 conv=notrunc,fsync status=none`);
    expect(sh(`wipefs -n ${c}`).stdout.trim()).toBe('');
    const before = sha(c);
    expect(plan(diskLayout, {}, c).refuse).toMatch(/no partition table or signature, but 11 non-zero bytes in its first 16 MiB/);
    expect(sha(c)).toBe(before);
    apply(plan(diskLayout, {}, c, true));
    expect(plan(diskLayout, {}, c).changes).toEqual([]);
  });

  it('a GPT whose primary header is damaged (backup intact) is refused, not silently read from the backup', () => {
    const c = newLoop('gpt.img');
    apply(plan(diskLayout, {}, c, false, { ha: { disk_label: 'gpt' } }));
    sh(`dd if=/dev/zero of=${c} bs=512 seek=1 count=1 conv=notrunc,fsync status=none`);
    const before = sha(c);
    expect(plan(diskLayout, {}, c, false, { ha: { disk_label: 'gpt' } }).refuse).toMatch(/partition table is damaged \(sfdisk: The primary GPT table is corrupt/);
    expect(sha(c)).toBe(before);
  });

  it('a partition named as the shared disk is refused', () => {
    expect(plan(diskLayout, {}, `${loop}p1`).refuse).toMatch(/is a partition .*not a whole disk/);
  });

  it('--force-disks growing the last service rewrites only that partition: the others keep every byte', () => {
    const c = newLoop('grow.img');
    apply(plan(diskLayout, {}, c));
    for (const s of ['nfs', 'smb', 'web']) apply(plan(filesystem, { service: s }, c));
    const parts = ['1', '2', '3', '5'].map((n) => `${c}p${n}`);
    sh(`printf 'quorum' | dd of=${c}p1 conv=notrunc,fsync status=none`);
    const before = parts.map(sha);
    const grown = { services: [...ha(c).services.slice(0, 2), { ...ha(c).services[2]!, size: '12M' }] };
    expect(plan(diskLayout, {}, c, false, { ha: grown }).refuse).toMatch(/refusing to repartition/);
    const p = plan(diskLayout, {}, c, true, { ha: grown });
    expect(p.changes[0]!.summary).toMatch(/keep 1, 2, 3, 4, 5; destroy 6; create nothing/);
    apply(p);
    expect(parts.map(sha)).toEqual(before);
    expect(Number(readFileSync(`/sys/class/block/${c.slice(5)}p6/size`, 'utf8'))).toBe(12 * 2048);
    expect(sh(`blkid -p -o value -s TYPE ${c}p6`).stdout.trim()).toBe(''); // wiped: filesystem makes ext3 anew
    expect(plan(diskLayout, {}, c, false, { ha: grown }).changes).toEqual([]);
    expect(plan(filesystem, { service: 'nfs' }, c, false, { ha: grown }).changes).toEqual([]);
    expect(plan(filesystem, { service: 'web' }, c, false, { ha: grown }).changes).toHaveLength(1);
  });

  it('down --wipe-disks refuses a foreign disk; wipes its own so that up finds it blank', () => {
    const c = newLoop('wipe.img');
    sh(`printf 'label: dos\\n\\nsize=+, type=83\\n' | sfdisk -q ${c}`);
    const before = sha(c);
    expect(plan(diskLayout, { state: 'absent', wipe: true }, c, false, { flags: { wipeDisks: true } }).refuse).toMatch(/does not hold this inventory's layout/);
    expect(sha(c)).toBe(before);
    apply(plan(diskLayout, {}, c, true));
    apply(plan(filesystem, { service: 'nfs' }, c));
    apply(plan(diskLayout, { state: 'absent', wipe: true }, c, false, { flags: { wipeDisks: true } }));
    const again = plan(diskLayout, {}, c);
    expect(again.refuse).toBeUndefined();
    expect(again.changes[0]!.summary).toMatch(/^write a dos partition table/);
  });
});
