// Names that are also JavaScript object properties (constructor, __proto__, toString, hasOwnProperty, valueOf) are
// ordinary names: a host called `constructor` is a host, a module called `toString` is an unknown module.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContactCounter } from '../support/listener.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliJson, ROOT } from '../helpers.js';
import { loadInventory, resolveTargets } from '../../src/inventory/load.js';
import { loadPlaybook } from '../../src/playbook/load.js';
import { defaultRegistry } from '../../src/api.js';
import { InputError } from '../../src/util/input.js';

const PROTO = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
const NO_JS_ERROR = /TypeError|is not a function|Cannot read prop|\n\s+at /;

const listener = new ContactCounter();
const dir = mkdtempSync(join(tmpdir(), 'cf-proto-'));

beforeAll(async () => {
  await listener.start();
});
afterAll(() => { listener.close(); rmSync(dir, { recursive: true, force: true }); });
const contacted = (before: number) => listener.contacted(before);

/** Hosts named after Object.prototype properties, and a group named valueOf holding two of them (the listener is constructor's). */
const protoInventory = () => `cluster: t
ssh: { user: root, port: ${listener.port}, private_key: ${ROOT}/test/fixtures/keys/id_ed25519, known_hosts: ${dir}/kh, connect_timeout: 5 }
hosts:
  constructor: { address: 127.0.0.1 }
  toString: { address: 127.0.0.21 }
  hasOwnProperty: { address: 127.0.0.22 }
groups:
  valueOf: [constructor, toString]
`;
const plainInventory = () => `cluster: t
ssh: { user: root, port: ${listener.port}, private_key: ${ROOT}/test/fixtures/keys/id_ed25519, known_hosts: ${dir}/kh, connect_timeout: 5 }
hosts:
  n1: { address: 127.0.0.1 }
groups:
  web: [n1]
`;

const thrown = (f: () => unknown): InputError => {
  try { f(); } catch (e) { if (e instanceof InputError) return e; throw e; }
  throw new Error('no InputError was thrown');
};

describe('inventory loader', () => {
  it('hosts and groups named like Object.prototype properties are ordinary hosts and groups', () => {
    const inv = loadInventory(join(dir, 'proto.yaml'), protoInventory());
    expect(inv.hosts.map((h) => h.name)).toEqual(['constructor', 'toString', 'hasOwnProperty']);
    expect(inv.host('constructor').address).toBe('127.0.0.1');
    expect(inv.groups.valueOf).toEqual(['constructor', 'toString']);
    expect(resolveTargets(inv, 'valueOf')).toEqual({ hosts: ['constructor', 'toString'], unknown: [] });
    expect(resolveTargets(inv, 'hasOwnProperty,toString')).toEqual({ hosts: ['toString', 'hasOwnProperty'], unknown: [] });
    expect(resolveTargets(inv, '__proto__')).toEqual({ hosts: [], unknown: ['__proto__'] });
  });

  it.each(PROTO)('--limit / hosts: %s that names nothing is unknown, not a JS error', (name) => {
    const inv = loadInventory(join(dir, 'plain.yaml'), plainInventory());
    expect(resolveTargets(inv, name)).toEqual({ hosts: [], unknown: [name] });
    expect(resolveTargets(inv, [name, 'web'])).toEqual({ hosts: ['n1'], unknown: [name] });
    expect(() => inv.host(name)).toThrow(`no host ${name}`);
  });

  it.each(PROTO)('a reference to the host %s that is not defined is reported at its position', (name) => {
    const e = thrown(() => loadInventory(join(dir, 'ref.yaml'), plainInventory() + `ha:\n  members: [n1, ${name}]\n  shared_disk: /dev/sdb\n  quorum: {}\n`));
    expect(e.issues).toEqual([expect.objectContaining({ line: 8, path: 'ha.members[1]', message: `"${name}" is not a host in hosts:` })]);
  });

  it('a group named like a host property does not clash with a host that is not there', () => {
    const inv = loadInventory(join(dir, 'g.yaml'), plainInventory().replace('web: [n1]', 'constructor: [n1]\n  toString: [n1]'));
    expect(resolveTargets(inv, 'constructor').hosts).toEqual(['n1']);
    expect(resolveTargets(inv, 'toString').hosts).toEqual(['n1']);
  });
});

