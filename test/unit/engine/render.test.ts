// The renderer alone: task instance keys and labels, plays that do not apply, problems reported once.
import { describe, expect, it } from 'vitest';
import { Renderer, STUB_FACTS } from '../../../src/engine/render.js';
import { InputError } from '../../../src/util/input.js';
import { inventory, playbook } from './fixtures.js';

const inv = inventory(['n1', 'n2']);
const host = (n: string) => inv.host(n);

describe('Renderer', () => {
  it('keys are t{play}.{task}.{item} (handlers h…), loop items are labelled by name, host or index', () => {
    const plays = playbook(`
- name: p0
  hosts: all
  tasks: [{ name: x, kv: { key: x, value: "1" } }]
- name: p1
  hosts: all
  tasks:
    - { name: y, kv: { key: y, value: "1" } }
    - { name: l, loop: [{ name: a }, { host: n2 }, 7], kv: { key: "l{{index}}", value: "1" }, notify: h }
  handlers: [{ name: h, kv: { key: h, value: "1" } }]
`);
    const r = new Renderer(inv, plays, [['n1', 'n2'], ['n1', 'n2']]).host(host('n1'), STUB_FACTS);
    expect(r.tasks.map((p) => p.map((t) => `${t.key} ${t.name}`))).toEqual([['t0.0.0 x'], ['t1.0.0 y', 't1.1.0 l (a)', 't1.1.1 l (n2)', 't1.1.2 l (2)']]);
    expect(r.handlers.map((p) => p.map((t) => t.key))).toEqual([[], ['h1.0.0']]);
    expect(r.tasks[1]![3]!.args).toEqual({ key: 'l2', value: '1', then: [] });
  });

  it('a play has no tasks on a host --limit leaves out or whose `when` is false there; a false task `when` is a skip', () => {
    const plays = playbook(`
- name: p0
  hosts: all
  tasks: [{ name: x, kv: { key: x, value: "1" } }]
- name: p1
  hosts: all
  when: "{{eq host.name 'n1'}}"
  tasks: [{ name: y, when: false, kv: { key: y, value: "1" } }]
`);
    const r = new Renderer(inv, plays, [['n1'], ['n1', 'n2']]);
    expect(r.host(host('n2'), STUB_FACTS).tasks).toEqual([[], []]);
    const n1 = r.host(host('n1'), STUB_FACTS).tasks[1]!;
    expect(n1.map((t) => [t.key, t.skip, t.args])).toEqual([['t1.0.0', true, {}]]);
    expect(r.takeIssues()).toEqual([]);
  });

  it('preflight reports each problem once for all hosts, and every kind of problem at once', () => {
    const plays = playbook(`
- name: p0
  hosts: all
  when: "{{nope.x}}"
  tasks: []
- name: p1
  hosts: all
  tasks:
    - { name: a, kv: { key: a } }
    - { name: b, loop: "{{cluster}}", kv: { key: b, value: "1" } }
`);
    let err: unknown;
    try { new Renderer(inv, plays, [['n1', 'n2'], ['n1', 'n2']]).preflight(inv.hosts); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(InputError);
    const msgs = (err as InputError).issues.map((i) => `${i.path}: ${i.message}`);
    expect(msgs).toHaveLength(3);
    expect(msgs[0]).toMatch(/^when: play "p0" on n1: /);
    expect(msgs[1]).toBe('[1].tasks[0].kv.value: task "a" on n1: module "kv": argument "value" is required (string)');
    expect(msgs[2]).toMatch(/task "b" on n1: loop: must give a list, got string/);
  });
});
