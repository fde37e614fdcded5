// `clusterform graph INVENTORY`: the cluster as a diagram from the inventory — hosts and groups, the VIP and the
// directors holding it, real servers with weights, the HA members, the shared disk and its partitions by service.
// topology() is pure; mermaid() and dot() render it; svg goes through Graphviz's `dot` when it is installed.
import { spawnSync } from 'node:child_process';
import type { Inventory } from '../inventory/load.js';
import { deviceNumbers } from '../modules/support/disks.js';
import { partitionDevice } from '../disk/layout.js';
import { GRAPH_FORMATS } from './option-values.js';

export interface GNode { id: string; label: string; shape: 'host' | 'vip' | 'disk' | 'part' }
export interface GEdge { from: string; to: string; label?: string; dashed?: boolean }
export interface GCluster { id: string; label: string; nodes: string[] }
export interface Topology { title: string; nodes: GNode[]; edges: GEdge[]; clusters: GCluster[] }

const id = (kind: string, name: string) => `${kind}_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;

function lvsPart(inv: Inventory, t: Topology): void {
  const lvs = inv.raw.lvs;
  if (!lvs) return;
  const vip = id('vip', lvs.vip);
  const svcs = lvs.virtual_services.map((v) => (v.protocol === 'fwmark' ? `fwmark ${v.fwmark}` : `${v.protocol}/${v.port}`)).join(', ');
  t.nodes.push({ id: vip, label: `VIP ${lvs.vip}\\n${svcs}`, shape: 'vip' });
  for (const d of lvs.directors) t.edges.push({ from: id('host', d), to: vip, label: 'holds' });
  for (const rs of lvs.real_servers) {
    t.edges.push({ from: vip, to: id('host', rs.host), label: `${lvs.forwarding} w=${rs.weight}${rs.port ? ` :${rs.port}` : ''}` });
  }
  t.clusters.push({ id: 'lvs_directors', label: 'LVS directors', nodes: lvs.directors.map((d) => id('host', d)) });
  t.clusters.push({ id: 'real_servers', label: 'real servers', nodes: lvs.real_servers.map((r) => id('host', r.host)) });
}

function haPart(inv: Inventory, t: Topology): void {
  const ha = inv.raw.ha;
  if (!ha) return;
  const disk = id('disk', 'shared');
  t.nodes.push({ id: disk, label: `shared disk ${ha.shared_disk}\\n${ha.disk_label}`, shape: 'disk' });
  const nums = deviceNumbers(ha);
  const parts = [`quorum primary ${ha.quorum.size} (${ha.quorum.primary})`, `quorum shadow ${ha.quorum.size} (${ha.quorum.shadow})`,
    ...ha.services.map((s) => `${s.name} ${s.size ?? 'rest'} ${s.fstype ?? 'ext3'}${s.mountpoint ? ` ${s.mountpoint}` : ''}${s.address ? ` @${s.address}` : ''}`)];
  parts.forEach((label, i) => {
    const p = id('part', String(nums[i]));
    t.nodes.push({ id: p, label: `${partitionDevice(ha.shared_disk, nums[i]!)}\\n${label}`, shape: 'part' });
    t.edges.push({ from: disk, to: p });
  });
  for (const m of ha.members) t.edges.push({ from: id('host', m), to: disk, label: 'attached', dashed: true });
  t.clusters.push({ id: 'ha_members', label: `HA members (${ha.format})`, nodes: ha.members.map((m) => id('host', m)) });
}

/** The diagram's content, from the inventory alone. */
export function topology(inv: Inventory): Topology {
  const t: Topology = { title: `cluster ${inv.cluster}`, nodes: [], edges: [], clusters: [] };
  for (const h of inv.hosts) t.nodes.push({ id: id('host', h.name), label: `${h.name}\\n${h.address}`, shape: 'host' });
  lvsPart(inv, t);
  haPart(inv, t);
  const placed = new Set(t.clusters.flatMap((c) => c.nodes));
  for (const [g, members] of Object.entries(inv.raw.groups ?? {})) {
    const free = members.map((m) => id('host', m)).filter((m) => !placed.has(m));
    free.forEach((m) => placed.add(m));
    if (free.length) t.clusters.push({ id: id('group', g), label: `group ${g}`, nodes: free });
  }
  // a host in two derived groups (director and real server) is drawn in the first only
  const seen = new Set<string>();
  for (const c of t.clusters) { c.nodes = c.nodes.filter((n) => !seen.has(n)); c.nodes.forEach((n) => seen.add(n)); }
  return t;
}

const mermaidShape = (n: GNode) => {
  const l = n.label.replace(/\\n/g, '<br/>').replace(/"/g, '#quot;');
  return n.shape === 'vip' ? `${n.id}(("${l}"))` : n.shape === 'disk' ? `${n.id}[("${l}")]` : n.shape === 'part' ? `${n.id}["${l}"]` : `${n.id}["${l}"]`;
};

export function mermaid(t: Topology): string {
  const out = ['---', `title: ${t.title}`, '---', 'flowchart LR'];
  const inCluster = new Set(t.clusters.flatMap((c) => c.nodes));
  const node = new Map(t.nodes.map((n) => [n.id, n]));
  for (const c of t.clusters) {
    out.push(`  subgraph ${c.id}["${c.label}"]`);
    for (const n of c.nodes) out.push(`    ${mermaidShape(node.get(n)!)}`);
    out.push('  end');
  }
  for (const n of t.nodes) if (!inCluster.has(n.id)) out.push(`  ${mermaidShape(n)}`);
  for (const e of t.edges) out.push(`  ${e.from} ${e.dashed ? '-.->' : '-->'}${e.label ? `|"${e.label}"|` : ''} ${e.to}`);
  return out.join('\n') + '\n';
}

const dotAttrs = (n: GNode) => `label="${n.label.replace(/"/g, '\\"')}", shape=${n.shape === 'vip' ? 'ellipse, style=filled, fillcolor=lightyellow' : n.shape === 'disk' ? 'cylinder' : n.shape === 'part' ? 'note' : 'box'}`;

