// LVS modules: the rows of lvs.rows.ts, then the cases that need more than a row — parse + plan against recorded
// command outputs, all through the module harness.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModuleDef, ProbeResult } from '../../../src/engine/types.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { renderIpvsadmRules } from '../../../src/parsers/ipvsadm.js';
import { ipAddress, parseIpAddrLines } from '../../../src/modules/lvs/ip_address.js';
import { route, parseDefaultRoutes } from '../../../src/modules/lvs/route.js';
import { ipvs, wantedIpvsTable, OWNED_RECORD } from '../../../src/modules/lvs/ipvs.js';
import { natMasquerade, parseIptablesS, parseNftTable } from '../../../src/modules/lvs/nat_masquerade.js';
import { lvsModules } from '../../../src/modules/lvs/index.js';
import { defaultRegistry } from '../../../src/api.js';
import { catOut as file, checkRow, CLUSTER, type CtxOpts, fail, type FactsOver, inventoryOf, ok, runModule, withLvs } from '../../support/module-harness.js';
import { lvsRows } from './lvs.rows.js';
import { foundFile, stack } from './netpersist.rows.js';
import { evalWhen } from '../../../src/playbook/render.js';
import { keepalivedOwns } from '../../../src/inventory/lvs-failover.js';

const RAW = inventoryOf(CLUSTER).raw;
const facts = (over: FactsOver = {}): FactsOver => over;
/** read → parse → plan on the director unless another host is given. */
const run = <A>(m: ModuleDef<A, any>, rawArgs: unknown, res: ProbeResult, o: CtxOpts = {}) => runModule(m, rawArgs, res, { host: 'director', ...o });

describe.each([...new Set(lvsRows.map((r) => r.module.name))])('%s rows', (name) => {
  it.each(lvsRows.filter((r) => r.module.name === name).map((r) => [r.name, r] as const))('%s', (_, row) => {
    checkRow(row);
  });
});

describe('registration', () => {
  it('registers every LVS module by name', () => {
    for (const m of lvsModules) expect(defaultRegistry.get(m.name)).toBe(m);
    expect(defaultRegistry.names()).toEqual(expect.arrayContaining(['sysctl', 'kernel_module', 'package', 'ip_address', 'route', 'ipvs', 'nat_masquerade']));
  });
  it('rejects unknown args (strict)', () => {
    expect(() => (ipAddress.args as any).parse({ address: '10.0.0.1', device: 'lo; rm -rf /' })).toThrow();
  });
});

