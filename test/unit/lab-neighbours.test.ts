// The lab's static neighbour entries (src/lab/net.ts): parsed from captured `ip` output, planned as `ip -batch` lines.
import { describe, expect, it } from 'vitest';
import { labConfigFromInventory } from '../../src/lab/config.js';
import { freshHostNetCommands, neighbourCommands, parsePermanentNeighbours } from '../../src/lab/net.js';

// `ip -4 neigh show dev d0 nud permanent` (iproute2 6.1), one entry added as 52:54:AA:bb:cc:01
const PERMANENT = '10.250.0.2 lladdr 52:54:aa:bb:cc:01 PERMANENT \n';

describe('lab neighbour entries', () => {
  it('parses permanent entries as address → MAC', () => {
    expect([...parsePermanentNeighbours(PERMANENT)]).toEqual([['10.250.0.2', '52:54:aa:bb:cc:01']]);
    expect(parsePermanentNeighbours('').size).toBe(0);
  });

  it.each([
    ['nothing there', '', [['10.250.0.2', '52:54:aa:bb:cc:01']], ['neigh replace 10.250.0.2 lladdr 52:54:aa:bb:cc:01 dev d0 nud permanent']],
    ['already right', PERMANENT, [['10.250.0.2', '52:54:aa:bb:cc:01']], []],
    ['a host that left the lab', PERMANENT, [], ['neigh del 10.250.0.2 dev d0']],
    ['an address now on another MAC', PERMANENT, [['10.250.0.2', '52:54:aa:bb:cc:09']], ['neigh replace 10.250.0.2 lladdr 52:54:aa:bb:cc:09 dev d0 nud permanent']],
  ] as [string, string, [string, string][], string[]][])('%s', (_n, have, want, cmds) => {
    expect(neighbourCommands('d0', parsePermanentNeighbours(have), new Map(want))).toEqual(cmds);
  });

  it('a fresh ns host gets a permanent entry for the controller, with the controller veth\'s fixed MAC', () => {
    const inv = { cluster: 'nb', hosts: { a: { address: '10.213.0.11' } } };
    const cfg = labConfigFromInventory(inv as never, '/tmp/nb/inventory.yaml');
    const net = cfg.networks[0]!;
    expect(net.controllerMac).toMatch(/^52:54(:[0-9a-f]{2}){4}$/);
    expect(net.controllerMac).not.toBe(cfg.hosts[0]!.nics[0]!.mac);
    expect(freshHostNetCommands(cfg.hosts[0]!, cfg.networks)).toEqual([
      'link set lo up',
      `addr replace 10.213.0.11/${net.prefix} dev eth0`,
      'link set eth0 up',
      `neigh replace ${net.controller} lladdr ${net.controllerMac} dev eth0 nud permanent`,
    ]);
  });
});