export function dot(t: Topology): string {
  const out = [`digraph "${t.title}" {`, '  rankdir=LR;', `  label="${t.title}";`];
  const inCluster = new Set(t.clusters.flatMap((c) => c.nodes));
  const node = new Map(t.nodes.map((n) => [n.id, n]));
  for (const c of t.clusters) {
    out.push(`  subgraph cluster_${c.id} {`, `    label="${c.label}";`);
    for (const n of c.nodes) out.push(`    ${n} [${dotAttrs(node.get(n)!)}];`);
    out.push('  }');
  }
  for (const n of t.nodes) if (!inCluster.has(n.id)) out.push(`  ${n.id} [${dotAttrs(n)}];`);
  for (const e of t.edges) out.push(`  ${e.from} -> ${e.to}${e.label || e.dashed ? ` [${[e.label ? `label="${e.label}"` : '', e.dashed ? 'style=dashed' : ''].filter(Boolean).join(', ')}]` : ''};`);
  out.push('}');
  return out.join('\n') + '\n';
}

/** SVG through Graphviz (`dot -Tsvg`); a clear error when it is not installed. */
export function svg(t: Topology, dotBin = 'dot'): string {
  const r = spawnSync(dotBin, ['-Tsvg'], { input: dot(t), encoding: 'utf8', timeout: 60_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error(`--format svg needs Graphviz's "${dotBin}" command, which is not installed (Debian: apt-get install graphviz); --format mermaid or dot print the diagram as text`);
  if (r.status !== 0) throw new Error(`${dotBin} -Tsvg failed: ${(r.stderr || String(r.error)).trim()}`);
  return r.stdout;
}

export { GRAPH_FORMATS };

export function renderGraph(inv: Inventory, format: (typeof GRAPH_FORMATS)[number]): string {
  const t = topology(inv);
  return format === 'dot' ? dot(t) : format === 'svg' ? svg(t) : mermaid(t);
}
