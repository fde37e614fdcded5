// What a once-task sees of the other members of its play: their `peers` sections, read at the moment it runs, or
// why a member could not be read (left out by --limit, unreachable, failed earlier, the task not for it).
import type { HostState } from './host-state.js';
import type { TaskInstance } from './render.js';
import type { PeerView } from './types.js';

export interface PeerLookup {
  /** the hosts --limit leaves in */
  targets: string[];
  states: Map<string, HostState>;
  /** the same task (by key) as rendered for host `h`, if it has it */
  taskOn(h: string, key: string): TaskInstance | undefined;
}

/** Why member `h` cannot be read for task `key`, or its state and task when it can. */
export function peerSource(h: string, key: string, l: PeerLookup): { missing: string } | { st: HostState; task: TaskInstance } {
  const st = l.states.get(h);
  if (!l.targets.includes(h) || !st) return { missing: 'left out by --limit' };
  if (!st.alive) return { missing: `unreachable${st.why ? ` (${st.why})` : ''}` };
  if (st.failed) return { missing: 'stopped earlier in this run after a failed task' };
  const task = l.taskOn(h, key);
  if (!task || task.skip || !task.module.peers) return { missing: 'the task does not apply to it here' };
  return { st, task };
}

/** Every member but `runner`, in the order given: its peer sections read now, or why not. */
export function readPeers(members: string[], runner: string, t: TaskInstance, l: PeerLookup): Promise<PeerView[]> {
  return Promise.all(members.filter((h) => h !== runner).map(async (h): Promise<PeerView> => {
    const src = peerSource(h, t.key, l);
    if ('missing' in src) return { host: h, missing: src.missing };
    try {
      return { host: h, res: await src.st.session.probe(Object.entries(src.task.module.peers!(src.st.ctx(src.task)))) };
    } catch (e) {
      return { host: h, missing: `its state could not be read: ${(e as Error).message}` };
    }
  }));
}
