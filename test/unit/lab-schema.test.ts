// The lab owns its part of an inventory: `lab:` and the lab-specific cross-checks are validated by src/lab (every
// problem as file:line:column, exit 2 from `clusterform lab …` before anything is made); the core inventory accepts
// `lab:` without looking inside; src/lab imports nothing from the core but src/util.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../helpers.js';
import { labConfigFromInventory, loadLabInventory } from '../../src/lab/index.js';
import { loadInventory } from '../../src/inventory/load.js';
import { InputError, type InputIssue } from '../../src/util/input.js';

const base = () => `cluster: t
hosts:
  n1: { address: 10.231.0.11 }
  n2: { address: 10.231.0.12 }
  d1: { address: 10.231.0.1 }
ha:
  members: [n1, n2]
  shared_disk: /dev/disk/by-id/clusterform-t-shared
  quorum: { size: 10M }
  services:
    - { name: NFS, address: 10.231.0.100, size: 100M, mountpoint: /mnt/a }
lab:
  networks:
    public: { subnet: 10.231.0.0/24 }
    private: { subnet: 10.231.1.0/24 }
  hosts:
    d1: { kind: vm, networks: [public, private] }
  disks:
    shared: { size: 1G, hosts: [n1, n2] }
`;
/** Replace line n (1-based) of the base inventory. */
const setLine = (n: number, text: string) => base().split('\n').map((l, i) => (i === n - 1 ? text : l)).join('\n');
/** The base inventory without lab.networks: the lab makes one network, the /24 around the first host. */
const withoutNetworks = () => base().replace(/  networks:\n.*\n.*\n/, '').replace('{ kind: vm, networks: [public, private] }', '{ kind: vm }');

/** The issues loadLabInventory reports for `text` (as the file inv.yaml, which is never read). */
function issues(text: string): InputIssue[] {
  try {
    loadLabInventory('inv.yaml', text);
  } catch (e) {
    if (e instanceof InputError) return e.issues;
    throw e;
  }
  return [];
}

interface Case { name: string; yaml: () => string; line: number; field: string; text: string }

