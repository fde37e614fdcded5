// Small modules written for the engine tests, in the fake transport's command language (see
// test/support/fake-transport.ts), and helpers to load an inventory and a playbook from text and run them.
import { z } from 'zod';
import { loadInventory, type Inventory } from '../../../src/inventory/load.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { Registry } from '../../../src/engine/registry.js';
import { runPlaybook, type RunOptions } from '../../../src/engine/run.js';
import { defineModule, type Action, type EngineEvent, type RunResult, type TaskEvent } from '../../../src/engine/types.js';
import { FakeLab } from '../../support/fake-transport.js';

const sh = (script: string): Action => ({ kind: 'sh', script, desc: script });
const value = (r: { out: string; rc: number } | undefined) => (r && r.rc === 0 ? r.out : null);

/** `key` should hold `value`: one step sets it, then the `then` steps run; `refuse` refuses any change. */
export const kv = defineModule({
  name: 'kv',
  doc: 'one key of the fake host',
  args: z.object({ key: z.string(), value: z.string(), then: z.array(z.string()).default([]), refuse: z.string().optional() }).strict(),
  read: (c) => ({ cur: `get ${c.args.key}` }),
  parse: (r) => value(r.cur),
  plan: (cur, c) => {
    if (cur === c.args.value) return { changes: [] };
    if (c.args.refuse) return { changes: [], refuse: c.args.refuse };
    return { changes: [{ summary: `${c.args.key}: ${cur ?? '(unset)'} → ${c.args.value}`, actions: [sh(`set ${c.args.key} ${c.args.value}`), ...c.args.then.map(sh)] }] };
  },
});

/** Every host of the play must hold the same value under `key`. */
export const agreeKv = defineModule({
  name: 'agree_kv',
  doc: 'a value the hosts of a play must agree on',
  args: z.object({ key: z.string() }).strict(),
  read: (c) => ({ cur: `get ${c.args.key}` }),
  parse: (r) => value(r.cur) ?? '(unset)',
  plan: (cur) => ({ changes: [], agree: { what: 'the disk id', value: cur } }),
});

/** As a once-task: what every other member of the play holds under `key`, in the notes. */
export const peersKv = defineModule({
  name: 'peers_kv',
  doc: 'reads the other members of the play',
  args: z.object({ key: z.string() }).strict(),
  read: (c) => ({ cur: `get ${c.args.key}` }),
  peers: (c) => ({ cur: `get ${c.args.key}` }),
  parse: (r) => value(r.cur),
  plan: (_cur, c) => ({ changes: [], notes: (c.peers ?? []).map((p) => `${p.host}: ${p.missing !== undefined ? `missing (${p.missing})` : value(p.res!.cur)}`) }),
});

/**
 * As a once-task: set `key`, but never while another member holds `open=yes` (the disk modules' rule). Its peers can
 * only object (`peersObjectOnly`): they are read only when there is something to set.
 */
export const guardedKv = defineModule({
  name: 'guarded_kv',
  doc: 'a value set only while no other member holds it open',
  args: z.object({ key: z.string(), value: z.string() }).strict(),
  read: (c) => ({ cur: `get ${c.args.key}` }),
  peers: () => ({ open: 'get open' }),
  peersObjectOnly: true,
  parse: (r) => value(r.cur),
  plan: (cur, c) => {
    if (cur === c.args.value) return { changes: [] };
    const holders = (c.peers ?? []).filter((p) => p.missing !== undefined || value(p.res!.open) === 'yes').map((p) => p.host);
    if (holders.length) return { changes: [], refuse: `held by ${holders.join(', ')}` };
    return { changes: [{ summary: `${c.args.key} → ${c.args.value}`, actions: [sh(`set ${c.args.key} ${c.args.value}`)] }] };
  },
});

export const registry = new Registry([kv, agreeKv, peersKv, guardedKv]);

/** An inventory of these hosts (10.0.0.x), with a group `web` of all but the first. */
export function inventory(hosts: string[] = ['n1', 'n2', 'n3']): Inventory {
  const lines = hosts.map((h, i) => `  ${h}: { address: 10.0.0.${i + 1} }`);
  return loadInventory('test.yaml', `cluster: t\nhosts:\n${lines.join('\n')}\ngroups:\n  web: [${hosts.slice(1).join(', ')}]\n`);
}

export function playbook(yaml: string) {
  return loadPlaybook('pb.yaml', registry, yaml);
}

export interface Run extends RunResult { lab: FakeLab }

/** Run a playbook (YAML text) against a fake lab; `setup` prepares the lab's hosts first. */
export async function run(yaml: string, o: Partial<RunOptions> & { lab?: FakeLab; hosts?: string[] } = {}): Promise<Run> {
  const lab = o.lab ?? new FakeLab();
  const res = await runPlaybook({ mode: 'up', inventory: inventory(o.hosts), plays: playbook(yaml), transport: lab.transport, ...o });
  return { ...res, lab };
}

export const taskEvents = (events: EngineEvent[], host?: string): TaskEvent[] =>
  events.filter((e): e is TaskEvent => e.type === 'task' && (host === undefined || e.host === host));

/** `task=status` for each task event of a host, in order. */
export const statuses = (events: EngineEvent[], host: string) => taskEvents(events, host).map((e) => `${e.task}=${e.status}`);

export const recapOf = (r: RunResult, host: string) => r.hosts.find((h) => h.host === host)!;
