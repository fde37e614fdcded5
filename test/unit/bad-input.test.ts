// A corpus of broken inventories and playbooks: each exits 2 with file:line:column and field, and contacts no host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContactCounter } from '../support/listener.js';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cli, cliJson, ROOT } from '../helpers.js';
import { loadInventory } from '../../src/inventory/load.js';
import { InputError } from '../../src/util/input.js';

const listener = new ContactCounter();
const dir = mkdtempSync(join(tmpdir(), 'cf-bad-'));

beforeAll(async () => {
  await listener.start();
});
afterAll(() => { listener.close(); rmSync(dir, { recursive: true, force: true }); });
const contacted = (before: number) => listener.contacted(before);

const base = () => `cluster: t
ssh: { user: root, port: ${listener.port}, private_key: ${ROOT}/test/fixtures/keys/id_ed25519, known_hosts: ${dir}/kh }
hosts:
  n1: { address: 127.0.0.1 }
  n2: { address: 127.0.0.12 }
  d1: { address: 127.0.0.13 }
  r1: { address: 127.0.0.14 }
ha:
  members: [n1, n2]
  shared_disk: /dev/sdb
  quorum: { size: 10M }
  services:
    - { name: NFS, address: 127.0.0.100, size: 100M, mountpoint: /mnt/a }
lvs:
  directors: [d1]
  vip: 127.0.0.200
  virtual_services:
    - { protocol: tcp, port: 80, scheduler: wlc }
  real_servers:
    - { host: r1 }
`;

/** Replace line n (1-based) of the base inventory, or insert before it. */
const setLine = (n: number, text: string) => base().split('\n').map((l, i) => (i === n - 1 ? text : l)).join('\n');
const insertAt = (n: number, text: string) => { const l = base().split('\n'); l.splice(n - 1, 0, text); return l.join('\n'); };

/** `files`: other files the case needs, written beside it first (imported playbooks, templates). */
interface Case { name: string; yaml: () => string; line: number; text: RegExp | string; field?: string; files?: Record<string, string> }

