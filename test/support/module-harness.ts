// The one harness for module tests (the pyinfra way: a module test is data — arguments + what the read sections
// printed → the expected plan). It builds a TaskCtx from a small cluster, fills the cluster-wide arguments the module
// declares (moduleArgs), runs read → parse → plan exactly as the engine does (parse sees only the sections read
// produced), and turns a plan into comparable data.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Action, ModuleDef, PeerView, Plan, ProbeResult, SectionResult, TaskCtx } from '../../src/engine/types.js';
import { parseFacts, type Facts } from '../../src/facts/facts.js';
import type { HostEntry, Inventory } from '../../src/inventory/load.js';
import { inventorySchema } from '../../src/inventory/schema.js';
import { moduleArgs } from './args.js';

// ---- section outputs ----

export const ok = (out: string): SectionResult => ({ out, err: '', rc: 0 });
export const fail = (rc = 1, err = ''): SectionResult => ({ out: '', err, rc });
/** What support/lvs.ts catFile prints: `exists` and the text, or `missing`. */
export const catOut = (text?: string): SectionResult => ok(text === undefined ? 'missing\n' : `exists\n${text}`);
/** Only the named sections of a probe result (e.g. disk_layout's sections for partition_table, which reads fewer). */
export const pick = (res: ProbeResult, ...names: string[]): ProbeResult => Object.fromEntries(names.map((n) => [n, res[n]!]));

/** A fixture of test/fixtures/modules/ (written by its capture.mjs): the sections one module's reads printed. */
export interface Captured { captured: string; module: string; args: unknown; sections: ProbeResult }
export function captured(stem: string): Captured {
  return JSON.parse(readFileSync(new URL(`../fixtures/modules/${stem}.json`, import.meta.url), 'utf8')) as Captured;
}
/** Facts as the facts probe (src/facts/facts.ts factsScript) printed them on a machine: test/fixtures/modules/facts.NAME.txt. */
export function capturedFacts(name: string): Facts {
  return parseFacts(readFileSync(new URL(`../fixtures/modules/facts.${name}.txt`, import.meta.url), 'utf8'));
}
/** The sections of a captured fixture, with some replaced. */
export const capturedSections = (stem: string, over: ProbeResult = {}): ProbeResult => ({ ...captured(stem).sections, ...over });

// ---- facts ----

export type FactsOver = Partial<Omit<Facts, 'os' | 'features'>> & { os?: Partial<Facts['os']>; features?: Partial<Facts['features']> };

/** Default facts: a Debian 12 host with systemd and apt, IPVS and ipip as modules, no raw driver. */
export const FACTS: Facts = {
  hostname: 'node1', os: { id: 'debian', like: [], version: '12', family: 'debian' }, kernel: '6.1.0', init: 'systemd', pkg: 'apt', uid: 0,
  features: { ipvs: 'module', raw: 'none', ipip: 'module', arpHidden: false, udevRaw: false }, tools: {},
};

/** A RHEL 4 era HA member on a current kernel (SysV init, yum, no raw driver): the HA tests' host. */
export const RHEL4: FactsOver = {
  os: { id: 'rhel', like: [], version: '4', family: 'redhat' }, kernel: '6.18.44', init: 'sysv', pkg: 'yum',
  features: { ipvs: 'none', raw: 'none', ipip: 'none', arpHidden: false, udevRaw: false },
};

export function facts(over: FactsOver = {}): Facts {
  return { ...FACTS, ...over, os: { ...FACTS.os, ...over.os }, features: { ...FACTS.features, ...over.features }, tools: { ...(over.tools ?? FACTS.tools) } };
}

// ---- the cluster ----

/** An inventory in the file's own shape (hosts: name → address); ha/lvs as written in inventory.yaml. */
export interface Cluster { name: string; hosts: Record<string, string>; ha?: Record<string, unknown>; lvs?: Record<string, unknown>; templatesDir?: string }

