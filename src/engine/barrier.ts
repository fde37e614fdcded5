// The meeting points of one play. A once-task runs on the play's first host only after every host of the play has
// reached it, and not at all when one of them stopped on the way (a shared disk is not partitioned while a member is
// broken); the others wait for its result. An agree-task waits until every host has planned it and hands each the
// values of all. A host that leaves the play (done, failed, lost, interrupted) wakes whoever waits for it.
// Waiting hosts give their --forks place up, so that the hosts they wait for can get there.
import type { Semaphore } from './semaphore.js';
import type { TaskStatus } from './types.js';

interface Deferred<T> { promise: Promise<T>; resolve: (v: T) => void }

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export class PlayBarrier {
  /** where once-tasks run: the play's first host */
  readonly runner: string;
  private readonly arrived = new Map<string, Set<string>>();
  /** host → left the play early (failed, unreachable, interrupted) rather than at its end */
  private readonly left = new Map<string, boolean>();
  private waiters: (() => void)[] = [];
  private readonly once = new Map<string, Deferred<TaskStatus>>();
  private readonly agreed = new Map<string, Map<string, string>>();

  /** `hosts`: the hosts taking part in the play, in inventory order. */
  constructor(readonly hosts: string[], private readonly sem: Semaphore) {
    if (hosts.length === 0) throw new Error('a play barrier needs at least one host');
    this.runner = hosts[0]!;
  }

  /** Host `h` reached meeting point `k`. */
  arrive(k: string, h: string): void {
    let a = this.arrived.get(k);
    if (!a) this.arrived.set(k, (a = new Set()));
    a.add(h);
    this.wake();
  }

  /** Host `h` is done with the play; `early`: it stopped before its end (failed, lost, interrupted). */
  leave(h: string, early: boolean): void {
    this.left.set(h, early);
    this.wake();
  }

  /**
   * Wait (without a --forks place) until every host has arrived at `k` or left the play; the hosts that stopped early
   * without arriving, in play order.
   */
  async meet(k: string): Promise<string[]> {
    const here = (h: string) => this.arrived.get(k)?.has(h) === true;
    const ready = () => this.hosts.every((h) => here(h) || this.left.has(h));
    await this.sem.parked(async () => { while (!ready()) await new Promise<void>((r) => this.waiters.push(r)); });
    return this.hosts.filter((h) => this.left.get(h) === true && !here(h));
  }

  /** The runner's result of once-task `k`, waited for without a --forks place. */
  onceResult(k: string): Promise<TaskStatus> {
    return this.sem.parked(() => this.onceFor(k).promise);
  }

  /** The runner's result of once-task `k` (the first one given counts). */
  settleOnce(k: string, status: TaskStatus): void {
    this.onceFor(k).resolve(status);
  }

  /** Host `h` planned agree-task `key` with `value`: every host's value, once all have planned it (or left). */
  async agree(h: string, key: string, value: string): Promise<Map<string, string>> {
    const k = `agree:${key}`;
    let m = this.agreed.get(k);
    if (!m) this.agreed.set(k, (m = new Map()));
    m.set(h, value);
    this.arrive(k, h);
    await this.meet(k);
    return m;
  }

  private onceFor(k: string): Deferred<TaskStatus> {
    let d = this.once.get(k);
    if (!d) this.once.set(k, (d = deferred()));
    return d;
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
}
