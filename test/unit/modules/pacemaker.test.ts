// format: pacemaker (issue #14): the rows of pacemaker.rows.ts, then what needs more than a row: the corosync key's
// two steps and that it is never shown, the CIB comparison, the template override, the playbooks' two paths.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonical, parseCib, parseXml, toXml, wantedCib } from '../../../src/modules/ha/cib.js';
import { corosyncAuthkey, forgetChosenKeys } from '../../../src/modules/ha/corosync_authkey.js';
import { corosyncConfig } from '../../../src/modules/ha/corosync_config.js';
import { pacemakerCib } from '../../../src/modules/ha/pacemaker_cib.js';
import { parseSbdDump } from '../../../src/modules/ha/sbd.js';
import { checkPacemaker } from '../../../src/modules/checks/check_pacemaker.js';
import { waitDcSh } from '../../../src/modules/ha/cluster_daemon.js';
import { dcReadSh } from '../../../src/modules/ha/pacemaker_cib.js';
import { describeAction } from '../../../src/engine/script.js';
import { checkRow, ok, planOf, withHa } from '../../support/module-harness.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { defaultRegistry } from '../../../src/api.js';
import { renderDeep } from '../../../src/playbook/render.js';
import { cibDone, cibText, KEY_B, PCMK, pacemakerRows, pcmkHa } from './pacemaker.rows.js';

describe.each([...new Set(pacemakerRows.map((r) => r.module.name))])('%s rows', (name) => {
  it.each(pacemakerRows.filter((r) => r.module.name === name).map((r) => [r.name, r] as const))('%s', (_, row) => {
    checkRow(row);
  });
});

describe('corosync_authkey: chosen once, installed everywhere, never shown', () => {
  afterEach(() => forgetChosenKeys());
  const plans = (p: ReturnType<typeof planOf>) => JSON.stringify({ summaries: p.changes.map((c) => c.summary), diffs: p.changes.map((c) => c.diff), descs: p.changes.flatMap((c) => c.actions.map(describeAction)), notes: p.notes, warnings: p.warnings, refuse: p.refuse });
  it("node2's existing key is the cluster's: node1 gets it through the controller, and no text shows it", () => {
    const choose = planOf(corosyncAuthkey, { step: 'choose' }, { key: ok('') }, { cluster: PCMK, peers: [{ host: 'node2', res: { key: ok(KEY_B) } }] });
    expect(choose.changes).toHaveLength(1);
    const script = (choose.changes[0]!.actions[0] as { script: string }).script;
    expect(script).toContain(KEY_B);
    expect(plans(choose)).not.toContain(KEY_B.slice(0, 24));
    const install2 = planOf(corosyncAuthkey, { step: 'install' }, { key: ok(KEY_B) }, { cluster: PCMK, host: 'node2' });
    expect(install2.changes).toEqual([]);
    const install1 = planOf(corosyncAuthkey, { step: 'install' }, { key: ok('') }, { cluster: PCMK });
    expect((install1.changes[0]!.actions[0] as { script: string }).script).toContain(`printf '%s' '${KEY_B}' | base64 -d`);
    expect(plans(install1)).not.toContain(KEY_B.slice(0, 24));
  });
  it('a new key is random, 256 bytes, and the same for every member of the run', () => {
    const choose = planOf(corosyncAuthkey, { step: 'choose' }, { key: ok('') }, { cluster: PCMK, peers: [{ host: 'node2', res: { key: ok('') } }] });
    const key = /printf '%s' '([A-Za-z0-9+/=]+)'/.exec((choose.changes[0]!.actions[0] as { script: string }).script)![1]!;
    expect(Buffer.from(key, 'base64')).toHaveLength(256);
    expect(key).not.toBe(Buffer.alloc(256).toString('base64'));
    const install2 = planOf(corosyncAuthkey, { step: 'install' }, { key: ok('') }, { cluster: PCMK, host: 'node2' });
    expect((install2.changes[0]!.actions[0] as { script: string }).script).toContain(key);
  });
  it('install without a choice in this run → refused; a member out of the run → no choice', () => {
    expect(planOf(corosyncAuthkey, { step: 'install' }, { key: ok('') }, { cluster: PCMK }).refuse).toMatch(/no corosync key was chosen in this run/);
    expect(planOf(corosyncAuthkey, { step: 'choose' }, { key: ok('') }, { cluster: PCMK, peers: [{ host: 'node2', missing: 'unreachable' }] }).refuse).toMatch(/without every member: node2: unreachable/);
  });
});

