// Table tests of the LVS modules: parse + plan against recorded command outputs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Facts } from '../../src/facts/facts.js';
import type { ModuleDef, ProbeResult, TaskCtx } from '../../src/engine/types.js';
import type { Inventory } from '../../src/inventory/load.js';
import { inventorySchema } from '../../src/inventory/schema.js';
import { loadPlaybook } from '../../src/playbook/load.js';
import { renderIpvsadmRules } from '../../src/parsers/ipvsadm.js';
import { sysctl, editSysctlFile } from '../../src/modules/core/sysctl.js';
import { kernelModule } from '../../src/modules/core/kernel_module.js';
import { pkg } from '../../src/modules/core/package.js';
import { ipAddress, parseIpAddrLines } from '../../src/modules/lvs/ip_address.js';
import { route, parseDefaultRoutes } from '../../src/modules/lvs/route.js';
import { ipvs, wantedIpvsTable, OWNED_RECORD } from '../../src/modules/lvs/ipvs.js';
import { natMasquerade, parseIptablesS, parseNftTable } from '../../src/modules/lvs/nat_masquerade.js';
import { lvsModules } from '../../src/modules/lvs/index.js';
import { defaultRegistry } from '../../src/api.js';
import { moduleArgs } from '../support/args.js';

const facts = (over: Partial<Facts> = {}): Facts => ({
  hostname: 'h', os: { id: 'debian', like: [], version: '12', family: 'debian' }, kernel: '6.1.0', init: 'systemd', pkg: 'apt', uid: 0,
  features: { ipvs: 'module', raw: 'none', ipip: 'module', arpHidden: false, udevRaw: false }, tools: {}, ...over,
});

const RAW = inventorySchema.parse({
  cluster: 'lab',
  hosts: { director: { address: '10.213.0.1' }, rs1: { address: '10.213.0.21' }, rs2: { address: '10.213.0.22' } },
  lvs: {
    directors: ['director'], vip: '10.213.0.200', forwarding: 'dr',
    virtual_services: [{ protocol: 'tcp', port: 80, scheduler: 'rr' }],
    real_servers: [{ host: 'rs1', weight: 1 }, { host: 'rs2', weight: 1 }],
    nat: { gateway: '10.213.0.1', network: '10.213.0.0/24' },
  },
});
const inv = (raw = RAW): Inventory => {
  const hosts = Object.entries(raw.hosts).map(([name, h]) => ({ name, address: h.address, ssh: {} as any, vars: {} }));
  return { file: 'x', dir: '.', cluster: raw.cluster, raw, hosts, host: (n: string) => hosts.find((h) => h.name === n)!, groups: {} };
};

function run<A>(m: ModuleDef<A, any>, rawArgs: unknown, res: ProbeResult, o: { facts?: Facts; inventory?: Inventory; dryRun?: boolean; host?: string } = {}) {
  const inventory = o.inventory ?? inv();
  const args = moduleArgs(m, rawArgs, { lvs: inventory.raw.lvs, hosts: inventory.hosts.map((h) => ({ name: h.name, address: h.address })) });
  const ctx: TaskCtx<A> = { host: inventory.host(o.host ?? 'director'), facts: o.facts ?? facts(), inventory, args, flags: { forceDisks: false }, dryRun: o.dryRun ?? false };
  const read = m.read(ctx);
  for (const k of Object.keys(read)) expect(typeof read[k]).toBe('string');
  const state = m.parse(res, ctx);
  return { state, plan: m.plan(state, ctx), read };
}
const ok = (out: string) => ({ out, err: '', rc: 0 });
const fail = (rc = 1, err = '') => ({ out: '', err, rc });
const file = (text?: string) => ok(text === undefined ? 'missing\n' : `exists\n${text}`);

describe('registration', () => {
  it('registers every LVS module by name', () => {
    for (const m of lvsModules) expect(defaultRegistry.get(m.name)).toBe(m);
    expect(defaultRegistry.names()).toEqual(expect.arrayContaining(['sysctl', 'kernel_module', 'package', 'ip_address', 'route', 'ipvs', 'nat_masquerade']));
  });
  it('rejects unknown args (strict)', () => {
    expect(() => (sysctl.args as any).parse({ name: 'net.ipv4.ip_forward', value: 1, bogus: 1 })).toThrow();
    expect(() => (ipAddress.args as any).parse({ address: '10.0.0.1', device: 'lo; rm -rf /' })).toThrow();
  });
});

