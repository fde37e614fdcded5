// HA disk modules on a real loop device: read snippets through a local shell, planned actions applied with applyScript.
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyScript, nonce, parseProbe, probeScript } from '../../src/engine/script.js';
import type { ModuleDef, Plan, TaskCtx } from '../../src/engine/types.js';
import type { Facts } from '../../src/facts/facts.js';
import { diskLayout } from '../../src/modules/disk_layout.js';
import { partitionTable } from '../../src/modules/partition_table.js';
import { filesystem } from '../../src/modules/filesystem.js';

const root = process.getuid?.() === 0;

describe.skipIf(!root)('HA disk modules on a loop device', () => {
  let dir = '';
  let loop = '';
  const loops: string[] = [];
  const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  const facts = { hostname: 'lab', os: { id: 'debian', like: [], version: '12', family: 'debian' }, kernel: os.release(), init: 'none', pkg: 'apt', uid: 0, features: { ipvs: 'none', raw: 'none', ipip: 'none', arpHidden: false, udevRaw: false }, tools: {} } as Facts;
  const ha = (disk: string) => ({
    members: ['lab'], shared_disk: disk, disk_label: 'dos' as const, quorum: { size: '10M', primary: '/dev/raw/raw1', shadow: '/dev/raw/raw2' }, cluster_managed_services: [],
    services: [
      { name: 'nfs', address: '10.0.0.50', size: '20M', fstype: 'ext3' as const, mountpoint: '/srv/nfs' },
      { name: 'smb', address: '10.0.0.51', size: '8M', fstype: 'ext3' as const, mountpoint: '/srv/smb' },
      { name: 'web', address: '10.0.0.52', size: '4M', fstype: 'ext3' as const, mountpoint: '/srv/web' },
    ],
    format: 'clumanager' as const,
  });
  function plan<A>(m: ModuleDef<A, any>, args: unknown, disk = loop, force = false): Plan {
    const ctx: TaskCtx<A> = { host: { name: 'lab', address: '127.0.0.1', ssh: {} as any, vars: {} }, facts, inventory: { raw: { cluster: 'lab', ha: ha(disk) }, cluster: 'lab' } as any, args: m.args.parse(args) as A, flags: { forceDisks: force }, dryRun: false };
    const n = nonce();
    const r = sh(probeScript(Object.entries(m.read(ctx)), n));
    return m.plan(m.parse(parseProbe(r.stdout, n), ctx), ctx);
  }
  function apply(p: Plan): void {
    const r = sh(applyScript(p.changes.flatMap((c) => c.actions)));
    expect(r.stderr + `rc=${r.status}`).toMatch(/rc=0$/);
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
});
