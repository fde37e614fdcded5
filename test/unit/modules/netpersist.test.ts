// Network persistence for every network stack: which backend a host really uses (detection table), and for
// ip_address, route and nat_masquerade the files, units and nmcli steps each backend gets — as data: arguments + what
// the reads printed (netpersist.rows.ts; captured fixtures where this machine can produce them) → the expected plan.
import { describe, expect, it } from 'vitest';
import { ipAddress } from '../../../src/modules/lvs/ip_address.js';
import { natMasquerade, renderNatUnit } from '../../../src/modules/lvs/nat_masquerade.js';
import { route } from '../../../src/modules/lvs/route.js';
import { noBackendNote, parseFound, parseNetStack, pickBackend } from '../../../src/modules/support/netstack.js';
import { capturedSections as cap, checkRow, ok, type Row, withLvs } from '../../support/module-harness.js';
import { foundFile, STACK, stack } from './netpersist.rows.js';

// ---- detection -------------------------------------------------------------------------------------------------------

describe('parseNetStack', () => {
  it('reads units, files, networkd links and nmcli devices (escaped colons)', () => {
    const ns = parseNetStack(`${STACK.networkd}nm eth1:connected:office\\:5G\nnm lo:connected (externally):lo\n`);
    expect(ns.systemd).toBe(true);
    expect(ns.units['systemd-networkd']).toEqual({ active: 'active', enabled: 'enabled' });
    expect(ns.units.networking).toEqual({ active: 'inactive', enabled: '' });
    expect(ns.networkd).toEqual({ lo: { setup: 'unmanaged', file: '' }, eth0: { setup: 'configured', file: '/run/systemd/network/10-netplan-eth0.network' } });
    expect(ns.nm).toEqual({ eth1: { state: 'connected', con: 'office:5G' }, lo: { state: 'connected (externally)', con: 'lo' } });
  });
  it('a SysV host: the init scripts enabled in a runlevel', () => {
    expect(parseNetStack(STACK.rhel4)).toMatchObject({ systemd: false, sysv: ['network'], networkScripts: true, interfaces: false });
  });
});

type Want = [backend: string | null, extra?: Record<string, unknown>];
const PICKS: [name: string, host: keyof typeof STACK, dev: string, want: Want][] = [
  ['Debian server: ifupdown for lo', 'ifupdown', 'lo', ['ifupdown']],
  ['Debian server: ifupdown for eth0', 'ifupdown', 'eth0', ['ifupdown']],
  ['Debian desktop: NetworkManager owns eth0', 'ifupdownNm', 'eth0', ['nm', { con: 'Wired connection 1' }]],
  ['Debian desktop: lo is never NM\'s, ifupdown keeps it', 'ifupdownNm', 'lo', ['ifupdown']],
  ['ifupdown whose interfaces file does not read interfaces.d: clusterform\'s unit', 'ifupdownNoSource', 'lo', ['unit']],
  ['networkd: a drop-in for the .network file that configures eth0', 'networkd', 'eth0', ['networkd', { file: '/run/systemd/network/10-netplan-eth0.network' }]],
  ['networkd leaves lo alone: clusterform\'s own lo .network', 'networkd', 'lo', ['networkd', { file: '/etc/systemd/network/10-clusterform-lo.network', own: true }]],
  ['the lab\'s Debian VM on networkd (captured): a drop-in for eth0\'s .network', 'networkdLab', 'eth0', ['networkd', { file: '/etc/systemd/network/10-lab-eth0.network' }]],
  ['the lab\'s Debian VM on networkd (captured): ifupdown files still there but networking disabled, lo gets clusterform\'s .network', 'networkdLab', 'lo', ['networkd', { file: '/etc/systemd/network/10-clusterform-lo.network', own: true }]],
  ['networkd configuring lo from clusterform\'s own .network (after a reboot): still clusterform\'s own', 'networkdLoOwn', 'lo', ['networkd', { file: '/etc/systemd/network/10-clusterform-lo.network', own: true }]],
  ['networkd, tunl0 (no .network): clusterform\'s unit', 'networkd', 'tunl0', ['unit']],
  ['networkd running but managing nothing is not the host\'s stack', 'networkdIdle', 'eth0', ['unit']],
  ['RHEL 9: NetworkManager owns eth0', 'rhel9', 'eth0', ['nm', { con: 'System eth0' }]],
  ['RHEL 9: lo is "connected (externally)", not NM\'s: the unit, with a note', 'rhel9', 'lo', ['unit', { note: "NetworkManager does not manage lo: clusterform's own unit keeps it" }]],
  ['RHEL 7 network-scripts without NetworkManager', 'rhel7Scripts', 'lo', ['network-scripts']],
  ['RHEL 4 (SysV, network in rc3.d)', 'rhel4', 'lo', ['network-scripts']],
  ['minimal image: systemd only', 'bare', 'lo', ['unit']],
  ['no systemd and no network config: nothing', 'nothing', 'lo', [null]],
];

