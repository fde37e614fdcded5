// --limit patterns (src/inventory/limit.ts) and the CLI's exit 2 for an unknown name or an empty selection.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { limitHosts, selectHosts, type HostUniverse } from '../../src/inventory/limit.js';
import { InputError } from '../../src/util/input.js';
import { cli, ROOT } from '../helpers.js';

const u: HostUniverse = {
  hosts: ['node1', 'node2', 'director', 'web1', 'web2', 'client'],
  groups: { all: ['node1', 'node2', 'director', 'web1', 'web2', 'client'], ha_members: ['node1', 'node2'], real_servers: ['web1', 'web2'], blue: ['node2', 'web2'] },
};
const msg = (f: () => unknown) => { try { f(); } catch (e) { return (e as InputError).issues.map((i) => `${i.file}: ${i.message}`); } return []; };

describe('selectHosts: Ansible-style patterns', () => {
  it.each([
    ['web*', ['web1', 'web2']],
    ['node?', ['node1', 'node2']],
    ['all:!node2', ['node1', 'director', 'web1', 'web2', 'client']],
    ['!node2', ['node1', 'director', 'web1', 'web2', 'client']],
    ['ha_members:&blue', ['node2']],
    ['ha_members,real_servers:!blue', ['node1', 'web1']],
    ['client,node1', ['node1', 'client']],
    ['real_*', ['web1', 'web2']], // a wildcard over group names
  ])('%s', (spec, hosts) => {
    expect(selectHosts(u, spec)).toEqual({ hosts, problems: [] });
  });

  it('an unknown name is a problem with "did you mean"', () => {
    expect(msg(() => limitHosts(u, 'nod1,web1'))).toEqual(['--limit: no host or group named "nod1" (did you mean "node1"?)']);
    expect(msg(() => limitHosts(u, 'db*'))).toEqual(['--limit: "db*" matches no host or group']);
  });

  it('an empty selection is an error, not a silent success', () => {
    expect(msg(() => limitHosts(u, 'ha_members:&real_servers'))).toEqual(['--limit: "ha_members:&real_servers" selects no host: nothing would run']);
    expect(msg(() => limitHosts(u, ' , '))).toHaveLength(1);
  });

  it('prototype names are names like any other', () => {
    expect(selectHosts(u, 'constructor').problems).toEqual(['no host or group named "constructor"']);
  });
});

describe('the CLI: --limit problems exit 2 before any host is contacted', () => {
  const inv = resolve(ROOT, 'inventory/example.yaml');
  it('unknown name: exit 2 with did-you-mean', () => {
    const r = cli(['plan', inv, '--limit', 'nod1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--limit: no host or group named "nod1" (did you mean "node1"?)');
  });
  it('empty selection: exit 2', () => {
    const r = cli(['plan', inv, '--limit', 'node1:&node2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('selects no host');
  });
});
