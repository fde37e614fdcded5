// Running one task on one host: its state (read ahead) → parse → plan → refusal / agreement / notes → apply (not in
// plan mode) → a status, reported as one TaskEvent. `taskEvent` is the one place a TaskEvent is built; its time and
// the read/apply/wait split come from the task's TaskClock (profile.ts).
import type { Inventory } from '../inventory/load.js';
import type { HostState } from './host-state.js';
import { TaskClock } from './profile.js';
import type { TaskInstance } from './render.js';
import { describeAction } from './script.js';
import { batchedNote, GUARD_STOPPED_NOTE, planFollowers, type Follower } from './batch.js';
import type { Action, Change, PeerView, Plan, TaskEvent, TaskStartEvent, TaskStatus } from './types.js';

/** What the play gives a task besides its host. */
export interface TaskHooks {
  /** an agree-task's value on this host → every host's value, once all have planned it */
  agree?: (key: string, value: string) => Promise<Map<string, string>>;
  /** for a once-task: the other members of the play as they are now */
  peers?: (t: TaskInstance) => Promise<PeerView[]>;
  /** the task's clock, when the play started it earlier (a once-task's meeting); else the task starts its own */
  clock?: TaskClock;
  /**
   * The tasks after this one in its play: when it changes something, those that can are applied in the same round
   * trip (batch.ts). `done` gets each that finished, in order, with its event; the play goes on after the last.
   */
  batch?: { candidates: TaskInstance[]; done: { t: TaskInstance; ev: TaskEvent }[] };
}

/** The hooks with the task's clock. */
type Timed = TaskHooks & { clock: TaskClock };

export interface TaskEnv {
  inv: Inventory;
  dryRun: boolean;
  /** count and emit a finished task's event; returns its status */
  report(st: HostState, ev: TaskEvent): TaskStatus;
  /** a task is starting on a host (progress only) */
  progress?(e: TaskStartEvent): void;
  /** the run was interrupted (no new work may start) */
  interrupted?(): boolean;
  /** aborted when the run is interrupted: a round trip of batched tasks under way is told to stop (batch.ts) */
  signal?: AbortSignal;
}

/** A task's event; `fields` override the defaults (status ok, nothing changed, no time). */
export function taskEvent(host: string, play: string, t: TaskInstance, fields: Partial<Omit<TaskEvent, 'type'>> = {}): TaskEvent {
  return { type: 'task', host, play, task: t.name, module: t.module.name, kind: t.module.kind ?? 'change', status: 'ok', changes: [], warnings: [], notes: [], durationMs: 0, ...fields };
}

/** Run `t` on `st` (`upcoming`: the host's later tasks, read ahead with it) and report it. */
export async function runTask(env: TaskEnv, st: HostState, t: TaskInstance, upcoming: TaskInstance[], play: string, hooks: TaskHooks = {}): Promise<TaskStatus> {
  const timed: Timed = { ...hooks, clock: hooks.clock ?? new TaskClock() };
  const ev = taskEvent(st.name, play, t);
  if (t.skip) ev.notes.push('condition is false');
  else env.progress?.({ type: 'start', host: st.name, play, task: t.name, module: t.module.name });
  ev.status = t.skip ? 'skipped' : await attempt(env, st, t, upcoming, timed, ev);
  Object.assign(ev, timed.clock.stamp());
  const status = env.report(st, ev);
  for (const d of hooks.batch?.done ?? []) d.ev.status = env.report(st, d.ev);
  return status;
}

