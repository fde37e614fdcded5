// One host for the length of a run: its session, whether it is still in the run, its recap and its read cache.
import type { Inventory } from '../inventory/load.js';
import type { HostSession } from './host.js';
import { ProbeCache, type Generation } from './probe-cache.js';
import { newRecap } from './recap.js';
import type { TaskInstance } from './render.js';
import type { HostRecap, RunFlags, TaskCtx } from './types.js';

/** What every task of the run sees besides its host: the inventory, the flags, plan or not. */
export interface RunScope {
  inv: Inventory;
  flags: RunFlags;
  dryRun: boolean;
  generation: Generation;
}

export class HostState {
  /** connected and not lost */
  alive = false;
  /** a task failed: the host takes no further part in the run */
  failed = false;
  unreachable = false;
  /** why the host is unreachable or was lost */
  why?: string;
  /** applied a change in the current play */
  changedInPlay = false;
  /** tasks whose guard stopped a batched round trip (batch.ts): their next plan says so in a note */
  readonly guardStopped = new Set<string>();
  readonly recap: HostRecap;
  readonly cache: ProbeCache;

  constructor(readonly session: HostSession, private readonly scope: RunScope) {
    this.recap = newRecap(session.name);
    this.cache = new ProbeCache(scope.generation, (t) => t.module.read(this.ctx(t)), (s) => session.probe(s));
  }

  get name(): string { return this.session.name; }

  /** Still taking part: connected and no task failed. */
  get running(): boolean { return this.alive && !this.failed; }

  /** What a module's read/parse/plan see for task `t` on this host. */
  ctx(t: TaskInstance): TaskCtx<unknown> {
    const s = this.scope;
    return { host: this.session.entry, facts: this.session.facts, inventory: s.inv, args: t.args, flags: s.flags, dryRun: s.dryRun };
  }

  markUnreachable(why?: string): void {
    this.unreachable = true;
    this.recap.unreachable = true;
    if (why !== undefined) this.why = why;
  }

  /** The connection dropped: true the first time (the host was alive until now). */
  lose(why: string): boolean {
    if (!this.alive) return false;
    this.alive = false;
    this.markUnreachable(why);
    return true;
  }
}