describe('the CIB', () => {
  it('parses pacemaker output: properties, stickiness, resources', () => {
    const cib = parseCib(cibDone());
    expect(cib.props['dc-version']).toBe('2.1.5-a3f44794f94');
    expect(cib.props['stonith-enabled']).toBe('true');
    expect(cib.rscDefaults['resource-stickiness']).toBe('100');
    expect(cib.resources.map((r) => r.attrs.id)).toEqual(['cf-fence-sbd', 'nfs', 'smb']);
  });
  it('an XML round trip keeps an element, whatever the attribute order and indentation', () => {
    for (const g of wantedCib(pcmkHa(), 'debian', {}).groups) expect(canonical(parseXml(toXml(g))[0]!)).toBe(canonical(g));
    expect(parseCib(cibText([])).resources).toEqual([]);
  });
  it('a group changed by hand (one primitive\'s parameter) is replaced; a group with a meta attribute added too', () => {
    const changed = cibDone().replace('value="10.0.0.51"', 'value="10.0.0.99"');
    const p = planOf(pacemakerCib, {}, { cib: ok(changed) }, { cluster: PCMK });
    expect(p.changes.map((c) => c.summary)).toEqual(['update group smb']);
  });
  it('Red Hat: fence_sbd with devices=; the NFS server is the nfsserver agent there as on Debian (not systemd:nfs-server)', () => {
    for (const family of ['redhat', 'debian']) {
      const w = wantedCib(pcmkHa(), family, {});
      if (family === 'redhat') expect(toXml(w.fencing[0]!)).toMatch(/type="fence_sbd".*name="devices" value="\/dev\/disk\/by-id\/virtio-shared-part1"/);
      expect(toXml(w.groups[0]!)).toContain('<primitive id="nfs-nfsd" class="ocf" provider="heartbeat" type="nfsserver">');
      expect(toXml(w.groups[0]!)).not.toContain('class="systemd" type="nfs-server"');
    }
  });
  it('a cluster built with systemd:nfs-server: one update of its group, to the nfsserver agent (nothing else changes)', () => {
    const old = cibDone().replace(/<primitive [^>]*id="nfs-nfsd"[^>]*>/, '<primitive id="nfs-nfsd" class="systemd" type="nfs-server">');
    expect(old).not.toBe(cibDone());
    const p = planOf(pacemakerCib, {}, { cib: ok(old) }, { cluster: PCMK });
    expect(p.changes.map((c) => c.summary)).toEqual(['update group nfs']);
  });
  it("fence agents: one device per member, avoiding its own member; the password from the environment, never in a description", () => {
    const fencing = { node1: { agent: 'fence_ipmilan', params: { ip: '10.1.0.11', lanplus: true }, password_env: 'CF_TEST_PW' }, node2: { agent: 'fence_ipmilan', params: { ip: '10.1.0.12' }, password_env: 'CF_TEST_PW' } };
    const cluster = withHa({ fencing }, PCMK);
    const missing = planOf(pacemakerCib, {}, { cib: ok(cibText([])) }, { cluster });
    expect(missing.refuse).toMatch(/fence password not set: environment variable CF_TEST_PW/);
    process.env.CF_TEST_PW = 's3cr3t-pw';
    try {
      const p = planOf(pacemakerCib, {}, { cib: ok(cibText([])) }, { cluster });
      expect(p.changes.map((c) => c.summary).slice(0, 4)).toEqual(['create primitive cf-fence-node1 (fence_ipmilan)', 'create primitive cf-fence-node2 (fence_ipmilan)', 'create rsc_location cf-fence-node1-avoids-node1', 'create rsc_location cf-fence-node2-avoids-node2']);
      const scripts = p.changes.flatMap((c) => c.actions.map((a) => (a.kind === 'sh' ? a.script : '')));
      expect(scripts[0]).toMatch(/name="lanplus" value="true".*name="password" value="s3cr3t-pw".*name="pcmk_host_list" value="node1"/);
      expect(JSON.stringify(p.changes.map((c) => [c.summary, c.actions.map(describeAction)]))).not.toContain('s3cr3t-pw');
      expect(scripts[2]).toContain('<rsc_location id="cf-fence-node1-avoids-node1" rsc="cf-fence-node1" node="node1" score="-INFINITY"/>');
    } finally { delete process.env.CF_TEST_PW; }
  });
});