describe('ip_address', () => {
  /** what the persist read prints on a Debian host without /etc/network/interfaces.d (as captured in ip_address.*.netns) */
  const NO_PERSIST = { netstack: stack('nothing'), persist: ok('') };
  // captured on this machine: `ip -o addr show dev lo` with the VIP on lo:0
  const LO = '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n1: lo    inet 10.213.0.200/32 scope global lo:0\\       valid_lft forever preferred_lft forever\n1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n';
  const LO_BARE = '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n';
  const LINK_LO = '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n';
  const ETH = '4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever\n4: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever\n';
  it('parses ip -o addr lines with labels', () => {
    expect(parseIpAddrLines(LO)).toEqual([
      { device: 'lo', family: 'inet', address: '127.0.0.1', prefix: 8, label: 'lo' },
      { device: 'lo', family: 'inet', address: '10.213.0.200', prefix: 32, label: 'lo:0' },
      { device: 'lo', family: 'inet6', address: '::1', prefix: 128 },
    ]);
    expect(parseIpAddrLines(ETH)[0]).toEqual({ device: 'eth0', family: 'inet', address: '192.0.2.2', prefix: 24, label: 'eth0' });
  });
  const dr = { address: '10.213.0.200', prefix: 32, device: 'lo', label: 'lo:0' };
  it('adds the VIP on lo:0 with a persistent stanza; no-op after', () => {
    const p = run(ipAddress, dr, { addr: ok(`device=lo\n${LO_BARE}@@link\n${LINK_LO}`), netstack: stack('ifupdown'), persist: ok('') }, { host: 'rs1' }).plan;
    expect(p.changes.map((c) => c.summary)).toEqual(['add 10.213.0.200/32 to lo:0', 'keep 10.213.0.200/32 on lo:0 at boot (/etc/network/interfaces.d/clusterform-lo-0)']);
    expect((p.changes[0]!.actions[0] as any).script).toBe("ip addr add 10.213.0.200/32 dev lo label lo:0");
    const content = (p.changes[1]!.actions[0] as any).content;
    const again = run(ipAddress, dr, { addr: ok(`device=lo\n${LO}@@link\n${LINK_LO}`), netstack: stack('ifupdown'), persist: ok(foundFile('/etc/network/interfaces.d/clusterform-lo-0', content)) }, { host: 'rs1' }).plan;
    expect(again.changes).toEqual([]);
  });
  it('writes ifcfg-lo:0 on redhat', () => {
    const f = facts({ os: { id: 'rhel', like: [], version: '9', family: 'redhat' }, pkg: 'dnf' });
    const p = run(ipAddress, dr, { addr: ok(`device=lo\n${LO}@@link\n${LINK_LO}`), netstack: stack('rhel7Scripts'), persist: ok('') }, { host: 'rs1', facts: f }).plan;
    expect(p.changes).toHaveLength(1);
    expect((p.changes[0]!.actions[0] as any).path).toBe('/etc/sysconfig/network-scripts/ifcfg-lo:0');
    expect((p.changes[0]!.actions[0] as any).content).toBe('# managed by clusterform\nDEVICE=lo:0\nIPADDR=10.213.0.200\nNETMASK=255.255.255.255\nONBOOT=yes\nNAME=loopback\n');
  });
  it('auto device: the interface holding the host address; absent deletes', () => {
    const a = { address: '10.213.0.200', prefix: 32, device: 'auto', persist: false };
    const p = run(ipAddress, a, { addr: ok(`device=eth0\n${ETH}@@link\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n`), ...NO_PERSIST }).plan;
    expect((p.changes[0]!.actions[0] as any).script).toBe('ip addr add 10.213.0.200/32 dev eth0');
    const withVip = ETH + '4: eth0    inet 10.213.0.200/32 scope global eth0\\       valid_lft forever preferred_lft forever\n';
    const d = run(ipAddress, { ...a, state: 'absent' }, { addr: ok(`device=eth0\n${withVip}@@link\n2: eth0: <UP>\n`), ...NO_PERSIST }).plan;
    expect(d.changes.map((c) => (c.actions[0] as any).script)).toEqual(['ip addr del 10.213.0.200/32 dev eth0']);
    expect(run(ipAddress, a, { addr: ok('device=\n'), ...NO_PERSIST }).plan.refuse).toMatch(/set lvs.interface/);
  });
  it('tunl0 down is brought up; a missing tunl0 is fine on absent', () => {
    const a = { address: '10.213.0.200', prefix: 32, device: 'tunl0', persist: false };
    const p = run(ipAddress, a, { addr: ok('device=tunl0\n@@link\n5: tunl0@NONE: <NOARP> mtu 1480 qdisc noop state DOWN\n'), ...NO_PERSIST }).plan;
    expect(p.changes.map((c) => c.summary)).toEqual(['add 10.213.0.200/32 to tunl0', 'bring tunl0 up']);
    expect(run(ipAddress, { ...a, state: 'absent' }, { addr: ok('device=tunl0\n'), ...NO_PERSIST }).plan.changes).toEqual([]);
  });
});

