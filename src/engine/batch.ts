// Applying a host's consecutive changes in one round trip (issue #17: a fresh build was one round trip per changed
// task). When a task changes something, the tasks after it in the play are planned at once from the state already
// read; their actions follow the first task's in the same script, each task's behind a guard that reads its state
// again right there and compares it with what its plan was made from. Plans are pure functions of that state (and of
// arguments and facts, which do not change during a run), so an equal read means the plan is still exactly right; a
// different one stops the script before that task, which the play then plans again from a fresh read, as without
// batching. Nothing needs to know what a module's actions touch.
import { createHash } from 'node:crypto';
import type { HostState } from './host-state.js';
import type { TaskInstance } from './render.js';
import { q } from '../util/shell.js';
import { catFile, catFileAfter, probeOutput, probeScript } from './script.js';
import type { Action, Plan, ProbeResult, SectionResult } from './types.js';

/** The exit code of a guard that found the state changed (any failure of a guard means the same: plan again). */
export const GUARD_EXIT = 75;
/** The note of a task planned again because its state changed under a batched round trip (its guard stopped it). */
export const GUARD_STOPPED_NOTE = 'planned again: its state changed during the round trip it was sent with';
/** The note of a task applied in another task's round trip: this, then the first task's name in quotes. */
export const BATCHED_NOTE = 'applied in the same round trip as';
export const batchedNote = (first: string) => `${BATCHED_NOTE} "${first}"`;
/** At most this many tasks after the first in one round trip. */
export const MAX_FOLLOWERS = 32;
const N = 'guard';

/** A later task in the round trip: planned from the state read before it, or passed over (its condition is false). */
export type Follower = { t: TaskInstance; plan: Plan; guard: Action } | { t: TaskInstance; skipped: true };

/**
 * An action that exits GUARD_EXIT unless reading `sections` now gives exactly `res` (compared as the sha256 of the
 * probe output, computed on the host) and `stopPath` does not exist. The reads run as in a probe: without -e and -u,
 * stdin from /dev/null.
 */
export function guardAction(what: string, sections: [string, string][], res: ProbeResult, stopPath: string): Action {
  const want = createHash('sha256').update(probeOutput(N, sections.map(([name]) => [name, res[name]!])), 'utf8').digest('hex');
  return {
    kind: 'sh',
    desc: `check that the state of "${what}" is still what it was planned from`,
    script: [
      'set +e +u',
      // the run was interrupted while this round trip was under way (HostSession.stopBatch): no further task starts
      `[ ! -e ${q(stopPath)} ] || exit ${GUARD_EXIT}`,
      `__cfg=$( { ${probeScript(sections, N)}\n} | sha256sum ) || exit ${GUARD_EXIT}`,
      `[ "\${__cfg%% *}" = '${want}' ] || exit ${GUARD_EXIT}`,
    ].join('\n'),
  };
}

/**
 * The tasks after the first that can go into its round trip, in order, each planned now: stops at the first that is
 * a once-task, a check, has its own timeout, was not read yet (or the read is stale), refuses, must agree with other
 * hosts, or cannot be planned; trailing tasks with nothing to change are left out (the read after the round trip
 * covers them, as without batching). Skipped tasks are passed over.
 *
 * A task is planned from the state read before the round trip, except where an earlier task of the round trip
 * (`first`, the first task's actions, then each follower's) writes or removes a whole file that the task reads with
 * catFile: there it is planned from that file as it will be (several sysctl tasks persisting to one file). Its guard
 * checks exactly that, so a wrong guess (a script step that also touched the file) costs a new plan, never a wrong one.
 */
export function planFollowers(st: HostState, candidates: TaskInstance[], stopPath: string, first: Action[] = []): Follower[] {
  const out: Follower[] = [];
  const after = new Map<string, SectionResult>(); // catFile snippet → its answer once the earlier actions ran
  const learn = (actions: Action[]) => {
    for (const a of actions) {
      const c = catFileAfter(a);
      if (c) after.set(catFile(c.path), c.answer);
    }
  };
  learn(first);
  let planned = 0;
  for (const t of candidates) {
    if (planned >= MAX_FOLLOWERS) break;
    if (t.skip) { out.push({ t, skipped: true }); continue; }
    if (t.spec.once || t.spec.timeout || (t.module.kind ?? 'change') !== 'change' || !st.cache.current) break;
    const read = st.cache.get(t.key);
    if (!read) break;
    const ctx = st.ctx(t);
    const sections = Object.entries(t.module.read(ctx));
    const res: ProbeResult = { ...read };
    for (const [name, snippet] of sections) { const a = after.get(snippet); if (a) res[name] = a; }
    let plan: Plan;
    try {
      plan = t.module.plan(t.module.parse(res, ctx), ctx);
    } catch {
      break;
    }
    if (plan.refuse || plan.agree || plan.check) break;
    out.push({ t, plan, guard: guardAction(t.name, sections, res, stopPath) });
    learn(plan.changes.flatMap((c) => c.actions));
    planned++;
  }
  // what follows the last change is left to the read after the round trip, as without batching
  while (out.length && ('skipped' in out[out.length - 1]! || (out[out.length - 1] as { plan: Plan }).plan.changes.length === 0)) out.pop();
  return out;
}
