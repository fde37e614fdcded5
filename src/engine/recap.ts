// The recap: per host, how many tasks ended how, the warnings, and the transport's counters.
import type { HostRecap, TaskEvent } from './types.js';

export function newRecap(host: string): HostRecap {
  return { host, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: false, warnings: [] };
}

/** Count one finished task (its status and warnings) in its host's recap. */
export function countTask(r: HostRecap, ev: TaskEvent): void {
  switch (ev.status) {
    case 'ok': r.ok++; break;
    case 'changed': r.changed++; break;
    case 'failed': r.failed++; break;
    case 'skipped': r.skipped++; break;
    default: break; // 'unreachable' is a host's state, not a count
  }
  r.warnings.push(...ev.warnings.map((w) => `${ev.task}: ${w}`));
}

/** The recap with the transport's counters (connections, commands, bytes, busy time) as they are now. */
export function withStats(r: HostRecap, stats: NonNullable<HostRecap['stats']>): HostRecap {
  r.stats = { ...stats };
  return r;
}