describe('playbook loader and module registry', () => {
  it('the registry holds only modules', () => {
    for (const name of PROTO) expect(defaultRegistry.get(name), name).toBeUndefined();
    expect(defaultRegistry.get('file')?.name).toBe('file');
  });

  it.each(PROTO)('a task key %s is an unknown module, with the list of modules or a hint', (name) => {
    const text = `- name: p\n  hosts: all\n  tasks:\n    - name: t\n      ${name}: { argv: [true] }\n`;
    const e = thrown(() => loadPlaybook(join(dir, 'pb.yaml'), defaultRegistry, text));
    expect(e.issues).toEqual([expect.objectContaining({ line: 5, col: 7, message: expect.stringContaining(`unknown module or task key "${name}"`) })]);
    expect(e.issues[0]!.message).toMatch(/did you mean|modules: .*hosts_file/);
  });

  it('a misspelt module next to a proto name still gets its hint', () => {
    const e = thrown(() => loadPlaybook(join(dir, 'pb.yaml'), defaultRegistry, '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      comand: { argv: [true] }\n'));
    expect(e.issues[0]!.message).toContain('did you mean "command"');
  });

  it('plays may target hosts and groups with proto names', () => {
    const plays = loadPlaybook(join(dir, 'pb.yaml'), defaultRegistry, '- name: p\n  hosts: [constructor, valueOf]\n  tasks:\n    - name: t\n      command: { argv: [true] }\n      notify: toString\n  handlers:\n    - name: toString\n      command: { argv: [true] }\n');
    expect(plays[0]!.hosts).toEqual(['constructor', 'valueOf']);
    expect(plays[0]!.tasks[0]!.module.name).toBe('command');
    expect(plays[0]!.tasks[0]!.notify).toEqual(['toString']);
  });
});

describe('through the CLI', () => {
  it('plan --limit valueOf works on the hosts of the group valueOf (they are contacted and unreachable), no JS error', async () => {
    const file = join(dir, 'proto.yaml');
    writeFileSync(file, protoInventory());
    const before = listener.connections;
    const r = cliJson(['plan', file, '--limit', 'valueOf']);
    expect(r.stdout + r.stderr).not.toMatch(NO_JS_ERROR);
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.recap.map((h: any) => [h.host, h.unreachable])).toEqual([['constructor', true], ['toString', true]]);
    expect(await contacted(before)).toBe(1); // the listener is at constructor's address; toString's refuses
  });

  it('a playbook whose play targets the host constructor runs on it', async () => {
    const file = join(dir, 'proto.yaml');
    writeFileSync(file, protoInventory());
    const pb = join(dir, 'pb-ctor.yaml');
    writeFileSync(pb, '- name: on constructor\n  hosts: constructor\n  tasks:\n    - name: t\n      command: { argv: ["true"] }\n');
    const before = listener.connections;
    const r = cliJson(['run', pb, '-i', file]);
    expect(r.stdout + r.stderr).not.toMatch(NO_JS_ERROR);
    expect(r.json?.recap.map((h: any) => [h.host, h.unreachable]), r.stderr).toEqual([['constructor', true]]);
    expect(await contacted(before)).toBe(1);
  });

  it.each(PROTO)('plan --limit %s on an inventory without it: exit 2, no host contacted', async (name) => {
    const file = join(dir, 'plain.yaml');
    writeFileSync(file, plainInventory());
    const before = listener.connections;
    const r = cli(['plan', file, '--limit', name]);
    expect(r.stdout + r.stderr).not.toMatch(NO_JS_ERROR);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`no host or group named "${name}"`);
    expect(await contacted(before)).toBe(0);
  });
});