const cases: Case[] = [
  // once found by the core loader (bad-input.test.ts keeps its two lab cases, run through `clusterform lab status`)
  { name: 'lab-disk-too-small', yaml: () => setLine(19, '    shared: { size: 50M, hosts: [n1, n2] }'), line: 19, field: 'lab.disks.shared.size', text: 'the HA layout needs at least 124M' },
  { name: 'lab-host-hasOwnProperty', yaml: () => setLine(17, '    hasOwnProperty: { kind: ns }'), line: 17, field: 'lab.hosts.hasOwnProperty', text: '"hasOwnProperty" is not a host in hosts:' },
  // before, plain errors from the lab's config (exit 1, no position)
  { name: 'unknown-network', yaml: () => setLine(17, '    d1: { kind: vm, networks: [public, privat] }'), line: 17, field: 'lab.hosts.d1.networks[1]', text: 'unknown network "privat" (lab networks: public, private)' },
  { name: 'network-twice', yaml: () => setLine(17, '    d1: { kind: vm, networks: [public, public] }'), line: 17, field: 'lab.hosts.d1.networks[1]', text: 'network "public" is listed twice' },
  { name: 'address-not-in-first-network', yaml: () => setLine(17, '    d1: { kind: vm, networks: [private, public] }'), line: 17, field: 'lab.hosts.d1.networks[0]', text: 'host "d1" has address 10.231.0.1, which is not in its first network private (10.231.1.0/24)' },
  { name: 'address-outside-subnet', yaml: () => setLine(17, '    d1: { kind: vm, networks: [public, private], addresses: { private: 10.231.2.9 } }'), line: 17, field: 'lab.hosts.d1.addresses.private', text: '10.231.2.9 is not in network private (10.231.1.0/24)' },
  { name: 'address-on-unknown-network', yaml: () => setLine(17, '    d1: { kind: vm, networks: [public, private], addresses: { inner: 10.231.1.9 } }'), line: 17, field: 'lab.hosts.d1.addresses.inner', text: '"inner" is not a lab network' },
  { name: 'address-used-twice', yaml: () => setLine(17, '    d1: { kind: vm, networks: [public, private], addresses: { private: 10.231.1.9 } }').replace('n2: { address: 10.231.0.12 }', 'n2: { address: 10.231.1.9 }'), line: 17, field: 'lab.hosts.d1.addresses.private', text: 'address 10.231.1.9 is already used by host "n2"' },
  { name: 'host-in-no-network', yaml: () => setLine(4, '  n2: { address: 10.231.5.12 }'), line: 4, field: 'hosts.n2.address', text: '10.231.5.12 is in none of the lab networks (public 10.231.0.0/24, private 10.231.1.0/24)' },
  { name: 'hosts-span-two-24s', yaml: () => withoutNetworks().replace('n2: { address: 10.231.0.12 }', 'n2: { address: 10.231.1.12 }'), line: 4, field: 'hosts.n2.address', text: 'the hosts span more than one /24 (10.231.1.12 is not in 10.231.0.0/24' },
  { name: 'cluster-not-a-lab-name', yaml: () => setLine(1, 'cluster: Web_Farm'), line: 1, field: 'cluster', text: '"Web_Farm" must match [a-z0-9-]{1,12}' },
  { name: 'host-name-underscore', yaml: () => setLine(5, '  d_1: { address: 10.231.0.1 }').replace('d1: { kind', 'd_1: { kind'), line: 5, field: 'hosts.d_1', text: 'host name "d_1" is not a valid hostname for a lab host' },
  { name: 'subnet-prefix-31', yaml: () => setLine(15, '    private: { subnet: 10.231.1.0/31 }'), line: 15, field: 'lab.networks.private.subnet', text: 'a CIDR subnet like 10.213.0.0/24 (prefix /8 to /30)' },
  // the lab's schema: its own keys, kinds, addresses
  { name: 'disk-unknown-host', yaml: () => setLine(19, '    shared: { size: 1G, hosts: [n1, n3] }'), line: 19, field: 'lab.disks.shared.hosts[1]', text: '"n3" is not a host in hosts:' },
  { name: 'misspelled-kind', yaml: () => setLine(17, '    d1: { knd: vm, networks: [public, private] }'), line: 17, field: 'lab.hosts.d1.knd', text: 'did you mean "kind"' },
  { name: 'unknown-kind', yaml: () => setLine(17, '    d1: { kind: container, networks: [public, private] }'), line: 17, field: 'lab.hosts.d1.kind', text: 'is not one of: ns, vm' },
  { name: 'ipv6-host', yaml: () => setLine(3, '  n1: { address: "fd00::11" }'), line: 3, field: 'hosts.n1.address', text: 'not an IPv4 address' },
  { name: 'bad-disk-size', yaml: () => setLine(19, '    shared: { size: 1X, hosts: [n1, n2] }'), line: 19, field: 'lab.disks.shared.size', text: 'not a size' },
];