describe('sysctl', () => {
  const F = '/etc/sysctl.d/90-clusterform-lvs.conf';
  it('sets live value, records the old one and persists; second run is a no-op', () => {
    const first = run(sysctl, { name: 'net.ipv4.ip_forward', value: 1, restore: true }, { live: ok('0\n'), file: file(), saved: file() });
    expect(first.plan.changes.map((c) => c.summary)).toEqual(['set net.ipv4.ip_forward = 1 (now 0)', `persist net.ipv4.ip_forward = 1 in ${F}`]);
    const script = first.plan.changes[0]!.actions.map((a: any) => a.script).join('\n');
    expect(script).toContain('/var/lib/clusterform/sysctl/net.ipv4.ip_forward');
    expect(script).toContain("printf '%s\\n' 1 > /proc/sys/net/ipv4/ip_forward");
    const w = first.plan.changes[1]!.actions[0] as any;
    expect(w.content).toBe('# managed by clusterform\nnet.ipv4.ip_forward = 1\n');
    const second = run(sysctl, { name: 'net.ipv4.ip_forward', value: 1, restore: true }, { live: ok('1\n'), file: file(w.content), saved: file('0\n') });
    expect(second.plan.changes).toEqual([]);
  });
  it('keeps other lines of a shared file', () => {
    expect(editSysctlFile('# managed by clusterform\nnet.ipv4.conf.all.arp_ignore = 1\n', 'net.ipv4.conf.all.arp_announce', '2')).toBe('# managed by clusterform\nnet.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n');
    expect(editSysctlFile('a.b = 1\nnet/ipv4/ip_forward=0\n', 'net.ipv4.ip_forward', '1')).toBe('a.b = 1\nnet.ipv4.ip_forward = 1\n');
    expect(editSysctlFile('a.b = 1\nnet.ipv4.ip_forward = 1\n', 'net.ipv4.ip_forward', undefined)).toBe('a.b = 1\n');
  });
  it('absent restores the recorded value, removes the line and the emptied file', () => {
    const r = run(sysctl, { name: 'net.ipv4.ip_forward', state: 'absent', restore: true }, { live: ok('1\n'), file: file('# managed by clusterform\nnet.ipv4.ip_forward = 1\n'), saved: file('0\n') });
    expect(r.plan.changes.map((c) => c.summary)).toEqual([`remove ${F} (no settings left)`, 'restore net.ipv4.ip_forward = 0 (now 1)']);
    expect(r.plan.changes[1]!.actions).toEqual([
      { kind: 'sh', script: "printf '%s\\n' 0 > /proc/sys/net/ipv4/ip_forward", desc: 'write 0 to /proc/sys/net/ipv4/ip_forward' },
      { kind: 'remove', path: '/var/lib/clusterform/sysctl/net.ipv4.ip_forward' },
    ]);
    const again = run(sysctl, { name: 'net.ipv4.ip_forward', state: 'absent', restore: true }, { live: ok('0\n'), file: file(), saved: file() });
    expect(again.plan.changes).toEqual([]);
  });
  it('a missing entry refuses on up, plans with a note in a dry run', () => {
    const res = { live: fail(1, 'No such file'), file: file(), saved: file() };
    expect(run(sysctl, { name: 'net.ipv4.conf.tunl0.rp_filter', value: 0 }, res).plan.refuse).toMatch(/no net.ipv4.conf.tunl0.rp_filter/);
    const d = run(sysctl, { name: 'net.ipv4.conf.tunl0.rp_filter', value: 0 }, res, { dryRun: true }).plan;
    expect(d.refuse).toBeUndefined();
    expect(d.changes).toHaveLength(2);
  });
  it('normalises multi-value entries', () => {
    expect(run(sysctl, { name: 'net.ipv4.ip_local_port_range', value: '32768 60999', persist: false }, { live: ok('32768\t60999\n'), file: file(), saved: file() }).plan.changes).toEqual([]);
  });
});