/** Plan and apply `t`, filling `ev` in; any error fails the task (and a lost host is unreachable). */
async function attempt(env: TaskEnv, st: HostState, t: TaskInstance, upcoming: TaskInstance[], hooks: Timed, ev: TaskEvent): Promise<TaskStatus> {
  try {
    const plan = await planTask(st, t, upcoming, hooks);
    ev.warnings.push(...(plan.warnings ?? []));
    ev.notes.push(...(plan.notes ?? []));
    if (st.guardStopped.delete(t.key)) ev.notes.push(GUARD_STOPPED_NOTE);
    if (plan.check) ev.check = plan.check;
    if (plan.refuse) { ev.error = { message: plan.refuse }; return 'failed'; }
    const { agree } = hooks, wanted = plan.agree;
    if (wanted && agree) {
      const values = await hooks.clock.time('waitMs', () => agree(t.key, wanted.value));
      const disagreement = agreement(env.inv, wanted.what, values, ev);
      if (disagreement) { ev.error = { message: disagreement }; return 'failed'; }
    }
    ev.changes = eventChanges(plan.changes);
    if (plan.changes.length === 0) return 'ok';
    if (env.dryRun) return 'changed';
    // not after a signal (nothing new may start); only where the guards can hash what they read and a signal can
    // reach them (the stop file)
    const stopPath = st.session.stopPath;
    const followers = hooks.batch && !t.spec.timeout && !env.interrupted?.() && st.session.facts.tools.sha256sum && stopPath
      ? planFollowers(st, hooks.batch.candidates, stopPath, plan.changes.flatMap((c) => c.actions))
      : [];
    if (followers.length) return await applyBatch(env, st, t, plan.changes, followers, upcoming, ev, hooks);
    return await applyChanges(st, t, plan.changes, upcoming, ev, hooks.clock);
  } catch (e) {
    ev.error = { message: (e as Error).message };
    if (!st.alive) st.markUnreachable();
    return 'failed';
  }
}

/** The task's state (read ahead), the peers for a once-task (only for a change when they can only object), and the module's plan. */
async function planTask(st: HostState, t: TaskInstance, upcoming: TaskInstance[], hooks: Timed): Promise<Plan> {
  const res = await hooks.clock.time('readMs', () => st.cache.ensure(t, upcoming));
  const ctx = st.ctx(t);
  const state = t.module.parse(res, ctx);
  const peers = hooks.peers;
  if (!t.module.peers || !peers) return t.module.plan(state, ctx);
  if (t.module.peersObjectOnly) {
    const alone = t.module.plan(state, ctx);
    if (alone.changes.length === 0 && !alone.refuse) return alone;
  }
  ctx.peers = await hooks.clock.time('readMs', () => peers(t));
  return t.module.plan(state, ctx);
}

/**
 * Every host's value for an agree-task: a message when they differ (hosts in inventory order, whoever got there
 * first, so that it is the same on every run), else a note on `ev`.
 */
export function agreement(inv: Inventory, what: string, values: Map<string, string>, ev: TaskEvent): string | undefined {
  const order = (h: string) => inv.hosts.findIndex((x) => x.name === h);
  const hosts = [...values.keys()].sort((a, b) => order(a) - order(b));
  const groups = new Map<string, string[]>();
  for (const h of hosts) groups.set(values.get(h)!, [...(groups.get(values.get(h)!) ?? []), h]);
  if (groups.size > 1) return `the hosts do not agree on ${what}: ${[...groups].map(([v, hs]) => `${hs.join(', ')} → ${v}`).join('; ')}. Nothing was changed.`;
  ev.notes.push(`${what} is the same on ${hosts.join(', ')}`);
  return undefined;
}

/** A task's changes as its event reports them: summary, diff, and what each step does. */
function eventChanges(changes: Change[]): TaskEvent['changes'] {
  return changes.map((c) => ({ summary: c.summary, diff: c.diff, commands: c.actions.map(describeAction) }));
}

/**
 * One apply round trip that also reads `after` (the later tasks' state) again. `signal`, when given, makes the stop
 * file on the host if the run is interrupted meanwhile (batch.ts: the next guard ends the round trip).
 */
