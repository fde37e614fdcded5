// How the CLI reaches hosts (issue 15), through the real CLI against a local listener that counts listener.connections:
// inventory addresses that are names or ssh config aliases, -F / ssh.config_file, inventory values over the config,
// key files checked before any host is contacted, unsupported ProxyCommand refused; (address, port) duplicates;
// several known_hosts files (user and global) and @cert-authority named as not supported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContactCounter } from '../support/listener.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cli, cliJson, ROOT } from '../helpers.js';
import { loadInventory } from '../../src/inventory/load.js';
import { InputError } from '../../src/util/input.js';
import { verifyHostKey } from '../../src/transport/knownhosts.js';

const KEY = resolve(ROOT, 'test/fixtures/keys/id_ed25519');
const ENCRYPTED = resolve(ROOT, 'test/fixtures/keys/id_ed25519_encrypted'); // passphrase: secret-pass
const KH = resolve(ROOT, 'test/fixtures/known_hosts');
const listener = new ContactCounter();
const dir = mkdtempSync(join(tmpdir(), 'cf-reach-'));
const file = (name: string, text: string) => { const f = join(dir, name); writeFileSync(f, text); return f; };
const contacted = (before: number) => listener.contacted(before);

beforeAll(async () => {
  await listener.start();
});
afterAll(() => { listener.close(); rmSync(dir, { recursive: true, force: true }); });

const config = () => file('ssh_config', `Host cfhost
  HostName 127.0.0.1
  Port ${listener.port}
Host proxied
  HostName 127.0.0.1
  ProxyCommand nc %h %p
`);
const inventory = (name: string, ssh: string, hosts = '  n1: { address: cfhost }\n') =>
  file(`${name}.yaml`, `cluster: t\nssh: { user: root, known_hosts: ${dir}/kh, connect_timeout: 2${ssh} }\nhosts:\n${hosts}`);
const unreachableMessage = (json: any) => json.events.find((e: any) => e.type === 'host' && e.status === 'unreachable')?.message ?? '';