export const HA = {
  members: ['node1', 'node2'],
  shared_disk: '/dev/loop0',
  disk_label: 'dos',
  quorum: { size: '10M', primary: '/dev/raw/raw1', shadow: '/dev/raw/raw2' },
  cluster_managed_services: ['nfs', 'smb'],
  services: [
    { name: 'nfs', address: '10.0.0.50', size: '20M', fstype: 'ext3', mountpoint: '/srv/nfs', nfs: { export: '/srv/nfs', clients: '*', options: 'rw' } },
    { name: 'smb', address: '10.0.0.51', size: '16M', fstype: 'ext3', mountpoint: '/srv/smb' },
  ],
  format: 'clumanager',
};

export const LVS = {
  directors: ['director'], vip: '10.213.0.200', forwarding: 'dr',
  virtual_services: [{ protocol: 'tcp', port: 80, scheduler: 'rr' }],
  real_servers: [{ host: 'rs1', weight: 1 }, { host: 'rs2', weight: 1 }],
  nat: { gateway: '10.213.0.1', network: '10.213.0.0/24' },
};

export const CLUSTER: Cluster = {
  name: 'lab',
  hosts: { node1: '10.213.0.11', node2: '10.213.0.12', director: '10.213.0.1', rs1: '10.213.0.21', rs2: '10.213.0.22' },
  ha: HA,
  lvs: LVS,
};

/** The cluster with its ha: / lvs: sections changed (shallow). */
export const withHa = (over: Record<string, unknown>, c: Cluster = CLUSTER): Cluster => ({ ...c, ha: { ...c.ha, ...over } });
export const withLvs = (over: Record<string, unknown>, c: Cluster = CLUSTER): Cluster => ({ ...c, lvs: { ...c.lvs, ...over } });

/** The Inventory the engine would build: validated by the inventory schema, with the derived groups. */
export function inventoryOf(c: Cluster): Inventory {
  const raw = inventorySchema.parse({
    cluster: c.name,
    hosts: Object.fromEntries(Object.entries(c.hosts).map(([n, address]) => [n, { address }])),
    ...(c.ha ? { ha: c.ha } : {}),
    ...(c.lvs ? { lvs: c.lvs } : {}),
  });
  const hosts: HostEntry[] = Object.entries(c.hosts).map(([name, address]) => ({ name, address, ssh: {} as HostEntry['ssh'], vars: {} }));
  const host = (n: string): HostEntry => {
    const h = hosts.find((x) => x.name === n);
    if (!h) throw new Error(`no host ${n} in the test cluster`);
    return h;
  };
  const groups = {
    all: hosts.map((h) => h.name),
    ha_members: raw.ha?.members ?? [],
    lvs_directors: raw.lvs?.directors ?? [],
    real_servers: raw.lvs?.real_servers.map((r) => r.host) ?? [],
  };
  return { file: 'inventory.yaml', dir: '.', cluster: raw.cluster, raw, hosts, host, groups, ...(c.templatesDir ? { templatesDir: c.templatesDir } : {}) };
}

/** The cluster-wide arguments the built-in playbooks pass ("{{ha}}", "{{cluster}}", "{{lvs}}", "{{hosts}}"). */
export function commonArgs(inv: Inventory): Record<string, unknown> {
  return {
    cluster: inv.cluster,
    hosts: inv.hosts.map((h) => ({ name: h.name, address: h.address })),
    ...(inv.raw.ha ? { ha: inv.raw.ha } : {}),
    ...(inv.raw.lvs ? { lvs: inv.raw.lvs } : {}),
  };
}

// ---- running a module ----

export interface CtxOpts {
  cluster?: Cluster;
  /** the host the task runs on (default node1) */
  host?: string;
  facts?: FactsOver;
  /** --force-disks */
  force?: boolean;
  /** other run flags (wipeDisks…) */
  flags?: Record<string, unknown>;
  dryRun?: boolean;
  peers?: PeerView[];
}