describe('route', () => {
  it('parses default routes', () => {
    expect(parseDefaultRoutes('default via 192.0.2.1 dev eth0 \ndefault via 10.0.0.1 dev eth1 proto dhcp metric 100\n')).toEqual([
      { via: '192.0.2.1', dev: 'eth0', line: 'default via 192.0.2.1 dev eth0' },
      { via: '10.0.0.1', dev: 'eth1', metric: 100, line: 'default via 10.0.0.1 dev eth1 proto dhcp metric 100' },
    ]);
  });
  const persist = ok('');
  const netstack = stack('ifupdown');
  it('replaces the default route, recording the old one; no-op after', () => {
    const p = run(route, { gateway: '10.213.0.1' }, { routes: ok('default via 192.0.2.1 dev eth0 \n'), get: ok('10.213.0.1 dev eth0 src 10.213.0.21 uid 0 \\    cache \n'), saved: file(), netstack, persist }, { host: 'rs1' }).plan;
    expect(p.changes[0]!.actions.map((a: any) => a.script)).toEqual([
      "if [ ! -s /var/lib/clusterform/route/default ]; then mkdir -p /var/lib/clusterform/route && __cfr=$(mktemp /var/lib/clusterform/route/default.cf-XXXXXX) && printf '%s\\n' 'via 192.0.2.1 dev eth0' > \"$__cfr\" && sync -- \"$__cfr\" && mv -f \"$__cfr\" /var/lib/clusterform/route/default && sync -- /var/lib/clusterform/route; fi",
      'ip route replace default via 10.213.0.1 dev eth0',
    ]);
    const content = (p.changes[1]!.actions[0] as any).content;
    const again = run(route, { gateway: '10.213.0.1' }, { routes: ok('default via 10.213.0.1 dev eth0 \n'), get: ok('10.213.0.1 dev eth0 src 10.213.0.21\n'), saved: file('via 192.0.2.1 dev eth0\n'), netstack, persist: ok(foundFile('/etc/network/interfaces.d/clusterform-route-default', content)) }, { host: 'rs1' }).plan;
    expect(again.changes).toEqual([]);
  });
  it('absent restores the recorded route', () => {
    const p = run(route, { state: 'absent' }, { routes: ok('default via 10.213.0.1 dev eth0\n'), saved: file('via 192.0.2.1 dev eth0\n'), netstack, persist }, { host: 'rs1' }).plan;
    expect(p.changes[0]!.actions).toEqual([
      { kind: 'sh', script: 'ip route replace default via 192.0.2.1 dev eth0', desc: 'ip route replace default via 192.0.2.1 dev eth0' },
      { kind: 'remove', path: '/var/lib/clusterform/route/default' },
    ]);
    expect(run(route, { state: 'absent' }, { routes: ok('default via 192.0.2.1 dev eth0\n'), saved: file(), netstack, persist }, { host: 'rs1' }).plan.changes).toEqual([]);
  });
});

