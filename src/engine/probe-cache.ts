// What a host's tasks read, read ahead: a task's read snippets run together with those of every later task of the
// host not read yet (one round trip), and are kept until something may have changed them: the host's own change
// (cleared), or another host's change that may be visible here (a once-task on a shared disk, the end of a play
// with changes), which bumps the run-wide generation and so drops every host's cache at its next lookup.
import type { TaskInstance } from './render.js';
import type { ProbeResult } from './types.js';

/** The run-wide generation of what hosts have read; bumped when a change may be visible on other hosts. */
export class Generation {
  value = 0;
  bump(): void { this.value++; }
}

export class ProbeCache {
  private results = new Map<string, ProbeResult>();
  private gen: number;

  constructor(
    private readonly generation: Generation,
    /** a task's read snippets on this host */
    private readonly read: (t: TaskInstance) => Record<string, string>,
    /** one round trip running named snippets on this host */
    private readonly probe: (sections: [string, string][]) => Promise<ProbeResult>,
  ) {
    this.gen = generation.value;
  }

  /** No other host's change happened since this cache was last synced with the generation. */
  get current(): boolean { return this.gen === this.generation.value; }

  has(key: string): boolean { return this.results.has(key); }

  /** What task `key` read (its sections by their own names), if it has been read. */
  get(key: string): ProbeResult | undefined { return this.results.get(key); }

  clear(): void { this.results.clear(); }

  /** The read sections of these tasks, named `<task key>/<section>`. */
  sections(batch: TaskInstance[]): [string, string][] {
    const out: [string, string][] = [];
    for (const b of batch) for (const [name, snippet] of Object.entries(this.read(b))) out.push([`${b.key}/${name}`, snippet]);
    return out;
  }

  /** Keep each task's sections of a probe's result under the task's key. */
  store(batch: TaskInstance[], res: ProbeResult): void {
    for (const b of batch) {
      const mine: ProbeResult = {};
      for (const [k, v] of Object.entries(res)) if (k.startsWith(b.key + '/')) mine[k.slice(b.key.length + 1)] = v;
      this.results.set(b.key, mine);
    }
  }

  /** `t`'s state, read now together with every later task (`upcoming`) not read yet when it is not known. */
  async ensure(t: TaskInstance, upcoming: TaskInstance[]): Promise<ProbeResult> {
    if (!this.current) { this.results.clear(); this.gen = this.generation.value; }
    if (!this.results.has(t.key)) {
      const batch = [t, ...upcoming.filter((u) => u !== t && !u.skip && !this.results.has(u.key))];
      this.store(batch, await this.probe(this.sections(batch)));
    }
    return this.results.get(t.key)!;
  }
}
