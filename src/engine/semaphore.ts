// At most N hosts worked on at once (--forks); a host that waits for the others gives its place up meanwhile.
export class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}

  async acquire(): Promise<void> {
    if (this.free > 0) { this.free--; return; }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  release(): void {
    const w = this.waiting.shift();
    if (w) w(); else this.free++;
  }

  /** `work` holding a place. */
  async with<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try { return await work(); } finally { this.release(); }
  }

  /** Wait for `wait` without holding a place (the caller holds one), then take one again. */
  async parked<T>(wait: () => Promise<T>): Promise<T> {
    this.release();
    try { return await wait(); } finally { await this.acquire(); }
  }
}
