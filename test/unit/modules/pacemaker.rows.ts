// Rows for the format: pacemaker modules (issue #14): corosync.conf, the corosync key, sbd, the CIB, the daemons.
// The CIB sections are pacemaker's formatting (2-space indentation, attributes in another order than clusterform
// writes them) of what the inventory wants, plus what pacemaker adds by itself (dc-version, nodes…).
import type { ProbeResult } from '../../../src/engine/types.js';
import { inventorySchema } from '../../../src/inventory/schema.js';
import { type El, wantedCib } from '../../../src/modules/ha/cib.js';
import { clusterDaemon } from '../../../src/modules/ha/cluster_daemon.js';
import { corosyncConfig, renderCorosyncConf, corosyncContext } from '../../../src/modules/ha/corosync_config.js';
import { pacemakerCib } from '../../../src/modules/ha/pacemaker_cib.js';
import { corosyncAuthkey } from '../../../src/modules/ha/corosync_authkey.js';
import { sbdConfig, sbdConfigText, sbdDeviceModule } from '../../../src/modules/ha/sbd.js';
import { CLUSTER, fail, ok, withHa, type Cluster, type Row } from '../../support/module-harness.js';

export const PCMK: Cluster = { ...withHa({ format: 'pacemaker', shared_disk: '/dev/disk/by-id/virtio-shared', timeouts: { token: 5000, watchdog: 10, msgwait: 20 } }), templatesDir: undefined };
export const pcmkHa = () => inventorySchema.parse({ cluster: 'lab', hosts: {}, ha: PCMK.ha }).ha!;

/** pacemaker's way of printing an element: attributes reversed, two spaces per level. */
export function pretty(e: El, depth = 1): string {
  const pad = '  '.repeat(depth);
  const attrs = Object.entries(e.attrs).reverse().map(([k, v]) => ` ${k}="${v.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`).join('');
  if (!e.children.length) return `${pad}<${e.tag}${attrs}/>`;
  return `${pad}<${e.tag}${attrs}>\n${e.children.map((c) => pretty(c, depth + 1)).join('\n')}\n${pad}</${e.tag}>`;
}

/** `cibadmin -Q -o configuration` as pacemaker would print it, holding `resources` and these properties. */
export function cibText(resources: El[], props: Record<string, string> = {}, stickiness?: string, constraints: El[] = []): string {
  const nv = (set: string, k: string, v: string) => `      <nvpair id="${set}-${k}" name="${k}" value="${v}"/>`;
  const base = { 'have-watchdog': 'true', 'dc-version': '2.1.5-a3f44794f94', 'cluster-infrastructure': 'corosync', 'cluster-name': 'lab', ...props };
  return [
    '<configuration>',
    '  <crm_config>',
    '    <cluster_property_set id="cib-bootstrap-options">',
    ...Object.entries(base).map(([k, v]) => nv('cib-bootstrap-options', k, v)),
    '    </cluster_property_set>',
    '  </crm_config>',
    '  <nodes>',
    '    <node id="1" uname="node1"/>',
    '    <node id="2" uname="node2"/>',
    '  </nodes>',
    resources.length ? `  <resources>\n${resources.map((r) => pretty(r, 2)).join('\n')}\n  </resources>` : '  <resources/>',
    constraints.length ? `  <constraints>\n${constraints.map((r) => pretty(r, 2)).join('\n')}\n  </constraints>` : '  <constraints/>',
    ...(stickiness ? ['  <rsc_defaults>', '    <meta_attributes id="build-resource-defaults">', `      <nvpair id="build-resource-stickiness" name="resource-stickiness" value="${stickiness}"/>`, '    </meta_attributes>', '  </rsc_defaults>'] : []),
    '</configuration>',
    '',
  ].join('\n');
}

/** The CIB once `up` applied everything (what the second `up` reads). */
export function cibDone(): string {
  const w = wantedCib(pcmkHa(), 'debian', {});
  return cibText([...w.fencing, ...w.groups], w.props, '100', w.constraints);
}