describe('pickBackend: the precedence rule', () => {
  it.each(PICKS)('%s', (_, host, dev, [backend, extra]) => {
    const p = pickBackend(parseNetStack(STACK[host]), dev);
    if (backend === null) expect(p).toBeNull();
    else expect(p).toEqual({ backend, ...(extra ?? {}) });
  });
});

// ---- ip_address on each backend -----------------------------------------------------------------------------------

const VIP_LO = { address: '10.213.0.200', prefix: 32, device: 'lo', label: 'lo:0' };
const VIP_TUN = { address: '10.213.0.200', prefix: 32, device: 'tunl0' };
const VIP_ETH = { address: '10.213.0.200', prefix: 32, device: 'auto' };
// live states (ip -o addr / link output as captured in the ip_address fixtures)
const LO_BARE = cap('ip_address.lo-bare.netns').addr!;
const LO_VIP = cap('ip_address.lo-vip.netns').addr!;
const ETH_BARE = cap('ip_address.eth0-auto.netns').addr!;
const TUNL0_UP = ok('device=tunl0\n3: tunl0    inet 10.213.0.200/32 scope global tunl0\\       valid_lft forever preferred_lft forever\n@@link\n3: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue state UNKNOWN\n');
const TUNL0_BARE = ok('device=tunl0\n@@link\n3: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 qdisc noqueue state UNKNOWN\n');

const LO_UNIT = '/etc/systemd/system/clusterform-net-lo-0.service';
const LO_DROPIN = '/etc/systemd/network/10-clusterform-lo.network.d/clusterform-lo-0.conf';
const LO_NETWORK = '/etc/systemd/network/10-clusterform-lo.network';
const ETH_DROPIN = '/etc/systemd/network/10-netplan-eth0.network.d/clusterform-vip-10-213-0-200.conf';
const NM_RECORD = '/var/lib/clusterform/nm/addr-vip-10-213-0-200';
const RELOAD = 'if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi';
const LO_UNIT_TEXT = [
  '# managed by clusterform', '[Unit]', 'Description=clusterform: 10.213.0.200/32 on lo:0', 'After=network-pre.target', '', '[Service]', 'Type=oneshot', 'RemainAfterExit=yes',
  'ExecStart=/sbin/ip link set dev lo up', 'ExecStart=/sbin/ip addr replace 10.213.0.200/32 dev lo label lo:0', 'ExecStop=-/sbin/ip addr del 10.213.0.200/32 dev lo', '',
  '[Install]', 'WantedBy=multi-user.target', '',
].join('\n');
const LO_DROPIN_TEXT = '# managed by clusterform\n[Address]\nAddress=10.213.0.200/32\nLabel=lo:0\n';
const NM_RECORD_TEXT = '# managed by clusterform\ncon=System eth0\nprop=ipv4.addresses\nvalue=10.213.0.200/32\n';