describe('ipvs', () => {
  const wanted = wantedIpvsTable(RAW.lvs!, { rs1: { address: '10.213.0.21' }, rs2: { address: '10.213.0.22' } });
  const LIVE = '-A -t 10.213.0.200:80 -s rr\n-a -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 1\n-a -t 10.213.0.200:80 -r 10.213.0.22:80 -g -w 1\n';
  const OWNED = '# IPVS services managed by clusterform, one key per line\nt:10.213.0.200:80\n';
  const rules = renderIpvsadmRules(wanted);
  const DEFAULTS = readFileSync(new URL('../../fixtures/etc-default-ipvsadm.ubuntu.txt', import.meta.url), 'utf8').replace('AUTO="true"', 'AUTO="false"');
  const done = (live: string, over: ProbeResult = {}) => ({ table: ok(live), owned: file(OWNED), enabledRecord: ok(''), rules: file(rules), defaults: file(DEFAULTS.replace('AUTO="false"', 'AUTO="true"')), ...over });

  it('builds the wanted table from the inventory', () => {
    expect(wanted).toEqual([{ key: 't:10.213.0.200:80', protocol: 'tcp', address: '10.213.0.200', port: 80, scheduler: 'rr', dests: [
      { address: '10.213.0.21', port: 80, forwarding: 'dr', weight: 1 }, { address: '10.213.0.22', port: 80, forwarding: 'dr', weight: 1 }] }]);
    const raw = inventoryOf(withLvs({ forwarding: 'nat', virtual_services: [{ port: 80, scheduler: 'wlc', persistence: 600, netmask: '255.255.255.0', real_port: 8080 }, { protocol: 'fwmark', fwmark: 7, scheduler: 'rr', forwarding: 'tun' }], real_servers: [{ host: 'rs1', weight: 3, port: 8081 }, { host: 'rs2' }] })).raw;
    const t = wantedIpvsTable(raw.lvs!, { rs1: { address: '10.213.0.21' }, rs2: { address: '10.213.0.22' } });
    expect(t[0]).toMatchObject({ key: 't:10.213.0.200:80', persistence: 600, netmask: '255.255.255.0', dests: [{ port: 8081, forwarding: 'nat', weight: 3 }, { port: 8080, forwarding: 'nat', weight: 1 }] });
    expect(t[1]).toMatchObject({ key: 'f:7', dests: [{ port: 0, forwarding: 'tun' }, { port: 0, forwarding: 'tun' }] });
  });
  it('first run: -A, -a per real server, record, rules file, AUTO="true"', () => {
    const p = run(ipvs, {}, { table: ok(''), owned: file(), enabledRecord: ok(''), rules: file(), defaults: file(DEFAULTS) }).plan;
    expect(p.changes.map((c) => c.summary)).toEqual([
      'record owned IPVS services: t:10.213.0.200:80',
      '-A -t 10.213.0.200:80 -s rr',
      '-a -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 1',
      '-a -t 10.213.0.200:80 -r 10.213.0.22:80 -g -w 1',
      'write /etc/ipvsadm.rules (restored at boot)',
      'set AUTO="true" in /etc/default/ipvsadm (load /etc/ipvsadm.rules at boot)',
    ]);
    expect((p.changes[1]!.actions[0] as any).script).toBe('ipvsadm -A -t 10.213.0.200:80 -s rr');
    expect((p.changes[0]!.actions[0] as any)).toMatchObject({ path: OWNED_RECORD, content: OWNED });
    expect(p.changes[4]!.diff).toContain('+-A -t 10.213.0.200:80 -s rr');
    expect(p.changes[5]!.diff).toContain('+AUTO="true"');
  });
  it('second run is a no-op', () => {
    expect(run(ipvs, {}, done(LIVE)).plan.changes).toEqual([]);
  });
  it('a weight change yields exactly one -e (plus the rules file)', () => {
    const raw = withLvs({ real_servers: [{ host: 'rs1', weight: 3 }, { host: 'rs2', weight: 1 }] });
    const p = run(ipvs, {}, done(LIVE), { cluster: raw }).plan;
    const edits = p.changes.filter((c) => /^-[AEDaed] /.test(c.summary));
    expect(edits.map((c) => c.summary)).toEqual(['-e -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 3']);
    expect((edits[0]!.actions[0] as any).script).toBe('ipvsadm -e -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 3');
    expect(p.changes.map((c) => c.summary)).toEqual(['-e -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 3', 'write /etc/ipvsadm.rules (restored at boot)']);
  });
  it('leaves a foreign service alone and notes it', () => {
    const foreign = '-A -u 10.0.0.9:53 -s wlc\n-a -u 10.0.0.9:53 -r 10.0.0.10:53 -m -w 1\n';
    const p = run(ipvs, {}, done(LIVE + foreign)).plan;
    expect(p.changes).toEqual([]);
    expect(p.notes).toEqual(["left alone (not clusterform's): u:10.0.0.9:53"]);
  });
  it('absent deletes only owned services and removes files and record', () => {
    const foreign = '-A -u 10.0.0.9:53 -s wlc\n-a -u 10.0.0.9:53 -r 10.0.0.10:53 -m -w 1\n';
    const p = run(ipvs, { state: 'absent' }, done(LIVE + foreign)).plan;
    expect(p.changes.map((c) => c.summary)).toEqual(['-D -t 10.213.0.200:80', 'remove /etc/ipvsadm.rules', 'restore /etc/default/ipvsadm (or remove it)', `remove ${OWNED_RECORD}`]);
    expect((p.changes[0]!.actions[0] as any).script).toBe('ipvsadm -D -t 10.213.0.200:80');
    expect(p.notes).toEqual(["left alone (not clusterform's): u:10.0.0.9:53"]);
    expect(p.changes.some((c) => c.actions.some((a: any) => a.kind === 'sh' && /-C\b/.test(a.script)))).toBe(false);
    expect(run(ipvs, { state: 'absent' }, { table: ok(foreign), owned: file(), enabledRecord: ok(''), rules: file(), defaults: file(DEFAULTS) }).plan.changes).toEqual([]);
  });
  it('redhat: /etc/sysconfig/ipvsadm and ipvsadm.service enabled', () => {
    const f = facts({ os: { id: 'rhel', like: [], version: '9', family: 'redhat' }, pkg: 'dnf' });
    const p = run(ipvs, {}, { table: ok(LIVE), owned: file(OWNED), enabledRecord: ok(''), rules: file(), enabled: { out: 'disabled\n', err: '', rc: 1 } }, { facts: f }).plan;
    expect(p.changes.map((c) => c.summary)).toEqual(['write /etc/sysconfig/ipvsadm (restored at boot)', 'enable ipvsadm.service at boot']);
  });
  it('missing ipvsadm: refused on up, empty table in a dry run', () => {
    const res = { table: ok('@@no-ipvsadm\n'), owned: file(), enabledRecord: ok(''), rules: file(), defaults: file() };
    expect(run(ipvs, {}, res).plan.refuse).toMatch(/ipvsadm is not installed/);
    expect(run(ipvs, {}, res, { dryRun: true }).plan.changes.filter((c) => c.summary.startsWith('-'))).toHaveLength(3);
  });
});

