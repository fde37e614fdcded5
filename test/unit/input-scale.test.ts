// Large inputs: positions are looked up in linear time, so big inventories load and huge error lists are reported
// quickly. No timing assertions here (timing is `npm run bench`); these complete well within the test timeout
// only when the lookups are linear (the quadratic ones took minutes).
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { InputError, loadYamlFile, MAX_INPUT_BYTES } from '../../src/util/input.js';

const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** A valid inventory: n hosts, an HA pair, one director, every other host an LVS real server and in group web. */
function bigInventory(n: number): string {
  const lines = ['cluster: big', 'ssh: { user: root }', 'hosts:'];
  for (let i = 0; i < n; i++) lines.push(`  h${i}: { address: ${address(i + 1)}, port: 22 }`);
  lines.push('groups:', '  web:');
  for (let i = 3; i < n; i++) lines.push(`    - h${i}`);
  lines.push('ha:', '  members: [h0, h1]', '  shared_disk: /dev/sdb', '  quorum: { size: 10M }', '  services:', '    - { name: NFS, address: 10.250.0.1, size: 100M, mountpoint: /mnt/a }');
  lines.push('lvs:', '  directors: [h2]', '  vip: 10.250.0.2', '  virtual_services:', '    - { protocol: tcp, port: 80, scheduler: wlc }', '  real_servers:');
  for (let i = 3; i < n; i++) lines.push(`    - { host: h${i}, weight: 1 }`);
  return lines.join('\n') + '\n';
}

/** `count` unknown top-level keys from line 4 on; short names so that 100,000 fit in the size limit. */
function unknownKeys(count: number): string {
  const lines = ['cluster: t', 'hosts:', '  n1: { address: 10.0.0.1 }'];
  for (let i = 0; i < count; i++) lines.push(`z${i.toString(36)}: 1`);
  return lines.join('\n') + '\n';
}

describe('input at scale', () => {
  it('a valid 3,000-host inventory loads and validates', () => {
    const inv = loadInventory('big.yaml', bigInventory(3000));
    expect(inv.hosts).toHaveLength(3000);
    expect(inv.host('h2999').address).toBe(address(3000));
    expect(inv.groups.web).toHaveLength(2997);
    expect(inv.raw.lvs!.real_servers).toHaveLength(2997);
  });

  it('a problem at the end of a 3,000-host inventory is found at its line', () => {
    const text = bigInventory(3000).replace('    - { host: h2999, weight: 1 }', '    - { host: h3000, weight: 1 }');
    let err: unknown;
    try { loadInventory('big.yaml', text); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues).toEqual([expect.objectContaining({ line: text.split('\n').indexOf('    - { host: h3000, weight: 1 }') + 1, path: 'lvs.real_servers[2996].host' })]);
  });

  it('100,000 unknown keys are each reported at their line', () => {
    const text = unknownKeys(100_000);
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_INPUT_BYTES);
    let err: unknown;
    try { loadInventory('keys.yaml', text); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(InputError);
    const issues = (err as InputError).issues;
    expect(issues).toHaveLength(100_000);
    expect(issues[0]).toMatchObject({ line: 4, col: 1, path: 'z0' });
    expect(issues[99_999]).toMatchObject({ line: 100_003, col: 1, path: `z${(99_999).toString(36)}` });
    expect(issues[99_999]!.message).toContain('unknown key');
  });

  it('a duplicate key at the end of a 100,000-key mapping is found, naming the first one', () => {
    const text = unknownKeys(100_000) + 'z0: 2\n';
    let err: unknown;
    try { loadYamlFile('dup.yaml', text); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues).toEqual([expect.objectContaining({ line: 100_004, col: 1, message: expect.stringMatching(/^duplicate key "z0" \(first at line 4\)$/), path: 'z0' })]);
  });
});
