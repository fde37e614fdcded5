// Rows for the LVS modules: arguments + what the module's reads printed (test/fixtures/modules/capture.mjs: `ip` in a
// private network namespace, iptables-nft 1.8.9, this machine's ipvsadm package files) → the expected plan.
import { ipAddress } from '../../../src/modules/lvs/ip_address.js';
import { ipvs, wantedIpvsTable } from '../../../src/modules/lvs/ipvs.js';
import { natMasquerade } from '../../../src/modules/lvs/nat_masquerade.js';
import { route } from '../../../src/modules/lvs/route.js';
import { renderIpvsadmRules } from '../../../src/parsers/ipvsadm.js';
import { noBackendNote } from '../../../src/modules/support/netstack.js';
import { keepalivedRows } from './keepalived.rows.js';
import { capturedSections as cap, catOut, CLUSTER, inventoryOf, ok, pick, type Row } from '../../support/module-harness.js';

const VIP_LO = { address: '10.213.0.200', prefix: 32, device: 'lo', label: 'lo:0' };
// a netns on this machine: no systemd, no ifupdown → nothing can keep the address at boot
const NOT_PERSISTED = noBackendNote('10.213.0.200/32');
const ROUTE_NOT_PERSISTED = noBackendNote('default route');
const LIVE = '-A -t 10.213.0.200:80 -s rr\n-a -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 1\n-a -t 10.213.0.200:80 -r 10.213.0.22:80 -g -w 1\n';
const OWNED = '# IPVS services managed by clusterform, one key per line\nt:10.213.0.200:80\n';
const RULES = renderIpvsadmRules(wantedIpvsTable(inventoryOf(CLUSTER).raw.lvs!, { rs1: { address: '10.213.0.21' }, rs2: { address: '10.213.0.22' } }));
/** The director after a first run: the table, the owned record, the rules file and AUTO="true". */
const ipvsDone = cap('ipvs.not-loaded.this-machine', { table: ok(LIVE), owned: catOut(OWNED), rules: catOut(RULES), defaults: catOut('# ipvsadm\nAUTO="true"\nDAEMON="none"\n') });