/** A key as `base64 -w0 /etc/corosync/authkey` prints it. */
export const KEY_B = Buffer.alloc(256, 7).toString('base64');
const CONF = () => renderCorosyncConf(corosyncContext('lab', pcmkHa(), (m) => CLUSTER.hosts[m]!));
const DEBIAN_CONF = 'exists\ntotem {\n\tversion: 2\n\tcluster_name: debian\n}\nnodelist {\n\tnode {\n\t\tname: node1\n\t\tnodeid: 1\n\t\tring0_addr: 127.0.0.1\n\t}\n}\n';
const SBD_DUMP = '==Dumping header on disk /dev/vda1\nHeader version     : 2.1\nUUID               : 5f7a4b1e-0000-4000-8000-000000000001\nNumber of slots    : 255\nSector size        : 512\nTimeout (watchdog) : 10\nTimeout (allocate) : 2\nTimeout (loop)     : 1\nTimeout (msgwait)  : 20\n==Header on disk /dev/vda1 is dumped\n';
const sbdSections = (dump: { out: string; rc: number }, blkid = fail(2), inuse = ''): ProbeResult => ({ dev: ok('/dev/vda\nyes\n'), dump: { ...dump, err: '' }, blkid, inuse: ok(inuse) });

export const pacemakerRows: Row[] = [
  // corosync_config
  { name: "the packages' one-member default → stopped, its CIB cleared, the units the cluster runs disabled, then written", module: corosyncConfig, args: {}, cluster: PCMK, sections: { conf: ok(DEBIAN_CONF), active: ok('active\n') },
    expect: { summaries: ["replace the packages' default /etc/corosync/corosync.conf"], descs: [/^stop the packages' one-member cluster/, 'stop and disable at boot what the cluster will start: nfs-server, nfs-kernel-server, nfs, smb', 'write /etc/corosync/corosync.conf'],
      writes: { '/etc/corosync/corosync.conf': /cluster_name: lab[\s\S]*token: 5000[\s\S]*name: node1\n\s+nodeid: 1\n\s+ring0_addr: 10\.213\.0\.11[\s\S]*name: node2\n\s+nodeid: 2\n\s+ring0_addr: 10\.213\.0\.12[\s\S]*two_node: 1/ } } },
  { name: 'written by clusterform and the same → nothing to do', module: corosyncConfig, args: {}, cluster: PCMK, sections: { conf: ok(`exists\n${CONF()}`), active: ok('active\n') }, expect: { summaries: [], notes: ['/etc/corosync/corosync.conf up to date'] } },
  { name: 'ours, another token → written and reloaded (nothing restarts)', module: corosyncConfig, args: {}, cluster: PCMK, sections: { conf: ok(`exists\n${CONF().replace('token: 5000', 'token: 3000')}`), active: ok('active\n') },
    expect: { summaries: ['update /etc/corosync/corosync.conf and reload it'], scripts: ['write /etc/corosync/corosync.conf', 'corosync-cfgtool -R'] } },
  { name: "another cluster's corosync.conf → refused", module: corosyncConfig, args: {}, cluster: PCMK, sections: { conf: ok('exists\ntotem {\n cluster_name: prod\n}\nnodelist {\n}\n'), active: ok('active\n') }, expect: { refuse: /describes a cluster clusterform did not set up/ } },
  { name: 'absent while corosync runs → refused', module: corosyncConfig, args: { state: 'absent' }, cluster: PCMK, sections: { conf: ok(`exists\n${CONF()}`), active: ok('active\n') }, expect: { refuse: /corosync still runs here/ } },
  { name: 'absent, stopped → conf, key and CIB removed', module: corosyncConfig, args: { state: 'absent' }, cluster: PCMK, sections: { conf: ok(`exists\n${CONF()}`), active: ok('inactive\n') },
    expect: { summaries: [/^remove \/etc\/corosync\/corosync.conf, \/etc\/corosync\/authkey and the CIB/], scripts: ['remove /etc/corosync/corosync.conf', 'remove /etc/corosync/authkey', 'rm -f /var/lib/pacemaker/cib/cib*'] } },

  // corosync_authkey (step: install needs the key chosen in the same run: pacemaker.test.ts)
  { name: 'choose: no member has a key → one made on the controller, written here, never shown', module: corosyncAuthkey, args: { step: 'choose' }, cluster: PCMK, peers: [{ host: 'node2', res: { key: ok('') } }], sections: { key: ok('') },
    expect: { summaries: ['/etc/corosync/authkey: a new 256-byte key, made on the controller'], descs: ['write /etc/corosync/authkey (256 bytes, mode 0400; the key is not shown)'] } },
  { name: 'choose: every member has the same key → kept, nothing to do', module: corosyncAuthkey, args: { step: 'choose' }, cluster: PCMK, peers: [{ host: 'node2', res: { key: ok(KEY_B) } }], sections: { key: ok(KEY_B) },
    expect: { summaries: [], notes: ["the members' key is kept (node1, node2)"] } },
  { name: 'choose: two different keys → refused (a running cluster keeps its key)', module: corosyncAuthkey, args: { step: 'choose' }, cluster: PCMK, peers: [{ host: 'node2', res: { key: ok(KEY_B) } }], sections: { key: ok(Buffer.alloc(256, 1).toString('base64')) },
    expect: { refuse: /the members have different corosync keys \(node1 \/ node2\)/ } },

  // sbd_device
  { name: 'blank partition, nobody holds the disk → sbd create with the inventory timeouts', module: sbdDeviceModule, args: {}, cluster: PCMK, peers: [{ host: 'node2', res: { dev: ok('/dev/vda\n'), inuse: ok('') } }], sections: sbdSections({ out: '', rc: 1 }),
    expect: { summaries: ['create the SBD header on /dev/vda1 (watchdog 10 s, msgwait 20 s)'], scripts: ['sbd -d /dev/vda1 -1 10 -4 20 create'] } },
  { name: 'header present with the same timeouts → nothing to do (the cluster may run)', module: sbdDeviceModule, args: {}, cluster: PCMK, peers: [{ host: 'node2', res: { dev: ok('/dev/vda\n'), inuse: ok('daemon - sbd running\n') } }], sections: sbdSections({ out: SBD_DUMP, rc: 0 }, fail(2), 'daemon - pacemakerd running\n'),
    expect: { summaries: [], notes: ['SBD header on /dev/vda1: watchdog 10 s, msgwait 20 s'] } },
  { name: 'no header while pacemaker runs on node2 → refused', module: sbdDeviceModule, args: {}, cluster: PCMK, peers: [{ host: 'node2', res: { dev: ok('/dev/vda\n'), inuse: ok('daemon - pacemakerd running\n') } }], sections: sbdSections({ out: '', rc: 1 }),
    expect: { refuse: /refusing to create the SBD header on \/dev\/vda1[\s\S]*node2: pacemakerd running/ } },
  { name: 'a file system on the partition → refused without --force-disks', module: sbdDeviceModule, args: {}, cluster: PCMK, peers: [{ host: 'node2', res: { dev: ok('/dev/vda\n'), inuse: ok('') } }], sections: sbdSections({ out: '', rc: 1 }, ok('TYPE=ext4\n')),
    expect: { refuse: /holds ext4: refusing to overwrite it/ } },
  { name: 'node2 left out of the run → refused', module: sbdDeviceModule, args: {}, cluster: PCMK, peers: [{ host: 'node2', missing: 'left out by --limit' }], sections: sbdSections({ out: '', rc: 1 }),
    expect: { refuse: /node2 is not in this run/ } },

  // sbd_config
  { name: 'a watchdog, no settings yet → /etc/default/sbd written', module: sbdConfig, args: {}, cluster: PCMK, sections: { 'file.content': ok('# the package default\nSBD_PACEMAKER=yes\n'), 'file.stat': ok('644 root:root\n'), watchdog: ok('yes\n') },
    expect: { summaries: ['update /etc/default/sbd'], writes: { '/etc/default/sbd': /^# managed by clusterform\nSBD_DEVICE=\/dev\/disk\/by-id\/virtio-shared-part1\n[\s\S]*SBD_WATCHDOG_DEV=\/dev\/watchdog\nSBD_WATCHDOG_TIMEOUT=10\n/ } } },
  { name: 'settings as wanted → nothing to do', module: sbdConfig, args: {}, cluster: PCMK, sections: { 'file.content': ok(sbdConfigText(pcmkHa())), 'file.stat': ok('644 root:root\n'), watchdog: ok('yes\n') }, expect: { summaries: [], notes: ['/etc/default/sbd up to date'] } },
  { name: 'no /dev/watchdog (a namespace lab host) → refused, softdog never loaded', module: sbdConfig, args: {}, cluster: PCMK, sections: { 'file.content': fail(1), 'file.stat': fail(1), watchdog: ok('no\n') }, expect: { refuse: /has no \/dev\/watchdog[\s\S]*never loads softdog/ } },

  // pacemaker_cib
  { name: 'an empty CIB → fence device first, properties, stickiness, then one group per service; waits for the cluster to settle', module: pacemakerCib, args: {}, cluster: PCMK, sections: { cib: ok(cibText([])) },
    expect: { summaries: ['create primitive cf-fence-sbd (external/sbd)', 'cluster property stop-all-resources: (unset) → false', 'cluster property stonith-enabled: (unset) → true', 'cluster property stonith-timeout: (unset) → 60s', 'resource default resource-stickiness: (unset) → 100', 'create group nfs', 'create group smb'],
      descs: [/^cibadmin --create -o resources -X '<primitive id="cf-fence-sbd" class="stonith" type="external\/sbd" description="managed by clusterform"><instance_attributes id="cf-fence-sbd-instance_attributes"><nvpair id="cf-fence-sbd-instance_attributes-sbd_device" name="sbd_device" value="\/dev\/disk\/by-id\/virtio-shared-part1"\/>/,
        'crm_attribute --type crm_config --name stop-all-resources --update false', 'crm_attribute --type crm_config --name stonith-enabled --update true', 'crm_attribute --type crm_config --name stonith-timeout --update 60s', 'crm_attribute --type rsc_defaults --name resource-stickiness --update 100',
        /^cibadmin --create -o resources -X '<group id="nfs" description="managed by clusterform"><primitive id="nfs-fs" class="ocf" provider="heartbeat" type="Filesystem"><instance_attributes id="nfs-fs-instance_attributes"><nvpair id="nfs-fs-instance_attributes-device" name="device" value="\/dev\/disk\/by-id\/virtio-shared-part3"\/><nvpair id="nfs-fs-instance_attributes-directory" name="directory" value="\/srv\/nfs"\/><nvpair id="nfs-fs-instance_attributes-fstype" name="fstype" value="ext3"\/>.*<primitive id="nfs-ip" class="ocf" provider="heartbeat" type="IPaddr2">.*value="10\.0\.0\.50".*<primitive id="nfs-nfsd" class="ocf" provider="heartbeat" type="nfsserver">.*<primitive id="nfs-export" class="ocf" provider="heartbeat" type="exportfs">.*name="clientspec" value="\*".*name="fsid" value="1"/,
        /^cibadmin --create -o resources -X '<group id="smb" description="managed by clusterform"><primitive id="smb-fs" .*value="\/dev\/disk\/by-id\/virtio-shared-part4".*<primitive id="smb-ip" .*value="10\.0\.0\.51"[^]*<\/group>'$/,
        'crm_resource --wait (up to 300 s: the cluster settles)'] } },
  { name: 'the CIB as wanted (pacemaker formatting, its own properties beside) → nothing to do, nothing moves', module: pacemakerCib, args: {}, cluster: PCMK, sections: { cib: ok(cibDone()) }, expect: { summaries: [], warnings: [], notes: [] } },
  { name: "one service's option changed → only that group replaced (pacemaker restarts only what changed)", module: pacemakerCib, args: {}, cluster: withHa({ services: [{ ...(PCMK.ha!.services as any[])[0], nfs: { export: '/srv/nfs', clients: '10.0.0.0/24', options: 'rw' } }, (PCMK.ha!.services as any[])[1]] }, PCMK), sections: { cib: ok(cibDone()) },
    expect: { summaries: ['update group nfs'], descs: [/^cibadmin --replace -o resources -X '<group id="nfs".*name="clientspec" value="10\.0\.0\.0\/24"/, 'crm_resource --wait (up to 300 s: the cluster settles)'] } },
  { name: 'a service removed from the inventory → its group stopped, then deleted', module: pacemakerCib, args: {}, cluster: withHa({ services: [(PCMK.ha!.services as any[])[0]] }, PCMK), sections: { cib: ok(cibDone()) },
    expect: { summaries: ['remove group smb (no longer in the inventory): stopped first'], scripts: ['crm_resource -r smb --meta -p target-role -v Stopped', "crm_resource --wait '--timeout=300s'", "cibadmin --delete -o resources -X '<group id=\"smb\"/>'", "crm_resource --wait '--timeout=300s'"] } },
  { name: 'fencing: none → stonith-enabled false, said loudly', module: pacemakerCib, args: {}, cluster: withHa({ fencing: 'none' }, PCMK), sections: { cib: ok(cibDone()) },
    expect: { summaries: ['cluster property stonith-enabled: true → false', 'remove primitive cf-fence-sbd (no longer in the inventory): stopped first'], warnings: [/fencing: none: no member is fenced; after a split brain both may mount the shared disk and corrupt it/] } },
  { name: 'pacemaker not answering on up → refused', module: pacemakerCib, args: {}, cluster: PCMK, sections: { cib: { out: '', err: 'Could not connect to the CIB: Transport endpoint is not connected\n', rc: 102 } }, expect: { refuse: /the cluster does not answer here: Could not connect to the CIB/ } },
  { name: 'absent → stop-all-resources and wait', module: pacemakerCib, args: { state: 'absent' }, cluster: PCMK, sections: { cib: ok(cibDone()) },
    expect: { summaries: [/^stop every resource/], scripts: ['crm_attribute --type crm_config --name stop-all-resources --update true', "crm_resource --wait '--timeout=300s'"] } },

  // cluster_daemon, format: pacemaker
  { name: 'pacemaker: sbd enabled first, corosync then pacemaker started, waits for a designated controller', module: clusterDaemon, args: {}, cluster: PCMK, sections: { svc: ok('corosync|1|0|disabled|corosync.service\npacemaker|1|0|disabled|pacemaker.service\nsbd|1|0|disabled|sbd.service\n') },
    expect: { summaries: ['sbd: enable (starts with corosync)', 'corosync: enable and start', 'pacemaker: enable and start'], descs: ['systemctl enable sbd.service', 'systemctl enable corosync.service', 'systemctl start corosync.service', 'systemctl enable pacemaker.service', 'systemctl start pacemaker.service', 'wait for a designated controller (up to 300 s)'] } },
  { name: 'pacemaker: running and enabled → nothing to do', module: clusterDaemon, args: {}, cluster: PCMK, sections: { svc: ok('corosync|1|1|enabled|corosync.service\npacemaker|1|1|enabled|pacemaker.service\nsbd|1|1|enabled|sbd.service\n') }, expect: { summaries: [], notes: [] } },
  { name: 'pacemaker absent: pacemaker stopped before corosync (sbd stops with it), sbd disabled', module: clusterDaemon, args: { state: 'absent' }, cluster: PCMK, sections: { svc: ok('corosync|1|1|enabled|corosync.service\npacemaker|1|1|enabled|pacemaker.service\nsbd|1|1|enabled|sbd.service\n') },
    expect: { summaries: ['pacemaker: stop and disable', 'corosync: stop and disable', 'sbd: disable'], scripts: ['systemctl stop pacemaker.service', 'systemctl disable --quiet pacemaker.service', 'systemctl stop corosync.service', 'systemctl disable --quiet corosync.service', 'systemctl disable --quiet sbd.service'] } },
];
