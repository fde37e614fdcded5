// Rendering many hosts in linear time: arguments equal on every host are validated once per task, templates that
// read only values every host shares render once, and neither ever gives a host another host's (or a stale) result.
// No timing assertions: what is counted is the work done (zod validations, template evaluations).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Renderer, sameData, STUB_FACTS, taskRoots } from '../../../src/engine/render.js';
import { Registry } from '../../../src/engine/registry.js';
import { defineModule } from '../../../src/engine/types.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { renderValue, templateRoots } from '../../../src/playbook/render.js';
import { inventory } from './fixtures.js';

/** A module whose argument validations are counted. */
function counting() {
  const n = { parses: 0 };
  const entries = z.array(z.object({ address: z.string(), names: z.array(z.string()) }));
  const mod = defineModule({
    name: 'count',
    doc: 'counts its argument validations',
    args: z.object({ entries: entries.optional(), name: z.string().optional() }).strict().superRefine(() => { n.parses++; }),
    read: () => ({}),
    parse: () => null,
    plan: () => ({ changes: [] }),
  });
  return { n, registry: new Registry([mod]) };
}

const hostNames = (count: number) => Array.from({ length: count }, (_, i) => `h${i}`);

describe('rendering many hosts', () => {
  it('arguments equal on every host (the list of every host) are validated once, not once per host', () => {
    const { n, registry } = counting();
    const inv = inventory(hostNames(200));
    const plays = loadPlaybook('pb.yaml', registry, '- { name: p, hosts: all, tasks: [{ name: all, count: { entries: "{{hosts_entries}}" } }] }\n');
    const r = new Renderer(inv, plays, [inv.hosts.map((h) => h.name)]);
    r.preflight(inv.hosts);
    expect(n.parses).toBe(1);
    const out = r.hosts(inv.hosts.map((entry) => ({ entry, facts: STUB_FACTS })));
    expect(n.parses).toBe(1); // a second pass with the same addresses: equal arguments, no new validation
    const args = out.get('h199')!.tasks[0]![0]!.args as { entries: { address: string; names: string[] }[] };
    expect(args.entries).toHaveLength(200);
    expect(args.entries[199]).toEqual({ address: '10.0.0.200', names: ['h199'] });
  });

  it('a changed address is validated again and every host gets it (nothing stale)', () => {
    const { n, registry } = counting();
    const inv = inventory(hostNames(20));
    const plays = loadPlaybook('pb.yaml', registry, '- { name: p, hosts: all, tasks: [{ name: all, count: { entries: "{{hosts_entries}}" } }] }\n');
    const r = new Renderer(inv, plays, [inv.hosts.map((h) => h.name)]);
    r.preflight(inv.hosts);
    inv.host('h5').address = '192.0.2.5'; // as when a host given by name answers on an IP
    const out = r.hosts(inv.hosts.map((entry) => ({ entry, facts: STUB_FACTS })));
    expect(n.parses).toBe(2);
    for (const h of ['h0', 'h19']) expect((out.get(h)!.tasks[0]![0]!.args as any).entries[5]).toEqual({ address: '192.0.2.5', names: ['h5'] });
  });

  it('arguments that differ per host are each validated and each host gets its own', () => {
    const { n, registry } = counting();
    const inv = inventory(hostNames(30));
    const plays = loadPlaybook('pb.yaml', registry, '- { name: p, hosts: all, tasks: [{ name: mine, count: { name: "{{host.name}}" } }] }\n');
    const out = new Renderer(inv, plays, [inv.hosts.map((h) => h.name)]).hosts(inv.hosts.map((entry) => ({ entry, facts: STUB_FACTS })));
    expect(n.parses).toBe(30);
    expect([...out].map(([h, t]) => `${h}=${(t.tasks[0]![0]!.args as any).name}`)).toEqual(inv.hosts.map((h) => `${h.name}=${h.name}`));
  });

  it('a task whose templates read the facts or the host is rendered with those of each host; others are shared', () => {
    const { registry } = counting();
    const inv = inventory(hostNames(4));
    const plays = loadPlaybook('pb.yaml', registry, `
- name: p
  hosts: all
  tasks:
    - { name: by facts, when: "{{eq facts.hostname 'h2'}}", count: { name: x } }
    - { name: by host, count: { name: "{{host.name}}-{{cluster}}" } }
    - { name: shared, count: { entries: "{{hosts_entries}}" } }
`);
    const facts = (h: string) => ({ ...STUB_FACTS, hostname: h });
    const out = new Renderer(inv, plays, [inv.hosts.map((h) => h.name)]).hosts(inv.hosts.map((entry) => ({ entry, facts: facts(entry.name) })));
    const t = (h: string) => out.get(h)!.tasks[0]!;
    expect(inv.hosts.map((h) => t(h.name)[0]!.skip)).toEqual([true, true, false, true]);
    expect(inv.hosts.map((h) => (t(h.name)[1]!.args as any).name)).toEqual(['h0-t', 'h1-t', 'h2-t', 'h3-t']);
    expect(t('h3')[2]).toBe(t('h0')[2]); // the same instance: nothing in it depends on the host
  });

  it('taskRoots: what a task reads; unknown (null) when a template changes the context', () => {
    const plays = loadPlaybook('pb.yaml', counting().registry, `
- name: p
  hosts: all
  tasks:
    - { name: a, when: "facts.x", loop: "{{ha.services}}", count: { name: "{{item.name}}", entries: "{{hosts_entries}}" } }
    - { name: b, count: { name: "{{#each hosts}}{{name}}{{/each}}" } }
`);
    expect(taskRoots(plays[0]!.tasks[0]!)?.sort()).toEqual(['facts', 'ha', 'hosts_entries', 'item']);
    expect(taskRoots(plays[0]!.tasks[1]!)).toBeNull();
  });

  it('a template reading only shared values is evaluated once; one reading the host, once per host', () => {
    let reads = 0;
    const probe = { get on() { reads++; return 'yes'; } };
    const shared = { probe, host: { name: 'a' } };
    for (let i = 0; i < 100; i++) expect(renderValue("{{eq probe.on 'yes'}}", { ...shared })).toBe('true');
    expect(reads).toBeLessThanOrEqual(2);
    reads = 0;
    const seen = Array.from({ length: 50 }, (_, i) => renderValue('{{probe.on}}-{{host.name}}', { probe, host: { name: `h${i}` } }));
    expect(reads).toBe(50);
    expect(seen[49]).toBe('yes-h49');
  });

  it('the names a template reads are known only when no path depends on a changed context', () => {
    expect(templateRoots("{{and (eq lvs.forwarding 'dr') (not facts.features.arpHidden)}}")?.sort()).toEqual(['and', 'eq', 'facts', 'lvs', 'not']);
    expect(templateRoots('{{#if ha}}{{ha.quorum.size}}{{else}}0{{/if}}')?.sort()).toEqual(['ha', 'if']);
    for (const t of ['{{#each hosts}}{{name}}{{/each}}', '{{#with ha}}{{quorum}}{{/with}}', '{{@root.cluster}}', '{{this}}', '{{#if x}}{{../y}}{{/if}}']) {
      expect(templateRoots(t)).toBeNull();
    }
  });

  it('sameData: equal as data, the same object without a walk', () => {
    const big = Array.from({ length: 5 }, (_, i) => ({ a: i }));
    expect(sameData({ x: big, y: 'a' }, { x: big, y: 'a' })).toBe(true);
    expect(sameData({ x: [{ a: 1 }], y: 'a' }, { x: [{ a: 1 }], y: 'a' })).toBe(true);
    expect(sameData({ x: [{ a: 1 }] }, { x: [{ a: 2 }] })).toBe(false);
    expect(sameData({ x: 1 }, { x: 1, y: undefined })).toBe(false);
    expect(sameData([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(sameData('1', 1)).toBe(false);
  });
});
