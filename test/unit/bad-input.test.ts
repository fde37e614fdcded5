// A corpus of broken inventories and playbooks: each exits 2 with file:line:column and field, and contacts no host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers.js';

let server: Server;
let port = 0;
let connections = 0;
const dir = mkdtempSync(join(tmpdir(), 'cf-bad-'));

beforeAll(async () => {
  server = createServer((s) => { connections++; s.destroy(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});
afterAll(() => { server.close(); rmSync(dir, { recursive: true, force: true }); });

const base = () => `cluster: t
ssh: { user: root, port: ${port}, private_key: /dev/null, known_hosts: ${dir}/kh }
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

interface Case { name: string; yaml: () => string; line: number; text: RegExp | string; field?: string }

const inventories: Case[] = [
  { name: 'unknown-member', yaml: () => setLine(9, '  members: [n1, n3]'), line: 9, text: '"n3" is not a host in hosts:', field: 'ha.members[1]' },
  { name: 'port-string', yaml: () => setLine(2, `ssh: { user: root, port: "twenty-two", private_key: /dev/null }`), line: 2, text: 'expected number', field: 'ssh.port' },
  { name: 'yaml-syntax', yaml: () => setLine(5, '  n2: { address: 127.0.0.12'), line: 6, text: 'YAML' },
  { name: 'duplicate-key', yaml: () => insertAt(6, '  n1: { address: 127.0.0.15 }'), line: 6, text: /YAML: Map keys must be unique/ },
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
  { name: 'lab-disk-too-small', yaml: () => base() + 'lab:\n  disks:\n    shared: { size: 50M, hosts: [n1, n2] }\n', line: 23, text: 'needs at least' },
  { name: 'newline-in-name', yaml: () => setLine(1, 'cluster: "a\\nb"'), line: 1, text: 'no spaces or shell characters' },
  { name: 'hosts-not-a-map', yaml: () => base().replace(/hosts:\n(  .*\n){4}/, 'hosts: 5\n'), line: 3, text: 'expected object, got number 5' },
  { name: 'netmask-without-persistence', yaml: () => setLine(18, '    - { protocol: tcp, port: 80, scheduler: wlc, netmask: 255.255.255.0 }'), line: 18, text: 'only applies to a persistent service' },
  { name: 'bad-forwarding', yaml: () => insertAt(17, '  forwarding: tunnel'), line: 17, text: 'is not one of: dr, nat, tun' },
  { name: 'service-without-size-not-last', yaml: () => insertAt(14, '    - { name: SMB, address: 127.0.0.101, size: 10M, mountpoint: /mnt/b }').replace('size: 100M, mountpoint: /mnt/a', 'mountpoint: /mnt/a'), line: 13, text: 'only the last service may omit size' },
];

describe('bad inventories exit 2 with file:line:column and contact no host', () => {
  it.each(inventories)('$name', (c) => {
    const file = join(dir, `${c.name}.yaml`);
    writeFileSync(file, c.yaml());
    const before = connections;
    const r = cli(['plan', file]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${c.line}:\\d+ `));
    if (typeof c.text === 'string') expect(r.stderr).toContain(c.text);
    else expect(r.stderr).toMatch(c.text);
    if (c.field) expect(r.stderr).toContain(`${c.field}: `);
    expect(connections).toBe(before);
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
  { name: 'pb-bad-arg-type', yaml: () => '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      hosts_file: { cluster: 5 }\n', line: 4, text: 'Expected string' },
  { name: 'pb-yaml-error', yaml: () => '- name: p\n  hosts: [all\n', line: 3, text: 'YAML' },
  { name: 'pb-missing-import', yaml: () => '- import: nothere.yaml\n', line: 0, text: 'no such file' },
  { name: 'pb-unknown-group', yaml: () => '- name: p\n  hosts: webservers\n  tasks: []\n', line: 1, text: 'no host or group named webservers' },
  { name: 'pb-not-a-list', yaml: () => 'name: p\n', line: 1, text: 'expected array' },
];

describe('bad playbooks exit 2 with file:line:column and contact no host', () => {
  it.each(playbooks)('$name', (c) => {
    const inv = join(dir, 'good.yaml');
    writeFileSync(inv, base());
    const file = join(dir, `${c.name}.yaml`);
    writeFileSync(file, c.yaml());
    const before = connections;
    const r = cli(['run', file, '-i', inv]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`:${c.line}:\\d+ `));
    if (typeof c.text === 'string') expect(r.stderr).toContain(c.text);
    else expect(r.stderr).toMatch(c.text);
    expect(connections).toBe(before);
  });
});
