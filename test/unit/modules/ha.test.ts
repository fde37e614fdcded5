// HA modules: the rows of ha.rows.ts, then the cases that need more than a row — parse + plan on outputs recorded
// from real tools (test/fixtures/ha/capture.sh, a 64 MiB loop device), all through the module harness.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModuleDef, PeerView, Plan, ProbeResult, SectionResult } from '../../../src/engine/types.js';
import { haSchema } from '../../../src/inventory/schema.js';
import { diskLayout } from '../../../src/modules/ha/disk_layout.js';
import { partitionTable } from '../../../src/modules/ha/partition_table.js';
import { filesystem } from '../../../src/modules/ha/filesystem.js';
import { rawDevices } from '../../../src/modules/ha/raw_devices.js';
import { clusterConfig, wantedConfig } from '../../../src/modules/ha/cluster_config.js';
import { clusterDaemon } from '../../../src/modules/ha/cluster_daemon.js';
import { haModules } from '../../../src/modules/ha/index.js';
import { defaultRegistry } from '../../../src/api.js';
import { parseViewNumber } from '../../../src/parsers/clusterconf.js';
import { checkRow, type CtxOpts, fail, type FactsOver, HA, makeCtx, ok, planOf, RHEL4, withHa } from '../../support/module-harness.js';
import { cap, disk, fsRes as fs, haRows, rawRes, tableOf } from './ha.rows.js';

const rawQa = readFileSync(new URL('../../fixtures/raw-qa.txt', import.meta.url), 'utf8');
const ha = HA;
/** The HA tests' host: RHEL4 with some facts changed. */
const facts = (over: FactsOver = {}): FactsOver => ({ ...RHEL4, ...over, features: { ...RHEL4.features, ...over.features } });
/** The plan of a module on node1 (RHEL4 facts unless given), with the cluster's ha: section changed by `ha`. */
function run<A, S>(m: ModuleDef<A, S>, args: unknown, res: ProbeResult, o: CtxOpts & { ha?: Record<string, unknown> } = {}): Plan {
  const { ha: h, ...rest } = o;
  return planOf(m, args, res, { ...rest, facts: o.facts ?? RHEL4, ...(h ? { cluster: withHa(h) } : {}) });
}

describe.each([...new Set(haRows.map((r) => r.module.name))])('%s rows', (name) => {
  it.each(haRows.filter((r) => r.module.name === name).map((r) => [r.name, r] as const))('%s', (_, row) => {
    checkRow(row);
  });
});

describe('registration', () => {
  it('registers every HA module by name', () => {
    for (const m of haModules) expect(defaultRegistry.get(m.name)).toBe(m);
    expect(defaultRegistry.names()).toEqual(expect.arrayContaining(['disk_layout', 'partition_table', 'raw_devices', 'filesystem', 'cluster_config', 'cluster_daemon', 'service_state', 'boot_timeout']));
  });
});

