// One play: its hosts in parallel (at most --forks at once), each host's tasks in order, once-tasks and agree-tasks
// meeting at the play's barrier, then the notified handlers of each host.
import type { PlaySpec } from '../playbook/schema.js';
import { PlayBarrier } from './barrier.js';
import type { HostState } from './host-state.js';
import { readPeers, type PeerLookup } from './peers.js';
import { TaskClock } from './profile.js';
import type { Generation } from './probe-cache.js';
import type { HostTasks, TaskInstance } from './render.js';
import { Semaphore } from './semaphore.js';
import { runTask, taskEvent, type TaskEnv, type TaskHooks } from './task.js';
import type { EngineEvent, TaskEvent, TaskStatus } from './types.js';

export interface RunEnv extends TaskEnv {
  generation: Generation;
  states: Map<string, HostState>;
  /** the hosts --limit leaves in */
  targets: string[];
  forks: number;
  /** per play: all of its hosts (a once-task's peers), and those --limit leaves in */
  playMembers: string[][];
  playHosts: string[][];
  /** per host: its rendered tasks and handlers */
  rendered: Map<string, HostTasks>;
  emit(e: EngineEvent): void;
  interrupted(): boolean;
}

/** Run play `pi` on its hosts that are still in the run. */
export async function runPlay(env: RunEnv, pi: number, play: PlaySpec): Promise<void> {
  const hosts = env.playHosts[pi]!.map((h) => env.states.get(h)!).filter((s) => s && s.running);
  env.emit({ type: 'play', play: play.name, hosts: hosts.map((s) => s.name) });
  if (hosts.length === 0 || env.interrupted()) return;
  const sem = new Semaphore(env.forks);
  const barrier = new PlayBarrier(hosts.map((s) => s.name), sem);
  for (const st of hosts) st.changedInPlay = false;
  await Promise.all(hosts.map((st) => sem.with(() => new HostPlay(env, pi, play, st, barrier).run())));
  // another host's change may be visible anywhere from here on: every host reads again
  if (!env.dryRun && hosts.some((s) => s.changedInPlay)) env.generation.bump();
}

/** One host's part of one play. */
class HostPlay {
  private readonly notified = new Set<string>();
  private readonly tasks: TaskInstance[];
  /** every later play's tasks for this host: read ahead too */
  private readonly later: TaskInstance[];
  private readonly hooks: TaskHooks;

  constructor(private readonly env: RunEnv, private readonly pi: number, private readonly play: PlaySpec, private readonly st: HostState, private readonly barrier: PlayBarrier) {
    const mine = env.rendered.get(st.name)!;
    this.tasks = mine.tasks[pi]!;
    this.later = mine.tasks.slice(pi + 1).flat();
    this.hooks = { agree: (key, value) => barrier.agree(st.name, key, value) };
  }

  async run(): Promise<void> {
    try {
      for (let i = 0; i < this.tasks.length;) {
        if (!this.st.running || this.env.interrupted()) break;
        i += await this.step(i);
      }
      if (this.st.running && this.notified.size) await this.handlers();
    } finally {
      this.leave();
    }
  }

  /** Run task `i` (and, when it changes something, the tasks applied in the same round trip): how many ran. */
  private async step(i: number): Promise<number> {
    const t = this.tasks[i]!;
    const upcoming = [...this.tasks.slice(i + 1), ...this.later];
    if (!t.spec.once) {
      const batch = { candidates: this.tasks.slice(i + 1), done: [] as { t: TaskInstance; ev: TaskEvent }[] };
      this.finished(t, await runTask(this.env, this.st, t, upcoming, this.play.name, { ...this.hooks, batch }));
      for (const d of batch.done) this.finished(d.t, d.ev.status);
      return 1 + batch.done.length;
    }
    this.barrier.arrive(t.key, this.st.name);
    if (this.st.name === this.barrier.runner) await this.runOnce(t, upcoming);
    else await this.awaitOnce(t);
    return 1;
  }

  private finished(t: TaskInstance, status: TaskStatus): void {
    if (status === 'changed') t.spec.notify.forEach((n) => this.notified.add(n));
    if (status === 'failed') this.st.failed = true;
  }

  /** On the runner: once every host got here, run it with the other members' peer state read now. */
  private async runOnce(t: TaskInstance, upcoming: TaskInstance[]): Promise<void> {
    const clock = new TaskClock();
    const missing = await clock.time('waitMs', () => this.barrier.meet(t.key));
    if (missing.length) return this.notRun(t, missing, clock);
    const peers = (x: TaskInstance) => readPeers(this.env.playMembers[this.pi]!, this.st.name, x, this.peerLookup());
    const status = await runTask(this.env, this.st, t, upcoming, this.play.name, { ...this.hooks, peers, clock });
    if (status === 'changed' && !this.env.dryRun) this.env.generation.bump();
    this.barrier.settleOnce(t.key, status);
    this.finished(t, status);
  }

  private notRun(t: TaskInstance, missing: string[], clock: TaskClock): void {
    const message = `not run: this task runs once for all of ${this.barrier.hosts.join(', ')}, and ${missing.join(', ')} stopped before reaching it`;
    this.env.report(this.st, taskEvent(this.st.name, this.play.name, t, { status: 'failed', error: { message }, ...clock.stamp() }));
    this.st.failed = true;
    this.barrier.settleOnce(t.key, 'failed');
  }

  /** On every other host: the runner's result, as skipped (or failed when it failed there). */
  private async awaitOnce(t: TaskInstance): Promise<void> {
    const clock = new TaskClock();
    const s = await clock.time('waitMs', () => this.barrier.onceResult(t.key));
    const runner = this.barrier.runner;
    const notes = [`runs once, on ${runner}: ${s}`];
    const failed = s === 'failed';
    this.env.report(this.st, taskEvent(this.st.name, this.play.name, t, failed
      ? { status: 'failed', notes, error: { message: `this task runs once, on ${runner}, and failed there` }, ...clock.stamp() }
      : { status: 'skipped', notes, ...clock.stamp() }));
    if (failed) this.st.failed = true;
    // a real change bumped the generation already (every host reads again); a planned one did not
    if (s === 'changed' && this.st.cache.current) this.st.cache.clear();
  }

  /** The notified handlers, in the order they are written; the first failure stops the host. */
  private async handlers(): Promise<void> {
    const hs = this.env.rendered.get(this.st.name)!.handlers[this.pi]!.filter((h) => this.notified.has(h.spec.name));
    for (const h of hs) {
      if ((await runTask(this.env, this.st, h, [], this.play.name)) === 'failed') { this.st.failed = true; break; }
    }
  }

  private peerLookup(): PeerLookup {
    const { targets, states, rendered } = this.env;
    return { targets, states, taskOn: (h, key) => rendered.get(h)?.tasks[this.pi]?.find((x) => x.key === key) };
  }

  /** Leaving the play wakes whoever waits for this host; a runner that never reached a once-task settles it. */
  private leave(): void {
    const { st, barrier } = this;
    barrier.leave(st.name, st.failed || !st.alive || this.env.interrupted());
    if (st.name !== barrier.runner) return;
    for (const t of this.tasks) if (t.spec.once) barrier.settleOnce(t.key, st.running ? 'skipped' : 'failed');
  }
}
