// Issue #13, keepalived module: keepalived.conf rendered from the inventory (checked here against configs that the
// Debian 12 keepalived 2.2.7 binary accepted with `keepalived -t -f FILE`, exit 0), and the module's plans as data:
// sections a director printed → the changes (check on the host before replacing, reload not restart, idempotent, the
// VRRP password never shown).
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { keepalived, installConfScript, CONF_NEW } from '../../src/modules/lvs/keepalived.js';
import { forbidden, keepalivedModel, maskSecrets, renderKeepalivedConf } from '../../src/modules/lvs/keepalived-conf.js';
import { ipvs } from '../../src/modules/lvs/ipvs.js';
import { catOut, flatten, inventoryOf, ok, runModule, type Cluster } from '../support/module-harness.js';
import { FAILOVER, CONF_LB1 } from './modules/keepalived.rows.js';

const fixture = (n: string) => readFileSync(new URL(`../fixtures/keepalived/${n}`, import.meta.url), 'utf8');
const hostsOf = (c: Cluster) => Object.entries(c.hosts).map(([name, address]) => ({ name, address }));

describe('keepalived.conf', () => {
  const lvs = inventoryOf(FAILOVER).raw.lvs!;
  it('DR with failover, sync and http checks: as accepted by keepalived 2.2.7 -t (lb1 and lb2 differ only in priority, unicast addresses and router_id)', () => {
    const lb1 = renderKeepalivedConf(lvs, hostsOf(FAILOVER), { name: 'lb1', interface: 'eth0', authPass: 'pw' });
    expect(lb1).toBe(fixture('dr-lb1.conf'));
    const lb2 = renderKeepalivedConf(lvs, hostsOf(FAILOVER), { name: 'lb2', interface: 'eth0', authPass: 'pw' });
    const changed = lb2.split('\n').filter((l, i) => l !== lb1.split('\n')[i]);
    expect(changed).toEqual(['    router_id lb2', '    priority 190', '    unicast_src_ip 10.0.0.2', '        10.0.0.1']);
  });
  it('every director state BACKUP + nopreempt without preempt; MASTER for the first with preempt', () => {
    const hosts = hostsOf(FAILOVER);
    expect(keepalivedModel(lvs, hosts, { name: 'lb1', interface: 'eth0' }).instances.map((i) => [i.state, i.nopreempt, i.priority])).toEqual([['BACKUP', true, 200]]);
    const pre = { ...lvs, failover: { ...lvs.failover!, preempt: true } };
    expect(keepalivedModel(pre, hosts, { name: 'lb1', interface: 'eth0' }).instances.map((i) => [i.state, i.nopreempt])).toEqual([['MASTER', false]]);
    expect(keepalivedModel(pre, hosts, { name: 'lb2', interface: 'eth0' }).instances.map((i) => [i.state, i.nopreempt])).toEqual([['BACKUP', false]]);
  });
  it('NAT: the gateway address is a second VRRP instance in a sync group; quiesce = inhibit_on_failure; tcp check', () => {
    const nat = inventoryOf({ ...FAILOVER, lvs: { ...FAILOVER.lvs, forwarding: 'nat', nat: { gateway: '10.1.0.254' }, health: { check: 'tcp', on_failure: 'quiesce' } } }).raw.lvs!;
    const conf = renderKeepalivedConf(nat, hostsOf(FAILOVER), { name: 'lb1', interface: 'eth0', gatewayInterface: 'eth1' });
    expect(conf).toBe(fixture('nat-lb1.conf'));
  });
  it('health checks only, one director: no VRRP instance, the table with checks', () => {
    const one = inventoryOf({ ...FAILOVER, lvs: { ...FAILOVER.lvs, directors: ['lb1'], failover: undefined, health: { check: 'http', path: '/health', status: 204 } } }).raw.lvs!;
    const conf = renderKeepalivedConf(one, hostsOf(FAILOVER), { name: 'lb1', interface: 'eth0' });
    expect(conf).not.toMatch(/vrrp_instance|lvs_sync_daemon|authentication/);
    expect(conf).toMatch(/path \/health\n\s+status_code 204/);
  });
  it('never vrrp_strict; protocol and lvs_method always written (fwmark: no protocol)', () => {
    const all = renderKeepalivedConf(lvs, hostsOf(FAILOVER), { name: 'lb1', interface: 'eth0' });
    expect(forbidden(all)).toBeUndefined();
    expect(all).not.toMatch(/vrrp_strict/);
    expect(forbidden('virtual_server 1.2.3.4 80 {\n lvs_method DR\n}\n')).toMatch(/without protocol/);
    expect(forbidden('virtual_server 1.2.3.4 80 {\n protocol TCP\n lvs_method XX\n}\n')).toMatch(/lvs_method/);
    expect(forbidden('global_defs {\n  vrrp_strict\n}\n')).toMatch(/^vrrp_strict/);
  });
  it('the password is masked in what is shown', () => {
    expect(maskSecrets('    auth_pass s3cr3t\n')).toBe('    auth_pass ********\n');
  });
  it('the check on the host: a missing or empty file fails first (keepalived -t exits 0 for a missing file), any non-zero exit refuses the new config', () => {
    const s = installConfScript();
    expect(s.split('\n')[0]).toBe(`[ -s ${CONF_NEW} ] || { echo '${CONF_NEW} is missing or empty' >&2; exit 1; }`);
    expect(s).toMatch(/if ! __cfk=\$\(keepalived -t -f \/etc\/keepalived\/\.keepalived\.conf\.cf-new 2>&1\); then/);
    expect(s.split('\n').at(-1)).toBe(`mv -f ${CONF_NEW} /etc/keepalived/keepalived.conf`);
  });
});

