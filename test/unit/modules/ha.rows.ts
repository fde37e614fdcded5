// Rows for the HA modules. Disk sections: test/fixtures/ha/captures.json (test/fixtures/ha/capture.sh, a 64 MiB loop
// device) and test/fixtures/modules/*.loop.json (capture.mjs: every read section of the module on a loop device).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ProbeResult, SectionResult } from '../../../src/engine/types.js';
import { haSchema } from '../../../src/inventory/schema.js';
import { clusterConfig, wantedConfig } from '../../../src/modules/ha/cluster_config.js';
import { clusterDaemon } from '../../../src/modules/ha/cluster_daemon.js';
import { diskAttached } from '../../../src/modules/ha/disk_attached.js';
import { diskLayout } from '../../../src/modules/ha/disk_layout.js';
import { filesystem } from '../../../src/modules/ha/filesystem.js';
import { partitionTable } from '../../../src/modules/ha/partition_table.js';
import { rawDevices } from '../../../src/modules/ha/raw_devices.js';
import { capturedSections, fail, HA, ok, pick, RHEL4, withHa, type Row } from '../../support/module-harness.js';

/** test/fixtures/ha/captures.json: outputs of sfdisk, blkid, wipefs, /proc/partitions on a loop device. */
export const cap: Record<string, SectionResult> = JSON.parse(readFileSync(new URL('../../fixtures/ha/captures.json', import.meta.url), 'utf8'));

/**
 * Every section disk_layout reads, for a disk of captures.json. `data` (non-zero bytes at the start of a disk without a
 * table) prints `table` when sfdisk finds one; for the blank and whole-disk ext4 disks it is what capture.mjs read.
 */
export function disk(which: 'blank' | 'ha4' | 'foreign' | 'wholeext4', extra: ProbeResult = {}): ProbeResult {
  const data = which === 'blank' ? capturedSections('disk_layout.blank-64M.loop').data! : which === 'wholeext4' ? capturedSections('disk_layout.whole-disk-ext4.loop').data! : ok('table\n');
  return {
    dev: ok('/dev/loop0\n'),
    size: ok('67108864 512\n'),
    sfdisk: cap[`${which}.sfdisk`]!,
    blkid: cap[`${which}.blkid`]!,
    wipefs: cap[`${which}.wipefs`]!,
    data,
    inuse: ok(''),
    partitions: cap[which === 'ha4' ? 'ha4.partitions' : 'blank.partitions']!,
    ...extra,
  };
}
/** partition_table reads only these of disk_layout's sections. */
export const tableOf = (res: ProbeResult): ProbeResult => pick(res, 'dev', 'size', 'sfdisk', 'partitions');
/** filesystem's sections: the disk, whether the partition exists, its blkid, what holds the disk. */
export const fsRes = (blkid: SectionResult, exists = true, inuse = ''): ProbeResult => ({ dev: ok(`/dev/loop0\n${exists ? 'yes' : 'no'}\n`), blkid, inuse: ok(inuse) });
/** raw_devices' sections; `links` prints nothing for a disk named by kernel name. */
export const rawRes = (conf: SectionResult, qa = '', over: ProbeResult = {}): ProbeResult => ({ dev: ok('/dev/sdc\n'), majmin: ok('1 8 21\n2 8 22\n'), conf, backup: ok(''), qa: ok(qa), links: ok(''), ...over });

const KERNEL_NAMES = /^\/etc\/sysconfig\/rawdevices names partitions by kernel name \(\/dev\/loop0p1…\), which can change between boots/;
const XML = wantedConfig('lab', haSchema.parse(HA), null).text;
const NO_TEMPLATES = fileURLToPath(new URL('../../fixtures/modules/templates', import.meta.url));
const GUARD = /^re-check on the host/;

