// Rows for the keepalived module (issue #13): what a Debian 12 director's reads printed → the plan. The service line
// is what services.ts svcReadSh prints (`name|installed|active|boot|unit`).
import { keepalived, CONF_NEW } from '../../../src/modules/lvs/keepalived.js';
import { renderKeepalivedConf } from '../../../src/modules/lvs/keepalived-conf.js';
import { catOut, inventoryOf, ok, type Cluster, type Row } from '../../support/module-harness.js';

/** Two directors with VRRP failover (DR), two real servers with HTTP checks. */
export const FAILOVER: Cluster = {
  name: 'lab',
  hosts: { lb1: '10.0.0.1', lb2: '10.0.0.2', rs1: '10.0.0.21', rs2: '10.0.0.22' },
  lvs: {
    directors: ['lb1', 'lb2'], vip: '10.0.0.200', forwarding: 'dr',
    failover: { vrid: 51, advert_int: 1, preempt: false, sync_connections: true },
    health: { check: 'http', path: '/', status: 200, interval: 2, timeout: 2, retry: 1, on_failure: 'remove' },
    virtual_services: [{ protocol: 'tcp', port: 80, scheduler: 'wlc' }],
    real_servers: [{ host: 'rs1', weight: 1 }, { host: 'rs2', weight: 3 }],
  },
};
const hosts = Object.entries(FAILOVER.hosts).map(([name, address]) => ({ name, address }));
/** lb1's config as the module writes it (no password). */
export const CONF_LB1 = renderKeepalivedConf(inventoryOf(FAILOVER).raw.lvs!, hosts, { name: 'lb1', interface: 'eth0' });
const NO_FAILOVER: Cluster = { ...FAILOVER, lvs: { ...FAILOVER.lvs, directors: ['lb1'], failover: undefined, health: undefined } };

const BIN = ok('/usr/sbin/keepalived\n');
const IFACE = ok('eth0\n');
const RUNNING = ok('keepalived|1|1|enabled|keepalived.service\n');
/** as Debian's package leaves it: enabled, not started (ConditionFileNotEmpty on the config) */
const INSTALLED = ok('keepalived|1|0|enabled|keepalived.service\n');
const WRITE_CHECK = [`write ${CONF_NEW}`, /^\[ -s \/etc\/keepalived\/\.keepalived\.conf\.cf-new \] \|\|[\s\S]*keepalived -t -f[\s\S]*\nmv -f \/etc\/keepalived\/\.keepalived\.conf\.cf-new \/etc\/keepalived\/keepalived\.conf$/];