describe('the VRRP password', () => {
  afterEach(() => { delete process.env.CF_TEST_VRRP; });
  const sections = { bin: ok('/usr/sbin/keepalived\n'), conf: catOut(CONF_LB1), svc: ok('keepalived|1|1|enabled|keepalived.service\n'), iface: ok('eth0\n') };
  const withAuth: Cluster = { ...FAILOVER, lvs: { ...FAILOVER.lvs, failover: { ...(FAILOVER.lvs!.failover as object), auth_pass_env: 'CF_TEST_VRRP' } } };
  it('not set: refused before anything changes', () => {
    expect(flatten(runModule(keepalived, {}, sections, { cluster: withAuth, host: 'lb1' }).plan).refuse).toBe('lvs.failover.auth_pass_env: the environment variable CF_TEST_VRRP is not set (the VRRP password)');
  });
  it('longer than 8 characters: refused', () => {
    process.env.CF_TEST_VRRP = '123456789';
    expect(flatten(runModule(keepalived, {}, sections, { cluster: withAuth, host: 'lb1' }).plan).refuse).toMatch(/must be 1\.\.8 printable characters/);
  });
  it('set: written to the file, never in a summary, a description or a diff', () => {
    process.env.CF_TEST_VRRP = 'Zq7#pw9x';
    const p = runModule(keepalived, {}, sections, { cluster: withAuth, host: 'lb1' }).plan;
    const f = flatten(p);
    expect(f.writes[CONF_NEW]).toMatch(/auth_pass Zq7#pw9x\n/);
    expect(JSON.stringify({ s: f.summaries, d: f.descs, diffs: f.diffs, n: f.notes })).not.toContain('Zq7#pw9x');
    expect(f.diffs[0]).toMatch(/^\+ {8}auth_pass \*{8}$/m);
    // the password alone changes: said in words, not shown
    const again = flatten(runModule(keepalived, {}, { ...sections, conf: catOut(f.writes[CONF_NEW]!.replace('Zq7#pw9x', 'old-pw')) }, { cluster: withAuth, host: 'lb1' }).plan);
    expect(again.summaries).toEqual([expect.stringMatching(/^update \/etc\/keepalived\/keepalived\.conf/), 'reload keepalived (applies the difference; a restart would drop every VIP and IPVS rule)']);
    expect(again.diffs[0]).toContain('(the VRRP password changed; not shown)');
    expect(JSON.stringify(again)).not.toContain('old-pw');
  });
});

describe('a user template', () => {
  it('from the inventory templates: directory; one with vrrp_strict is refused', () => {
    const dir = new URL('../fixtures/keepalived/templates-strict', import.meta.url).pathname;
    const sections = { bin: ok('/usr/sbin/keepalived\n'), conf: catOut(undefined), svc: ok('keepalived|1|0|disabled|keepalived.service\n'), iface: ok('eth0\n') };
    const p = flatten(runModule(keepalived, {}, sections, { cluster: { ...FAILOVER, templatesDir: dir }, host: 'lb1' }).plan);
    expect(p.refuse).toMatch(/^the rendered keepalived\.conf has vrrp_strict/);
  });
});

describe('ipvs released to keepalived', () => {
  const LIVE = '-A -t 10.0.0.200:80 -s wlc\n-a -t 10.0.0.200:80 -r 10.0.0.21:80 -g -w 1\n-a -t 10.0.0.200:80 -r 10.0.0.22:80 -g -w 3\n';
  const sections = {
    table: ok(LIVE), owned: catOut('# IPVS services managed by clusterform, one key per line\nt:10.0.0.200:80\n'), enabledRecord: ok(''),
    rules: catOut('# managed by clusterform\n-A -t 10.0.0.200:80 -s wlc\n'), defaults: catOut('AUTO="true"\n'),
  };
  it('state auto with failover: the live services stay (keepalived adopts them), the rules file, boot restore and record go', () => {
    const p = flatten(runModule(ipvs, { state: 'auto' }, sections, { cluster: FAILOVER, host: 'lb1' }).plan);
    expect(p.scripts.filter((s) => s.startsWith('ipvsadm'))).toEqual([]);
    expect(p.summaries).toEqual(['remove /etc/ipvsadm.rules', 'restore /etc/default/ipvsadm (or remove it)', 'remove /var/lib/clusterform/ipvs-owned']);
    expect(p.notes).toEqual(['the live IPVS services are left to keepalived']);
  });
  it("released: Debian's own rules file (its init script writes '# ipvsadm.rules' at every boot) is not clusterform's: left alone", () => {
    const p = flatten(runModule(ipvs, { state: 'auto' }, { ...sections, rules: catOut('# ipvsadm.rules\n'), owned: catOut(undefined), defaults: catOut('AUTO="false"\n') }, { cluster: FAILOVER, host: 'lb2' }).plan);
    expect(p.summaries).toEqual([]);
  });
  it('state auto without failover or health: the static table as before', () => {
    const plain: Cluster = { ...FAILOVER, lvs: { ...FAILOVER.lvs, directors: ['lb1'], failover: undefined, health: undefined } };
    const p = flatten(runModule(ipvs, { state: 'auto' }, { ...sections, table: ok('') }, { cluster: plain, host: 'lb1' }).plan);
    expect(p.scripts.filter((s) => s.startsWith('ipvsadm'))).toEqual(['ipvsadm -A -t 10.0.0.200:80 -s wlc', 'ipvsadm -a -t 10.0.0.200:80 -r 10.0.0.21:80 -g -w 1', 'ipvsadm -a -t 10.0.0.200:80 -r 10.0.0.22:80 -g -w 3']);
  });
});