describe('the inventory address is the name given to ssh; ~/.ssh/config (or -F, or ssh.config_file) says how to reach it', () => {
  it('-F FILE: an alias in address: is reached at the HostName and Port the file gives', async () => {
    const before = listener.connections;
    const r = cliJson(['plan', inventory('alias', `, private_key: ${KEY}`), '-F', config()]);
    expect(r.code, r.stderr).toBe(1); // the listener is not an SSH server: unreachable, after a real contact
    expect(await contacted(before)).toBeGreaterThanOrEqual(1);
    expect(unreachableMessage(r.json)).toContain(`127.0.0.1:${listener.port}`);
  });

  it('ssh.config_file in the inventory does the same; a port in the inventory overrides the file', async () => {
    const cfg = config();
    let before = listener.connections;
    const viaInventory = cliJson(['plan', inventory('cfgfile', `, private_key: ${KEY}, config_file: ${cfg}`)]);
    expect(viaInventory.code, viaInventory.stderr).toBe(1);
    expect(await contacted(before)).toBeGreaterThanOrEqual(1);
    before = listener.connections;
    const override = cliJson(['plan', inventory('override', `, private_key: ${KEY}, config_file: ${cfg}, port: 1`)]);
    expect(override.code, override.stderr).toBe(1);
    expect(unreachableMessage(override.json)).toContain('127.0.0.1:1');
    expect(await contacted(before)).toBe(0);
  });

  it('a host without address: is reached by its name, looked up in the config', async () => {
    const before = listener.connections;
    const r = cliJson(['plan', inventory('noaddr', `, private_key: ${KEY}`, '  cfhost: {}\n'), '-F', config()]);
    expect(r.code, r.stderr).toBe(1);
    expect(await contacted(before)).toBeGreaterThanOrEqual(1);
  });

  it('a ProxyCommand other than "ssh -W %h:%p host" is refused before any host is contacted (exit 2)', async () => {
    const before = listener.connections;
    const r = cli(['plan', inventory('proxy', `, private_key: ${KEY}`, '  n1: { address: proxied }\n'), '-F', config()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ProxyCommand nc %h %p: not supported');
    expect(await contacted(before)).toBe(0);
  });
});

describe('key files are checked before any host is contacted: one clear error, exit 2', () => {
  const hosts = `  n1: { address: 127.0.0.1, port: ${'PORT'} }\n  n2: { address: 127.0.0.2, port: ${'PORT'} }\n`;
  const inv = (name: string, ssh: string) => inventory(name, ssh, hosts.replaceAll('PORT', String(listener.port)));

  it('a missing key file: one line for all the hosts using it, nothing contacted', async () => {
    const before = listener.connections;
    const r = cli(['plan', inv('missing', `, private_key: ${dir}/no_such_key`)]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.match(/no_such_key: no such file/g)).toHaveLength(1);
    expect(r.stderr).toContain('hosts n1, n2');
    expect(await contacted(before)).toBe(0);
  });

  it('an encrypted key: refused without passphrase_env, or with a wrong passphrase; used with the right one', async () => {
    let before = listener.connections;
    const none = cli(['plan', inv('enc', `, private_key: ${ENCRYPTED}`)]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('encrypted: set ssh.passphrase_env');
    const wrong = cli(['plan', inv('enc-env', `, private_key: ${ENCRYPTED}, passphrase_env: CF_TEST_PASS`)], { env: { CF_TEST_PASS: 'nope' } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('wrong passphrase');
    expect(wrong.stderr).not.toContain('nope');
    expect(await contacted(before)).toBe(0);
    before = listener.connections;
    const right = cli(['plan', inv('enc-env', `, private_key: ${ENCRYPTED}, passphrase_env: CF_TEST_PASS`)], { env: { CF_TEST_PASS: 'secret-pass' } });
    expect(right.code, right.stderr).toBe(1); // read, then the hosts were contacted (the listener is no SSH server)
    expect(await contacted(before)).toBeGreaterThanOrEqual(1);
  });

  it('a key that is not a private key is refused by name', () => {
    const r = cli(['plan', inv('notkey', `, private_key: ${KEY}.pub`)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`private key ${KEY}.pub:`);
  });
});

describe('inventory addresses', () => {
  const load = (hosts: string, ssh = '') => loadInventory(join(dir, 'x.yaml'), `cluster: t\nssh: { user: root${ssh} }\nhosts:\n${hosts}`);
  const problems = (hosts: string) => { try { load(hosts); return []; } catch (e) { return (e as InputError).issues.map((i) => i.message); } };

  it('a DNS name or alias is accepted; without address: the host name is used', () => {
    const inv = load('  n1: { address: n1.example.com }\n  web_2: {}\n');
    expect(inv.host('n1').address).toBe('n1.example.com');
    expect(inv.host('web_2').address).toBe('web_2');
  });

  it('two hosts on one address with different ports are fine; the same address and port is an error', () => {
    expect(problems('  a: { address: 10.0.0.1 }\n  b: { address: 10.0.0.1, port: 2222 }\n')).toEqual([]);
    expect(problems('  a: { address: 10.0.0.1 }\n  b: { address: 10.0.0.1, ssh: { port: 22 } }\n')).toEqual(['address 10.0.0.1 port 22 is already used by host "a"']);
  });

  it('something that looks like an IP but is not one is still refused; so are shell characters', () => {
    expect(problems('  a: { address: 127.0.0.300 }\n')).toHaveLength(1);
    expect(problems('  a: { address: 127.0.0.300 }\n')[0]).toContain('not an IPv4 or IPv6 address');
    expect(problems('  a: { address: "x;rm" }\n')[0]).toContain('not an IP address, a DNS name or an ssh config Host alias');
  });

  it('inventory values stay unset when not given, so that the ssh config can decide them', () => {
    const h = load('  a: { address: a }\n').host('a');
    expect([h.ssh.port, h.ssh.knownHosts, h.ssh.connectTimeoutMs, h.ssh.privateKey]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('known_hosts: several files, @cert-authority', () => {
  const blob = (pub: string) => Buffer.from(readFileSync(resolve(KH, pub), 'utf8').split(' ')[1]!, 'base64');

  it('a key in any of the files (user files, then the global one) is known; a missing file is empty', () => {
    expect(verifyHostKey([join(dir, 'missing'), resolve(KH, 'plain')], 'plain.example', 22, blob('host_ed25519.pub')).status).toBe('match');
    const changed = verifyHostKey([join(dir, 'missing'), resolve(KH, 'plain')], 'plain.example', 22, blob('other_ed25519.pub'));
    expect(changed.status).toBe('changed');
    if (changed.status === 'changed') expect(changed.file).toBe(resolve(KH, 'plain')); // the file that knows the key is named
  });

  it('a host with only a @cert-authority line is unknown, with the CA line named (certificates are not supported)', () => {
    const v = verifyHostKey(resolve(KH, 'plain'), 'x.ca.example', 22, blob('host_ed25519.pub'));
    expect(v.status).toBe('unknown');
    if (v.status === 'unknown') expect(v.certAuthority).toEqual({ file: resolve(KH, 'plain'), line: expect.any(Number) });
  });
});