const ipRows: Row[] = [
  { name: 'ifupdown, tunl0: the stanza loads ipip before the address (captured ifupdown host)', module: ipAddress, args: VIP_TUN, host: 'rs1', sections: { addr: TUNL0_BARE, netstack: cap('ip_address.lo-bare-ifupdown.netns-mountns').netstack!, persist: ok('') },
    expect: { summaries: ['add 10.213.0.200/32 to tunl0', 'keep 10.213.0.200/32 on tunl0 at boot (/etc/network/interfaces.d/clusterform-tunl0)'],
      writes: { '/etc/network/interfaces.d/clusterform-tunl0': '# managed by clusterform\nauto tunl0\niface tunl0 inet manual\n    pre-up modprobe ipip || true\n    up ip link set dev tunl0 up\n    up ip addr add 10.213.0.200/32 dev tunl0 || true\n    down ip addr del 10.213.0.200/32 dev tunl0 || true\n' }, notes: [] } },
  { name: 'switching to ifupdown (captured): clusterform\'s unit and networkd drop-in of an earlier stack are removed, the lo .network stays for the other address', module: ipAddress, args: VIP_LO, host: 'rs1', sections: cap('ip_address.lo-vip-stale-forms-ifupdown.netns-mountns'),
    expect: {
      summaries: [`remove ${LO_DROPIN}`, `remove ${LO_UNIT}`, 'keep 10.213.0.200/32 on lo:0 at boot (/etc/network/interfaces.d/clusterform-lo-0)'],
      scripts: [`remove ${LO_DROPIN}`, 'rmdir --ignore-fail-on-non-empty /etc/systemd/network/10-clusterform-lo.network.d', 'systemctl disable --quiet clusterform-net-lo-0.service', `remove ${LO_UNIT}`, RELOAD, 'write /etc/network/interfaces.d/clusterform-lo-0'],
      diffs: [/^-Label=lo:0$/m, /^-Description=clusterform: 10\.213\.0\.200\/32 on lo:0$/m, /^\+auto lo:0$/m], notes: [] } },
  { name: 'absent with live: false (keepalived owns the VIP now): the boot forms go, the live address stays', module: ipAddress, args: { ...VIP_LO, state: 'absent', live: false }, host: 'rs1', sections: cap('ip_address.lo-vip-stale-forms-ifupdown.netns-mountns'),
    expect: { summaries: [`remove ${LO_DROPIN}`, `remove ${LO_UNIT}`], scripts: [`remove ${LO_DROPIN}`, 'rmdir --ignore-fail-on-non-empty /etc/systemd/network/10-clusterform-lo.network.d', 'systemctl disable --quiet clusterform-net-lo-0.service', `remove ${LO_UNIT}`, RELOAD] } },
  { name: 'absent (live: true, the default) on the same host: the live address goes too', module: ipAddress, args: { ...VIP_LO, state: 'absent' }, host: 'rs1', sections: cap('ip_address.lo-vip-stale-forms-ifupdown.netns-mountns'),
    expect: { summaries: ['remove 10.213.0.200/32 from lo:0', `remove ${LO_DROPIN}`, `remove ${LO_UNIT}`] } },
  { name: 'networkd, eth0: an [Address] drop-in for the .network file that configures it', module: ipAddress, args: VIP_ETH, host: 'director', sections: { addr: ETH_BARE, netstack: stack('networkd'), persist: ok('') },
    expect: { summaries: ['add 10.213.0.200/32 to eth0', `keep 10.213.0.200/32 on eth0 at boot (${ETH_DROPIN})`], writes: { [ETH_DROPIN]: '# managed by clusterform\n[Address]\nAddress=10.213.0.200/32\n' }, notes: [] } },
  { name: 'networkd, lo: clusterform\'s lo .network (KeepConfiguration=yes) and the address as its drop-in', module: ipAddress, args: VIP_LO, host: 'rs1', sections: { addr: LO_VIP, netstack: stack('networkd'), persist: ok('') },
    expect: { summaries: [`keep 10.213.0.200/32 on lo:0 at boot (${LO_NETWORK})`, `keep 10.213.0.200/32 on lo:0 at boot (${LO_DROPIN})`], scripts: [`write ${LO_NETWORK}`, `write ${LO_DROPIN}`],
      writes: { [LO_NETWORK]: '# managed by clusterform\n[Match]\nName=lo\n\n[Network]\nKeepConfiguration=yes\n\n[Link]\nRequiredForOnline=no\n', [LO_DROPIN]: LO_DROPIN_TEXT } } },
  { name: 'networkd, lo, both files in place → nothing to do', module: ipAddress, args: VIP_LO, host: 'rs1',
    sections: { addr: LO_VIP, netstack: stack('networkd'), persist: ok(foundFile(LO_NETWORK, '# managed by clusterform\n[Match]\nName=lo\n\n[Network]\nKeepConfiguration=yes\n\n[Link]\nRequiredForOnline=no\n') + foundFile(LO_DROPIN, LO_DROPIN_TEXT)) },
    expect: { summaries: [], notes: [] } },
  { name: 'after a reboot networkd configures lo from clusterform\'s .network: both files stay, nothing to do', module: ipAddress, args: VIP_LO, host: 'rs1',
    sections: { addr: LO_VIP, netstack: stack('networkdLoOwn'), persist: ok(foundFile(LO_NETWORK, '# managed by clusterform\n[Match]\nName=lo\n\n[Network]\nKeepConfiguration=yes\n\n[Link]\nRequiredForOnline=no\n') + foundFile(LO_DROPIN, LO_DROPIN_TEXT)) },
    expect: { summaries: [], notes: [] } },
  { name: 'absent, networkd lo alone: the drop-in, its directory and clusterform\'s lo .network go', module: ipAddress, args: { ...VIP_LO, state: 'absent' }, host: 'rs1',
    sections: { addr: LO_VIP, netstack: stack('networkd'), persist: ok(foundFile(LO_NETWORK, '# managed by clusterform\n[Match]\nName=lo\n') + foundFile(LO_DROPIN, LO_DROPIN_TEXT)) },
    expect: { summaries: ['remove 10.213.0.200/32 from lo:0', `remove ${LO_NETWORK}`, `remove ${LO_DROPIN}`],
      scripts: ['ip addr del 10.213.0.200/32 dev lo', `remove ${LO_NETWORK}`, `remove ${LO_DROPIN}`, 'rmdir --ignore-fail-on-non-empty /etc/systemd/network/10-clusterform-lo.network.d'] } },
  { name: 'NetworkManager owns eth0: nmcli +ipv4.addresses on its connection, recorded', module: ipAddress, args: VIP_ETH, host: 'director', sections: { addr: ETH_BARE, netstack: stack('rhel9'), persist: ok('@@nmval ipv4.addresses System eth0\n|192.0.2.2/24\n') },
    expect: { summaries: ['add 10.213.0.200/32 to eth0', `keep 10.213.0.200/32 on eth0 at boot (NetworkManager connection "System eth0": ipv4.addresses 10.213.0.200/32, recorded in ${NM_RECORD})`],
      scripts: ['ip addr add 10.213.0.200/32 dev eth0', "nmcli connection modify 'System eth0' +ipv4.addresses 10.213.0.200/32", `write ${NM_RECORD}`], writes: { [NM_RECORD]: NM_RECORD_TEXT }, notes: [] } },
  { name: 'NetworkManager: the connection holds the address and the record is there → nothing to do', module: ipAddress, args: VIP_ETH, host: 'director',
    sections: { addr: ok(ETH_BARE.out.replace('@@link', '4: eth0    inet 10.213.0.200/32 scope global eth0\\       valid_lft forever preferred_lft forever\n@@link')), netstack: stack('rhel9'), persist: ok(`${foundFile(NM_RECORD, NM_RECORD_TEXT)}@@nmval ipv4.addresses System eth0\n|192.0.2.2/24, 10.213.0.200/32\n@@nmval ipv4.addresses System eth0\n|192.0.2.2/24, 10.213.0.200/32\n`) },
    expect: { summaries: [], notes: [] } },
  { name: 'absent, NetworkManager: -ipv4.addresses on the recorded connection, record removed', module: ipAddress, args: { ...VIP_ETH, state: 'absent' }, host: 'director',
    sections: { addr: ETH_BARE, netstack: stack('rhel9'), persist: ok(`${foundFile(NM_RECORD, NM_RECORD_TEXT)}@@nmval ipv4.addresses System eth0\n|192.0.2.2/24, 10.213.0.200/32\n`) },
    expect: { summaries: [`remove ipv4.addresses 10.213.0.200/32 from NetworkManager connection "System eth0" (${NM_RECORD})`], scripts: ["nmcli connection modify 'System eth0' -ipv4.addresses 10.213.0.200/32", `remove ${NM_RECORD}`] } },
  { name: 'RHEL 9, lo:0 (not NM\'s): clusterform\'s unit, written, daemon-reload, enabled', module: ipAddress, args: VIP_LO, host: 'rs1', sections: { addr: LO_BARE, netstack: stack('rhel9'), persist: ok('') },
    expect: { summaries: ['add 10.213.0.200/32 to lo:0', `keep 10.213.0.200/32 on lo:0 at boot (${LO_UNIT}, enabled)`], scripts: ['ip addr add 10.213.0.200/32 dev lo label lo:0', `write ${LO_UNIT}`, RELOAD, 'systemctl enable --quiet clusterform-net-lo-0.service'],
      writes: { [LO_UNIT]: LO_UNIT_TEXT }, modes: { [LO_UNIT]: '0644' }, notes: ["NetworkManager does not manage lo: clusterform's own unit keeps it"] } },
  { name: 'the unit in place but not enabled → only enabled', module: ipAddress, args: VIP_LO, host: 'rs1', sections: { addr: LO_VIP, netstack: stack('bare'), persist: ok(foundFile(LO_UNIT, LO_UNIT_TEXT)) },
    expect: { summaries: [`keep 10.213.0.200/32 on lo:0 at boot (${LO_UNIT}, enabled)`], scripts: [RELOAD, 'systemctl enable --quiet clusterform-net-lo-0.service'], diffs: [] } },
  { name: 'the unit in place and enabled → nothing to do', module: ipAddress, args: VIP_LO, host: 'rs1', sections: { addr: LO_VIP, netstack: stack('bare'), persist: ok(`${foundFile(LO_UNIT, LO_UNIT_TEXT)}@@enabled clusterform-net-lo-0.service\n`) },
    expect: { summaries: [], notes: [] } },
  { name: 'tunl0 on a unit: ipip loaded first, after systemd-modules-load', module: ipAddress, args: VIP_TUN, host: 'rs1', sections: { addr: TUNL0_UP, netstack: stack('bare'), persist: ok('') },
    expect: { summaries: ['keep 10.213.0.200/32 on tunl0 at boot (/etc/systemd/system/clusterform-net-tunl0.service, enabled)'],
      writes: { '/etc/systemd/system/clusterform-net-tunl0.service': /\nAfter=systemd-modules-load\.service network-pre\.target\n[^]*\nExecStartPre=-\/sbin\/modprobe ipip\nExecStart=\/sbin\/ip link set dev tunl0 up\nExecStart=\/sbin\/ip addr replace 10\.213\.0\.200\/32 dev tunl0\n/ } } },
  { name: 'absent: the unit is disabled and removed with the address', module: ipAddress, args: { ...VIP_LO, state: 'absent' }, host: 'rs1', sections: { addr: LO_VIP, netstack: stack('bare'), persist: ok(`${foundFile(LO_UNIT, LO_UNIT_TEXT)}@@enabled clusterform-net-lo-0.service\n`) },
    expect: { summaries: ['remove 10.213.0.200/32 from lo:0', `remove ${LO_UNIT}`], scripts: ['ip addr del 10.213.0.200/32 dev lo', 'systemctl disable --quiet clusterform-net-lo-0.service', `remove ${LO_UNIT}`, RELOAD] } },
  { name: 'RHEL 7 network-scripts: ifcfg-lo:0', module: ipAddress, args: VIP_LO, host: 'rs1', sections: { addr: LO_VIP, netstack: stack('rhel7Scripts'), persist: ok('') },
    expect: { summaries: ['keep 10.213.0.200/32 on lo:0 at boot (/etc/sysconfig/network-scripts/ifcfg-lo:0)'], writes: { '/etc/sysconfig/network-scripts/ifcfg-lo:0': '# managed by clusterform\nDEVICE=lo:0\nIPADDR=10.213.0.200\nNETMASK=255.255.255.255\nONBOOT=yes\nNAME=loopback\n' } } },
  { name: 'network-scripts, the admin\'s own ifcfg-lo:0 → left alone, said in a note', module: ipAddress, args: VIP_LO, host: 'rs1', sections: { addr: LO_VIP, netstack: stack('rhel4'), persist: ok('@@foreign /etc/sysconfig/network-scripts/ifcfg-lo:0\n') },
    expect: { summaries: [], notes: ["10.213.0.200/32 not persisted: /etc/sysconfig/network-scripts/ifcfg-lo:0 exists and is not clusterform's"] } },
  { name: 'network-scripts, tunl0 (no label, no ifcfg alias): the unit, with a note', module: ipAddress, args: VIP_TUN, host: 'rs1', sections: { addr: TUNL0_UP, netstack: stack('rhel7Scripts'), persist: ok('') },
    expect: { summaries: ['keep 10.213.0.200/32 on tunl0 at boot (/etc/systemd/system/clusterform-net-tunl0.service, enabled)'], notes: [/^network-scripts keep an extra address as ifcfg-<label>: without a label/] } },
  { name: 'no systemd, no network config (a container) → not persisted, said in a note', module: ipAddress, args: VIP_LO, host: 'rs1', sections: cap('ip_address.lo-vip.netns'),
    expect: { summaries: [], notes: [noBackendNote('10.213.0.200/32')] } },
];