async function applyRound(st: HostState, actions: Action[], after: TaskInstance[], timeoutMs: number | undefined, clock: TaskClock, signal?: AbortSignal) {
  st.cache.clear(); // what we read is stale from here on, whatever happens
  const onAbort = () => void st.session.stopBatch();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await clock.time('applyMs', () => st.session.apply(actions, timeoutMs, st.cache.sections(after)));
    st.changedInPlay = true;
    if (r.probe && st.cache.current) st.cache.store(after, r.probe);
    return r;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Apply the changes in one round trip that also reads the later tasks' state again. */
async function applyChanges(st: HostState, t: TaskInstance, changes: Change[], upcoming: TaskInstance[], ev: TaskEvent, clock: TaskClock): Promise<TaskStatus> {
  const actions = changes.flatMap((c) => c.actions);
  const r = await applyRound(st, actions, upcoming.filter((u) => !u.skip), t.spec.timeout ? t.spec.timeout * 1000 : undefined, clock);
  if (!r.timedOut && r.code === 0) return 'changed';
  ev.error = applyError(st, t, r, actions);
  return 'failed';
}

/** Why applying failed: the timeout, or the step that failed with its exit code and the end of stderr. */
function applyError(st: HostState, t: TaskInstance, r: { timedOut?: boolean; code: number | null; stderr: string; failedStep?: number }, actions: Action[]): NonNullable<TaskEvent['error']> {
  const step = r.failedStep !== undefined ? actions[r.failedStep] : undefined;
  return {
    message: r.timedOut ? `timed out after ${t.spec.timeout ?? st.session.entry.ssh.commandTimeoutMs / 1000} s` : `command failed with exit code ${r.code}`,
    command: step ? describeAction(step) : undefined,
    code: r.code,
    stderr: r.stderr.trim().split('\n').slice(-10).join('\n'),
  };
}

/**
 * Apply `t`'s changes and its followers' (batch.ts) in one round trip, each follower behind its guard, then read the
 * tasks after the last follower. `t`'s status is returned; each follower that finished goes to `hooks.batch.done`
 * with its event: all when the script ran through; those before a guard that found its state changed (that task and
 * the rest are planned again by the play); those before a failed step, and the failed one.
 */
async function applyBatch(env: TaskEnv, st: HostState, t: TaskInstance, changes: Change[], followers: Follower[], upcoming: TaskInstance[], ev: TaskEvent, hooks: Timed): Promise<TaskStatus> {
  const actions: Action[] = changes.flatMap((c) => c.actions);
  const owner: { f: number; guard: boolean }[] = actions.map(() => ({ f: -1, guard: false }));
  followers.forEach((f, k) => {
    if ('skipped' in f) return;
    actions.push(f.guard);
    owner.push({ f: k, guard: true });
    for (const a of f.plan.changes.flatMap((c) => c.actions)) { actions.push(a); owner.push({ f: k, guard: false }); }
  });
  const batched = new Set(followers.map((f) => f.t.key));
  const r = await applyRound(st, actions, upcoming.filter((u) => !u.skip && !batched.has(u.key)), undefined, hooks.clock, env.signal);
  // where the script stopped: a step of a follower (or its guard), else `t` itself (its own step, a timeout, a lost shell)
  const stop = r.code === 0 && !r.timedOut ? null : !r.timedOut && r.failedStep !== undefined ? owner[r.failedStep]! : { f: -1, guard: false };
  if (stop?.f === -1) { ev.error = applyError(st, t, r, actions); return 'failed'; }
  const done = hooks.batch!.done;
  const upTo = stop ? stop.f : followers.length;
  for (let k = 0; k < upTo; k++) done.push({ t: followers[k]!.t, ev: followerEvent(st, followers[k]!, t, ev.play) });
  if (stop?.guard) st.guardStopped.add(followers[stop.f]!.t.key);
  if (stop && !stop.guard) {
    const f = followers[stop.f]!;
    const fev = followerEvent(st, f, t, ev.play);
    fev.status = 'failed';
    fev.error = applyError(st, f.t, r, actions);
    done.push({ t: f.t, ev: fev });
  }
  return 'changed';
}

/** A follower's event: skipped, or its planned changes (changed / ok), with a note naming the round trip it rode. */
function followerEvent(st: HostState, f: Follower, first: TaskInstance, play: string): TaskEvent {
  // its time is the round trip's, counted on the first task
  const time = { durationMs: 0, timing: { readMs: 0, applyMs: 0, waitMs: 0 } };
  if ('skipped' in f) return taskEvent(st.name, play, f.t, { status: 'skipped', notes: ['condition is false'], ...time });
  const { plan } = f;
  return taskEvent(st.name, play, f.t, {
    ...time,
    status: plan.changes.length ? 'changed' : 'ok',
    changes: eventChanges(plan.changes),
    warnings: [...(plan.warnings ?? [])],
    notes: [...(plan.notes ?? []), batchedNote(first.name)],
  });
}
