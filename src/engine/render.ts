// Rendering: each play's tasks and handlers for one host, with its facts, into task instances with validated
// arguments. Run twice: before any host is contacted (placeholder facts: templates and arguments are checked), and
// with each host's real facts. Problems are collected, each reported once, and stop the run as an input error.
import type { z } from 'zod';
import type { HostEntry, Inventory } from '../inventory/load.js';
import type { PlaySpec, TaskSpec } from '../playbook/schema.js';
import { evalWhen, renderDeep, renderValue, RenderError, templateRoots } from '../playbook/render.js';
import { InputError, pathString, type InputIssue } from '../util/input.js';
import { parseFacts, type Facts } from '../facts/facts.js';
import { renderContext, sharedContext, type SharedContext } from './context.js';
import { argIssueMessage } from '../playbook/arg-issues.js';
import type { ModuleDef } from './types.js';

/** Facts with every key present, for checking templates before any host is contacted. */
export const STUB_FACTS: Facts = parseFacts('hostname=host\nos.id=debian\nkernel=0\nuid=0\ninit=systemd\npkg=apt-get');

/** One task (or handler) for one host and one loop item, ready to run. */
export interface TaskInstance {
  /** `t{play}.{task}.{item}` (handlers: `h…`): names the task's probe sections, the same on every host */
  key: string;
  spec: TaskSpec;
  /** the task's name, with the loop item's name when it loops */
  name: string;
  module: ModuleDef;
  args: unknown;
  /** `when` is false: reported as skipped, never read */
  skip: boolean;
}

/** A host's task instances, per play index (none for a play whose `when` is false there). */
export interface HostTasks {
  tasks: TaskInstance[][];
  handlers: TaskInstance[][];
}

type Ctx = Record<string, unknown>;
type Report = (msg: string, sub?: (string | number)[]) => void;

/** The label of a loop item: its `name`, else its `host`, else its index. */
export function itemLabel(item: unknown, index: number): string {
  if (typeof item === 'object' && item) {
    if ('name' in item) return String((item as { name: unknown }).name);
    if ('host' in item) return String((item as { host: unknown }).host);
  }
  return String(index);
}

/** Argument validations kept per task instance key: hosts whose rendered arguments are equal share one (few per key). */
const MEMO_PER_KEY = 8;
type Parsed = { rendered: unknown; result: z.SafeParseReturnType<unknown, unknown> };

/** Equal as data; the same object (a list every host's context shares) is equal at once, without a walk. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Every string of a value (a task's arguments), depth first. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => strings(x, out));
  return out;
}

/** The context names a task's templates read (arguments, when, loop), or null when that is not known from the text. */
export function taskRoots(spec: TaskSpec): string[] | null {
  const texts = strings(spec.args);
  if (typeof spec.when === 'string') texts.push(spec.when.includes('{{') ? spec.when : `{{${spec.when}}}`);
  if (typeof spec.loop === 'string') texts.push(spec.loop);
  const roots = new Set<string>();
  for (const t of texts.filter((x) => x.includes('{{'))) {
    let r: string[] | null;
    try { r = templateRoots(t); } catch { return null; } // a syntax error: rendered (and reported) every time
    if (!r) return null;
    r.forEach((x) => roots.add(x));
  }
  return [...roots];
}

export class Renderer {
  private issues: InputIssue[] = [];
  /** per task key: the names its templates read, and its instances for the values they had last time */
  private readonly reuse = new Map<string, { roots: string[] | null; values?: unknown[]; out?: TaskInstance[] }>();
  private readonly onPlay: Set<string>[];
  private readonly parsed = new Map<string, Parsed[]>();

  /** `playHosts[pi]`: the hosts play `pi` runs on (after --limit). */
  constructor(private readonly inv: Inventory, private readonly plays: PlaySpec[], playHosts: string[][]) {
    this.onPlay = playHosts.map((l) => new Set(l));
  }

  /** Before any host is contacted: every task renders and its arguments validate for every host (placeholder facts). */
  preflight(hosts: HostEntry[]): void {
    this.hosts(hosts.map((entry) => ({ entry, facts: STUB_FACTS })));
    const issues = this.takeIssues();
    if (issues.length) throw new InputError(issues);
  }

  /** Many hosts at once (one render pass: the inventory-wide lists are built once, with the addresses as they are now). */
  hosts(list: { entry: HostEntry; facts: Facts }[]): Map<string, HostTasks> {
    const shared = sharedContext(this.inv);
    return new Map(list.map(({ entry, facts }) => [entry.name, this.host(entry, facts, shared)]));
  }

  /** Every play's tasks and handlers for one host; problems are kept for `takeIssues`. */
  host(entry: HostEntry, facts: Facts, shared: SharedContext = sharedContext(this.inv)): HostTasks {
    const out: HostTasks = { tasks: [], handlers: [] };
    this.plays.forEach((p, pi) => {
      const on = this.playOn(p, pi, entry, facts, shared);
      out.tasks.push(on ? this.list(p.tasks, pi, 't', entry, facts, shared) : []);
      out.handlers.push(on ? this.list(p.handlers, pi, 'h', entry, facts, shared) : []);
    });
    return out;
  }

