// End to end through the CLI: the HA pair of inventory/lab.yaml (node1/node2 share a loop disk) together with the rest
// of the lab. Starts from `down --wipe-disks --yes` (a blank shared disk), builds, verifies, checks idempotence (no file
// rewritten), repairs a hand edit, keeps data across down/up, and ends with a wiped disk and everything `down`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { cli, cliJson, isRoot, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'inventory/lab.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const MEMBERS = ['node1', 'node2'];
const FILES = ['/etc/hosts', '/etc/cluster.xml', '/etc/sysconfig/rawdevices'];
const DISK = '/dev/disk/by-id/clusterform-lab-shared';
const HA_CHECKS = ['shared disk partitions, sizes, file systems and raw bindings', 'cluster configuration'];
// the hosts in parallel, as users run it (lab hosts have their own /mnt)
const SERIAL: string[] = [];
const LVS_CHECK = 'HTTP requests through the VIP reach every real server';

function ok(h: string, command: string): string {
  const r = ssh(h, command);
  expect(r.code, `${h}: ${command}\n${r.stderr}`).toBe(0);
  return r.stdout;
}
const mtimes = (h: string) => ok(h, `stat -c '%n %Y' ${FILES.join(' ')}`);
const changedTasks = (json: any) => JSON.stringify((json?.events ?? []).filter((e: any) => e.status === 'changed' || e.status === 'would_change').map((e: any) => [e.host, e.task, e.changes.map((c: any) => c.summary)]));
const failures = (json: any) => JSON.stringify((json?.events ?? []).filter((e: any) => e.status === 'failed' || e.type === 'host'));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe.skipIf(!enabled)('HA pair on the lab, end to end through the CLI', () => {
  beforeAll(() => {
    const down = cliJson(['down', INV, '--wipe-disks', '--yes', ...SERIAL]);
    expect(down.code, down.stderr.slice(-2000) + failures(down.json)).toBe(0);
    for (const h of MEMBERS) ok(h, `partx -d ${DISK} 2>/dev/null; partx -u ${DISK} 2>/dev/null; true`);
    expect(ok('node1', `wipefs -n ${DISK}`).trim()).toBe('');
    // pages that name their host, for verify's HTTP check through the VIP
    for (const h of ['rs1', 'rs2'])
      ok(h, `mkdir -p /tmp/cf-ha-web && hostname > /tmp/cf-ha-web/index.html && cd /tmp/cf-ha-web && (setsid python3 -m http.server 80 --bind 0.0.0.0 >/dev/null 2>&1 & echo $! > /tmp/cf-ha-web.pid)`);
  }, 600_000);

  afterAll(() => {
    for (const h of ['rs1', 'rs2']) ssh(h, 'kill $(cat /tmp/cf-ha-web.pid) 2>/dev/null; rm -rf /tmp/cf-ha-web /tmp/cf-ha-web.pid');
    for (const h of MEMBERS) ssh(h, `umount /mnt/cf-ha-test 2>/dev/null; rmdir /mnt/cf-ha-test 2>/dev/null; true`);
    cli(['down', INV, ...SERIAL]);
  }, 600_000);

  it('up builds everything, verify passes the HA checks, a second up changes nothing and writes no file', () => {
    const up = cliJson(['up', INV]);
    expect(up.code, up.stderr.slice(-3000) + failures(up.json)).toBe(0);
    expect(up.json.changed).toBeGreaterThan(0);
    process.stderr.write(`fresh up: ${secs(up.ms)} (changed=${up.json.changed})\n`);

    const v = cliJson(['verify', INV]);
    expect(v.code, JSON.stringify(v.json?.checks?.filter((r: any) => !r.pass)) + v.stderr.slice(-1500)).toBe(0);
    expect(v.json.ok).toBe(true);
    for (const h of MEMBERS)
      for (const c of HA_CHECKS) {
        const row = v.json.checks.find((r: any) => r.host === h && r.check === c);
        expect(row, `${h}: ${c}`).toBeTruthy();
        expect(row.pass, row.reason).toBe(true);
      }
    const disk = v.json.checks.find((r: any) => r.host === 'node1' && r.check === HA_CHECKS[0]);
    expect(disk.reason).toMatch(/partitions 1=10MiB 2=10MiB 3=1000MiB 4=100MiB/);
    expect(disk.reason).toMatch(/ext3, ext3 on the service partitions/);
    expect(disk.reason).toMatch(/raw binding unsupported|bound to the quorum partitions/);
    expect(v.json.checks.find((r: any) => r.host === 'client' && r.check === LVS_CHECK)?.reason).toMatch(/^30\/30 requests to 10\.213\.0\.200 answered: rs1 \d+, rs2 \d+$/);
    // the text output lists the HA checks as passing on both members
    const vt = cli(['verify', INV, '-v']);
    expect(vt.code).toBe(0);
    for (const h of MEMBERS) {
      const block = vt.stdout.split(/\n(?=\S)/).find((b) => b.startsWith(`${h}\n`)) ?? '';
      for (const c of HA_CHECKS) expect(block).toContain(`PASS  ${c}`);
    }
    expect(vt.stdout).toMatch(/\n\d+ passed, 0 failed checks\n$/);

    const before = MEMBERS.map(mtimes);
    const again = cliJson(['up', INV]);
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(again.json.changed, changedTasks(again.json)).toBe(0);
    process.stderr.write(`no-op up: ${secs(again.ms)}; verify: ${secs(v.ms)}\n`);
    expect(MEMBERS.map(mtimes)).toEqual(before);
  }, 600_000);

  it('/etc/cluster.xml is identical on both members and lists the members, raw devices and services', () => {
    const [a, b] = MEMBERS.map((h) => ok(h, 'cat /etc/cluster.xml'));
    expect(a).toBe(b);
    expect(a).toMatch(/<member id="0" name="node1"/);
    expect(a).toMatch(/<member id="1" name="node2"/);
    expect(a).toContain('rawprimary="/dev/raw/raw1"');
    expect(a).toContain('rawshadow="/dev/raw/raw2"');
    expect(a).toMatch(/<service [^>]*name="HA-NFS"/);
    expect(a).toMatch(/<service [^>]*name="HA-SMB"/);
    expect(a).toContain('ipaddress="10.213.0.100"');
    expect(a).toContain('ipaddress="10.213.0.101"');
  });

  it('a hand edit of the managed /etc/hosts block on node2 shows in plan as a diff, and up repairs it', () => {
    const good = ok('node2', 'cat /etc/hosts');
    ok('node2', `sed -i 's/^10\\.213\\.0\\.21 rs1$/10.213.0.99 rs1/' /etc/hosts`);
    expect(ok('node2', 'cat /etc/hosts')).toContain('10.213.0.99 rs1');

    const plan = cli(['plan', INV, '-v']);
    expect(plan.stdout + plan.stderr).toMatch(/^\s*-10\.213\.0\.99 rs1$/m);
    expect(plan.stdout + plan.stderr).toMatch(/^\s*\+10\.213\.0\.21 rs1$/m);
    const pj = cliJson(['plan', INV]);
    expect(pj.json.would_change, changedTasks(pj.json)).toBe(1);
    expect(pj.json.events.filter((e: any) => e.status === 'would_change').map((e: any) => `${e.host} ${e.module}`)).toEqual(['node2 hosts_file']);
    expect(ok('node2', 'cat /etc/hosts')).toContain('10.213.0.99 rs1'); // plan touched nothing

    const up = cliJson(['up', INV]);
    expect(up.code, failures(up.json)).toBe(0);
    expect(up.json.changed, changedTasks(up.json)).toBe(1);
    expect(ok('node2', 'cat /etc/hosts')).toBe(good);
    expect(cliJson(['plan', INV]).json.would_change).toBe(0);
  }, 300_000);

  it('data on a service file system survives down and a new up; down twice is a no-op', () => {
    const mount = `mkdir -p /mnt/cf-ha-test && mount -t ext3 "$(readlink -f ${DISK})p3" /mnt/cf-ha-test`;
    ok('node1', `${mount} && echo kept-by-clusterform > /mnt/cf-ha-test/proof && sync && umount /mnt/cf-ha-test`);

    const down = cliJson(['down', INV, ...SERIAL]);
    expect(down.code, down.stderr.slice(-2000) + failures(down.json)).toBe(0);
    expect(down.json.changed).toBeGreaterThan(0);
    for (const h of MEMBERS) expect(ok(h, 'ls /etc/cluster.xml /etc/sysconfig/rawdevices 2>/dev/null; true')).toBe('');
    const down2 = cliJson(['down', INV, ...SERIAL]);
    expect(down2.code, failures(down2.json)).toBe(0);
    expect(down2.json.changed, changedTasks(down2.json)).toBe(0);

    const up = cliJson(['up', INV]);
    expect(up.code, up.stderr.slice(-2000) + failures(up.json)).toBe(0);
    // disk_layout and filesystem found their work done: nothing on the disk was rewritten
    const diskTasks = up.json.events.filter((e: any) => e.type === 'task' && ['disk_layout', 'filesystem'].includes(e.module) && e.status !== 'skipped');
    expect(diskTasks.length).toBe(3);
    for (const e of diskTasks) expect(e.status, JSON.stringify(e)).toBe('ok');
    expect(ok('node2', `${mount} && cat /mnt/cf-ha-test/proof; umount /mnt/cf-ha-test`)).toBe('kept-by-clusterform\n');
  }, 600_000);

  it('down --wipe-disks --yes clears the shared disk', () => {
    const r = cliJson(['down', INV, '--wipe-disks', '--yes', ...SERIAL]);
    expect(r.code, r.stderr.slice(-2000) + failures(r.json)).toBe(0);
    expect(ok('node1', `wipefs -n ${DISK}`).trim()).toBe('');
    const sf = ssh('node1', `sfdisk -d ${DISK}`);
    expect(sf.code).not.toBe(0);
    expect(sf.stderr).toMatch(/does not contain a recognized partition table/);
    for (const h of MEMBERS) expect(ok(h, `partx -u ${DISK} 2>/dev/null; grep -c "$(basename $(readlink -f ${DISK}))p" /proc/partitions; true`).trim()).toBe('0');
  }, 300_000);
});