describe('kernel_module', () => {
  const F = '/etc/modules-load.d/clusterform.conf';
  it('loads and persists; no-op when done', () => {
    const p = run(kernelModule, { name: 'ip_vs' }, { mod: ok('unloaded\navailable\ndir\n'), file: file() }).plan;
    expect(p.changes.map((c) => c.summary)).toEqual(['load kernel module ip_vs', `load ip_vs at boot (${F})`]);
    expect((p.changes[0]!.actions[0] as any).script).toBe('modprobe ip_vs');
    expect(run(kernelModule, { name: 'ip_vs' }, { mod: ok('loaded\navailable\ndir\n'), file: file('# managed by clusterform\nip_vs\n') }).plan.changes).toEqual([]);
  });
  it('refuses clearly when the kernel has no such module', () => {
    expect(run(kernelModule, { name: 'ip_vs' }, { mod: ok('unloaded\nnone\ndir\n'), file: file() }).plan.refuse).toMatch(/the kernel has no IPVS \(ip_vs\): use a kernel with CONFIG_IP_VS/);
    expect(run(kernelModule, { name: 'ip_vs_mh' }, { mod: ok('unloaded\nnone\ndir\n'), file: file() }).plan.refuse).toMatch(/CONFIG_IP_VS_MH/);
  });
  it('builtin modules need nothing', () => {
    expect(run(kernelModule, { name: 'ip_vs' }, { mod: ok('unloaded\nbuiltin\ndir\n'), file: file() }).plan.changes).toEqual([]);
  });
  it('absent removes only its line, the file when empty', () => {
    const p = run(kernelModule, { name: 'ipip', state: 'absent' }, { mod: ok('loaded\navailable\ndir\n'), file: file('# managed by clusterform\nip_vs\nipip\n') }).plan;
    expect(p.changes).toHaveLength(1);
    expect((p.changes[0]!.actions[0] as any).content).toBe('# managed by clusterform\nip_vs\n');
    const p2 = run(kernelModule, { name: 'ip_vs', state: 'absent' }, { mod: ok('loaded\navailable\ndir\n'), file: file('# managed by clusterform\nip_vs\n') }).plan;
    expect(p2.changes[0]!.actions[0]).toEqual({ kind: 'remove', path: F });
  });
});

describe('package', () => {
  it('installs via the package manager only when the command is missing', () => {
    expect(run(pkg, { name: 'ipvsadm' }, { which: ok('/usr/sbin/ipvsadm\n') }).plan.changes).toEqual([]);
    const apt = run(pkg, { name: 'ipvsadm' }, { which: fail() }).plan;
    expect((apt.changes[0]!.actions[0] as any).script).toContain('apt-get install -y --no-install-recommends ipvsadm');
    const dnf = run(pkg, { name: 'ipvsadm' }, { which: fail() }, { facts: facts({ pkg: 'dnf' }) }).plan;
    expect((dnf.changes[0]!.actions[0] as any).script).toBe('dnf -y install ipvsadm');
    expect(run(pkg, { name: 'ipvsadm' }, { which: fail() }, { facts: facts({ pkg: 'none' }) }).plan.refuse).toMatch(/no package manager/);
  });
});

describe('ip_address', () => {
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
    const p = run(ipAddress, dr, { addr: ok(`device=lo\n${LO_BARE}@@link\n${LINK_LO}`), persist: ok('dir\nmissing\n') }, { host: 'rs1' }).plan;
    expect(p.changes.map((c) => c.summary)).toEqual(['add 10.213.0.200/32 to lo:0', 'keep 10.213.0.200/32 on lo:0 at boot (/etc/network/interfaces.d/clusterform-lo-0)']);
    expect((p.changes[0]!.actions[0] as any).script).toBe("ip addr add 10.213.0.200/32 dev lo label lo:0");
    const content = (p.changes[1]!.actions[0] as any).content;
    const again = run(ipAddress, dr, { addr: ok(`device=lo\n${LO}@@link\n${LINK_LO}`), persist: ok(`dir\nexists\n${content}`) }, { host: 'rs1' }).plan;
    expect(again.changes).toEqual([]);
  });
  it('writes ifcfg-lo:0 on redhat', () => {
    const f = facts({ os: { id: 'rhel', like: [], version: '9', family: 'redhat' }, pkg: 'dnf' });
    const p = run(ipAddress, dr, { addr: ok(`device=lo\n${LO}@@link\n${LINK_LO}`), persist: ok('dir\nmissing\n') }, { host: 'rs1', facts: f }).plan;
    expect(p.changes).toHaveLength(1);
    expect((p.changes[0]!.actions[0] as any).path).toBe('/etc/sysconfig/network-scripts/ifcfg-lo:0');
    expect((p.changes[0]!.actions[0] as any).content).toBe('# managed by clusterform\nDEVICE=lo:0\nIPADDR=10.213.0.200\nNETMASK=255.255.255.255\nONBOOT=yes\nNAME=loopback\n');
  });
  it('auto device: the interface holding the host address; absent deletes', () => {
    const a = { address: '10.213.0.200', prefix: 32, device: 'auto', persist: false };
    const p = run(ipAddress, a, { addr: ok(`device=eth0\n${ETH}@@link\n2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n`) }).plan;
    expect((p.changes[0]!.actions[0] as any).script).toBe('ip addr add 10.213.0.200/32 dev eth0');
    const withVip = ETH + '4: eth0    inet 10.213.0.200/32 scope global eth0\\       valid_lft forever preferred_lft forever\n';
    const d = run(ipAddress, { ...a, state: 'absent' }, { addr: ok(`device=eth0\n${withVip}@@link\n2: eth0: <UP>\n`) }).plan;
    expect(d.changes.map((c) => (c.actions[0] as any).script)).toEqual(['ip addr del 10.213.0.200/32 dev eth0']);
    expect(run(ipAddress, a, { addr: ok('device=\n') }).plan.refuse).toMatch(/set lvs.interface/);
  });
  it('tunl0 down is brought up; a missing tunl0 is fine on absent', () => {
    const a = { address: '10.213.0.200', prefix: 32, device: 'tunl0', persist: false };
    const p = run(ipAddress, a, { addr: ok('device=tunl0\n@@link\n5: tunl0@NONE: <NOARP> mtu 1480 qdisc noop state DOWN\n') }).plan;
    expect(p.changes.map((c) => c.summary)).toEqual(['add 10.213.0.200/32 to tunl0', 'bring tunl0 up']);
    expect(run(ipAddress, { ...a, state: 'absent' }, { addr: ok('device=tunl0\n') }).plan.changes).toEqual([]);
  });
});