describe('disk_layout', () => {
  it('blank disk → one change: sfdisk script on stdin, partx, /proc/partitions check', () => {
    const p = run(diskLayout, {}, disk('blank'));
    expect(p.refuse).toBeUndefined();
    expect(p.changes).toHaveLength(1);
    const script = p.changes[0]!.actions.map((a) => (a.kind === 'sh' ? a.script : '')).join('\n');
    // the first step re-checks on the host that the disk is still what the plan read, and that nothing holds it
    expect(p.changes[0]!.actions[0]!.kind === 'sh' && p.changes[0]!.actions[0]!.desc).toMatch(/^re-check on the host/);
    // no --no-reread: sfdisk's own in-use check (BLKRRPART) stays on
    expect(script).toContain("printf '%s' 'label: dos\nunit: sectors\n\nsize=20480, type=83\nsize=20480, type=83\nsize=40960, type=83\nsize=32768, type=83\n' | sfdisk -q --no-tell-kernel --wipe always --wipe-partitions always /dev/loop0");
    expect(script).not.toContain('--no-reread');
    expect(script).toContain('partx -u /dev/loop0');
    expect(script).toContain("for __p in loop0p1 loop0p2 loop0p3 loop0p4");
  });
  it('same layout → no change', () => {
    const p = run(diskLayout, {}, disk('ha4'));
    expect(p.changes).toEqual([]);
    expect(p.refuse).toBeUndefined();
  });
  it('foreign table → refuse with both tables and how to proceed', () => {
    const p = run(diskLayout, {}, disk('foreign'));
    expect(p.changes).toEqual([]);
    expect(p.refuse).toMatch(/partition numbers are \[1\], wanted \[1,2,3,4\]/);
    expect(p.refuse).toMatch(/current \(\/dev\/loop0\):\s+wanted:/);
    expect(p.refuse).toContain('--force-disks');
    expect(p.refuse).toContain('129024'); // the foreign partition's size in sectors
    expect(p.refuse).toContain('40960');
  });
  it('whole-disk ext4 → refuse naming the signature', () => {
    const p = run(diskLayout, {}, disk('wholeext4'));
    expect(p.refuse).toContain('ext4');
  });
  it('foreign label (gpt, dos wanted) + --force-disks → guard, wipe every partition and the disk, then write the table', () => {
    const gpt = ok(readFileSync(new URL('../../fixtures/sfdisk-json.gpt4.loop.json', import.meta.url), 'utf8'));
    const p = run(diskLayout, {}, disk('foreign', { sfdisk: gpt, wipefs: ok('0x200,,,gpt\n0x3fffe00,,,gpt\n0x1fe,,,PMBR\n') }), { force: true });
    expect(p.refuse).toBeUndefined();
    expect(p.changes).toHaveLength(1);
    const steps = p.changes[0]!.actions.map((a) => (a.kind === 'sh' ? a.script : ''));
    expect(p.changes[0]!.actions[0]!.kind === 'sh' && p.changes[0]!.actions[0]!.desc).toMatch(/^re-check on the host/);
    const s = steps.slice(1).join('\n');
    expect(s).toContain('wipefs -q -a /dev/loop0p1');
    expect(s).toContain('wipefs -q -a /dev/loop0\n');
    expect(s.indexOf('wipefs')).toBeLessThan(s.indexOf('sfdisk'));
  });
  it('mounted partition → refuse even with --force-disks, naming host, partition and holder', () => {
    const p = run(diskLayout, {}, disk('foreign', { inuse: ok('mount /dev/loop0p1 /mnt/data\n') }), { force: true });
    expect(p.changes).toEqual([]);
    expect(p.refuse).toMatch(/--force-disks does not override this[\s\S]*node1: \/dev\/loop0p1 mounted on \/mnt\/data/);
  });
  it('too-small disk → refuse with the size found', () => {
    const p = run(diskLayout, {}, disk('blank', { size: ok('33554432 512\n') }));
    expect(p.refuse).toMatch(/too small: 33554432 bytes \(32MiB\)/);
  });
  it('missing disk → refuse', () => {
    const p = run(diskLayout, {}, disk('blank', { dev: fail(3, 'not a block device: /dev/loop0\n') }));
    expect(p.refuse).toMatch(/not found on node1/);
  });
  it('absent without --wipe-disks keeps the data; with it wipes partitions then disk; refuses when mounted', () => {
    expect(run(diskLayout, { state: 'absent', wipe: true }, disk('ha4'))).toEqual({ changes: [], notes: [expect.stringContaining('partitions and data kept')] });
    const w = run(diskLayout, { state: 'absent', wipe: true }, disk('ha4'), { flags: { wipeDisks: true } });
    const s = w.changes[0]!.actions.map((a) => (a.kind === 'sh' ? a.script : '')).join('\n');
    expect(s).toMatch(/loop0p1[\s\S]*loop0p4[\s\S]*wipefs -q -a \/dev\/loop0\n/);
    expect(run(diskLayout, { state: 'absent', wipe: true }, disk('ha4', { inuse: ok('mount /dev/loop0p3 /srv/nfs\n') }), { flags: { wipeDisks: true } }).refuse).toMatch(/must be free on every member[\s\S]*\/dev\/loop0p3 mounted on \/srv\/nfs/);
    expect(run(diskLayout, { state: 'absent', wipe: true }, disk('blank'), { flags: { wipeDisks: true } }).changes).toEqual([]);
  });
});

