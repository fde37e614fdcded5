// What another member holds on the shared disk, on two VMs sharing one virtio disk (two kernels, as on a real SAN):
// node2 mounts a service partition, which node1's kernel cannot see. node1 must still refuse to repartition or wipe
// the disk, naming node2, the partition and the mount, with --force-disks too; a member left out by --limit refuses
// it as well. The disk image is hashed on this machine before and after every refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { cli, cliJson, isRoot, ROOT, sshFor } from '../helpers.js';

const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const INV = resolve(ROOT, 'test/lab/inventories/ha-vm.yaml');
const IMAGE = resolve(ROOT, 'test/lab/inventories/.lab/t-havm/disks/shared.img');
const DISK = '/dev/disk/by-id/clusterform-t-havm-shared';
const ssh = sshFor(INV);
const tmp = mkdtempSync(join(tmpdir(), 'cf-havm-'));

function ok(h: string, command: string): string {
  const r = ssh(h, command);
  expect(r.code, `${h}: ${command}\n${r.stderr}`).toBe(0);
  return r.stdout;
}
/** the shared disk as stored on this machine, after both guests flushed what they wrote */
function diskSum(): string {
  for (const h of ['node1', 'node2']) ok(h, 'sync');
  return createHash('sha256').update(readFileSync(IMAGE)).digest('hex');
}
/** the inventory with HA-SMB grown: a change disk_layout can only make with --force-disks */
function grown(): string {
  const inv = parse(readFileSync(INV, 'utf8'));
  for (const k of ['private_key', 'known_hosts']) inv.ssh[k] = resolve(ROOT, 'test/lab/inventories', inv.ssh[k]);
  delete inv.lab;
  inv.ha.services[1].size = '60M';
  const f = join(tmp, 'grown.yaml');
  writeFileSync(f, stringify(inv));
  return f;
}
const failed = (json: any) => (json?.events ?? []).filter((e: any) => e.type === 'task' && e.status === 'failed' && e.host === 'node1');

describe.skipIf(!enabled)('shared disk held by another member (two VMs, one virtio disk)', () => {
  beforeAll(() => {
    const r = cli(['lab', 'up', INV], { timeout: 600_000 });
    if (r.code !== 0) throw new Error(`lab up: ${r.stderr}`);
  }, 600_000);
  afterAll(() => {
    ssh('node2', 'umount /mnt/cf-held 2>/dev/null; true');
    cli(['lab', 'down', INV], { timeout: 300_000 });
    rmSync(tmp, { recursive: true, force: true });
  }, 300_000);

  it('up partitions the shared disk once and both members see it; a second up changes nothing', () => {
    const first = cliJson(['up', INV]);
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    const second = cliJson(['up', INV]);
    expect(second.code).toBe(0);
    expect(second.json.recap.map((h: any) => h.changed)).toEqual([0, 0]);
    for (const h of ['node1', 'node2']) expect(ok(h, `blkid -p -o value -s TYPE ${DISK}-part3`).trim()).toBe('ext3');
  });

  it('node2 has HA-NFS mounted: node1 refuses to repartition, even with --force-disks, naming node2 and the mount', () => {
    // the data is written first; then node2 keeps it mounted read-only, so that node2 itself writes nothing meanwhile
    ok('node2', `mkdir -p /mnt/cf-held && mount ${DISK}-part3 /mnt/cf-held && echo precious > /mnt/cf-held/data && umount /mnt/cf-held && mount -o ro ${DISK}-part3 /mnt/cf-held`);
    const dev2 = ok('node2', `readlink -f ${DISK}-part3`).trim();
    // node1's kernel knows nothing of it
    expect(ok('node1', `grep -c "$(readlink -f ${DISK})" /proc/mounts || true`).trim()).toBe('0');
    const before = diskSum();
    const inv = grown();
    const plan = cliJson(['plan', inv, '--force-disks']);
    const up = cliJson(['up', inv, '--force-disks']);
    expect(diskSum()).toBe(before);
    for (const r of [plan, up]) {
      expect(r.code).toBe(1);
      const f = failed(r.json);
      expect(f.map((e: any) => e.module)).toEqual(['disk_layout']);
      expect(f[0].error.message).toContain(`node2: ${dev2} mounted on /mnt/cf-held`);
      expect(f[0].error.message).toContain('--force-disks does not override this');
    }
    expect(ok('node2', 'cat /mnt/cf-held/data').trim()).toBe('precious');
  });

  it('down --wipe-disks refuses while node2 holds the disk', () => {
    const before = diskSum();
    const down = cliJson(['down', INV, '--wipe-disks', '--yes']);
    expect(diskSum()).toBe(before);
    expect(down.code).toBe(1);
    expect(failed(down.json)[0].error.message).toMatch(/refusing to wipe .*[\s\S]*node2: \S+ mounted on \/mnt\/cf-held/);
    ok('node2', 'umount /mnt/cf-held');
  });

  it('a member left out by --limit never lets node1 touch the disk', () => {
    const before = diskSum();
    const up = cliJson(['up', grown(), '--force-disks', '--limit', 'node1']);
    expect(diskSum()).toBe(before);
    expect(up.code).toBe(1);
    expect(failed(up.json)[0].error.message).toContain('node2 is not in this run: left out by --limit');
    // with every member present and nothing held, --force-disks grows HA-SMB and keeps HA-NFS's data
    const all = cliJson(['up', grown(), '--force-disks']);
    expect(all.code, all.stderr.slice(-2000)).toBe(0);
    ok('node2', `mount ${DISK}-part3 /mnt/cf-held && test "$(cat /mnt/cf-held/data)" = precious && umount /mnt/cf-held`);
  });

  it('down --wipe-disks with nothing held wipes the disk; up finds it blank', () => {
    const down = cliJson(['down', grown(), '--wipe-disks', '--yes']);
    expect(down.code, down.stderr.slice(-2000)).toBe(0);
    expect(ok('node1', `wipefs -n ${DISK}`).trim()).toBe('');
  });
});