const writeFiles = (files: Record<string, string> | undefined) => {
  for (const [name, text] of Object.entries(files ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
};

writeFileSync(join(dir, 'templates-not-a-dir.yaml'), '# a file, not a directory\n');

const inventories: Case[] = [
  { name: 'unknown-member', yaml: () => setLine(9, '  members: [n1, n3]'), line: 9, text: '"n3" is not a host in hosts:', field: 'ha.members[1]' },
  { name: 'port-string', yaml: () => setLine(2, `ssh: { user: root, port: "twenty-two", private_key: /dev/null }`), line: 2, text: 'expected number', field: 'ssh.port' },
  { name: 'yaml-syntax', yaml: () => setLine(5, '  n2: { address: 127.0.0.12'), line: 6, text: 'YAML syntax' },
  { name: 'duplicate-key', yaml: () => insertAt(6, '  n1: { address: 127.0.0.15 }'), line: 6, text: /duplicate key "n1" \(first at line \d+\)/, field: 'hosts.n1' },
  { name: 'bad-size', yaml: () => setLine(13, '    - { name: NFS, address: 127.0.0.100, size: 10X, mountpoint: /mnt/a }'), line: 13, text: 'not a size', field: 'ha.services[0].size' },
  { name: 'unknown-scheduler', yaml: () => setLine(18, '    - { protocol: tcp, port: 80, scheduler: fastest }'), line: 18, text: 'unknown scheduler "fastest"', field: 'lvs.virtual_services[0].scheduler' },
  { name: 'misspelled-key', yaml: () => setLine(10, '  shared_dsk: /dev/sdb'), line: 10, text: 'did you mean "shared_disk"' },
  { name: 'bad-ip', yaml: () => setLine(4, '  n1: { address: 127.0.0.300 }'), line: 4, text: 'not an IPv4 or IPv6 address', field: 'hosts.n1.address' },
  { name: 'duplicate-address', yaml: () => setLine(5, '  n2: { address: 127.0.0.1 }'), line: 5, text: 'already used by host "n1"' },
  { name: 'relative-disk', yaml: () => setLine(10, '  shared_disk: sdb'), line: 10, text: 'absolute path', field: 'ha.shared_disk' },
  { name: 'dotdot-path', yaml: () => setLine(13, '    - { name: NFS, address: 127.0.0.100, size: 100M, mountpoint: /mnt/../etc }'), line: 13, text: "'..'" },
  { name: 'cluster-shell-chars', yaml: () => setLine(1, 'cluster: "t;rm -rf /"'), line: 1, text: 'no spaces or shell characters', field: 'cluster' },
  { name: 'service-name-subst', yaml: () => setLine(13, '    - { name: "NFS$(reboot)", address: 127.0.0.100, size: 100M, mountpoint: /mnt/a }'), line: 13, text: 'service name' },
  { name: 'host-name-space', yaml: () => insertAt(8, '  "bad name": { address: 127.0.0.16 }'), line: 8, text: 'host name "bad name"' },
  { name: 'empty-file', yaml: () => '', line: 1, text: 'the file is empty' },
  { name: 'only-comments', yaml: () => '# nothing here\n', line: 1, text: 'the file is empty' },
  { name: 'huge-file', yaml: () => base() + '# ' + 'x'.repeat(10 * 1024 * 1024) + '\n', line: 1, text: 'limit is' },
  { name: 'billion-laughs', yaml: () => `cluster: t\nhosts: {}\nvars:\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n`, line: 1, text: /alias|Excessive/i },
  { name: 'missing-cluster', yaml: () => base().replace('cluster: t\n', ''), line: 1, text: 'required field is missing', field: 'cluster' },
  { name: 'unknown-real-server', yaml: () => setLine(20, '    - { host: r9 }'), line: 20, text: '"r9" is not a host in hosts:', field: 'lvs.real_servers[0].host' },
  { name: 'vip-is-host', yaml: () => setLine(16, '  vip: 127.0.0.13'), line: 16, text: 'is host "d1"' },
  { name: 'service-address-is-host', yaml: () => setLine(13, '    - { name: NFS, address: 127.0.0.12, size: 100M, mountpoint: /mnt/a }'), line: 13, text: 'a service needs its own' },
  { name: 'duplicate-virtual-service', yaml: () => insertAt(19, '    - { protocol: tcp, port: 80, scheduler: rr }'), line: 19, text: 'defined twice' },
  { name: 'fwmark-without-mark', yaml: () => setLine(18, '    - { protocol: fwmark, scheduler: rr }'), line: 18, text: 'needs fwmark:' },
  { name: 'tcp-without-port', yaml: () => setLine(18, '    - { protocol: tcp, scheduler: rr }'), line: 18, text: 'needs port:' },
  { name: 'nat-without-gateway', yaml: () => insertAt(17, '  forwarding: nat'), line: 17, text: 'NAT forwarding needs nat:' },
  { name: 'quorum-same-raw', yaml: () => setLine(11, '  quorum: { size: 10M, primary: /dev/raw/raw1, shadow: /dev/raw/raw1 }'), line: 11, text: 'must be different' },
  { name: 'negative-weight', yaml: () => setLine(20, '    - { host: r1, weight: -1 }'), line: 20, text: /greater than or equal to 0/ },
  { name: 'top-level-list', yaml: () => '- a\n- b\n', line: 1, text: 'expected a mapping' },
  { name: 'misspelled-top-level', yaml: () => base().replace('cluster: t', 'clustr: t'), line: 1, text: 'did you mean "cluster"' },
  { name: 'director-is-real-server', yaml: () => setLine(20, '    - { host: d1 }'), line: 20, text: 'is a director' },
  { name: 'newline-in-name', yaml: () => setLine(1, 'cluster: "a\\nb"'), line: 1, text: 'no spaces or shell characters' },
  { name: 'hosts-not-a-map', yaml: () => base().replace(/hosts:\n(  .*\n){4}/, 'hosts: 5\n'), line: 3, text: 'expected object, got number 5' },
  { name: 'netmask-without-persistence', yaml: () => setLine(18, '    - { protocol: tcp, port: 80, scheduler: wlc, netmask: 255.255.255.0 }'), line: 18, text: 'only applies to a persistent service' },
  { name: 'bad-forwarding', yaml: () => insertAt(17, '  forwarding: tunnel'), line: 17, text: 'is not one of: dr, nat, tun' },
  // names that are JavaScript object properties are names like any other
  { name: 'member-toString', yaml: () => setLine(9, '  members: [n1, toString]'), line: 9, text: '"toString" is not a host in hosts:', field: 'ha.members[1]' },
  { name: 'real-server-constructor', yaml: () => setLine(20, '    - { host: constructor }'), line: 20, text: '"constructor" is not a host in hosts:' },
  { name: 'group-member-valueOf', yaml: () => insertAt(8, 'groups: { web: [n1, valueOf] }'), line: 8, text: '"valueOf" is not a host in hosts:', field: 'groups.web[1]' },
  // knowable before any host is contacted
  { name: 'nat-network-not-cidr', yaml: () => insertAt(17, '  nat: { gateway: 127.0.0.1, network: 10.0.0.0/33 }'), line: 17, text: 'an IPv4 network like 10.0.0.0/24', field: 'lvs.nat.network' },
  { name: 'nat-gateway-not-ipv4', yaml: () => insertAt(17, '  nat: { gateway: "::1" }'), line: 17, text: 'not an IPv4 address', field: 'lvs.nat.gateway' },
  { name: 'quorum-primary-not-raw', yaml: () => setLine(11, '  quorum: { size: 10M, primary: /dev/sdb1 }'), line: 11, text: '/dev/raw/rawN', field: 'ha.quorum.primary' },
  { name: 'quorum-shadow-not-raw', yaml: () => setLine(11, '  quorum: { size: 10M, shadow: /dev/raw/rawctl }'), line: 11, text: '/dev/raw/rawN', field: 'ha.quorum.shadow' },
  { name: 'templates-missing', yaml: () => insertAt(8, 'templates: ./no-such-templates'), line: 8, text: 'does not exist', field: 'templates' },
  { name: 'templates-not-a-dir', yaml: () => insertAt(8, 'templates: ./templates-not-a-dir.yaml'), line: 8, text: 'not a directory', field: 'templates' },
  { name: 'service-address-is-vip', yaml: () => setLine(13, '    - { name: NFS, address: 127.0.0.200, size: 100M, mountpoint: /mnt/a }'), line: 13, text: 'is the LVS VIP', field: 'ha.services[0].address' },
  { name: 'service-address-twice', yaml: () => insertAt(14, '    - { name: SMB, address: 127.0.0.100, mountpoint: /mnt/b }'), line: 14, text: 'already used by service "NFS"', field: 'ha.services[1].address' },
  { name: 'mountpoint-etc', yaml: () => setLine(13, '    - { name: NFS, address: 127.0.0.100, size: 100M, mountpoint: /etc }'), line: 13, text: 'system directory', field: 'ha.services[0].mountpoint' },
  { name: 'mountpoint-mnt-slash', yaml: () => setLine(13, '    - { name: NFS, address: 127.0.0.100, size: 100M, mountpoint: /mnt/ }'), line: 13, text: 'system directory', field: 'ha.services[0].mountpoint' },
  { name: 'mountpoint-root', yaml: () => setLine(13, '    - { name: NFS, address: 127.0.0.100, size: 100M, mountpoint: / }'), line: 13, text: 'system directory', field: 'ha.services[0].mountpoint' },
  { name: 'mountpoint-nested', yaml: () => insertAt(14, '    - { name: SMB, address: 127.0.0.101, mountpoint: /mnt/a/smb }'), line: 14, text: 'inside /mnt/a, the mount point of service "NFS"', field: 'ha.services[1].mountpoint' },
  { name: 'mountpoint-same-spelled-differently', yaml: () => insertAt(14, '    - { name: SMB, address: 127.0.0.101, mountpoint: //mnt/a/ }'), line: 14, text: 'mount point of service "NFS"', field: 'ha.services[1].mountpoint' },
  { name: 'host-named-all', yaml: () => insertAt(8, '  all: { address: 127.0.0.16 }'), line: 8, text: 'built-in group', field: 'hosts.all' },
  { name: 'host-named-real_servers', yaml: () => insertAt(8, '  real_servers: { address: 127.0.0.16 }'), line: 8, text: 'built-in group', field: 'hosts.real_servers' },
  { name: 'group-named-ha_members', yaml: () => insertAt(8, 'groups: { ha_members: [n1] }'), line: 8, text: 'built-in group', field: 'groups.ha_members' },
  { name: 'shared-disk-partition', yaml: () => setLine(10, '  shared_disk: /dev/sdb1'), line: 10, text: 'shared_disk must be a whole disk', field: 'ha.shared_disk' },
  { name: 'shared-disk-by-id-part', yaml: () => setLine(10, '  shared_disk: /dev/disk/by-id/ata-QEMU_HARDDISK_QM00002-part3'), line: 10, text: 'shared_disk must be a whole disk', field: 'ha.shared_disk' },
  { name: 'service-without-size-not-last', yaml: () => insertAt(14, '    - { name: SMB, address: 127.0.0.101, size: 10M, mountpoint: /mnt/b }').replace('size: 100M, mountpoint: /mnt/a', 'mountpoint: /mnt/a'), line: 13, text: 'only the last service may omit size' },
];

// lab: belongs to the lab: `plan` and `up` do not look inside it, `clusterform lab …` reports it (more lab cases, and
// `lab up` creating nothing: test/unit/lab-schema.test.ts)
const labInventories: Case[] = [
  { name: 'lab-disk-too-small', yaml: () => base() + 'lab:\n  disks:\n    shared: { size: 50M, hosts: [n1, n2] }\n', line: 23, text: 'needs at least', field: 'lab.disks.shared.size' },
  { name: 'lab-host-hasOwnProperty', yaml: () => base() + 'lab:\n  hosts:\n    hasOwnProperty: { kind: ns }\n', line: 23, text: '"hasOwnProperty" is not a host in hosts:', field: 'lab.hosts.hasOwnProperty' },
];

describe('bad lab: sections exit 2 from `clusterform lab status` with file:line:column and contact no host', () => {
  it.each(labInventories)('$name', async (c) => {
    const file = join(dir, `${c.name}.yaml`);
    writeFileSync(file, c.yaml());
    const before = listener.connections;
    const r = cli(['lab', 'status', file]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${c.line}:\\d+ ${c.field}: `));
    expect(r.stderr).toContain(c.text as string);
    expect(await contacted(before)).toBe(0);
  });
});

describe('bad inventories exit 2 with file:line:column and contact no host', () => {
  it.each(inventories)('$name', async (c) => {
    writeFiles(c.files);
    const file = join(dir, `${c.name}.yaml`);
    writeFileSync(file, c.yaml());
    const before = listener.connections;
    const r = cli(['plan', file]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${c.line}:\\d+ `));
    if (typeof c.text === 'string') expect(r.stderr).toContain(c.text);
    else expect(r.stderr).toMatch(c.text);
    if (c.field) expect(r.stderr).toContain(`${c.field}: `);
    expect(r.stdout + r.stderr).not.toMatch(/TypeError|is not a function|\n\s+at /);
    expect(await contacted(before)).toBe(0);
  });

  it('reports every problem at once', () => {
    const file = join(dir, 'many.yaml');
    writeFileSync(file, setLine(9, '  members: [n1, n3]').replace('scheduler: wlc', 'scheduler: nope').replace('size: 100M', 'size: 1Q'));
    const r = cli(['plan', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"n3" is not a host');
    expect(r.stderr).toContain('unknown scheduler "nope"');
    expect(r.stderr).toContain('not a size');
  });

  it('the example inventory from the README loads', () => {
    const r = cli(['plan', join(import.meta.dirname, '../../inventory/example.yaml'), '--limit', 'nosuchhost']);
    // a valid inventory gets past validation: the only complaint is the --limit
    expect(r.stderr).toContain('no host or group named "nosuchhost"');
    expect(r.stderr).not.toMatch(/example\.yaml:\d+/);
  });
});

const playbooks: Case[] = [
  { name: 'pb-unknown-module', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      hostsfile: { cluster: x }\n', line: 5, text: 'did you mean "hosts_file"' },
  { name: 'pb-no-module', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n', line: 4, text: 'names no module' },
  { name: 'pb-missing-handler', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      hosts_file: { cluster: x }\n      notify: restart it\n', line: 6, text: 'no handler named "restart it"' },
  { name: 'pb-no-hosts', yaml: () => '- name: p\n  tasks: []\n', line: 1, text: 'required field is missing', field: '[0].hosts' },
  { name: 'pb-undefined-variable', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      hosts_file: { cluster: "{{nope.nothing}}" }\n', line: 4, text: '"nope.nothing" is not defined' },
  { name: 'pb-bad-arg-type', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      hosts_file: { cluster: 5 }\n', line: 4, text: 'module "hosts_file": argument "cluster": expected string, got number 5' },
  { name: 'pb-yaml-error', yaml: () => '- name: p\n  hosts: [all\n', line: 3, text: 'YAML' },
  { name: 'pb-missing-import', yaml: () => '- import: nothere.yaml\n', line: 0, text: 'no such file' },
  { name: 'pb-unknown-group', yaml: () => '- name: p\n  hosts: webservers\n  tasks: []\n', line: 1, text: 'no host or group named webservers' },
  { name: 'pb-not-a-list', yaml: () => 'name: p\n', line: 1, text: 'expected array' },
  // names that are JavaScript object properties: unknown modules and groups like any other name
  { name: 'pb-module-toString', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      toString: { path: /tmp/x }\n', line: 5, text: 'unknown module or task key "toString"' },
  { name: 'pb-module-constructor', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      constructor: {}\n', line: 5, text: 'unknown module or task key "constructor"' },
  { name: 'pb-module-proto', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      __proto__: { argv: [true] }\n', line: 5, text: 'unknown module or task key "__proto__"' },
  { name: 'pb-module-hasOwnProperty-with-module', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      command: { argv: [true] }\n      hasOwnProperty: 1\n', line: 6, text: 'unknown module or task key "hasOwnProperty"' },
  { name: 'pb-hosts-valueOf', yaml: () => '- name: p\n  hosts: valueOf\n  tasks: []\n', line: 1, text: 'no host or group named valueOf' },
  { name: 'pb-handler-constructor', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      command: { argv: [true] }\n      notify: constructor\n', line: 6, text: 'no handler named "constructor"' },
  // import cycles are named, with the import's position
  { name: 'pb-import-self', yaml: () => '- import: pb-import-self.yaml\n', line: 1, text: 'import cycle: pb-import-self.yaml → pb-import-self.yaml' },
  { name: 'pb-import-mutual', files: { 'cyc-b.yaml': '# b\n- import: pb-import-mutual.yaml\n- import: pb-import-mutual.yaml\n' }, yaml: () => '- import: cyc-b.yaml\n- import: cyc-b.yaml\n', line: 2, text: 'import cycle: pb-import-mutual.yaml → cyc-b.yaml → pb-import-mutual.yaml' },
  { name: 'pb-import-cycle-in-subdir', files: { 'sub/c1.yaml': '- import: c2.yaml\n', 'sub/c2.yaml': '- name: ok\n  hosts: all\n  tasks: []\n- import: ../sub/c1.yaml\n' }, yaml: () => '- import: sub/c1.yaml\n', line: 4, text: 'import cycle: sub/c1.yaml → sub/c2.yaml → sub/c1.yaml' },
  // templates that reach for JavaScript internals or write to the output are input errors
  { name: 'pb-template-constructor', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      file: { path: /tmp/x, content: "{{host.constructor}}" }\n', line: 4, text: '"constructor"' },
  { name: 'pb-template-lookup-proto', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      file: { path: /tmp/x, content: "a{{lookup this \'__proto__\'}}" }\n', line: 4, text: '"__proto__"' },
  { name: 'pb-template-log', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      file: { path: /tmp/x, content: "{{log \'hello from the template\'}}" }\n', line: 4, text: /log/ },
  { name: 'pb-when-constructor', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      when: "{{#if host.constructor}}yes{{/if}}"\n      command: { argv: [true] }\n', line: 4, text: '"constructor"' },
];

describe('bad playbooks exit 2 with file:line:column and contact no host', () => {
  it.each(playbooks)('$name', async (c) => {
    const inv = join(dir, 'good.yaml');
    writeFileSync(inv, base());
    writeFiles(c.files);
    const file = join(dir, `${c.name}.yaml`);
    writeFileSync(file, c.yaml());
    const before = listener.connections;
    const r = cli(['run', file, '-i', inv]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`:${c.line}:\\d+ `));
    if (typeof c.text === 'string') expect(r.stderr).toContain(c.text);
    else expect(r.stderr).toMatch(c.text);
    expect(r.stdout + r.stderr).not.toMatch(/TypeError|is not a function|hello from the template|\n\s+at /);
    expect(await contacted(before)).toBe(0);
  });
});

describe('a template in the inventory\'s templates: directory is checked before any host is contacted', () => {
  it.each([
    ['{{log "hello from the template"}}', /log/],
    ['{{#each services}}{{this.constructor}}{{/each}}', /"constructor"/],
    ['{{lookup this "__proto__"}}', /"__proto__"/],
    ['{{foo bar=}}', /Parse error on line 2: Expecting/],
    ['{{#each services}}{{/if}}', /each doesn't match if/],
  ])('%s', async (tpl, text) => {
    const tdir = join(dir, `tpl-${Math.random().toString(36).slice(2)}`);
    mkdirSync(tdir);
    writeFileSync(join(tdir, 'ipvsadm.rules.hbs'), `# line 1\n${tpl}\n`);
    const file = join(dir, 'with-templates.yaml');
    writeFileSync(file, base() + `templates: ${tdir}\n`);
    const before = listener.connections;
    const r = cli(['plan', file]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toContain(`${join(tdir, 'ipvsadm.rules.hbs')}:2:`);
    expect(r.stderr).toMatch(text);
    expect(r.stdout + r.stderr).not.toContain('hello from the template');
    expect(await contacted(before)).toBe(0);
  });
});

describe('ha.shared_disk must name a whole disk when the name says it is a partition', () => {
  const inv = (disk: string) => base().replace('shared_disk: /dev/sdb', `shared_disk: ${disk}`);
  it.each(['/dev/sdb1', '/dev/sdab12', '/dev/nvme0n1p2', '/dev/vda3', '/dev/xvdb1', '/dev/hdb2', '/dev/loop0p1', '/dev/mmcblk0p1', '/dev/cciss/c0d0p1',
    '/dev/disk/by-id/ata-QEMU_HARDDISK_QM00002-part1', '/dev/disk/by-path/pci-0000:00:1f.2-ata-2-part12', '/dev/disk/by-partuuid/0d5a9c1e-01', '/dev/disk/by-partlabel/data'])('%s is refused', (disk) => {
    let err: unknown;
    try { loadInventory(join(dir, 'disk.yaml'), inv(disk)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues).toEqual([expect.objectContaining({ line: 10, path: 'ha.shared_disk', message: expect.stringContaining('shared_disk must be a whole disk') })]);
  });
  it.each(['/dev/sdb', '/dev/nvme0n1', '/dev/vda', '/dev/loop0', '/dev/mmcblk0', '/dev/cciss/c0d0', '/dev/disk/by-id/ata-QEMU_HARDDISK_QM00002', '/dev/disk/by-id/clusterform-lab-shared', '/dev/mapper/mpatha', '/dev/md0'])('%s is accepted', (disk) => {
    expect(loadInventory(join(dir, 'disk.yaml'), inv(disk)).raw.ha!.shared_disk).toBe(disk);
  });
});

describe('run PLAYBOOK --check plans PLAYBOOK, not site.yaml', () => {
  it('a problem in PLAYBOOK stops the check with its position', async () => {
    const inv = join(dir, 'good.yaml');
    writeFileSync(inv, base());
    const file = join(dir, 'check-bad.yaml');
    writeFileSync(file, '- name: mine\n  hosts: all\n  tasks:\n    - name: t\n      file: { path: /tmp/x, content: "{{nope.nothing}}" }\n');
    const before = listener.connections;
    const r = cli(['run', file, '-i', inv, '--check']);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toContain(`${file}:4:`);
    expect(r.stderr).toContain('"nope.nothing" is not defined');
    expect(await contacted(before)).toBe(0);
  });
  it('the plays of PLAYBOOK are planned (mode plan), site.yaml\'s are not', async () => {
    const inv = join(dir, 'good.yaml');
    writeFileSync(inv, base());
    const before = listener.connections;
    const file = join(dir, 'check-good.yaml');
    writeFileSync(file, '- name: my own play\n  hosts: n1\n  tasks:\n    - name: t\n      command: { argv: [touch, /tmp/cf-check-flag], creates: /tmp/cf-check-flag }\n');
    const r = cliJson(['run', file, '-i', inv, '--check']);
    expect(r.json, r.stderr).not.toBeNull();
    expect(r.json.mode).toBe('plan');
    const plays = r.json.events.filter((e: any) => e.type === 'play').map((e: any) => e.play);
    expect(plays).toEqual(['my own play']);
    expect(r.json.recap.map((h: any) => h.host)).toEqual(['n1']);
    // the listener (at n1's address) does see a contact: n1, the only host of the play, was tried
    expect(await contacted(before)).toBe(1);
  });
});