describe('nat_masquerade', () => {
  // captured on this machine (iptables-nft 1.8)
  const S = '-P POSTROUTING ACCEPT\n-A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE\n-A POSTROUTING -s 10.9.0.0/16 -o eth0 -j MASQUERADE\n';
  const NFT = 'table ip clusterform { # handle 1\n\tchain postrouting { # handle 1\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tip saddr 10.0.0.0/24 oifname "eth0" masquerade # handle 2\n\t}\n}\n';
  it('parses iptables -S and nft', () => {
    expect(parseIptablesS(S)).toEqual([{ source: '10.0.0.0/24', target: 'MASQUERADE', other: false }, { source: '10.9.0.0/16', out: 'eth0', target: 'MASQUERADE', other: false }]);
    expect(parseNftTable(NFT)).toEqual([{ source: '10.0.0.0/24', out: 'eth0', target: 'MASQUERADE', other: false, handle: 2 }]);
  });
  it('adds once, no-op when present, -D on absent', () => {
    const add = run(natMasquerade, { source: '10.213.0.0/24' }, { nat: ok(`@@iptables\n${S}`), persist: ok('') }).plan;
    expect((add.changes[0]!.actions[0] as any).script).toBe('iptables -w -t nat -A POSTROUTING -s 10.213.0.0/24 -j MASQUERADE');
    expect(run(natMasquerade, { source: '10.0.0.5/24' }, { nat: ok(`@@iptables\n${S}`), persist: ok('') }).plan.changes).toEqual([]);
    const del = run(natMasquerade, { source: '10.0.0.0/24', state: 'absent' }, { nat: ok(`@@iptables\n${S}`), persist: ok('') }).plan;
    expect((del.changes[0]!.actions[0] as any).script).toBe('iptables -w -t nat -D POSTROUTING -s 10.0.0.0/24 -j MASQUERADE');
  });
  it('auto follows the forwarding of the virtual services', () => {
    expect(run(natMasquerade, { state: 'auto' }, { nat: ok(`@@iptables\n-A POSTROUTING -s 10.213.0.0/24 -j MASQUERADE\n`), persist: ok('') }).plan.changes).toHaveLength(1); // dr: removed
    const nat = withLvs({ forwarding: 'nat' });
    expect(run(natMasquerade, { state: 'auto' }, { nat: ok('@@iptables\n-P POSTROUTING ACCEPT\n'), persist: ok('') }, { cluster: nat }).plan.changes[0]!.summary).toBe('masquerade 10.213.0.0/24');
  });
  it('nft: deletes by handle and drops the emptied table', () => {
    const p = run(natMasquerade, { source: '10.0.0.0/24', out_interface: 'eth0', state: 'absent' }, { nat: ok(`@@nft\n${NFT}`), persist: ok('') }).plan;
    expect(p.changes.map((c) => (c.actions[0] as any).script)).toEqual(['nft delete rule ip clusterform postrouting handle 2', 'nft delete table ip clusterform']);
  });
});