describe('route', () => {
  it('parses default routes', () => {
    expect(parseDefaultRoutes('default via 192.0.2.1 dev eth0 \ndefault via 10.0.0.1 dev eth1 proto dhcp metric 100\n')).toEqual([
      { via: '192.0.2.1', dev: 'eth0', line: 'default via 192.0.2.1 dev eth0' },
      { via: '10.0.0.1', dev: 'eth1', metric: 100, line: 'default via 10.0.0.1 dev eth1 proto dhcp metric 100' },
    ]);
  });
  const persist = ok('dir\nmissing\n');
  it('replaces the default route, recording the old one; no-op after', () => {
    const p = run(route, { gateway: '10.213.0.1' }, { routes: ok('default via 192.0.2.1 dev eth0 \n'), get: ok('10.213.0.1 dev eth0 src 10.213.0.21 uid 0 \\    cache \n'), saved: file(), persist }, { host: 'rs1' }).plan;
    expect(p.changes[0]!.actions.map((a: any) => a.script)).toEqual([
      "if [ ! -e /var/lib/clusterform/route/default ]; then mkdir -p /var/lib/clusterform/route && printf '%s\\n' 'via 192.0.2.1 dev eth0' > /var/lib/clusterform/route/default; fi",
      'ip route replace default via 10.213.0.1 dev eth0',
    ]);
    const content = (p.changes[1]!.actions[0] as any).content;
    const again = run(route, { gateway: '10.213.0.1' }, { routes: ok('default via 10.213.0.1 dev eth0 \n'), get: ok('10.213.0.1 dev eth0 src 10.213.0.21\n'), saved: file('via 192.0.2.1 dev eth0\n'), persist: ok(`dir\nexists\n${content}`) }, { host: 'rs1' }).plan;
    expect(again.changes).toEqual([]);
  });
  it('absent restores the recorded route', () => {
    const p = run(route, { state: 'absent' }, { routes: ok('default via 10.213.0.1 dev eth0\n'), saved: file('via 192.0.2.1 dev eth0\n'), persist: ok('dir\nmissing\n') }, { host: 'rs1' }).plan;
    expect(p.changes[0]!.actions).toEqual([
      { kind: 'sh', script: 'ip route replace default via 192.0.2.1 dev eth0', desc: 'ip route replace default via 192.0.2.1 dev eth0' },
      { kind: 'remove', path: '/var/lib/clusterform/route/default' },
    ]);
    expect(run(route, { state: 'absent' }, { routes: ok('default via 192.0.2.1 dev eth0\n'), saved: file(), persist: ok('dir\nmissing\n') }, { host: 'rs1' }).plan.changes).toEqual([]);
  });
});