export function makeCtx<A>(m: ModuleDef<A, any>, args: unknown, o: CtxOpts = {}): TaskCtx<A> {
  const inventory = inventoryOf(o.cluster ?? CLUSTER);
  return {
    host: inventory.host(o.host ?? 'node1'),
    facts: facts(o.facts),
    inventory,
    args: moduleArgs(m, args ?? {}, commonArgs(inventory)),
    flags: { forceDisks: o.force ?? false, ...(o.flags ?? {}) },
    dryRun: o.dryRun ?? false,
    ...(o.peers ? { peers: o.peers } : {}),
  };
}

export interface ModuleRun<A = any, S = any> { ctx: TaskCtx<A>; read: Record<string, string>; state: S; plan: Plan }

/**
 * read → parse → plan. Asserts that read gives at least one snippet and every snippet is a shell string, that every
 * section given was read (the probe returns nothing else), that every read section parse looks at was given
 * (the probe always returns every read section), and that peers only report the module's peer sections.
 */
export function runModule<A, S>(m: ModuleDef<A, S>, args: unknown, sections: ProbeResult, o: CtxOpts = {}): ModuleRun<A, S> {
  const ctx = makeCtx(m, args, o);
  const read = m.read(ctx);
  const readNames = Object.keys(read);
  expect(readNames.length, `${m.name} reads nothing`).toBeGreaterThan(0);
  for (const k of readNames) {
    expect(typeof read[k], `${m.name} section ${k}`).toBe('string');
    expect(read[k]!.trim(), `${m.name} section ${k} is empty`).not.toBe('');
  }
  for (const k of Object.keys(sections)) expect(readNames, `section ${k} given, but ${m.name} does not read it`).toContain(k);
  if (o.peers) {
    const peerNames = m.peers ? Object.keys(m.peers(ctx)) : [];
    for (const p of o.peers) for (const k of Object.keys(p.res ?? {})) expect(peerNames, `peer section ${k} of ${p.host}, but ${m.name} does not read it on peers`).toContain(k);
  }
  const looked = new Set<string>();
  const res = new Proxy({ ...sections }, {
    get: (t, k) => { if (typeof k === 'string') looked.add(k); return Reflect.get(t, k); },
    has: (t, k) => { if (typeof k === 'string') looked.add(k); return Reflect.has(t, k); },
  });
  const state = m.parse(res, ctx);
  for (const k of looked) if (readNames.includes(k)) expect(Object.keys(sections), `${m.name} reads and parses section ${k}, but the test gives no output for it`).toContain(k);
  return { ctx, read, state, plan: m.plan(state, ctx) };
}

/** Shorthand: only the plan. */
export const planOf = <A, S>(m: ModuleDef<A, S>, args: unknown, sections: ProbeResult, o: CtxOpts = {}): Plan => runModule(m, args, sections, o).plan;

// ---- a plan as data ----

/** One action as one line: a shell step's script, `write PATH` or `remove PATH`. */
export function actionScript(a: Action): string {
  if (a.kind === 'sh') return a.script;
  if (a.kind === 'write') return `write ${a.path}`;
  return `remove ${a.path}`;
}
/** One action as the plan shows it: a shell step's description, `write PATH` or `remove PATH`. */
export function actionDesc(a: Action): string {
  return a.kind === 'sh' ? a.desc : actionScript(a);
}

export interface FlatPlan {
  summaries: string[];
  /** every action's script (`write PATH` / `remove PATH` for files), in order */
  scripts: string[];
  /** every action's description, in order */
  descs: string[];
  /** path → content of every write */
  writes: Record<string, string>;
  /** path → mode of every write */
  modes: Record<string, string | undefined>;
  diffs: string[];
  warnings: string[];
  notes: string[];
  refuse?: string;
  agree?: { what: string; value: string };
}