describe('playbooks', () => {
  it('lvs.yaml and lvs-teardown.yaml load with the LVS modules', () => {
    for (const [f, n] of [['playbooks/lvs.yaml', 3], ['playbooks/lvs-teardown.yaml', 2]] as const) {
      const plays = loadPlaybook(f, defaultRegistry);
      expect(plays.length).toBe(n);
    }
  });
  it('lvs.yaml starts keepalived on the preferred master in the directors\' play and on the backups only in the play after it', () => {
    const plays = loadPlaybook('playbooks/lvs.yaml', defaultRegistry);
    const starts = plays.map((p) => p.tasks.filter((t: any) => t.module?.name === 'keepalived').map((t: any) => t.args?.start));
    expect(starts.slice(0, 2)).toEqual([['preferred_master'], ['backups']]);
  });
  it("lvs.yaml's conditions for keepalived's tasks agree with keepalivedOwns (the modules' own rule), and NAT's with any NAT service", () => {
    const tasks = loadPlaybook('playbooks/lvs.yaml', defaultRegistry)[0]!.tasks as any[];
    const when = (name: string) => tasks.find((t) => t.name.startsWith(name))!.when as string;
    const vs = (extra: object = {}) => [{ protocol: 'tcp', port: 80, scheduler: 'rr' }, { protocol: 'tcp', port: 443, scheduler: 'rr', ...extra }];
    const cases = [
      { virtual_services: vs() },
      { failover: { preempt: false }, virtual_services: vs() },
      { health: { type: 'http' }, virtual_services: vs() },
      { virtual_services: vs({ health: { type: 'tcp' } }) },
      { forwarding: 'nat', virtual_services: vs() },
      { forwarding: 'dr', virtual_services: vs({ forwarding: 'nat' }) },
    ];
    for (const lvs of cases) {
      for (const name of ['keepalived installed', 'connections of removed real servers expire'])
        expect(evalWhen(when(name), { lvs }), `${name}: ${JSON.stringify(lvs)}`).toBe(keepalivedOwns(lvs as any));
      const nat = lvs.forwarding === 'nat' || lvs.virtual_services.some((v: any) => v.forwarding === 'nat');
      expect(evalWhen(when('nftables installed'), { lvs }), JSON.stringify(lvs)).toBe(nat);
    }
  });
  it('with health checks the directors expire the connections of removed real servers (expire_nodest_conn 1), restored on teardown', () => {
    const up = readFileSync('playbooks/lvs.yaml', 'utf8');
    const down = readFileSync('playbooks/lvs-teardown.yaml', 'utf8');
    expect(up).toContain('sysctl: { name: net.ipv4.vs.expire_nodest_conn, value: 1, restore: true }');
    expect(down).toContain('sysctl: { name: net.ipv4.vs.expire_nodest_conn, state: absent, restore: true }');
  });
});
