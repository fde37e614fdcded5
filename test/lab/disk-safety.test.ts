// Data safety of the shared disk, end to end through the CLI on the global lab (inventory/lab.yaml): every scenario
// takes a sha256 of the whole shared disk before and after the run that must refuse, and proves it unchanged.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { cli, cliJson, isRoot, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'inventory/lab.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const MEMBERS = ['node1', 'node2'];
const DISK = '/dev/disk/by-id/clusterform-lab-shared';
// only the HA members: the disk is what is under test (and it keeps the runs short)
const HA = ['--limit', 'ha_members'];
// the hosts in parallel, as users run it (lab hosts have their own /mnt)
const SERIAL: string[] = [];
const hasXfs = spawnSync('sh', ['-c', 'command -v mkfs.xfs'], { encoding: 'utf8' }).status === 0;

function ok(h: string, command: string): string {
  const r = ssh(h, command);
  expect(r.code, `${h}: ${command}\n${r.stderr}`).toBe(0);
  return r.stdout;
}
const dev = () => ok('node1', `readlink -f ${DISK}`).trim();
const diskSum = () => ok('node1', `sync; sha256sum "$(readlink -f ${DISK})"`).split(' ')[0]!;
/** blank disk: signatures in the partitions and of the table cleared, first 16 MiB zeroed (blank means blank), both members re-read */
function reset(): void {
  for (const h of MEMBERS) ssh(h, 'umount /tmp/cf-safety-mnt 2>/dev/null; true');
  ok('node1', `D=$(readlink -f ${DISK}); for p in "$D"p*; do [ -b "$p" ] && wipefs -q -a "$p"; done; wipefs -q -a "$D" && dd if=/dev/zero of="$D" bs=1M count=16 conv=fsync status=none`);
  for (const h of MEMBERS) ok(h, `partx -d ${DISK} 2>/dev/null; partx -u ${DISK} 2>/dev/null; true`);
  expect(ok('node1', `wipefs -n ${DISK}`).trim()).toBe('');
}
const events = (json: any, filter: (e: any) => boolean) => (json?.events ?? []).filter((e: any) => e.type === 'task' && filter(e));
const failedTasks = (json: any, host?: string) => events(json, (e) => e.status === 'failed' && (!host || e.host === host));
/** node2 reports a once-task that failed on node1 as failed too ("runs once, on node1, and failed there") */
function onceFailedOnNode1(json: any, module: string): void {
  const f = failedTasks(json, 'node2');
  expect(f.map((e: any) => e.module)).toEqual([module]);
  expect(f[0].error.message).toBe('this task runs once, on node1, and failed there');
}
const show = (r: { stderr: string; json: any }) => r.stderr.slice(-2500) + JSON.stringify(failedTasks(r.json));

/** The lab inventory, changed by `edit`, written to a tmp dir with the key paths made absolute. */
function variant(edit: (inv: any) => void): string {
  const inv = parse(readFileSync(INV, 'utf8'));
  inv.ssh.private_key = resolve(ROOT, 'inventory', inv.ssh.private_key);
  inv.ssh.known_hosts = resolve(ROOT, 'inventory', inv.ssh.known_hosts);
  delete inv.lab;
  edit(inv);
  const dir = mkdtempSync(join(tmpdir(), 'cf-disk-safety-'));
  dirs.push(dir);
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, stringify(inv));
  return file;
}
const dirs: string[] = [];

