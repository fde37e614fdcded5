// One task alone, on a host opened over the fake transport: the event factory, agreement, the timeout message.
import { describe, expect, it } from 'vitest';
import { HostSession } from '../../../src/engine/host.js';
import { HostState } from '../../../src/engine/host-state.js';
import { Generation } from '../../../src/engine/probe-cache.js';
import { Renderer } from '../../../src/engine/render.js';
import { agreement, runTask, taskEvent, type TaskEnv } from '../../../src/engine/task.js';
import type { TaskEvent } from '../../../src/engine/types.js';
import { FakeLab } from '../../support/fake-transport.js';
import { inventory, playbook } from './fixtures.js';

const inv = inventory(['n1', 'n2', 'n3']);

/** n1 opened over a fake transport, and its rendered tasks of a one-play playbook. */
async function hostWith(yaml: string, lab = new FakeLab()) {
  const entry = inv.host('n1');
  const session = new HostSession(entry, lab.transport(entry));
  await session.open();
  const st = new HostState(session, { inv, flags: { forceDisks: false }, dryRun: false, generation: new Generation() });
  st.alive = true;
  const tasks = new Renderer(inv, playbook(yaml), [['n1']]).host(entry, session.facts).tasks[0]!;
  const reported: TaskEvent[] = [];
  const env: TaskEnv = { inv, dryRun: false, report: (_st, ev) => { reported.push(ev); return ev.status; } };
  return { st, tasks, env, reported, lab };
}

describe('task', () => {
  it('taskEvent: the defaults, and fields that override them', () => {
    const t = { key: 't0.0.0', name: 'x', module: { name: 'kv' } } as never;
    expect(taskEvent('n1', 'p', t)).toEqual({ type: 'task', host: 'n1', play: 'p', task: 'x', module: 'kv', kind: 'change', status: 'ok', changes: [], warnings: [], notes: [], durationMs: 0 });
    expect(taskEvent('n1', 'p', t, { status: 'failed', error: { message: 'm' } })).toMatchObject({ status: 'failed', error: { message: 'm' }, notes: [] });
  });

  it('agreement: a note when all agree, else a message with the hosts in inventory order', () => {
    const ev = taskEvent('n1', 'p', { name: 'x', module: { name: 'kv' } } as never);
    expect(agreement(inv, 'the id', new Map([['n3', 'a'], ['n1', 'a']]), ev)).toBeUndefined();
    expect(ev.notes).toEqual(['the id is the same on n1, n3']);
    expect(agreement(inv, 'the id', new Map([['n3', 'a'], ['n2', 'b'], ['n1', 'a']]), ev)).toBe('the hosts do not agree on the id: n1, n3 → a; n2 → b. Nothing was changed.');
  });

  it('a step that hangs without a task timeout is stopped at the host\'s command timeout', async () => {
    const { st, tasks, env, reported, lab } = await hostWith('- { name: p, hosts: n1, tasks: [{ name: a, kv: { key: a, value: "1", then: [hang] } }] }');
    expect(await runTask(env, st, tasks[0]!, [], 'p')).toBe('failed');
    expect(reported[0]!.error!.message).toBe('timed out after 300 s');
    expect(lab.host('n1').applies[0]!.timeoutMs).toBeUndefined(); // the transport's own (command_timeout)
  });

  it('a change is applied, its later tasks read in the same round trip; a skipped task is never read', async () => {
    const { st, tasks, env, reported, lab } = await hostWith(`
- name: p
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: s, when: false, kv: { key: s, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
`);
    expect(await runTask(env, st, tasks[0]!, tasks.slice(1), 'p')).toBe('changed');
    expect(reported[0]!.changes).toEqual([{ summary: 'a: (unset) → 1', diff: undefined, commands: ['set a 1'] }]);
    expect(lab.host('n1').applies[0]!.sections).toEqual(['t0.2.0/cur']);
    expect(st.cache.get('t0.2.0')).toEqual({ cur: { out: '', err: '', rc: 1 } });
    expect(st.changedInPlay).toBe(true);
  });
});
