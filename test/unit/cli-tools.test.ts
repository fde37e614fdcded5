// `modules`, `graph`, `completion` and the README's generated CLI reference and playbook example.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { cli, CLI, ROOT } from '../helpers.js';
import { defaultRegistry } from '../../src/api.js';
import { buildProgram } from '../../src/cli/main.js';
import { cliReference, REFERENCE_END, REFERENCE_START } from '../../src/cli/reference.js';
import { dot, mermaid, svg, topology } from '../../src/cli/graph.js';
import { loadInventory } from '../../src/inventory/load.js';
import { loadPlaybook } from '../../src/playbook/load.js';

const EXAMPLE = resolve(ROOT, 'inventory/example.yaml');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');

describe('clusterform modules', () => {
  it('lists every module with its doc', () => {
    const r = cli(['modules']);
    expect(r.code).toBe(0);
    for (const m of defaultRegistry.all()) expect(r.stdout).toMatch(new RegExp(`^${m.name}\\s+.*${m.doc.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
  });
  it('NAME: arguments with type, required/default, and an example task that the loader accepts', () => {
    const r = cli(['modules', 'command']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}argv\s+required\s+list of string \(at least 1\)$/m);
    expect(r.stdout).toMatch(/^ {2}creates\s+optional\s+string$/m);
    const ipvs = cli(['modules', 'ipvs']).stdout;
    expect(ipvs).toMatch(/^ {2}state\s+default "present"\s+one of: present, absent, released, auto$/m);
    expect(ipvs).toContain('lvs: "{{lvs}}"');
    // the example of every module is a task the playbook loader accepts (module name and argument names)
    for (const m of defaultRegistry.all()) {
      const out = cli(['modules', m.name]).stdout;
      const example = out.slice(out.indexOf('example')).split('\n').slice(1).map((l) => l.slice(2)).join('\n');
      const tasks = parse(example);
      expect(() => loadPlaybook('/virtual/x.yaml', defaultRegistry, JSON.stringify([{ name: 'p', hosts: 'all', tasks }])), m.name).not.toThrow();
    }
  });
});

describe('clusterform graph', () => {
  const t = topology(loadInventory(EXAMPLE));
  it('has the VIP held by the directors, real servers with weights, HA members and partitions by service', () => {
    const inv = parse(readFileSync(EXAMPLE, 'utf8'));
    const vip = t.nodes.find((n) => n.shape === 'vip')!;
    expect(vip.label).toContain(inv.lvs.vip);
    for (const d of inv.lvs.directors) expect(t.edges).toContainEqual({ from: `host_${d}`, to: vip.id, label: 'holds' });
    for (const rs of inv.lvs.real_servers) expect(t.edges.find((e) => e.from === vip.id && e.to === `host_${rs.host}`)?.label).toContain(`w=${rs.weight ?? 1}`);
    expect(t.clusters.find((c) => c.id === 'ha_members')!.nodes).toEqual(inv.ha.members.map((m: string) => `host_${m}`));
    const parts = t.nodes.filter((n) => n.shape === 'part').map((n) => n.label);
    expect(parts).toHaveLength(2 + inv.ha.services.length);
    for (const s of inv.ha.services) expect(parts.some((p) => p.includes(s.name))).toBe(true);
  });
  it('mermaid (default) and dot text through the CLI', () => {
    const m = cli(['graph', EXAMPLE]);
    expect(m.code).toBe(0);
    expect(m.stdout).toBe(mermaid(t));
    expect(m.stdout).toMatch(/^flowchart LR$/m);
    const d = cli(['graph', EXAMPLE, '--format', 'dot']);
    expect(d.stdout).toBe(dot(t));
    expect(d.stdout).toMatch(/^digraph /);
  });
  it('svg needs Graphviz: a clear error without it, an <svg> with it', () => {
    expect(() => svg(t, 'no-such-dot-binary')).toThrow(/needs Graphviz's "no-such-dot-binary" command, which is not installed/);
    const hasDot = spawnSync('dot', ['-V']).status === 0;
    const r = cli(['graph', EXAMPLE, '--format', 'svg']);
    if (hasDot) expect(r.stdout).toMatch(/<svg[\s\S]*VIP/);
    else expect(r).toMatchObject({ code: 1, stderr: expect.stringContaining('apt-get install graphviz') });
  });
});

describe('clusterform completion', () => {
  const complete = (shell: string, words: string[]) => {
    const script = `source <(node ${CLI} completion ${shell}) || exit 9
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_clusterform; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: ROOT });
    return r.stdout.split('\n').filter(Boolean);
  };
  const me = resolve(ROOT, 'bin/clusterform.js');
  it('commands, options, subcommands, option values', () => {
    expect(complete('bash', [me, 'pl'])).toEqual(['plan']);
    expect(complete('bash', [me, 'plan', 'x.yaml', '--detailed'])).toEqual(['--detailed-exitcode']);
    expect(complete('bash', [me, 'lab', 'st'])).toEqual(['status']);
    expect(complete('bash', [me, 'graph', 'x.yaml', '--format', ''])).toEqual(['mermaid', 'dot', 'svg']);
  });
  it('inventory files, and host and group names from the inventory for --limit', () => {
    expect(complete('bash', [me, 'up', 'inventory/exa'])).toEqual(['inventory/example.yaml']);
    expect(complete('bash', [me, 'up', 'inventory/example.yaml', '--limit', 'node'])).toEqual(['node1', 'node2']);
    expect(complete('bash', [me, 'up', 'inventory/example.yaml', '-l', 'node1,!dir'])).toEqual(['node1,!director']);
    expect(complete('bash', [me, 'run', 'p.yaml', '-i', 'inventory/example.yaml', '--limit', 'ha_'])).toEqual(['ha_members']);
  });
  it('zsh: a script for zsh through bashcompinit', () => {
    const r = cli(['completion', 'zsh']);
    expect(r.stdout).toMatch(/^#compdef clusterform\n/);
    expect(r.stdout).toContain('bashcompinit');
    expect(r.stdout).toContain('complete -F _clusterform clusterform');
  });
});

describe('README', () => {
  it('the CLI reference is the one generated from the CLI definition (npm run readme)', () => {
    const a = README.indexOf(REFERENCE_START);
    const b = README.indexOf(REFERENCE_END);
    expect(a).toBeGreaterThan(0);
    expect(README.slice(a + REFERENCE_START.length, b).trim()).toBe(cliReference(buildProgram()));
  });
  it('documents the JSON format version and the exit codes', () => {
    expect(README).toContain('"format_version": 1');
    expect(README).toMatch(/### Exit codes[\s\S]*\| 2 \|/);
  });
  it('its own playbook example is accepted', () => {
    const block = README.slice(README.indexOf('### Your own playbooks'));
    const yaml = block.slice(block.indexOf('```yaml') + 7, block.indexOf('```', block.indexOf('```yaml') + 7));
    const plays = parse(yaml).filter((p: any) => !p.import);
    const loaded = loadPlaybook(resolve(ROOT, 'playbooks/x.yaml'), defaultRegistry, JSON.stringify(plays));
    // arguments without templates validate as written (`argv: [true]` is a YAML boolean, not the command true)
    const literal = loaded.flatMap((p) => [...p.tasks, ...p.handlers]).filter((t) => !JSON.stringify(t.args).includes('{{'));
    expect(literal.map((t) => t.module.name)).toContain('command');
    for (const t of literal) expect(t.module.args.safeParse(t.args).success, `${t.name}: ${JSON.stringify(t.args)}`).toBe(true);
  });
});