  /** The problems found so far, each once (the same task fails the same way on every host); forgets them. */
  takeIssues(): InputIssue[] {
    const seen = new Set<string>();
    return this.issues.splice(0).filter((i) => {
      const k = i.line + i.path + i.message.replace(/ on \S+:/, '');
      return seen.has(k) ? false : (seen.add(k), true);
    });
  }

  /** Does play `pi` run on this host (in its hosts after --limit, and its `when` true)? */
  private playOn(p: PlaySpec, pi: number, entry: HostEntry, facts: Facts, shared: SharedContext): boolean {
    if (!this.onPlay[pi]!.has(entry.name)) return false;
    if (p.when === undefined) return true;
    try {
      return evalWhen(p.when, renderContext(this.inv, entry, facts, shared));
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      this.issues.push({ file: p.where.file, line: p.where.line, col: p.where.col, path: 'when', message: `play "${p.name}" on ${entry.name}: ${e.message}` });
      return false;
    }
  }

  private list(list: TaskSpec[], pi: number, kind: 't' | 'h', entry: HostEntry, facts: Facts, shared: SharedContext): TaskInstance[] {
    if (list.length === 0) return [];
    const ctx = renderContext(this.inv, entry, facts, shared);
    return list.flatMap((spec, ti) => this.task(spec, `${kind}${pi}.${ti}`, entry, ctx));
  }

  /**
   * One task's instances: those of the previous host when every value its templates read is the same object as there
   * (most tasks on most hosts: the inventory's sections, the lists of every host), else rendered for this host.
   * Instances are never changed once made, so hosts may share them.
   */
  private task(spec: TaskSpec, key: string, entry: HostEntry, ctx: Ctx): TaskInstance[] {
    let memo = this.reuse.get(key);
    if (!memo) { memo = { roots: taskRoots(spec) }; this.reuse.set(key, memo); }
    const values = memo.roots?.map((r) => (Object.hasOwn(ctx, r) ? ctx[r] : undefined));
    if (values && memo.values?.length === values.length && memo.values.every((v, i) => v === values[i])) return memo.out!;
    const out = this.render(spec, key, entry, ctx);
    if (values) { memo.values = values; memo.out = out; }
    return out;
  }

  /** One task's instances, one per loop item (one without a loop). */
  private render(spec: TaskSpec, key: string, entry: HostEntry, ctx: Ctx): TaskInstance[] {
    const report: Report = (msg, sub) => this.issues.push({ file: spec.where.file, line: spec.where.line, col: spec.where.col, path: pathString(sub ?? spec.where.path), message: `task "${spec.name}" on ${entry.name}: ${msg}` });
    const out: TaskInstance[] = [];
    try {
      const items = this.items(spec, ctx, report);
      if (!items) return [];
      for (const [ii, item] of items.entries()) {
        const inst = this.instance(spec, `${key}.${ii}`, item, ii, ctx, report);
        if (inst) out.push(inst); // else: its arguments are invalid (reported)
      }
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      report(e.message);
    }
    return out;
  }

  /** The loop's items; `[undefined]` without a loop; undefined (reported) when the loop is not a list. */
  private items(spec: TaskSpec, ctx: Ctx, report: Report): unknown[] | undefined {
    if (spec.loop === undefined) return [undefined];
    const l = typeof spec.loop === 'string' ? renderValue(spec.loop, ctx) : spec.loop;
    if (Array.isArray(l)) return l;
    report(`loop: must give a list, got ${typeof l}`);
    return undefined;
  }

  private instance(spec: TaskSpec, key: string, item: unknown, ii: number, ctx: Ctx, report: Report): TaskInstance | undefined {
    const c = item === undefined ? ctx : { ...ctx, item, index: ii };
    const skip = !evalWhen(spec.when, c);
    let args: unknown = {};
    if (!skip) {
      const rendered = renderDeep(spec.args, c);
      const parsed = this.validate(spec, key, rendered);
      if (!parsed.success) {
        for (const zi of parsed.error.issues) report(argIssueMessage(spec.module.name, spec.module.args as z.ZodTypeAny, zi, rendered), [...spec.where.path, ...zi.path]);
        return undefined;
      }
      args = parsed.data;
    }
    const name = item === undefined ? spec.name : `${spec.name} (${itemLabel(item, ii)})`;
    return { key, spec, name, module: spec.module, args, skip };
  }

  /**
   * The task's arguments validated; equal arguments (most tasks, on most hosts: the same lists of every host) are
   * validated once, so that a task whose arguments list every host costs linear, not quadratic, time.
   */
  private validate(spec: TaskSpec, key: string, rendered: unknown): z.SafeParseReturnType<unknown, unknown> {
    const seen = this.parsed.get(key) ?? [];
    const hit = seen.find((p) => sameData(p.rendered, rendered));
    // kept with this host's arguments: the next hosts of this pass share its lists, and compare without a walk
    const result = hit?.result ?? (spec.module.args as z.ZodTypeAny).safeParse(rendered);
    this.parsed.set(key, [{ rendered, result }, ...seen.filter((p) => p !== hit)].slice(0, MEMO_PER_KEY));
    return result;
  }
}