describe('partition_table', () => {
  it('same table and all partitions listed → ok', () => {
    expect(run(partitionTable, {}, tableOf(disk('ha4'))).changes).toEqual([]);
  });
  it('partitions missing from /proc/partitions → partx change with verification', () => {
    const p = run(partitionTable, {}, tableOf(disk('ha4', { partitions: cap['blank.partitions']! })));
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]!.summary).toContain('1, 2, 3, 4');
  });
  it('another disk (size or table) → refuse naming both', () => {
    expect(run(partitionTable, { expect_bytes: 1073741824 }, tableOf(disk('ha4'))).refuse).toMatch(/not the same disk: node1 sees \/dev\/loop0 as \/dev\/loop0 \(67108864 bytes, table id 0x[0-9a-f]+\), expected 1073741824/);
    expect(run(partitionTable, {}, tableOf(disk('foreign'))).refuse).toMatch(/not the disk disk_layout partitioned/);
  });
  it('dry run before partitioning → change, not a refusal', () => {
    const p = run(partitionTable, {}, tableOf(disk('blank')), { dryRun: true });
    expect(p.refuse).toBeUndefined();
    expect(p.changes[0]!.summary).toContain('no table yet');
  });
});

describe('filesystem', () => {
  it('no signature (only partition entry info) → mkfs ext3', () => {
    const p = run(filesystem, { service: 'nfs' }, fs(cap['p3.blank.blkid']!));
    const [guard, ...rest] = p.changes[0]!.actions;
    expect(guard!.kind === 'sh' && guard!.desc).toMatch(/^re-check on the host: \/dev\/loop0p3 holds what was read/);
    expect(rest).toEqual([{ kind: 'sh', desc: 'mkfs -t ext3 -q /dev/loop0p3', script: 'mkfs -t ext3 -q /dev/loop0p3' }]);
  });
  it('ext3 already → ok; smb maps to partition 4', () => {
    expect(run(filesystem, { service: 'nfs' }, fs(cap['p3.ext3.blkid']!)).changes).toEqual([]);
    expect(run(filesystem, { service: 'smb' }, fs(fail(2))).changes[0]!.summary).toContain('/dev/loop0p4');
  });
  it('ext4 → refuse; with --force-disks → wipe + mkfs; mounted → refuse even with force', () => {
    expect(run(filesystem, { service: 'nfs' }, fs(cap['p3.ext4.blkid']!)).refuse).toMatch(/holds ext4, wanted ext3.*--force-disks/);
    const f = run(filesystem, { service: 'nfs' }, fs(cap['p3.ext4.blkid']!), { force: true });
    expect(f.changes[0]!.actions.slice(1).map((a) => (a as any).script)).toEqual(['wipefs -q -a /dev/loop0p3', 'mkfs -t ext3 -q /dev/loop0p3']);
    expect(run(filesystem, { service: 'nfs' }, fs(cap['p3.ext4.blkid']!, true, 'mount /dev/loop0p3 /mnt\n'), { force: true }).refuse).toMatch(/node1: \/dev\/loop0p3 mounted on \/mnt/);
    // another partition of the disk in use does not stop mkfs on this one
    expect(run(filesystem, { service: 'nfs' }, fs(cap['p3.ext4.blkid']!, true, 'mount /dev/loop0p4 /mnt\n'), { force: true }).refuse).toBeUndefined();
  });
  it('partition not there yet: plan says so; apply refuses', () => {
    expect(run(filesystem, { service: 'nfs' }, fs(ok(''), false), { dryRun: true }).changes[0]!.summary).toBe('create ext3 on /dev/loop0p3 (after partitioning: the partition does not exist yet)');
    expect(run(filesystem, { service: 'nfs' }, fs(ok(''), false)).refuse).toMatch(/does not exist/);
  });
});