export function flatten(p: Plan): FlatPlan {
  const actions = p.changes.flatMap((c) => c.actions);
  return {
    summaries: p.changes.map((c) => c.summary),
    scripts: actions.map(actionScript),
    descs: actions.map(actionDesc),
    writes: Object.fromEntries(actions.flatMap((a) => (a.kind === 'write' ? [[a.path, a.content]] : []))),
    modes: Object.fromEntries(actions.flatMap((a) => (a.kind === 'write' ? [[a.path, a.mode]] : []))),
    diffs: p.changes.flatMap((c) => (c.diff !== undefined ? [c.diff] : [])),
    warnings: p.warnings ?? [],
    notes: p.notes ?? [],
    ...(p.refuse !== undefined ? { refuse: p.refuse } : {}),
    ...(p.agree ? { agree: p.agree } : {}),
  };
}

// ---- table rows ----

/** A string must be equal, a RegExp must match. */
export type Match = string | RegExp;

export interface Expect {
  /** every change's summary, in order ([] = nothing to change) */
  summaries?: Match[];
  /** every action's script, in order (`write PATH` / `remove PATH` for files) */
  scripts?: Match[];
  /** every action's description, in order */
  descs?: Match[];
  /** content of the writes, by path (other writes may exist: `scripts` lists them all) */
  writes?: Record<string, Match>;
  /** mode of the writes, by path */
  modes?: Record<string, string>;
  /** the diffs of the changes, in order */
  diffs?: Match[];
  warnings?: Match[];
  notes?: Match[];
  /** the task refuses (and changes nothing); without it, the plan must not refuse */
  refuse?: RegExp;
  agree?: { what: Match; value: Match };
}

export interface Row extends CtxOpts {
  name: string;
  module: ModuleDef;
  args: unknown;
  sections: ProbeResult;
  expect: Expect;
}

function expectMatch(actual: string | undefined, want: Match, what: string): void {
  if (typeof want === 'string') expect(actual, what).toBe(want);
  else {
    expect(actual, `${what} is missing`).toBeTypeOf('string');
    expect(actual, what).toMatch(want);
  }
}

function expectList(actual: string[], want: Match[], what: string): void {
  expect(actual.length, `${what}: ${JSON.stringify(actual, null, 1)}`).toBe(want.length);
  want.forEach((w, i) => expectMatch(actual[i], w, `${what}[${i}]`));
}

/** Run a row and check every expectation it states. */
export function checkRow(row: Row): ModuleRun {
  const r = runModule(row.module, row.args, row.sections, row);
  const f = flatten(r.plan);
  const e = row.expect;
  if (e.refuse) {
    expectMatch(f.refuse, e.refuse, 'refuse');
    expect(f.summaries, 'a refusal changes nothing').toEqual([]);
  } else expect(f.refuse, 'refuse').toBeUndefined();
  if (e.summaries) expectList(f.summaries, e.summaries, 'summaries');
  if (e.scripts) expectList(f.scripts, e.scripts, 'scripts');
  if (e.descs) expectList(f.descs, e.descs, 'descs');
  if (e.diffs) expectList(f.diffs, e.diffs, 'diffs');
  if (e.warnings) expectList(f.warnings, e.warnings, 'warnings');
  if (e.notes) expectList(f.notes, e.notes, 'notes');
  for (const [path, want] of Object.entries(e.writes ?? {})) expectMatch(f.writes[path], want, `content written to ${path}`);
  for (const [path, want] of Object.entries(e.modes ?? {})) expect(f.modes[path], `mode of ${path}`).toBe(want);
  if (e.agree) {
    expectMatch(f.agree?.what, e.agree.what, 'agree.what');
    expectMatch(f.agree?.value, e.agree.value, 'agree.value');
  }
  return r;
}

/** What a row shows: a refusal, nothing to change, or a change (for the coverage check). */
export function rowKind(row: Row): 'refuse' | 'noop' | 'change' | 'other' {
  if (row.expect.refuse) return 'refuse';
  if (row.expect.summaries) return row.expect.summaries.length === 0 ? 'noop' : 'change';
  return 'other';
}