describe.skipIf(!enabled)('shared disk data safety, through the CLI', () => {
  beforeAll(() => {
    const down = cliJson(['down', INV, '--wipe-disks', '--yes', ...SERIAL]);
    expect(down.code, show(down)).toBe(0);
  }, 600_000);
  beforeEach(() => reset(), 120_000);
  afterAll(() => {
    reset();
    for (const h of MEMBERS) ssh(h, 'rm -f /tmp/cf-shared-disk; rmdir /tmp/cf-safety-mnt 2>/dev/null; true');
    cli(['down', INV, ...SERIAL]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 600_000);

  it('(a) a foreign partition table: up refuses on the disk task, showing current and wanted; --force-disks proceeds and verify passes', () => {
    ok('node1', `printf 'label: gpt\\n,100M\\n' | sfdisk -q --no-reread --no-tell-kernel "$(readlink -f ${DISK})"`);
    for (const h of MEMBERS) ok(h, `partx -u ${DISK} 2>/dev/null || partx -a ${DISK}; true`);
    const before = diskSum();
    const up = cliJson(['up', INV, ...HA]);
    expect(up.code).toBe(1);
    const failed = failedTasks(up.json);
    expect(failed.map((e: any) => e.module)).toContain('disk_layout');
    const msg: string = failed.find((e: any) => e.module === 'disk_layout').error.message;
    expect(msg).toMatch(/refusing to repartition/);
    expect(msg).toMatch(/current \(\/dev\/loop\d+\):\s+wanted:/);
    expect(msg).toMatch(/gpt/);
    expect(msg).toMatch(/--force-disks/);
    expect(diskSum()).toBe(before);

    const forced = cliJson(['up', INV, ...HA, '--force-disks']);
    expect(forced.code, show(forced)).toBe(0);
    expect(diskSum()).not.toBe(before);
    const v = cliJson(['verify', INV, ...HA]);
    expect(v.code, JSON.stringify(v.json?.checks?.filter((c: any) => !c.pass))).toBe(0);
    expect(v.json.checks.filter((c: any) => c.check.startsWith('shared disk partitions')).map((c: any) => c.pass)).toEqual([true, true]);
  }, 600_000);

  const foreignFs = [
    { fs: 'ext4', mkfs: 'mkfs.ext4 -q -F', skip: false },
    { fs: 'xfs', mkfs: 'mkfs.xfs -q -f', skip: !hasXfs },
  ];
  for (const c of foreignFs)
    it.skipIf(c.skip)(`(b) the right table but ${c.fs} on a service partition: refused, disk unchanged`, () => {
      const up = cliJson(['up', INV, ...HA]);
      expect(up.code, show(up)).toBe(0);
      const p3 = `${dev()}p3`;
      ok('node1', `wipefs -q -a ${p3} && ${c.mkfs} ${p3}`);
      const before = diskSum();
      const again = cliJson(['up', INV, ...HA]);
      expect(again.code).toBe(1);
      const f = failedTasks(again.json, 'node1');
      expect(f.map((e: any) => `${e.module} ${e.task}`)).toEqual(['filesystem ext3 on each service partition (HA-NFS)']);
      onceFailedOnNode1(again.json, 'filesystem');
      expect(f[0].error.message).toContain(`${p3} (service HA-NFS) holds ${c.fs}, wanted ext3: refusing to overwrite it`);
      expect(diskSum()).toBe(before);
      const v = cliJson(['verify', INV, ...HA]);
      expect(v.code).toBe(1);
      expect(v.json.checks.filter((r: any) => !r.pass).map((r: any) => r.reason).join('\n')).toContain(`holds ${c.fs}, wanted ext3`);
    }, 600_000);

  it('(c) a mounted partition with --force-disks: still refused (wrong file system, and foreign table), disk unchanged', () => {
    // right table, ext4 mounted (read-only: nothing writes to the disk meanwhile) on the service partition
    const up = cliJson(['up', INV, ...HA]);
    expect(up.code, show(up)).toBe(0);
    const p3 = `${dev()}p3`;
    ok('node1', `wipefs -q -a ${p3} && mkfs.ext4 -q -F ${p3} && mkdir -p /tmp/cf-safety-mnt && mount -o ro ${p3} /tmp/cf-safety-mnt`);
    let before = diskSum();
    let forced = cliJson(['up', INV, ...HA, '--force-disks']);
    expect(forced.code).toBe(1);
    let f = failedTasks(forced.json, 'node1');
    expect(f.map((e: any) => e.module)).toEqual(['filesystem']);
    onceFailedOnNode1(forced.json, 'filesystem');
    expect(f[0].error.message).toMatch(new RegExp(`refusing to create a file system on ${p3} \\(it holds ext4\\).*--force-disks does not override this[\\s\\S]*node1: ${p3} mounted on /tmp/cf-safety-mnt`));
    expect(diskSum()).toBe(before);
    ok('node1', 'umount /tmp/cf-safety-mnt');

    // a foreign table whose partition is mounted: disk_layout refuses to repartition
    reset();
    ok('node1', `D=$(readlink -f ${DISK}); printf 'label: gpt\\n,100M\\n' | sfdisk -q --no-reread --no-tell-kernel "$D" && partx -u "$D"; mkfs.ext4 -q -F "\${D}p1" && mount -o ro "\${D}p1" /tmp/cf-safety-mnt`);
    before = diskSum();
    forced = cliJson(['up', INV, ...HA, '--force-disks']);
    expect(forced.code).toBe(1);
    f = failedTasks(forced.json);
    expect(f.map((e: any) => e.module)).toContain('disk_layout');
    expect(f.find((e: any) => e.module === 'disk_layout').error.message).toMatch(/refusing to write the partition table of .*--force-disks does not override this[\s\S]*node1: \/dev\/loop\d+p1 mounted on \/tmp\/cf-safety-mnt/);
    expect(diskSum()).toBe(before);
    ok('node1', 'umount /tmp/cf-safety-mnt');
  }, 600_000);

  it('(d) the disk path missing on one member: the failure names that member and nothing is written on the disk', () => {
    // start without the members' HA configuration (earlier scenarios built it); the disk is blank (beforeEach)
    const down = cliJson(['down', INV, ...HA, ...SERIAL]);
    expect(down.code, show(down)).toBe(0);
    const inv = variant((i) => { i.ha.shared_disk = '/tmp/cf-shared-disk'; });
    // /tmp is each ns host's own: the path exists on one member only. Both directions: the member that would
    // partition (node1) and the other one (node2) must each stop the partitioning.
    for (const [has, lacks] of [['node1', 'node2'], ['node2', 'node1']]) {
      ok(has, `ln -sfn ${DISK} /tmp/cf-shared-disk`);
      ssh(lacks, 'rm -f /tmp/cf-shared-disk');
      const before = diskSum();
      const up = cliJson(['up', inv, ...HA]);
      expect(up.code).toBe(1);
      const f = failedTasks(up.json);
      const attached = f.find((e: any) => e.module === 'disk_attached' && e.host === lacks);
      expect(attached, show(up)).toBeTruthy();
      expect(attached.error.message).toMatch(new RegExp(`^shared disk /tmp/cf-shared-disk not found on ${lacks}: not a block device`));
      // the once-task that partitions never ran: it waits for every member, and one stopped on the way
      const layout = f.find((e: any) => e.module === 'disk_layout' && e.host === 'node1');
      if (lacks === 'node2') expect(layout?.error.message, show(up)).toMatch(/^not run: this task runs once for all of node1, node2, and node2 stopped before reaching it/);
      expect(events(up.json, (e) => e.play === 'HA cluster members' && e.status === 'changed')).toEqual([]);
      expect(diskSum()).toBe(before);
      expect(ok('node1', `wipefs -n ${DISK}`).trim()).toBe('');
      for (const h of MEMBERS) expect(ok(h, 'ls /etc/cluster.xml /etc/sysconfig/rawdevices 2>/dev/null; true')).toBe('');
      ssh(has, 'rm -f /tmp/cf-shared-disk');
    }
  }, 600_000);

  it('(f) two members see different disks under the same path: refused on both before anything is written', () => {
    const down = cliJson(['down', INV, ...HA, ...SERIAL]);
    expect(down.code, show(down)).toBe(0);
    // node2's path leads to another disk of the same size (a loop device of its own), node1's to the shared one
    const other = ok('node2', 'truncate -s 2G /tmp/cf-other.img && losetup -f --show /tmp/cf-other.img').trim();
    try {
      ok('node1', `ln -sfn ${DISK} /tmp/cf-shared-disk`);
      ok('node2', `ln -sfn ${other} /tmp/cf-shared-disk`);
      const inv = variant((i) => { i.ha.shared_disk = '/tmp/cf-shared-disk'; });
      const before = diskSum();
      const otherBefore = ok('node2', `sha256sum < ${other}`);
      const up = cliJson(['up', inv, ...HA]);
      expect(up.code).toBe(1);
      const f = failedTasks(up.json).filter((e: any) => e.module === 'disk_attached');
      expect(f.map((e: any) => e.host).sort(), show(up)).toEqual(['node1', 'node2']);
      expect(f[0].error.message).toMatch(/^the hosts do not agree on the identity of \/tmp\/cf-shared-disk: node1 → .*backing_file=.*; node2 → /);
      expect(events(up.json, (e) => e.play === 'HA cluster members' && e.status === 'changed')).toEqual([]);
      expect(diskSum()).toBe(before);
      expect(ok('node2', `sha256sum < ${other}`)).toBe(otherBefore);
      // the same path to the same disk on both: they agree
      ok('node2', `ln -sfn ${DISK} /tmp/cf-shared-disk`);
      const good = cliJson(['plan', inv, ...HA]);
      expect(good.code, show(good)).toBe(0);
    } finally {
      ssh('node2', `losetup -d ${other}; rm -f /tmp/cf-other.img /tmp/cf-shared-disk`);
      ssh('node1', 'rm -f /tmp/cf-shared-disk');
    }
  }, 600_000);

  it('(e) a disk smaller than the layout needs: refused with the found and wanted sizes, disk unchanged', () => {
    const inv = variant((i) => { i.ha.services[0].size = '1500M'; i.ha.services[1].size = '1000M'; });
    const before = diskSum();
    const up = cliJson(['up', inv, ...HA]);
    expect(up.code).toBe(1);
    const d = failedTasks(up.json).filter((e: any) => e.module === 'disk_attached');
    expect(d.map((e: any) => e.host).sort(), show(up)).toEqual(['node1', 'node2']);
    expect(d[0].error.message).toMatch(/too small: 2GiB, the layout needs at least 2\.\d+GiB/);
    expect(diskSum()).toBe(before);
  }, 600_000);

  it('(g) a member unreachable at the start: the others do not touch the disk, and plan says why', () => {
    const down = cliJson(['down', INV, ...HA, ...SERIAL]);
    expect(down.code, show(down)).toBe(0);
    const inv = variant((i) => { i.hosts.node2.ssh = { port: 1 }; }); // nothing listens there: connection refused
    const before = diskSum();
    for (const cmd of ['plan', 'up']) {
      const r = cliJson([cmd, inv, ...HA]);
      expect(r.code).toBe(1);
      expect(r.json.recap.find((h: any) => h.host === 'node2').unreachable).toBe(true);
      const layout = failedTasks(r.json, 'node1').find((e: any) => e.module === 'disk_layout');
      expect(layout?.error.message, show(r)).toMatch(/^refusing to write the partition table of \/dev\/loop\d+: the shared disk must be free on every member[\s\S]*node2 is not in this run: unreachable \(.*(refused|ECONNREFUSED)/i);
    }
    expect(diskSum()).toBe(before);
    expect(ok('node1', `wipefs -n ${DISK}`).trim()).toBe('');
  }, 600_000);
});