describe('raw_devices', () => {
  const res = (conf: SectionResult, qa = ''): ProbeResult => rawRes(conf, qa);
  it('no raw driver → config written, warning (not failure)', () => {
    const p = run(rawDevices, {}, res(fail(1)));
    expect(p.refuse).toBeUndefined();
    expect(p.changes).toHaveLength(1);
    const w = p.changes[0]!.actions[0]!;
    expect(w).toMatchObject({ kind: 'write', path: '/etc/sysconfig/rawdevices', backup: true });
    expect((w as any).content).toContain('/dev/raw/raw1 /dev/sdc1\n/dev/raw/raw2 /dev/sdc2\n');
    expect(p.warnings).toEqual([
      expect.stringMatching(/^\/etc\/sysconfig\/rawdevices names partitions by kernel name \(\/dev\/loop0p1…\), which can change between boots/),
      'raw binding skipped: kernel 6.18.44 has no raw driver (removed in Linux 5.14); configuration written',
    ]);
  });
  it('raw driver + bindings as in raw -qa (8:33, 8:34 = sdc1, sdc2) → nothing to bind', () => {
    const f = facts({ kernel: '2.4.21-4.EL', features: { ipvs: 'none', raw: 'loaded', ipip: 'none', arpHidden: false, udevRaw: false } });
    const first = run(rawDevices, {}, res(fail(1), 'tool\n' + rawQa), { facts: f });
    const content = (first.changes[0]!.actions[0] as any).content as string;
    const p = run(rawDevices, {}, { ...res(ok(content), 'tool\n' + rawQa), majmin: ok('1 8 21\n2 8 22\n') }, { facts: f });
    expect(p).toEqual({ changes: [], warnings: [expect.stringContaining('names partitions by kernel name')] });
    const q = run(rawDevices, {}, { ...res(ok(content), 'tool\n'), majmin: ok('1 8 21\n2 8 22\n') }, { facts: f });
    expect(q.changes[0]!.actions.map((a) => (a as any).script)).toEqual(['raw /dev/raw/raw1 /dev/sdc1', 'raw /dev/raw/raw2 /dev/sdc2']);
  });
  it('a by-id shared disk: configuration by stable name, live binding by this boot\'s kernel name; missing links said in the plan', () => {
    const byId = { ...ha, shared_disk: '/dev/disk/by-id/scsi-abc' };
    const f = facts({ kernel: '2.6.9', features: { ipvs: 'none', raw: 'loaded', ipip: 'none', arpHidden: false, udevRaw: false } });
    const p = run(rawDevices, {}, { ...res(fail(1), 'tool\n'), links: ok('1 yes\n2 yes\n') }, { facts: f, ha: byId });
    expect((p.changes[0]!.actions[0] as any).content).toContain('/dev/raw/raw1 /dev/disk/by-id/scsi-abc-part1\n/dev/raw/raw2 /dev/disk/by-id/scsi-abc-part2\n');
    expect(p.changes[1]!.actions.map((a) => (a as any).script)).toEqual(['raw /dev/raw/raw1 /dev/sdc1', 'raw /dev/raw/raw2 /dev/sdc2']);
    expect(p.warnings).toEqual([]);
    const noLinks = run(rawDevices, {}, { ...res(fail(1), 'tool\n'), links: ok('1 no\n2 yes\n') }, { facts: f, ha: byId });
    expect(noLinks.warnings).toEqual(['/etc/sysconfig/rawdevices names /dev/disk/by-id/scsi-abc-part1, which this host does not have (no udev by-id links for the partitions yet?)']);
    const udev = run(rawDevices, {}, { ...res(fail(1)), links: ok('1 yes\n2 yes\n') }, { ha: byId, facts: facts({ features: { ipvs: 'none', raw: 'none', ipip: 'none', arpHidden: false, udevRaw: true } }) });
    expect((udev.changes[0]!.actions[0] as any).content).toContain('ACTION=="add", SUBSYSTEM=="block", SYMLINK=="disk/by-id/scsi-abc-part1", RUN+="/usr/bin/raw /dev/raw/raw1 %N"');
    expect(((udev.changes[0]!.actions[0] as any).content as string).split('\n').filter((l) => l.startsWith('ACTION')).join('\n')).not.toContain('KERNEL==');
  });
  it('udev systems get 60-raw.rules', () => {
    const p = run(rawDevices, {}, res(fail(1)), { facts: facts({ features: { ipvs: 'none', raw: 'none', ipip: 'none', arpHidden: false, udevRaw: true } }) });
    expect(p.changes[0]!.actions[0]).toMatchObject({ path: '/etc/udev/rules.d/60-raw.rules' });
  });
});