describe('sbd and corosync.conf', () => {
  it('sbd dump: the header timeouts, or none', () => {
    expect(parseSbdDump('==Dumping header on disk /dev/vda1\nTimeout (watchdog) : 15\nTimeout (msgwait)  : 30\n==Header on disk /dev/vda1 is dumped\n', 0)).toEqual({ watchdog: 15, msgwait: 30 });
    expect(parseSbdDump('== disk /dev/vda1 unreadable!\n', 1)).toBeNull();
  });
  it("the inventory's templates: directory overrides corosync.conf.hbs", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-tpl-'));
    writeFileSync(join(dir, 'corosync.conf.hbs'), '# managed by clusterform: custom\ntotem { cluster_name: {{cluster}} token: {{token}} }\n');
    const p = planOf(corosyncConfig, {}, { conf: ok('missing\n'), active: ok('inactive\n') }, { cluster: { ...PCMK, templatesDir: dir } });
    expect(p.changes[0]!.actions.find((a) => a.kind === 'write')).toMatchObject({ content: '# managed by clusterform: custom\ntotem { cluster_name: lab token: 5000 }\n' });
  });
});

describe('playbooks', () => {
  const read = (f: string) => readFileSync(new URL(`../../../playbooks/${f}`, import.meta.url), 'utf8');
  it('ha.yaml: the guide formats keep raw devices, cluster.xml/cluster.conf and service_state; pacemaker gets its own tasks', () => {
    const ha = read('ha.yaml');
    for (const m of ['raw_devices', 'cluster_config', 'service_state']) expect(ha).toMatch(new RegExp(`when: "\\{\\{ne ha.format 'pacemaker'\\}\\}"\\n\\s+${m}:`));
    for (const m of ['sbd_device', 'sbd_config', 'corosync_config', 'corosync_authkey', 'pacemaker_cib']) expect(ha).toContain(`${m}:`);
    expect(ha.indexOf('corosync_config:')).toBeLessThan(ha.indexOf('disk_layout:'));
    // the Filesystem agent's fuser: without it the group never started in the lab (probe: not installed)
    expect(ha).toContain(`- { name: "{{#if (eq ha.format 'pacemaker')}}psmisc{{/if}}", command: fuser }`);
    expect(ha.indexOf('cluster_daemon:')).toBeLessThan(ha.indexOf('pacemaker_cib:'));
  });
  it('ha.yaml installs the whole stack, the NFS server included when a service has nfs:, in one package run', () => {
    const [play] = loadPlaybook('playbooks/ha.yaml', defaultRegistry).filter((p: any) => p.name === 'HA cluster members');
    const pkgTasks = play!.tasks.filter((t: any) => t.module?.name === 'package');
    expect(pkgTasks.length).toBe(1);
    const names = (ha: unknown) => ((renderDeep(pkgTasks[0]!.args, { ha }) as any).packages as any[]).map((e) => (typeof e === 'string' ? e : e.name)).filter(Boolean);
    const nfs = { name: 'HA-NFS', nfs: { export: '/mnt/hanfs' } };
    expect(names({ format: 'pacemaker', services: [nfs] })).toEqual(['fdisk', 'corosync', 'pacemaker', 'pacemaker-cli-utils', 'psmisc', 'sbd', 'nfs-kernel-server']);
    expect(names({ format: 'pacemaker', fencing: 'none', services: [{ name: 'HA-SMB', systemd: 'smbd' }] })).toEqual(['fdisk', 'corosync', 'pacemaker', 'pacemaker-cli-utils', 'psmisc']);
    expect(names({ format: 'clumanager', services: [nfs] })).toEqual(['fdisk']);
  });
});

