// Issue #12 through the real CLI: the HA pair on two Debian-image VMs sharing one virtio disk (two kernels, as on a
// SAN), built by `up` from bare minimal Debian 12 (sfdisk comes from the lab's package source). After a guest reboot
// of both members and after a power cut of both, without `up`: the partitions, the file systems and the data on them,
// the quorum raw configuration, the mount points and the cluster configuration are as `up` left them, `verify`
// passes and `plan` reports 0 changes. After `down` and a reboot nothing of the cluster comes back but the data.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliAsync, cliJson, freshLab, isRoot, planChanges, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'test/lab/inventories/ha-debian.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const NODES = ['node1', 'node2'];
const DISK = '/dev/disk/by-id/clusterform-t-hadeb-shared';
const LONG = 900_000;
const secs = (t: number) => ((Date.now() - t) / 1000).toFixed(1);


/** What a member has of the cluster right now: partitions, file systems, raw config, mount points, cluster.xml. */
function memberState(h: string): string {
  return ssh(h, `udevadm settle; ls ${DISK}-part* 2>&1; blkid -o value -s TYPE ${DISK}-part3 ${DISK}-part4; ` +
    'cat /etc/sysconfig/rawdevices 2>&1 | grep -v "^#"; ls -d /mnt/hanfs /mnt/hasmb 2>&1; sha256sum /etc/cluster.xml 2>&1').stdout;
}

/** The file written on HA-NFS's partition, read back read-only from a member (the partition is not mounted by up). */
function readData(h: string): string {
  const r = ssh(h, `set -e; d=$(mktemp -d); mount -o ro ${DISK}-part3 "$d"; cat "$d/kept.txt"; umount "$d"; rmdir "$d"`);
  expect(r.code, `${h}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function waitBooted(): void {
  for (const h of NODES) expect(ssh(h, 'systemctl is-system-running --wait').stdout.trim(), h).toMatch(/^(running|degraded)$/);
}

/** verify without up: exit 0, every check passes; plan reports 0 changes; the members' state as after up. */
function expectClusterAsLeft(when: string, after: Record<string, string>): void {
  waitBooted();
  const v = cli(['verify', INV]);
  expect(v.code, `${when}: ${v.stdout}${v.stderr}`).toBe(0);
  expect(v.stdout, when).toMatch(/\b0 failed checks/);
  expect(planChanges([INV]), when).toEqual([]);
  for (const h of NODES) expect(memberState(h), `${when}: ${h}`).toBe(after[h]);
  expect(readData('node2'), when).toBe('written before the reboots\n');
}

describe.skipIf(!enabled)('lab: HA pair on Debian-image VMs sharing a virtio disk, through reboots, power cuts and down', () => {
  const afterUp: Record<string, string> = {};
  beforeAll(() => {
    freshLab(INV, 'ha-debian', LONG);
  }, LONG);
  afterAll(() => {
    cli(['lab', 'down', INV]);
  });

  it('up from bare builds the pair (sfdisk installed from the lab source); a second up changes nothing; verify passes', () => {
    for (const h of NODES) expect(ssh(h, 'command -v sfdisk || echo none').stdout.trim(), h).toBe('none');
    let t = Date.now();
    const first = cliJson(['up', INV]);
    console.log(`ha-debian: first up in ${secs(t)} s`);
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    expect(first.json.changed).toBeGreaterThan(0);
    t = Date.now();
    const second = cliJson(['up', INV]);
    console.log(`ha-debian: second up in ${secs(t)} s`);
    expect(second.code, second.stderr.slice(-3000)).toBe(0);
    expect(second.json.changed).toBe(0);
    // data on HA-NFS's partition, written by node1, read back by node2 (another kernel) after every reboot below
    const w = ssh('node1', `set -e; d=$(mktemp -d); mount ${DISK}-part3 "$d"; echo 'written before the reboots' > "$d/kept.txt"; umount "$d"; rmdir "$d"`);
    expect(w.code, w.stderr).toBe(0);
    for (const h of NODES) afterUp[h] = memberState(h);
    expect(afterUp.node1).toMatch(/-part1\n.*-part2\n.*-part3\n.*-part4\next3\next3\n/);
    expect(afterUp.node1).toMatch(/\/dev\/raw\/raw1 .*-part1/);
    expect(afterUp.node1).toContain('/mnt/hanfs\n/mnt/hasmb\n');
    expect(afterUp.node1.split('\n').at(-2)).toBe(afterUp.node2.split('\n').at(-2)); // the same cluster.xml
    expectClusterAsLeft('after up', afterUp);
  }, LONG);

  it('guest reboot of both members: without up, verify passes, plan reports 0 changes, the data is intact', async () => {
    const t = Date.now();
    const rs = await Promise.all(NODES.map((h) => cliAsync(['lab', 'reboot', INV, h]).done));
    rs.forEach((r, i) => expect(r.code, `${NODES[i]}: ${r.stderr}`).toBe(0));
    console.log(`ha-debian: reboot of both members in ${secs(t)} s: ${rs.map((r) => r.stdout.trim()).join('; ')}`);
    expectClusterAsLeft('after a guest reboot of both members', afterUp);
  }, LONG);

  it('power cut of both members, then power on: without up, verify passes and plan reports 0 changes', async () => {
    for (const h of NODES) expect(cli(['lab', 'kill', INV, h]).code).toBe(0);
    const t = Date.now();
    const r = await cliAsync(['lab', 'up', INV]).done;
    expect(r.code, r.stderr).toBe(0);
    console.log(`ha-debian: power-on in ${secs(t)} s: ${(r.stderr.match(/vm \S+ answers SSH after [\d.]+ s/g) ?? []).join('; ')}`);
    expectClusterAsLeft('after a power cut of both members', afterUp);
  }, LONG);

  it('down, then a reboot: nothing of the cluster comes back but the data on the shared disk', async () => {
    const d = cli(['down', INV, '--yes']);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    await Promise.all(NODES.map((h) => cliAsync(['lab', 'reboot', INV, h]).done));
    waitBooted();
    for (const h of NODES) {
      const left = ssh(h, 'ls -d /etc/cluster.xml /etc/sysconfig/rawdevices /etc/udev/rules.d/60-raw.rules /mnt/hanfs /mnt/hasmb 2>/dev/null; true').stdout.trim();
      expect(left, h).toBe('');
    }
    expect(readData('node1')).toBe('written before the reboots\n');
    expect(readData('node2')).toBe('written before the reboots\n');
  }, LONG);
});