describe('cluster_config', () => {
  const res = (conf: SectionResult): ProbeResult => ({ conf, backup: ok(''), links: ok('') });
  it('absent file → view number 1; same content keeps the number; changed content bumps it by one', () => {
    const first = run(clusterConfig, {}, res(fail(1)));
    const xml = (first.changes[0]!.actions[0] as any).content as string;
    expect(parseViewNumber(xml)).toBe(1);
    expect(xml).toContain('rawprimary="/dev/raw/raw1"');
    expect(xml).toContain('name="/dev/loop0p3"');
    const at7 = xml.replace('config_viewnumber="1"', 'config_viewnumber="7"');
    expect(run(clusterConfig, {}, res(ok(at7))).changes).toEqual([]);
    const ha2 = { ...ha, services: [ha.services[0]!, { ...ha.services[1]!, address: '10.0.0.52' }] };
    const bumped = run(clusterConfig, {}, res(ok(at7)), { ha: ha2 });
    expect(parseViewNumber((bumped.changes[0]!.actions[0] as any).content)).toBe(8);
    expect(bumped.changes[0]!.diff).toContain('-        <service_ipaddress broadcast="None" id="0" ipaddress="10.0.0.51"');
    expect(bumped.changes[0]!.actions[0]).toMatchObject({ backup: true, mode: '0644' });
  });
  it('cman format writes cluster.conf with config_version; by-id disks give -partN paths', () => {
    const w = wantedConfig('hapair', haSchema.parse({ ...ha, format: 'cman', shared_disk: '/dev/disk/by-id/scsi-abc' }), null);
    expect(w.version).toBe(1);
    expect(w.text).toContain('config_version="1"');
    expect(w.text).toContain('device="/dev/disk/by-id/scsi-abc-part3"');
  });
  it('absent: removes only a file clusterform wrote', () => {
    expect(run(clusterConfig, { state: 'absent' }, res(ok('<x/>'))).changes).toEqual([]);
    expect(run(clusterConfig, { state: 'absent' }, { conf: ok('<x/>'), backup: ok('absent\n'), links: ok('') }).changes[0]!.actions).toEqual([{ kind: 'remove', path: '/etc/cluster.xml', restoreBackup: true }]);
  });
});

describe('cluster_daemon', () => {
  it('clumanager not installed → ok with warning; installed → chkconfig on + service start', () => {
    expect(run(clusterDaemon, {}, { svc: ok('clumanager|0|0|-|-\n') })).toEqual({ changes: [], warnings: ['cluster.xml written, clumanager not installed (no current distribution ships it: set ha.format: pacemaker for a cluster that runs its services and fails over)'] });
    const p = run(clusterDaemon, {}, { svc: ok('clumanager|1|0|disabled|/etc/init.d/clumanager\n') }, { facts: facts({ tools: { chkconfig: true } }) });
    expect(p.changes[0]!.actions.map((a) => (a as any).script)).toEqual(['chkconfig clumanager on', 'service clumanager start || /etc/init.d/clumanager start']);
  });
});