// ---- route --------------------------------------------------------------------------------------------------------

const ROUTE_LIVE = cap('route.default-via-192.0.2.254.netns');
const ROUTE_UNIT = '/etc/systemd/system/clusterform-net-route-default.service';
const ROUTE_REC = '/var/lib/clusterform/nm/route-default';
const GW = { gateway: '192.0.2.254' };
const routeRows: Row[] = [
  { name: 'ifupdown (captured): the hook on eth0 in interfaces.d', module: route, args: GW, host: 'rs1', sections: cap('route.default-via-192.0.2.1-ifupdown.netns-mountns'),
    expect: { summaries: ['default route via 192.0.2.254 dev eth0 (now via 192.0.2.1 dev eth0)', 'keep the default route via 192.0.2.254 at boot (/etc/network/interfaces.d/clusterform-route-default)'],
      writes: { '/etc/network/interfaces.d/clusterform-route-default': '# managed by clusterform\nauto eth0\niface eth0 inet manual\n    up ip route replace default via 192.0.2.254 dev eth0\n' }, notes: [] } },
  { name: 'networkd: clusterform\'s unit after network-online (not a drop-in competing with the host\'s Gateway=)', module: route, args: GW, host: 'rs1', sections: { ...ROUTE_LIVE, netstack: stack('networkd') },
    expect: { summaries: [`keep the default route via 192.0.2.254 at boot (${ROUTE_UNIT}, enabled)`],
      writes: { [ROUTE_UNIT]: /\nAfter=network-online\.target\nWants=network-online\.target\n[^]*\nExecStart=\/sbin\/ip route replace default via 192\.0\.2\.254 dev eth0\n/ }, notes: [] } },
  { name: 'NetworkManager, static connection: ipv4.gateway, the old gateway recorded', module: route, args: GW, host: 'rs1',
    sections: { ...ROUTE_LIVE, netstack: stack('rhel9'), persist: ok('@@nmval ipv4.method System eth0\n|manual\n@@nmval ipv4.gateway System eth0\n|192.0.2.1\n') },
    expect: { summaries: [`keep the default route via 192.0.2.254 at boot (NetworkManager connection "System eth0": ipv4.gateway 192.0.2.254, recorded in ${ROUTE_REC})`],
      scripts: ["nmcli connection modify 'System eth0' ipv4.gateway 192.0.2.254", `write ${ROUTE_REC}`], writes: { [ROUTE_REC]: '# managed by clusterform\ncon=System eth0\nprop=ipv4.gateway\nvalue=192.0.2.254\nprev=192.0.2.1\n' } } },
  { name: 'NetworkManager, DHCP connection: clusterform\'s unit, with a note', module: route, args: GW, host: 'rs1',
    sections: { ...ROUTE_LIVE, netstack: stack('rhel9'), persist: ok('@@nmval ipv4.method System eth0\n|auto\n@@nmval ipv4.gateway System eth0\n|\n') },
    expect: { summaries: [`keep the default route via 192.0.2.254 at boot (${ROUTE_UNIT}, enabled)`], notes: [/uses DHCP: clusterform's own unit sets the default route after it at boot$/] } },
  { name: 'RHEL 7 network-scripts: route-eth0', module: route, args: GW, host: 'rs1', sections: { ...ROUTE_LIVE, netstack: stack('rhel7Scripts'), persist: ok('@@foreign /etc/sysconfig/network-scripts/route-eth1\n') },
    expect: { summaries: ['keep the default route via 192.0.2.254 at boot (/etc/sysconfig/network-scripts/route-eth0)'], writes: { '/etc/sysconfig/network-scripts/route-eth0': '# managed by clusterform\ndefault via 192.0.2.254 dev eth0\n' } } },
  { name: 'absent: the recorded route back, the NM gateway back to the recorded one', module: route, args: { state: 'absent' }, host: 'rs1',
    sections: { routes: ROUTE_LIVE.routes!, saved: ok('exists\nvia 192.0.2.1 dev eth0\n'), netstack: stack('rhel9'),
      persist: ok(`${foundFile(ROUTE_REC, '# managed by clusterform\ncon=System eth0\nprop=ipv4.gateway\nvalue=192.0.2.254\nprev=192.0.2.1\n')}@@nmval ipv4.gateway System eth0\n|192.0.2.254\n`) },
    expect: { summaries: ['restore the default route via 192.0.2.1 dev eth0 (now via 192.0.2.254 dev eth0)', `remove ipv4.gateway 192.0.2.254 from NetworkManager connection "System eth0" (${ROUTE_REC})`],
      scripts: ['ip route replace default via 192.0.2.1 dev eth0', 'remove /var/lib/clusterform/route/default', "nmcli connection modify 'System eth0' ipv4.gateway 192.0.2.1", `remove ${ROUTE_REC}`] } },
  { name: 'absent: clusterform\'s route unit disabled and removed', module: route, args: { state: 'absent' }, host: 'rs1',
    sections: { routes: ROUTE_LIVE.routes!, saved: ok('missing\n'), netstack: stack('networkd'), persist: ok(`${foundFile(ROUTE_UNIT, '# managed by clusterform\n[Unit]\n')}@@enabled clusterform-net-route-default.service\n`) },
    expect: { summaries: [`remove ${ROUTE_UNIT}`], scripts: ['systemctl disable --quiet clusterform-net-route-default.service', `remove ${ROUTE_UNIT}`, RELOAD] } },
];

// ---- nat_masquerade ---------------------------------------------------------------------------------------------------

const NAT_UNIT = '/etc/systemd/system/clusterform-nat.service';
const NAT = withLvs({ forwarding: 'nat' });
const IPT_UNIT = renderNatUnit('iptables', '10.213.0.0/24');
const natRows: Row[] = [
  { name: 'systemd + iptables: the rule, and clusterform-nat.service to restore it at boot', module: natMasquerade, args: { source: '10.213.0.0/24' }, host: 'director',
    sections: { ...cap('nat_masquerade.iptables-empty.netns'), persist: ok('@@systemd\n') },
    expect: { summaries: ['masquerade 10.213.0.0/24', `keep masquerade 10.213.0.0/24 at boot (${NAT_UNIT}, enabled)`],
      scripts: ['iptables -w -t nat -A POSTROUTING -s 10.213.0.0/24 -j MASQUERADE', `write ${NAT_UNIT}`, RELOAD, 'systemctl enable --quiet clusterform-nat.service'],
      writes: { [NAT_UNIT]: /\nAfter=network-pre\.target nftables\.service netfilter-persistent\.service iptables\.service firewalld\.service\n[^]*\nExecStart=\/bin\/sh -c "iptables -w -t nat -C POSTROUTING -s 10\.213\.0\.0\/24 -j MASQUERADE 2>\/dev\/null \|\| iptables -w -t nat -A POSTROUTING -s 10\.213\.0\.0\/24 -j MASQUERADE"\nExecStop=-\/bin\/sh -c "iptables -w -t nat -D POSTROUTING -s 10\.213\.0\.0\/24 -j MASQUERADE"\n/ }, notes: [] } },
  { name: 'rule and enabled unit in place → nothing to do', module: natMasquerade, args: { state: 'auto' }, host: 'director', cluster: NAT,
    sections: { ...cap('nat_masquerade.iptables.netns'), persist: ok(`@@systemd\n${foundFile(NAT_UNIT, IPT_UNIT)}@@enabled clusterform-nat.service\n`) }, expect: { summaries: [], notes: [] } },
  { name: 'nft: the unit builds clusterform\'s table at boot', module: natMasquerade, args: { source: '10.213.0.0/24', out_interface: 'eth0' }, host: 'director',
    sections: { nat: ok('@@nft\n@@notable\n'), persist: ok('@@systemd\n') },
    expect: { summaries: ['masquerade 10.213.0.0/24 out eth0 (nft table ip clusterform)', `keep masquerade 10.213.0.0/24 out eth0 at boot (${NAT_UNIT}, enabled)`],
      writes: { [NAT_UNIT]: /\nExecStartPre=-\/usr\/sbin\/nft delete table ip clusterform\nExecStart=\/usr\/sbin\/nft add table ip clusterform\nExecStart=\/usr\/sbin\/nft add chain ip clusterform postrouting "\{ type nat hook postrouting priority 100 ; \}"\nExecStart=\/usr\/sbin\/nft add rule ip clusterform postrouting ip saddr 10\.213\.0\.0\/24 oifname eth0 masquerade\nExecStop=-\/usr\/sbin\/nft delete table ip clusterform\n/ } } },
  { name: 'auto with DR (down/teardown): the rule deleted, the unit disabled and removed', module: natMasquerade, args: { state: 'auto' }, host: 'director',
    sections: { ...cap('nat_masquerade.iptables.netns'), persist: ok(`@@systemd\n${foundFile(NAT_UNIT, IPT_UNIT)}@@enabled clusterform-nat.service\n`) },
    expect: { summaries: ['stop: masquerade 10.213.0.0/24', `remove ${NAT_UNIT}`], scripts: ['iptables -w -t nat -D POSTROUTING -s 10.213.0.0/24 -j MASQUERADE', 'systemctl disable --quiet clusterform-nat.service', `remove ${NAT_UNIT}`, RELOAD] } },
];

describe.each([
  ['ip_address', ipRows],
  ['route', routeRows],
  ['nat_masquerade', natRows],
])('%s persistence rows', (_, rows) => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_, row) => {
    checkRow(row);
  });
});

describe('parseFound', () => {
  it('reads clusterform files exactly, foreign paths, enabled units, nm values and records', () => {
    const f = parseFound(`${foundFile('/a', 'x\n\ny\n')}@@foreign /b\n@@enabled u.service\n${foundFile(NM_RECORD, NM_RECORD_TEXT)}@@nmval ipv4.addresses System eth0\n|1.2.3.4/24, 10.213.0.200/32\n`);
    expect(f.files['/a']).toBe('x\n\ny\n');
    expect(f.foreign).toEqual(['/b']);
    expect(f.enabled).toEqual({ 'u.service': true });
    expect(f.nmRecords[NM_RECORD]).toEqual({ con: 'System eth0', prop: 'ipv4.addresses', value: '10.213.0.200/32' });
    expect(f.nmValues).toEqual({ 'System eth0': { 'ipv4.addresses': '1.2.3.4/24, 10.213.0.200/32' } });
  });
});
