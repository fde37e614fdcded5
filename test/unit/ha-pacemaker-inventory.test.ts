// The inventory's pacemaker fields (issue #14): format: pacemaker, fencing, timeouts, services' systemd:; every
// mistake reported with file:line:col and its field.
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { InputError } from '../../src/util/input.js';
import { fencingOf, timeoutsOf } from '../../src/inventory/ha-pacemaker.js';

/** The issue's inventory, with `ha` lines replaced (line numbers are those of this text). */
function inv(haLines: string[]): string {
  return [
    'cluster: lab',
    'hosts:',
    '  node1: { address: 10.0.0.11 }',
    '  node2: { address: 10.0.0.12 }',
    'ha:',
    '  members: [node1, node2]',
    '  shared_disk: /dev/disk/by-id/virtio-shared',
    '  quorum: { size: 10M }',
    ...haLines,
  ].join('\n') + '\n';
}
const SERVICES = [
  '  services:',
  '    - { name: HA-NFS, address: 192.168.1.10, size: 1000M, fstype: ext3, mountpoint: /mnt/hanfs, nfs: { export: /mnt/hanfs, clients: "*", options: rw } }',
  '    - { name: HA-SMB, address: 192.168.1.20, mountpoint: /mnt/hasmb, systemd: smbd }',
];

function issues(text: string): { line: number; col: number; path: string; message: string }[] {
  try { loadInventory('/x/inventory.yaml', text); } catch (e) {
    if (e instanceof InputError) return e.issues.map((i) => ({ line: i.line, col: i.col, path: i.path, message: i.message }));
    throw e;
  }
  return [];
}

describe('ha: format pacemaker', () => {
  it("loads the issue's inventory: sbd fencing by default, systemd: and nfs: services", () => {
    const i = loadInventory('/x/inventory.yaml', inv(['  format: pacemaker', '  fencing: sbd', ...SERVICES]));
    expect(i.raw.ha!.format).toBe('pacemaker');
    expect(i.raw.ha!.services[1]!.systemd).toBe('smbd');
    expect(fencingOf(i.raw.ha!)).toBe('sbd');
    expect(fencingOf(loadInventory('/x/i.yaml', inv(['  format: pacemaker', ...SERVICES])).raw.ha!)).toBe('sbd');
    expect(timeoutsOf(i.raw.ha!)).toEqual({ token: 3000, watchdog: 5, msgwait: 10 });
  });
  it('fencing: none and a fence agent per member load', () => {
    expect(loadInventory('/x/i.yaml', inv(['  format: pacemaker', '  fencing: none', ...SERVICES])).raw.ha!.fencing).toBe('none');
    const agents = ['  format: pacemaker', '  fencing:', '    node1: { agent: fence_ipmilan, params: { ip: 10.1.0.11, username: admin, lanplus: true }, password_env: IPMI_PW }', '    node2: { agent: fence_ipmilan, params: { ip: 10.1.0.12 } }'];
    const f = loadInventory('/x/i.yaml', inv([...agents, ...SERVICES])).raw.ha!.fencing as Record<string, { agent: string; password_env?: string }>;
    expect(f.node1!.agent).toBe('fence_ipmilan');
    expect(f.node1!.password_env).toBe('IPMI_PW');
  });
  it.each([
    ['unknown format', ['  format: heartbeat', ...SERVICES], 9, 'ha.format', /not one of: clumanager, cman, pacemaker/],
    ['fencing with clumanager', ['  fencing: sbd', ...SERVICES], 9, 'ha.fencing', /fencing: applies to format: pacemaker only/],
    ['systemd: with clumanager', [...SERVICES], 11, 'ha.services[1].systemd', /systemd: services need format: pacemaker/],
    ['nfs: and systemd: together', ['  format: pacemaker', '  services:', '    - { name: A, address: 192.168.1.10, mountpoint: /mnt/a, systemd: smbd, nfs: { export: /mnt/a } }'], 11, 'ha.services[0].systemd', /nfs: or systemd:, not both/],
    ['a unit name with a shell character', ['  format: pacemaker', '  services:', '    - { name: A, address: 192.168.1.10, mountpoint: /mnt/a, systemd: "smbd;reboot" }'], 11, 'ha.services[0].systemd', /a systemd unit name/],
    ['a fence agent for a non-member', ['  format: pacemaker', '  fencing:', '    node1: { agent: fence_ipmilan }', '    node2: { agent: fence_ipmilan }', '    node3: { agent: fence_ipmilan }', ...SERVICES], 13, 'ha.fencing.node3', /"node3" is not one of ha.members/],
    ['a member without a fence agent', ['  format: pacemaker', '  fencing:', '    node1: { agent: fence_ipmilan }', ...SERVICES], 11, 'ha.fencing', /member "node2" has no fence device/],
    ['not a fence agent', ['  format: pacemaker', '  fencing: { node1: { agent: ipmi }, node2: { agent: fence_virsh } }'], 10, 'ha.fencing', /Invalid input|fence agent/],
    ['a fence parameter with a quote', ['  format: pacemaker', '  fencing: { node1: { agent: fence_virsh, params: { ip: "a\'b" } }, node2: { agent: fence_virsh } }'], 10, 'ha.fencing', /Invalid input|fence parameter/],
    ['msgwait below twice the watchdog', ['  format: pacemaker', '  timeouts: { token: 5000, watchdog: 10, msgwait: 15 }'], 10, 'ha.timeouts.msgwait', /msgwait \(15 s\) must be at least twice the watchdog timeout \(10 s\)/],
    ['token too short', ['  format: pacemaker', '  timeouts: { token: 10 }'], 10, 'ha.timeouts.token', /greater than or equal to 1000/],
  ])('%s → an issue at its line and field', (_, lines, line, path, message) => {
    const got = issues(inv(lines as string[]));
    expect(got.length, JSON.stringify(got)).toBeGreaterThan(0);
    const hit = got.find((g) => g.path.startsWith(path as string));
    expect(hit, JSON.stringify(got)).toBeDefined();
    expect(hit!.line).toBe(line);
    expect(hit!.col).toBeGreaterThan(0);
    expect(hit!.message).toMatch(message as RegExp);
  });
});
