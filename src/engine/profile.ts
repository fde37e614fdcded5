// The per-task time profile (--stats): a clock per task and host that splits the task's wall time into its read,
// apply and waiting phases (stamped on its TaskEvent), and the run's profile grouped by task from those events.
import { performance } from 'node:perf_hooks';
import type { EngineEvent, TaskEvent, TaskStatus, TaskTiming } from './types.js';

type Phase = keyof TaskTiming;

/** Times one task on one host: started when the task starts (or reaches its meeting), phases added as they run. */
export class TaskClock {
  private readonly started = performance.now();
  private readonly spent: TaskTiming = { readMs: 0, applyMs: 0, waitMs: 0 };

  /** Run `work`, counting its time in `phase`. */
  async time<T>(phase: Phase, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.spent[phase] += performance.now() - t0;
    }
  }

  /** The event fields: the wall time so far and its phases, rounded down so that they never add up to more. */
  stamp(): { durationMs: number; timing: TaskTiming } {
    const durationMs = Math.round(performance.now() - this.started);
    const s = this.spent;
    return { durationMs, timing: { readMs: Math.floor(s.readMs), applyMs: Math.floor(s.applyMs), waitMs: Math.floor(s.waitMs) } };
  }
}

/** One task on one host. */
export interface HostTaskTime extends TaskTiming {
  host: string;
  status: TaskStatus;
  totalMs: number;
}

/** One task of the run on all of its hosts; the ms fields are sums over the hosts. */
export interface TaskProfile extends TaskTiming {
  play: string;
  task: string;
  module: string;
  /** in the order the hosts finished it */
  hosts: HostTaskTime[];
  totalMs: number;
  /** the slowest host's time, and that host */
  maxMs: number;
  maxHost: string;
}

export interface RunProfile {
  wallMs: number;
  /** every task that ran, in the order it first finished on some host */
  tasks: TaskProfile[];
}

const NO_TIMING: TaskTiming = { readMs: 0, applyMs: 0, waitMs: 0 };

function hostTime(e: TaskEvent): HostTaskTime {
  const t = e.timing ?? NO_TIMING;
  return { host: e.host, status: e.status, totalMs: e.durationMs, readMs: t.readMs, applyMs: t.applyMs, waitMs: t.waitMs };
}

function newTask(e: TaskEvent): TaskProfile {
  return { play: e.play, task: e.task, module: e.module, hosts: [], totalMs: 0, maxMs: -1, maxHost: '', readMs: 0, applyMs: 0, waitMs: 0 };
}

function addHost(p: TaskProfile, h: HostTaskTime): void {
  p.hosts.push(h);
  p.totalMs += h.totalMs;
  p.readMs += h.readMs;
  p.applyMs += h.applyMs;
  p.waitMs += h.waitMs;
  if (h.totalMs > p.maxMs) { p.maxMs = h.totalMs; p.maxHost = h.host; }
}

/**
 * The run's profile from its task events. A task is its play and name; a host that runs two tasks of the same name
 * in one play counts them apart (the first with the other hosts' first, and so on).
 */
export function profileOf(r: { events: EngineEvent[]; wallMs: number }): RunProfile {
  const tasks = new Map<string, TaskProfile>();
  const seen = new Map<string, number>();
  for (const e of r.events) {
    if (e.type !== 'task') continue;
    const onHost = JSON.stringify([e.host, e.play, e.task]);
    const nth = seen.get(onHost) ?? 0;
    seen.set(onHost, nth + 1);
    const key = JSON.stringify([e.play, e.task, nth]);
    let p = tasks.get(key);
    if (!p) tasks.set(key, (p = newTask(e)));
    addHost(p, hostTime(e));
  }
  return { wallMs: r.wallMs, tasks: [...tasks.values()] };
}

/** The `n` slowest tasks by their slowest host (then by their total, then in run order). */
export function slowestTasks(p: RunProfile, n = 10): TaskProfile[] {
  return [...p.tasks].sort((a, b) => b.maxMs - a.maxMs || b.totalMs - a.totalMs).slice(0, n);
}
