// lab.hosts.X.watchdog (issue #14): a vm host gets qemu's i6300esb watchdog, whose expiry resets that VM; a namespace
// host never gets one (it shares this machine's kernel: its watchdog would reset the machine).
import { describe, expect, it } from 'vitest';
import { labConfigFromInventory, loadLabInventory } from '../../src/lab/index.js';
import { watchdogArgs } from '../../src/lab/vm.js';
import { InputError } from '../../src/util/input.js';

const inv = (node2: string) => `cluster: wd
hosts:
  node1: { address: 10.232.0.11 }
  node2: { address: 10.232.0.12 }
lab:
  networks:
    public: { subnet: 10.232.0.0/24 }
  hosts:
    node1: { kind: vm, image: debian, memory: 1024, watchdog: true }
    node2: ${node2}
`;

describe('lab watchdog', () => {
  it('a vm host with watchdog: true boots with an i6300esb that resets it; others have none', () => {
    const c = labConfigFromInventory(loadLabInventory('/x/wd.yaml', inv('{ kind: vm, image: debian }')), '/x/wd.yaml');
    const byName = new Map(c.hosts.map((h) => [h.name, h]));
    expect(byName.get('node1')!.watchdog).toBe(true);
    expect(byName.get('node2')!.watchdog).toBeUndefined();
    expect(watchdogArgs({ watchdog: true })).toEqual(['-device', 'i6300esb', '-action', 'watchdog=reset']);
    expect(watchdogArgs({})).toEqual([]);
  });
  it('a namespace host with watchdog: true is refused at its line', () => {
    let err: unknown;
    try { labConfigFromInventory(loadLabInventory('/x/wd.yaml', inv('{ kind: ns, watchdog: true }')), '/x/wd.yaml'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(InputError);
    const i = (err as InputError).issues.find((x) => x.path.includes('watchdog'))!;
    expect(i.message).toMatch(/a watchdog is given only to a vm host/);
    expect(i.line).toBe(10);
  });
});