describe('shared disk: every member, the moment of change, what blank means', () => {
  /** node2 as the once-task sees it: its own name for the disk and what holds it there */
  const node2 = (inuse: string, dev = '/dev/vdc'): PeerView => ({ host: 'node2', res: { dev: ok(`${dev}\n`), inuse: ok(inuse) } });
  it('peer modules read what each member holds', () => {
    const c = makeCtx(diskLayout, {});
    expect(Object.keys(diskLayout.peers!(c))).toEqual(['dev', 'inuse']);
    expect(Object.keys(filesystem.peers!(makeCtx(filesystem, { service: 'nfs' })))).toEqual(['dev', 'inuse']);
  });
  it('a partition mounted on node2 stops node1 from repartitioning, even with --force-disks (node2 names the disk /dev/vdc)', () => {
    const p = run(diskLayout, {}, disk('foreign'), { force: true, peers: [node2('mount /dev/vdc1 /mnt/data\n')] });
    expect(p.changes).toEqual([]);
    expect(p.refuse).toContain('node2: /dev/vdc1 mounted on /mnt/data');
  });
  it('any holder kind on a member is named: open fd, device-mapper holder, raw binding, swap, cluster daemon', () => {
    const p = run(diskLayout, {}, disk('blank'), { peers: [node2('open /dev/vdc2 pid 4242 (sbd)\nholder /dev/vdc3 dm-0\nraw /dev/vdc1 /dev/raw/raw1\nswap /dev/vdc4\ndaemon - pacemakerd running\n')] });
    expect(p.changes).toEqual([]);
    for (const t of ['node2: /dev/vdc2 open by pid 4242 (sbd)', 'node2: /dev/vdc3 held by dm-0', 'node2: /dev/vdc1 bound to /dev/raw/raw1', 'node2: /dev/vdc4 used as swap', 'node2: pacemakerd running'])
      expect(p.refuse).toContain(t);
  });
  it('a member left out by --limit or unreachable: no change to the disk; nothing to change is still ok', () => {
    for (const missing of ['left out by --limit', 'unreachable (connect ECONNREFUSED)']) {
      const p = run(diskLayout, {}, disk('blank'), { peers: [{ host: 'node2', missing }] });
      expect(p.changes).toEqual([]);
      expect(p.refuse).toContain(`node2 is not in this run: ${missing}`);
      expect(run(diskLayout, {}, disk('ha4'), { peers: [{ host: 'node2', missing }] }).refuse).toBeUndefined();
    }
    const f = run(filesystem, { service: 'nfs' }, { dev: ok('/dev/loop0\nyes\n'), blkid: cap['p3.blank.blkid']!, inuse: ok('') }, { peers: [{ host: 'node2', missing: 'left out by --limit' }] });
    expect(f.refuse).toContain('node2 is not in this run: left out by --limit');
  });
  it('mkfs on partition 3 is stopped by node2 holding partition 3 or the whole disk, not partition 4', () => {
    const fsres = { dev: ok('/dev/loop0\nyes\n'), blkid: cap['p3.blank.blkid']!, inuse: ok('') };
    expect(run(filesystem, { service: 'nfs' }, fsres, { peers: [node2('mount /dev/vdc3 /mnt/x\n')] }).refuse).toContain('node2: /dev/vdc3 mounted on /mnt/x');
    expect(run(filesystem, { service: 'nfs' }, fsres, { peers: [node2('open /dev/vdc pid 7 (dd)\n')] }).refuse).toContain('node2: /dev/vdc open by pid 7 (dd)');
    expect(run(filesystem, { service: 'nfs' }, fsres, { peers: [node2('mount /dev/vdc4 /mnt/x\n')] }).refuse).toBeUndefined();
  });
  it('the guard re-checks the digest of exactly what was read: another table gives another digest', () => {
    const a = run(diskLayout, {}, disk('blank'));
    const b = run(diskLayout, {}, disk('blank', { wipefs: ok('0x1fe,,,dos\n') }), { force: true });
    const digest = (p: typeof a) => /\[ "\$__cfd" != ([0-9a-f]{64}) \]/.exec((p.changes[0]!.actions[0] as any).script)![1];
    expect(digest(a)).not.toBe(digest(b));
    expect((a.changes[0]!.actions[0] as any).script).toMatch(/sfdisk --json "\$D"[\s\S]*blkid -p -o export "\$D"[\s\S]*wipefs -n -p[\s\S]*is in use now, nothing was written/);
  });
  it('no table, no signature, but data in the first MiBs → not blank: refused; --force-disks writes it', () => {
    const res = disk('blank', { data: ok('nonzero 5231\n') });
    const p = run(diskLayout, {}, res);
    expect(p.changes).toEqual([]);
    expect(p.refuse).toMatch(/5231 non-zero bytes in its first 16 MiB/);
    expect(run(diskLayout, {}, disk('blank', { data: ok('nonzero 0\n') })).changes).toHaveLength(1);
    expect(run(diskLayout, {}, res, { force: true }).changes).toHaveLength(1);
  });
  it('a GPT whose primary header is damaged (sfdisk fell back to the backup) is refused', () => {
    const gpt = readFileSync(new URL('../../fixtures/sfdisk-json.gpt4.loop.json', import.meta.url), 'utf8');
    const damaged = { out: gpt, err: 'The primary GPT table is corrupt, but the backup appears OK, so that will be used.\n', rc: 0 };
    const p = run(diskLayout, {}, disk('ha4', { sfdisk: damaged }), { ha: { ...ha, disk_label: 'gpt' as any } });
    expect(p.changes).toEqual([]);
    expect(p.refuse).toMatch(/partition table is damaged \(sfdisk: The primary GPT table is corrupt/);
  });
  it('down --wipe-disks refuses a disk that does not hold this inventory\'s layout', () => {
    const p = run(diskLayout, { state: 'absent', wipe: true }, disk('foreign'), { flags: { wipeDisks: true } });
    expect(p.changes).toEqual([]);
    expect(p.refuse).toMatch(/refusing to wipe \/dev\/loop0: it does not hold this inventory's layout \(partition numbers are \[1\]/);
    // ours: wiped, including the first 16 MiB, after the guard
    const w = run(diskLayout, { state: 'absent', wipe: true }, disk('ha4'), { flags: { wipeDisks: true } });
    expect(w.changes[0]!.actions.map((a) => (a.kind === 'sh' ? a.desc : ''))).toEqual([
      expect.stringMatching(/^re-check on the host/), 'wipefs -a /dev/loop0p1 /dev/loop0p2 /dev/loop0p3 /dev/loop0p4 /dev/loop0', 'zero the first 16 MiB of /dev/loop0', 'partx -d /dev/loop0',
    ]);
    // a member holding the disk stops the wipe
    expect(run(diskLayout, { state: 'absent', wipe: true }, disk('ha4'), { flags: { wipeDisks: true }, peers: [node2('mount /dev/vdc3 /srv/nfs\n')] }).refuse).toContain('node2: /dev/vdc3 mounted on /srv/nfs');
  });
  it('--force-disks growing the last service keeps partitions 1-3 where they are and wipes only 4', () => {
    const grown = { ...ha, services: [ha.services[0]!, { ...ha.services[1]!, size: '20M' }] };
    const p = run(diskLayout, {}, disk('ha4'), { force: true, ha: grown });
    expect(p.refuse).toBeUndefined();
    const c = p.changes[0]!;
    expect(c.summary).toMatch(/keep 1, 2, 3; destroy 4; create nothing/);
    expect(c.diff).toMatch(/4\s+REPLACE \(data destroyed\)/);
    const steps = c.actions.map((a) => (a.kind === 'sh' ? a.script : ''));
    const all = steps.join('\n');
    expect(all).toContain('--wipe never --wipe-partitions never');
    expect(all).not.toMatch(/wipefs -q -a '?\/dev\/loop0p[123]'?/);
    expect(all).not.toMatch(/wipefs -q -a \/dev\/loop0\n/);
    expect(all).toMatch(/start=2048, size=20480, type=83\nstart=22528, size=20480, type=83\nstart=43008, size=40960, type=83\nstart=83968, size=40960, type=83/);
  });
  it('--force-disks adding a 3rd service to a dos table with 4 primaries is refused: service 2 would move from 4 to 5', () => {
    const more = { ...ha, services: [...ha.services, { name: 'web', address: '10.0.0.52', size: '4M', fstype: 'ext3' as const, mountpoint: '/srv/web' }] };
    const p = run(diskLayout, {}, disk('ha4'), { force: true, ha: more });
    expect(p.changes).toEqual([]);
    expect(p.refuse).toMatch(/partition 4 now and would become partition 5/);
  });
  it('a partition given as the shared disk: the read fails with the reason, and the plan refuses with it', () => {
    const p = run(diskLayout, {}, disk('blank', { dev: fail(4, '/dev/loop0p1 is a partition (/dev/loop0p1), not a whole disk: name the whole shared disk in ha.shared_disk\n') }));
    expect(p.refuse).toMatch(/is a partition .* not a whole disk/);
  });
});