describe('the lab validates its part of an inventory (file:line:column)', () => {
  it('the demo inventory is a valid lab', () => {
    const file = join(ROOT, 'inventory/lab.yaml');
    const cfg = labConfigFromInventory(loadLabInventory(file), file);
    expect(cfg.hosts.map((h) => `${h.name}:${h.kind}`)).toEqual(['node1:ns', 'node2:ns', 'director:vm', 'rs1:ns', 'rs2:ns', 'client:ns']);
    expect(cfg.disks.map((d) => d.byIdPath)).toEqual(['/dev/disk/by-id/clusterform-lab-shared']);
  });

  it('the base inventory of these cases is valid', () => expect(issues(base())).toEqual([]));

  it.each(cases)('$name', (c) => {
    const found = issues(c.yaml());
    const hit = found.find((i) => i.path === c.field);
    expect(hit, JSON.stringify(found)).toBeDefined();
    expect(hit).toMatchObject({ file: 'inv.yaml', line: c.line });
    expect(hit!.message).toContain(c.text);
  });

  it('reports every problem at once', () => {
    const text = setLine(17, '    d1: { kind: vm, networks: [public, privat] }').replace('hosts: [n1, n2] }', 'hosts: [n1, n3] }').replace('cluster: t', 'cluster: T');
    expect(issues(text).map((i) => i.path)).toEqual(['cluster', 'lab.hosts.d1.networks[1]', 'lab.disks.shared.hosts[1]']);
  });

  it('a caller without a file gets every problem with its path', () => {
    const inv = { cluster: 'x', hosts: { a: { address: '10.0.0.1' } }, lab: { hosts: { a: { networks: ['public', 'other'] } } } };
    expect(() => labConfigFromInventory(inv, '/x/i.yaml')).toThrow('lab: lab.hosts.a.networks[1]: unknown network "other" (lab networks: public)');
  });
});

describe('the core inventory accepts lab: without looking inside', () => {
  it('a lab: section the lab would refuse loads as an inventory', () => {
    for (const text of [cases.find((c) => c.name === 'unknown-kind')!.yaml(), cases.find((c) => c.name === 'lab-disk-too-small')!.yaml(), base().replace(/\nlab:\n[^]*/, '\nlab: 5\n')]) {
      expect(loadInventory('inv.yaml', text).hosts.map((h) => h.name)).toEqual(['n1', 'n2', 'd1']);
    }
  });

  it('the other top-level keys are still checked', () => {
    expect(() => loadInventory('inv.yaml', base().replace('\nlab:\n', '\nlabs:\n'))).toThrow(/unknown key "labs" \(did you mean "lab"\?\)/);
  });
});

describe('clusterform lab … on a bad lab: exit 2 with file:line:column, before anything is made', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-lab-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // PATH without the lab's commands: were the input accepted, `lab up` would stop at its prerequisites, not build
  const lab = (args: string[]) => spawnSync(process.execPath, [CLI, 'lab', ...args], { encoding: 'utf8', env: { ...process.env, PATH: join(dir, 'no-bin'), CI: 'true' }, timeout: 60_000 });
  const moved = ['lab-disk-too-small', 'lab-host-hasOwnProperty', 'unknown-network', 'address-not-in-first-network', 'cluster-not-a-lab-name'];

  it.each(cases.filter((c) => moved.includes(c.name)))('$name', (c) => {
    const sub = mkdtempSync(join(dir, `${c.name}-`));
    const file = join(sub, 'inv.yaml');
    writeFileSync(file, c.yaml());
    for (const cmd of ['status', 'up', 'down']) {
      const r = lab([cmd, file]);
      expect(r.status, `lab ${cmd}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${file}:${c.line}:`);
      expect(r.stderr).toContain(`${c.field}: `);
      expect(r.stderr).toContain(c.text);
      expect(r.stderr).not.toMatch(/TypeError|\n\s+at /);
    }
    expect(readdirSync(sub)).toEqual(['inv.yaml']); // no .lab/
  });
});

describe('the lab is its own package', () => {
  const labDir = join(ROOT, 'src/lab');
  const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));

  it('src/lab imports nothing from the core but src/util', () => {
    const outside: string[] = [];
    for (const f of files(labDir)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bfrom\s+'(\.[^']*)'|\bimport\(\s*'(\.[^']*)'\s*\)/g)) {
        const target = resolve(dirname(f), m[1] ?? m[2]!);
        const rel = relative(join(ROOT, 'src'), target);
        if (!rel.startsWith('lab/') && !rel.startsWith('util/')) outside.push(`${relative(ROOT, f)} → ${m[1] ?? m[2]}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('the lab CLI reads the inventory through the lab, without casts', () => {
    const src = readFileSync(join(ROOT, 'src/cli/lab.ts'), 'utf8');
    expect(src).not.toMatch(/inventory\/|as unknown as/);
  });
});
