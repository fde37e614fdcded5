// Rendering: each play's tasks and handlers for one host, with its facts, into task instances with validated
// arguments. Run twice: before any host is contacted (placeholder facts: templates and arguments are checked), and
// with each host's real facts. Problems are collected, each reported once, and stop the run as an input error.
import type { z } from 'zod';
import type { HostEntry, Inventory } from '../inventory/load.js';
import type { PlaySpec, TaskSpec } from '../playbook/schema.js';
import { evalWhen, renderDeep, renderValue, RenderError } from '../playbook/render.js';
import { InputError, pathString, type InputIssue } from '../util/input.js';
import { parseFacts, type Facts } from '../facts/facts.js';
import { renderContext } from './context.js';
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

export class Renderer {
  private issues: InputIssue[] = [];

  /** `playHosts[pi]`: the hosts play `pi` runs on (after --limit). */
  constructor(private readonly inv: Inventory, private readonly plays: PlaySpec[], private readonly playHosts: string[][]) {}

  /** Before any host is contacted: every task renders and its arguments validate for every host (placeholder facts). */
  preflight(hosts: HostEntry[]): void {
    for (const h of hosts) this.host(h, STUB_FACTS);
    const issues = this.takeIssues();
    if (issues.length) throw new InputError(issues);
  }

  /** Every play's tasks and handlers for one host; problems are kept for `takeIssues`. */
  host(entry: HostEntry, facts: Facts): HostTasks {
    const out: HostTasks = { tasks: [], handlers: [] };
    this.plays.forEach((p, pi) => {
      const on = this.playOn(p, pi, entry, facts);
      out.tasks.push(on ? this.list(p.tasks, pi, 't', entry, facts) : []);
      out.handlers.push(on ? this.list(p.handlers, pi, 'h', entry, facts) : []);
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
  private playOn(p: PlaySpec, pi: number, entry: HostEntry, facts: Facts): boolean {
    if (!this.playHosts[pi]!.includes(entry.name)) return false;
    try {
      return evalWhen(p.when, renderContext(this.inv, entry, facts));
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      this.issues.push({ file: p.where.file, line: p.where.line, col: p.where.col, path: 'when', message: `play "${p.name}" on ${entry.name}: ${e.message}` });
      return false;
    }
  }

  private list(list: TaskSpec[], pi: number, kind: 't' | 'h', entry: HostEntry, facts: Facts): TaskInstance[] {
    const ctx = renderContext(this.inv, entry, facts);
    return list.flatMap((spec, ti) => this.task(spec, `${kind}${pi}.${ti}`, entry, ctx));
  }

  /** One task's instances, one per loop item (one without a loop). */
  private task(spec: TaskSpec, key: string, entry: HostEntry, ctx: Ctx): TaskInstance[] {
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
      const parsed = (spec.module.args as z.ZodTypeAny).safeParse(rendered);
      if (!parsed.success) {
        for (const zi of parsed.error.issues) report(argIssueMessage(spec.module.name, spec.module.args as z.ZodTypeAny, zi, rendered), [...spec.where.path, ...zi.path]);
        return undefined;
      }
      args = parsed.data;
    }
    const name = item === undefined ? spec.name : `${spec.name} (${itemLabel(item, ii)})`;
    return { key, spec, name, module: spec.module, args, skip };
  }
}