export const lvsRows: Row[] = [
  // ip_address
  { name: 'the VIP already on lo:0 (netns) → nothing to do; no interfaces.d here: not persisted, said in a note', module: ipAddress, args: VIP_LO, host: 'rs1', sections: cap('ip_address.lo-vip.netns'), expect: { summaries: [], notes: [NOT_PERSISTED] } },
  { name: 'lo without the VIP (netns) → added with its label', module: ipAddress, args: VIP_LO, host: 'rs1', sections: cap('ip_address.lo-bare.netns'),
    expect: { summaries: ['add 10.213.0.200/32 to lo:0'], scripts: ['ip addr add 10.213.0.200/32 dev lo label lo:0'], notes: [NOT_PERSISTED] } },
  { name: 'lo without the VIP, ifupdown reading interfaces.d → added and kept at boot', module: ipAddress, args: VIP_LO, host: 'rs1', sections: cap('ip_address.lo-bare-ifupdown.netns-mountns'),
    expect: { summaries: ['add 10.213.0.200/32 to lo:0', 'keep 10.213.0.200/32 on lo:0 at boot (/etc/network/interfaces.d/clusterform-lo-0)'], writes: { '/etc/network/interfaces.d/clusterform-lo-0': /^# managed by clusterform\nauto lo:0\niface lo:0 inet manual\n {4}up ip link set dev lo up\n {4}up ip addr add 10\.213\.0\.200\/32 dev lo label lo:0 \|\| true\n/ }, notes: [] } },
  { name: 'device auto: the interface holding the host address (eth0 in a netns)', module: ipAddress, args: { address: '10.213.0.200', device: 'auto', persist: false }, host: 'director', sections: cap('ip_address.eth0-auto.netns'),
    expect: { summaries: ['add 10.213.0.200/32 to eth0'], scripts: ['ip addr add 10.213.0.200/32 dev eth0'] } },
  { name: 'device auto, no interface holds the host address → refused', module: ipAddress, args: { address: '10.213.0.200', device: 'auto' }, host: 'director', sections: cap('ip_address.auto-no-interface.netns'),
    expect: { refuse: /^no interface holds this host's address 10\.213\.0\.1: set lvs\.interface \(or device:\) to the public interface$/ } },
  { name: 'no tunl0 (no ipip in this kernel) → refused on up', module: ipAddress, args: { address: '10.213.0.200', device: 'tunl0', persist: false }, host: 'rs1', sections: cap('ip_address.tunl0-missing.netns'), expect: { refuse: /^interface tunl0 does not exist$/ } },
  { name: 'no tunl0 in a dry run → planned (add, bring up), with a note', module: ipAddress, args: { address: '10.213.0.200', device: 'tunl0', persist: false }, host: 'rs1', dryRun: true, sections: cap('ip_address.tunl0-missing.netns'),
    expect: { summaries: ['add 10.213.0.200/32 to tunl0', 'bring tunl0 up'], notes: ['interface tunl0 does not exist yet (an earlier task should create it)'] } },
  { name: 'absent: the VIP is removed from lo:0', module: ipAddress, args: { ...VIP_LO, state: 'absent' }, host: 'rs1', sections: cap('ip_address.lo-vip.netns'),
    expect: { summaries: ['remove 10.213.0.200/32 from lo:0'], scripts: ['ip addr del 10.213.0.200/32 dev lo'] } },

  // route
  { name: 'default via another gateway (netns) → recorded, replaced', module: route, args: { gateway: '192.0.2.254' }, host: 'rs1', sections: cap('route.default-via-192.0.2.1.netns'),
    expect: {
      summaries: ['default route via 192.0.2.254 dev eth0 (now via 192.0.2.1 dev eth0)'],
      scripts: ["if [ ! -s /var/lib/clusterform/route/default ]; then mkdir -p /var/lib/clusterform/route && __cfr=$(mktemp /var/lib/clusterform/route/default.cf-XXXXXX) && printf '%s\\n' 'via 192.0.2.1 dev eth0' > \"$__cfr\" && sync -- \"$__cfr\" && mv -f \"$__cfr\" /var/lib/clusterform/route/default && sync -- /var/lib/clusterform/route; fi", 'ip route replace default via 192.0.2.254 dev eth0'],
      notes: [ROUTE_NOT_PERSISTED],
    } },
  { name: 'default via the gateway already (netns) → nothing to do', module: route, args: { gateway: '192.0.2.254' }, host: 'rs1', sections: cap('route.default-via-192.0.2.254.netns'), expect: { summaries: [], notes: [ROUTE_NOT_PERSISTED] } },
  { name: 'a gateway on no connected network (netns: ip route get fails) → refused', module: route, args: { gateway: '203.0.113.1' }, host: 'rs1', sections: cap('route.no-default.netns'),
    expect: { refuse: /^gateway 203\.0\.113\.1 is not reachable from this host \(ip route get 203\.0\.113\.1 failed\): it must be on a directly connected network$/ } },
  { name: 'absent with nothing recorded → nothing to do', module: route, args: { state: 'absent' }, host: 'rs1', sections: pick(cap('route.default-via-192.0.2.254.netns'), 'routes', 'saved', 'netstack', 'persist'), expect: { summaries: [], notes: [] } },

  // nat_masquerade
  { name: 'the rule already there (iptables-nft in a netns) → nothing to do', module: natMasquerade, args: { source: '10.213.0.0/24' }, host: 'director', sections: cap('nat_masquerade.iptables.netns'), expect: { summaries: [] } },
  { name: 'no rule (netns: no systemd) → -A, with a note that it is not persisted', module: natMasquerade, args: { source: '10.213.0.0/24' }, host: 'director', sections: cap('nat_masquerade.iptables-empty.netns'),
    expect: { summaries: ['masquerade 10.213.0.0/24'], scripts: ['iptables -w -t nat -A POSTROUTING -s 10.213.0.0/24 -j MASQUERADE'], notes: [/^masquerade 10\.213\.0\.0\/24 not persisted: no systemd/] } },
  { name: 'auto with DR forwarding (the default cluster) → the rule is removed', module: natMasquerade, args: { state: 'auto' }, host: 'director', sections: cap('nat_masquerade.iptables.netns'),
    expect: { summaries: ['stop: masquerade 10.213.0.0/24'], scripts: ['iptables -w -t nat -D POSTROUTING -s 10.213.0.0/24 -j MASQUERADE'] } },
  { name: 'neither iptables nor nft → refused', module: natMasquerade, args: { source: '10.213.0.0/24' }, host: 'director', sections: { nat: ok('@@none\n'), persist: ok('') }, expect: { refuse: /^neither iptables nor nft is installed/ } },
  { name: 'iptables failing → refused with its message', module: natMasquerade, args: { source: '10.213.0.0/24' }, host: 'director', sections: { nat: { out: '@@iptables\n', err: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n', rc: 4 }, persist: ok('') },
    expect: { refuse: /^iptables -t nat -S POSTROUTING failed \(exit 4\): iptables v1\.8\.9 .*Permission denied/ } },

  // ipvs
  { name: "this machine: ip_vs not loaded, Debian's empty rules file and AUTO=\"false\" → the whole table, rules, AUTO=\"true\"", module: ipvs, args: {}, host: 'director', sections: cap('ipvs.not-loaded.this-machine'),
    expect: {
      summaries: ['record owned IPVS services: t:10.213.0.200:80', '-A -t 10.213.0.200:80 -s rr', '-a -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 1', '-a -t 10.213.0.200:80 -r 10.213.0.22:80 -g -w 1', 'write /etc/ipvsadm.rules (restored at boot)', 'set AUTO="true" in /etc/default/ipvsadm (load /etc/ipvsadm.rules at boot)'],
      writes: { '/etc/ipvsadm.rules': RULES, '/etc/default/ipvsadm': /\nAUTO="true"\n[\s\S]*\nIFACE="eth0"\t\n/ },
      diffs: [/.*/, /^-# emtpy rules file for ipvsadm$/m, /^-AUTO="false"\n\+AUTO="true"$/m],
      notes: ['ip_vs is not loaded: the table is empty'],
    } },
  { name: 'table, record, rules and AUTO as wanted → nothing to do', module: ipvs, args: {}, host: 'director', sections: ipvsDone, expect: { summaries: [], notes: [] } },
  { name: 'ipvsadm not installed → refused on up', module: ipvs, args: {}, host: 'director', sections: { ...ipvsDone, table: ok('@@no-ipvsadm\n') }, expect: { refuse: /^ipvsadm is not installed on this host/ } },
  { name: 'ipvsadm -S -n failing → refused with its message', module: ipvs, args: {}, host: 'director', sections: { ...ipvsDone, table: { out: '', err: 'Can\'t initialize ipvs: Protocol not available\n', rc: 1 } },
    expect: { refuse: /^ipvsadm -S -n failed \(exit 1\): Can't initialize ipvs: Protocol not available$/ } },

  // keepalived (issue #13): keepalived.rows.ts
  ...keepalivedRows,
];