export const haRows: Row[] = [
  // disk_attached (read-only: it never changes anything)
  { name: 'a 64 MiB loop device: notes the disk and gives its identity for the members to agree on', module: diskAttached, args: {}, sections: capturedSections('disk_attached.64M.loop'),
    expect: { summaries: [], notes: ['/dev/loop0 → /dev/loop0, 64MiB'], agree: { what: 'the identity of /dev/loop0', value: 'size=131072, loop/backing_file=/tmp/capture/disk.img, head=30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58' } } },
  { name: 'a 32 MiB loop device is too small for the layout → refused', module: diskAttached, args: {}, sections: capturedSections('disk_attached.32M.loop'), expect: { refuse: /^shared disk \/dev\/loop0 on node1 is too small: 32MiB, the layout needs at least \d+(\.\d+)?MiB; nothing was written\.$/ } },
  { name: 'no such disk on this member → refused with the reason', module: diskAttached, args: {}, cluster: withHa({ shared_disk: '/dev/disk/by-id/cf-no-such-disk' }), sections: capturedSections('disk_attached.no-such-disk.this-machine'),
    expect: { refuse: /^shared disk \/dev\/disk\/by-id\/cf-no-such-disk not found on node1: not a block device: \/dev\/disk\/by-id\/cf-no-such-disk\. Attach the disk/ } },

  // disk_layout
  { name: 'a blank 64 MiB loop device (every section captured) → guard, sfdisk, partx', module: diskLayout, args: {}, sections: capturedSections('disk_layout.blank-64M.loop'),
    expect: { summaries: ['write a dos partition table on /dev/loop0: 4 partitions (quorum 1, 2, services 3, 4)'], descs: [GUARD, /^sfdisk .* \/dev\/loop0 <<< 'label: dos; unit: sectors; size=20480, type=83; size=20480, type=83; size=40960, type=83; size=32768, type=83'$/, /^partx -u \/dev\/loop0/] } },
  { name: 'the layout already there → nothing to do', module: diskLayout, args: {}, sections: disk('ha4'), expect: { summaries: [], notes: ['/dev/loop0: partition table as wanted (4 entries)'] } },
  { name: 'a whole-disk ext4 (every section captured) → refused, naming the signature', module: diskLayout, args: {}, sections: capturedSections('disk_layout.whole-disk-ext4.loop'), expect: { refuse: /^refusing to repartition \/dev\/loop0 on node1: .*ext4[\s\S]*--force-disks/ } },
  { name: 'absent without --wipe-disks → data kept, said in a note', module: diskLayout, args: { state: 'absent', wipe: true }, sections: disk('ha4'), expect: { summaries: [], notes: ['partitions and data kept on /dev/loop0 (pass --wipe-disks to clear the disk)'] } },
  { name: 'absent --wipe-disks on a blank disk → nothing to do', module: diskLayout, args: { state: 'absent', wipe: true }, flags: { wipeDisks: true }, sections: capturedSections('disk_layout.blank-64M.loop'), expect: { summaries: [], notes: ['/dev/loop0 is already blank'] } },

  // partition_table
  { name: 'the table as wanted and every partition in /proc/partitions → nothing to do', module: partitionTable, args: {}, sections: tableOf(disk('ha4')), expect: { summaries: [], notes: ['/dev/loop0: kernel lists partitions 1, 2, 3, 4'] } },
  { name: 'partitions missing from /proc/partitions → re-read and check', module: partitionTable, args: {}, sections: tableOf(disk('ha4', { partitions: cap['blank.partitions']! })),
    expect: { summaries: ['make the kernel read the new table of /dev/loop0: partition(s) 1, 2, 3, 4 missing from /proc/partitions'], descs: ['partx -u /dev/loop0 (fallback partx -a), then check /proc/partitions'] } },
  { name: 'another table → not the disk disk_layout partitioned: refused', module: partitionTable, args: {}, sections: tableOf(disk('foreign')), expect: { refuse: /^not the disk disk_layout partitioned: node1 sees \/dev\/loop0 as \/dev\/loop0 \(67108864 bytes, table id 0x[0-9a-f]+\)/ } },
  { name: 'another table id than expected → refused', module: partitionTable, args: { expect_id: '0xdeadbeef' }, sections: tableOf(disk('ha4')), expect: { refuse: /^not the same disk: .*, expected table id 0xdeadbeef$/ } },

  // raw_devices
  { name: 'no raw driver: configuration written, binding skipped with a warning', module: rawDevices, args: {}, facts: RHEL4, sections: rawRes(fail(1)),
    expect: { summaries: ['create /etc/sysconfig/rawdevices: /dev/raw/raw1 → /dev/sdc1, /dev/raw/raw2 → /dev/sdc2'], scripts: ['write /etc/sysconfig/rawdevices'], warnings: [KERNEL_NAMES, 'raw binding skipped: kernel 6.18.44 has no raw driver (removed in Linux 5.14); configuration written'] } },
  { name: 'absent, nothing configured or bound → nothing to do', module: rawDevices, args: { state: 'absent' }, facts: RHEL4, sections: rawRes(fail(1), 'tool\n'), expect: { summaries: [], notes: [] } },
  { name: 'absent: a configuration clusterform did not write → left alone', module: rawDevices, args: { state: 'absent' }, facts: RHEL4, sections: rawRes(ok('/dev/raw/raw1 /dev/sdb1\n')), expect: { summaries: [], notes: ['/etc/sysconfig/rawdevices was not written by clusterform; left alone'] } },
  { name: 'the shared disk missing on this member → refused', module: rawDevices, args: {}, facts: RHEL4, sections: rawRes(fail(1), '', { dev: fail(3, 'not a block device: /dev/loop0\n') }), expect: { refuse: /^shared disk \/dev\/loop0 not found on node1: not a block device: \/dev\/loop0$/ } },
  { name: 'a raw driver but no partition yet → refused on up', module: rawDevices, args: {}, facts: { ...RHEL4, features: { ...RHEL4.features, raw: 'loaded' } }, sections: rawRes(fail(1), 'tool\n', { majmin: ok('1 missing\n2 missing\n') }), expect: { refuse: /^partition \/dev\/sdc1 does not exist on node1; run partition_table first$/ } },

  // filesystem
  { name: 'no signature on the partition → guard + mkfs ext3', module: filesystem, args: { service: 'nfs' }, sections: fsRes(cap['p3.blank.blkid']!), expect: { summaries: ['create ext3 on /dev/loop0p3 (service nfs)'], descs: [GUARD, 'mkfs -t ext3 -q /dev/loop0p3'] } },
  { name: 'ext3 already → nothing to do', module: filesystem, args: { service: 'nfs' }, sections: fsRes(cap['p3.ext3.blkid']!), expect: { summaries: [], notes: ['/dev/loop0p3: ext3 present, left as is'] } },
  { name: 'ext3 with another label → left as is, said in a note', module: filesystem, args: { service: 'nfs', label: 'hanfs' }, sections: fsRes(cap['p3.ext3.blkid']!), expect: { summaries: [], notes: ['/dev/loop0p3: ext3 present, left as is', 'label is "", wanted hanfs (not changed)'] } },
  { name: 'ext4 → refused without --force-disks', module: filesystem, args: { service: 'nfs' }, sections: fsRes(cap['p3.ext4.blkid']!), expect: { refuse: /^\/dev\/loop0p3 \(service nfs\) holds ext4, wanted ext3: refusing to overwrite it\. .*--force-disks/ } },
  { name: 'ext4 with --force-disks → guard, wipefs, mkfs, with a warning', module: filesystem, args: { service: 'nfs' }, force: true, sections: fsRes(cap['p3.ext4.blkid']!),
    expect: { summaries: ['--force-disks: replace ext4 on /dev/loop0p3 by ext3'], scripts: [/./, 'wipefs -q -a /dev/loop0p3', 'mkfs -t ext3 -q /dev/loop0p3'], warnings: ['--force-disks: ext4 on /dev/loop0p3 destroyed'] } },

  // cluster_config
  { name: 'no cluster.xml → created with config_viewnumber 1', module: clusterConfig, args: {}, sections: { conf: fail(1, 'cat: /etc/cluster.xml: No such file or directory\n'), backup: ok(''), links: ok('') },
    expect: { summaries: ['create /etc/cluster.xml (config_viewnumber 1)'], scripts: ['write /etc/cluster.xml'], writes: { '/etc/cluster.xml': XML }, warnings: [/^\/etc\/cluster\.xml names partitions by kernel name/] } },
  { name: 'the same cluster.xml → nothing to do', module: clusterConfig, args: {}, sections: { conf: ok(XML), backup: ok('backup\n'), links: ok('') }, expect: { summaries: [], notes: ['/etc/cluster.xml up to date (config_viewnumber 1)'], warnings: [/names partitions by kernel name/] } },
  { name: 'a template directory without cluster.xml.hbs → refused', module: clusterConfig, args: {}, cluster: { ...withHa({}), templatesDir: NO_TEMPLATES }, sections: { conf: fail(1), backup: ok(''), links: ok('') }, expect: { refuse: /^cannot render \/etc\/cluster\.xml: / } },
  { name: 'absent: a file clusterform did not write → left alone', module: clusterConfig, args: { state: 'absent' }, sections: { conf: ok('<x/>'), backup: ok(''), links: ok('') }, expect: { summaries: [], notes: ['/etc/cluster.xml was not written by clusterform; left alone'] } },

  // cluster_daemon
  { name: 'clumanager not installed → nothing to do, with a warning', module: clusterDaemon, args: {}, facts: RHEL4, sections: { svc: ok('clumanager|0|0|-|-\n') }, expect: { summaries: [], warnings: [/^cluster\.xml written, clumanager not installed \(.*set ha\.format: pacemaker/] } },
  { name: 'clumanager running and enabled → nothing to do', module: clusterDaemon, args: {}, facts: RHEL4, sections: { svc: ok('clumanager|1|1|enabled|/etc/init.d/clumanager\n') }, expect: { summaries: [], notes: [] } },
  { name: 'cman: started in order cman, rgmanager', module: clusterDaemon, args: {}, cluster: withHa({ format: 'cman' }), facts: { ...RHEL4, init: 'systemd' }, sections: { svc: ok('cman|1|0|disabled|cman.service\nrgmanager|1|0|disabled|rgmanager.service\n') },
    expect: { summaries: ['cman: enable and start', 'rgmanager: enable and start'], scripts: ['systemctl enable --quiet cman.service', 'systemctl start cman.service', 'systemctl enable --quiet rgmanager.service', 'systemctl start rgmanager.service'] } },
  { name: 'absent: stopped in reverse order; a missing daemon noted', module: clusterDaemon, args: { state: 'absent' }, cluster: withHa({ format: 'cman' }), facts: { ...RHEL4, init: 'systemd' }, sections: { svc: ok('cman|1|1|enabled|cman.service\nrgmanager|0|0|-|-\n') },
    expect: { summaries: ['cman: stop and disable'], scripts: ['systemctl stop cman.service', 'systemctl disable --quiet cman.service'], notes: ['rgmanager: not installed'] } },
];