describe('ipvs', () => {
  const wanted = wantedIpvsTable(RAW.lvs!, { rs1: { address: '10.213.0.21' }, rs2: { address: '10.213.0.22' } });
  const LIVE = '-A -t 10.213.0.200:80 -s rr\n-a -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 1\n-a -t 10.213.0.200:80 -r 10.213.0.22:80 -g -w 1\n';
  const OWNED = '# IPVS services managed by clusterform, one key per line\nt:10.213.0.200:80\n';
  const rules = renderIpvsadmRules(wanted);
  const DEFAULTS = readFileSync(new URL('../fixtures/etc-default-ipvsadm.ubuntu.txt', import.meta.url), 'utf8').replace('AUTO="true"', 'AUTO="false"');
  const done = (live: string, over: ProbeResult = {}) => ({ table: ok(live), owned: file(OWNED), enabledRecord: ok(''), rules: file(rules), defaults: file(DEFAULTS.replace('AUTO="false"', 'AUTO="true"')), ...over });

  it('builds the wanted table from the inventory', () => {
    expect(wanted).toEqual([{ key: 't:10.213.0.200:80', protocol: 'tcp', address: '10.213.0.200', port: 80, scheduler: 'rr', dests: [
      { address: '10.213.0.21', port: 80, forwarding: 'dr', weight: 1 }, { address: '10.213.0.22', port: 80, forwarding: 'dr', weight: 1 }] }]);
    const raw = inventorySchema.parse({ ...RAW, lvs: { ...RAW.lvs, forwarding: 'nat', virtual_services: [{ port: 80, scheduler: 'wlc', persistence: 600, netmask: '255.255.255.0', real_port: 8080 }, { protocol: 'fwmark', fwmark: 7, scheduler: 'rr', forwarding: 'tun' }], real_servers: [{ host: 'rs1', weight: 3, port: 8081 }, { host: 'rs2' }] } });
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
    const raw = inventorySchema.parse({ ...RAW, lvs: { ...RAW.lvs, real_servers: [{ host: 'rs1', weight: 3 }, { host: 'rs2', weight: 1 }] } });
    const p = run(ipvs, {}, done(LIVE), { inventory: inv(raw) }).plan;
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
    const add = run(natMasquerade, { source: '10.213.0.0/24' }, { nat: ok(`@@iptables\n${S}`) }).plan;
    expect((add.changes[0]!.actions[0] as any).script).toBe('iptables -w -t nat -A POSTROUTING -s 10.213.0.0/24 -j MASQUERADE');
    expect(run(natMasquerade, { source: '10.0.0.5/24' }, { nat: ok(`@@iptables\n${S}`) }).plan.changes).toEqual([]);
    const del = run(natMasquerade, { source: '10.0.0.0/24', state: 'absent' }, { nat: ok(`@@iptables\n${S}`) }).plan;
    expect((del.changes[0]!.actions[0] as any).script).toBe('iptables -w -t nat -D POSTROUTING -s 10.0.0.0/24 -j MASQUERADE');
  });
  it('auto follows the forwarding of the virtual services', () => {
    expect(run(natMasquerade, { state: 'auto' }, { nat: ok(`@@iptables\n-A POSTROUTING -s 10.213.0.0/24 -j MASQUERADE\n`) }).plan.changes).toHaveLength(1); // dr: removed
    const nat = inventorySchema.parse({ ...RAW, lvs: { ...RAW.lvs, forwarding: 'nat' } });
    expect(run(natMasquerade, { state: 'auto' }, { nat: ok('@@iptables\n-P POSTROUTING ACCEPT\n') }, { inventory: inv(nat) }).plan.changes[0]!.summary).toBe('masquerade 10.213.0.0/24');
  });
  it('nft: deletes by handle and drops the emptied table', () => {
    const p = run(natMasquerade, { source: '10.0.0.0/24', out_interface: 'eth0', state: 'absent' }, { nat: ok(`@@nft\n${NFT}`) }).plan;
    expect(p.changes.map((c) => (c.actions[0] as any).script)).toEqual(['nft delete rule ip clusterform postrouting handle 2', 'nft delete table ip clusterform']);
  });
});

describe('playbooks', () => {
  it('lvs.yaml and lvs-teardown.yaml load with the LVS modules', () => {
    for (const f of ['playbooks/lvs.yaml', 'playbooks/lvs-teardown.yaml']) {
      const plays = loadPlaybook(f, defaultRegistry);
      expect(plays.length).toBe(2);
    }
  });
});