export const keepalivedRows: Row[] = [
  { name: 'fresh director (package just installed) → config written, checked, moved into place; keepalived started', module: keepalived, args: { state: 'auto' }, cluster: FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(undefined), svc: INSTALLED, iface: IFACE },
    expect: { summaries: ['create /etc/keepalived/keepalived.conf (checked with keepalived -t before it replaces the old one)', 'enable and start keepalived (stopped, enabled now)'], scripts: [...WRITE_CHECK, 'systemctl start keepalived.service'], writes: { [CONF_NEW]: CONF_LB1 }, modes: { [CONF_NEW]: '0600' } } },
  { name: 'config as wanted, keepalived running and enabled → nothing to do, no reload', module: keepalived, args: { state: 'auto' }, cluster: FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(CONF_LB1), svc: RUNNING, iface: IFACE }, expect: { summaries: [] } },
  { name: 'a weight changed → the config and one reload (never a restart)', module: keepalived, args: { state: 'auto' }, cluster: FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(CONF_LB1.replace('weight 3', 'weight 1')), svc: RUNNING, iface: IFACE },
    expect: { summaries: [/^update \/etc\/keepalived\/keepalived\.conf/, 'reload keepalived (applies the difference; a restart would drop every VIP and IPVS rule)'], scripts: [...WRITE_CHECK, 'systemctl reload keepalived.service'], diffs: [/^- {8}weight 1\n\+ {8}weight 3$/m] } },
  { name: 'preferred_master on the preferred master (lb1), fresh → config, started, then waited for until it holds the VIP', module: keepalived, args: { state: 'auto', start: 'preferred_master' }, cluster: FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(undefined), svc: INSTALLED, iface: IFACE },
    expect: { summaries: [/^create /, 'enable and start keepalived (stopped, enabled now)'], scripts: [...WRITE_CHECK, 'systemctl start keepalived.service', /^i=0; while \[ \$i -lt 36 \] && ! ip -o addr show \| grep -qF ' 10\.0\.0\.200\/'; do sleep 0\.5; i=\$\(\(i \+ 1\)\); done; true$/] } },
  { name: 'preferred_master on a backup (lb2), fresh → its config only; not started (a later task), said in a note', module: keepalived, args: { state: 'auto', start: 'preferred_master' }, cluster: FAILOVER, host: 'lb2',
    sections: { bin: BIN, conf: catOut(undefined), svc: INSTALLED, iface: IFACE },
    expect: { summaries: [/^create /], scripts: WRITE_CHECK, notes: ['keepalived starts after the preferred master lb1 (a later task)'] } },
  { name: 'preferred_master on a running backup whose config changed → reloaded (it already runs)', module: keepalived, args: { state: 'auto', start: 'preferred_master' }, cluster: FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(CONF_LB1.replace('weight 3', 'weight 1')), svc: RUNNING, iface: IFACE },
    expect: { summaries: [/^update /, 'reload keepalived (applies the difference; a restart would drop every VIP and IPVS rule)'] } },
  { name: 'backups on a backup (lb2) not running → started only (the config is the earlier task\'s)', module: keepalived, args: { state: 'auto', start: 'backups' }, cluster: FAILOVER, host: 'lb2',
    sections: { bin: BIN, conf: catOut(undefined), svc: INSTALLED, iface: IFACE },
    expect: { summaries: ['enable and start keepalived (stopped, enabled now)'], scripts: ['systemctl start keepalived.service'] } },
  { name: 'backups on the preferred master → nothing (it started in the earlier task)', module: keepalived, args: { state: 'auto', start: 'backups' }, cluster: FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(undefined), svc: INSTALLED, iface: IFACE }, expect: { summaries: [] } },
  { name: 'backups with keepalived no longer owning the farm → nothing (the earlier task stops it)', module: keepalived, args: { state: 'auto', start: 'backups' }, cluster: NO_FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(CONF_LB1), svc: RUNNING }, expect: { summaries: [] } },
  { name: 'keepalived not installed → refused on up', module: keepalived, args: { state: 'auto' }, cluster: FAILOVER, host: 'lb1',
    sections: { bin: { out: '', err: '', rc: 1 }, conf: catOut(undefined), svc: ok('keepalived|0|0|-|-\n'), iface: IFACE }, expect: { refuse: /^keepalived is not installed on this host/ } },
  { name: 'no interface holds the address → refused', module: keepalived, args: { state: 'auto' }, cluster: FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(undefined), svc: INSTALLED, iface: ok('\n') }, expect: { refuse: /^no interface holds this host's address 10\.0\.0\.1: set lvs\.interface$/ } },
  { name: 'no failover or health any more → stopped, disabled, config removed', module: keepalived, args: { state: 'auto' }, cluster: NO_FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut(CONF_LB1), svc: RUNNING },
    expect: { summaries: ['stop and disable keepalived (it removes its VIP and IPVS services)', 'remove /etc/keepalived/keepalived.conf'], scripts: ['systemctl stop keepalived.service', 'systemctl disable --quiet keepalived.service', 'remove /etc/keepalived/keepalived.conf'] } },
  { name: 'absent, keepalived never used here → nothing to do', module: keepalived, args: { state: 'absent' }, cluster: NO_FAILOVER, host: 'lb1',
    sections: { bin: { out: '', err: '', rc: 1 }, conf: catOut(undefined), svc: ok('keepalived|0|0|-|-\n') }, expect: { summaries: [] } },
  { name: "absent, a keepalived.conf that is not clusterform's → left alone, said in a note", module: keepalived, args: { state: 'absent' }, cluster: NO_FAILOVER, host: 'lb1',
    sections: { bin: BIN, conf: catOut('vrrp_instance X {\n}\n'), svc: RUNNING }, expect: { summaries: [], notes: ["/etc/keepalived/keepalived.conf is not clusterform's: keepalived left alone"] } },
];