describe('check_pacemaker (verify rows)', () => {
  const mon = readFileSync(new URL('../../fixtures/ha/crm_mon.2node.xml', import.meta.url), 'utf8');
  const check = (what: string, sections: Record<string, ReturnType<typeof ok>>, cluster = PCMK) => planOf(checkPacemaker, { what }, sections, { cluster }).check!;
  it('quorum, members, fencing: pass with who and where', () => {
    expect(check('quorum', { mon: ok(mon) })).toMatchObject({ pass: true, reason: 'node1 is in the quorate partition (DC node1)' });
    expect(check('members', { mon: ok(mon) })).toMatchObject({ pass: true, reason: 'online: node1, node2' });
    expect(check('fencing', { mon: ok(mon), sbd: ok('') })).toMatchObject({ pass: true, reason: 'stonith-enabled; cf-fence-sbd (stonith:external/sbd) started on node1; SBD header on /dev/disk/by-id/virtio-shared-part1 readable' });
    expect(check('fencing', { mon: ok(mon), sbd: { out: '', err: 'unreadable', rc: 1 } }).pass).toBe(false);
  });
  it('services: which member runs each; a stopped one fails the row', () => {
    const r = check('services', { mon: ok(mon) });
    expect(r).toMatchObject({ pass: false, reason: 'smb not running (each service must run on exactly one member)' });
    const one = withHa({ services: [(PCMK.ha!.services as any[])[0]] }, PCMK);
    expect(check('services', { mon: ok(mon) }, one)).toMatchObject({ pass: true, reason: 'nfs on node2' });
  });
  it('a service on two members, a member offline, no quorum, no answer: each fails', () => {
    const one = withHa({ services: [(PCMK.ha!.services as any[])[0]] }, PCMK);
    const twice = mon.replace('<node name="node2" id="2" cached="true"/>\n      </resource>\n      <resource id="nfs-ip"', '<node name="node2" id="2" cached="true"/>\n        <node name="node1" id="1" cached="true"/>\n      </resource>\n      <resource id="nfs-ip"');
    expect(check('services', { mon: ok(twice) }, one)).toMatchObject({ pass: false, reason: 'nfs on node2 and node1 (each service must run on exactly one member)' });
    expect(check('members', { mon: ok(mon.replace('name="node2" id="2" online="true"', 'name="node2" id="2" online="false"')) })).toMatchObject({ pass: false, reason: 'offline: node2' });
    expect(check('quorum', { mon: ok(mon.replace('with_quorum="true"', 'with_quorum="false"')) }).pass).toBe(false);
    expect(check('quorum', { mon: { out: '', err: 'crm_mon: Error: cluster is not available on this node\n', rc: 102 } })).toMatchObject({ pass: false, reason: 'the cluster does not answer on node1: crm_mon: Error: cluster is not available on this node' });
  });
});

describe('waiting for pacemaker', () => {
  it('every look for a designated controller is cut after 10 s (a crmadmin -D started during the election hung for minutes in the lab)', () => {
    expect(waitDcSh(300)).toContain('timeout 10 crmadmin -D');
    expect(dcReadSh(60)).toContain('timeout 10 crmadmin -D');
    expect(waitDcSh(300)).toMatch(/-lt 300 \]/);
  });
});

describe('recorded in the lab (test/lab/inventories/ha-pacemaker.yaml, after the first up: Debian 12, pacemaker 2.1.5)', () => {
  const fixture = (f: string) => readFileSync(new URL(`../../fixtures/ha/${f}`, import.meta.url), 'utf8');
  const LAB = { name: 't-hapcmk', hosts: { node1: '10.233.0.11', node2: '10.233.0.12' }, ha: {
    members: ['node1', 'node2'], format: 'pacemaker', fencing: 'sbd', shared_disk: '/dev/disk/by-id/clusterform-t-hapcmk-shared', quorum: { size: '10M' },
    timeouts: { token: 10000, watchdog: 10, msgwait: 20 },
    services: [{ name: 'HA-NFS', address: '10.233.0.100', size: '100M', fstype: 'ext3', mountpoint: '/mnt/hanfs', nfs: { export: '/mnt/hanfs', clients: '10.233.0.0/24', options: 'rw' } }] } };
  it("pacemaker's own output of the CIB clusterform wrote: a second up changes nothing", () => {
    const p = planOf(pacemakerCib, {}, { cib: ok(fixture('cib.lab-t-hapcmk.xml')) }, { cluster: LAB });
    expect(p.refuse).toBeUndefined();
    expect(p.changes.map((c) => c.summary)).toEqual([]);
    // and a changed option is seen in it
    const changed = planOf(pacemakerCib, {}, { cib: ok(fixture('cib.lab-t-hapcmk.xml')) }, { cluster: withHa({ services: [{ ...LAB.ha.services[0], nfs: { export: '/mnt/hanfs', clients: '*', options: 'rw' } }] }, LAB) });
    expect(changed.changes.map((c) => c.summary)).toEqual(['update group HA-NFS']);
  });
  it("crm_mon of that cluster: quorate, both online, sbd fencing started on node1; HA-NFS not running (its agent lacked fuser)", () => {
    const mon = fixture('crm_mon.lab-t-hapcmk.xml');
    const c = (what: string, s: Record<string, ReturnType<typeof ok>> = { mon: ok(mon) }) => planOf(checkPacemaker, { what }, s, { cluster: LAB }).check!;
    expect(c('quorum')).toMatchObject({ pass: true, reason: 'node1 is in the quorate partition (DC node1)' });
    expect(c('members')).toMatchObject({ pass: true, reason: 'online: node1, node2' });
    expect(c('fencing', { mon: ok(mon), sbd: ok('') })).toMatchObject({ pass: true });
    expect(c('services')).toMatchObject({ pass: false, reason: 'HA-NFS not running (each service must run on exactly one member)' });
  });
});
