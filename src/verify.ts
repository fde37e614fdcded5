// verify: what a read-only run of site.yaml + verify.yaml says about the cluster, as PASS/FAIL rows per host: every
// change task without drift, every check passing, and check digests identical across the hosts. Pure.
import type { RunResult, TaskEvent } from './engine/types.js';

export interface CheckRow {
  host: string;
  /** drift: a change task of site.yaml; check: a check module; identical: a digest compared across hosts */
  kind: 'reachable' | 'drift' | 'check' | 'identical';
  check: string;
  pass: boolean;
  reason: string;
}

const DRIFT = 'matches inventory: ';

function driftRow(t: TaskEvent): CheckRow {
  const reason = t.status === 'ok' ? 'no drift' : t.status === 'changed' ? `drift: ${t.changes.map((c) => c.summary).join('; ')}` : t.error?.message ?? 'failed';
  return { host: t.host, kind: 'drift', check: DRIFT + t.task, pass: t.status === 'ok', reason };
}

function checkRow(t: TaskEvent): CheckRow {
  const warn = t.warnings.length ? ` (warning: ${t.warnings.join('; ')})` : '';
  const reason = t.check?.reason ?? t.error?.message ?? (t.status === 'ok' ? 'ok' : 'failed');
  return { host: t.host, kind: 'check', check: t.task, pass: t.status === 'ok' && t.check?.pass !== false, reason: reason + warn };
}

/** A failing row for every host whose digest differs from the others' (e.g. cluster.xml not identical). */
function identicalRows(tasks: TaskEvent[]): CheckRow[] {
  const byCheck = new Map<string, Map<string, string[]>>(); // check → digest → hosts
  for (const t of tasks) {
    if (!t.check?.digest) continue;
    const m = byCheck.get(t.task) ?? new Map<string, string[]>();
    m.set(t.check.digest, [...(m.get(t.check.digest) ?? []), t.host]);
    byCheck.set(t.task, m);
  }
  const rows: CheckRow[] = [];
  for (const [check, m] of byCheck) {
    if (m.size < 2) continue;
    for (const [digest, hosts] of m) for (const h of hosts) rows.push({ host: h, kind: 'identical', check: `${check}: identical on all`, pass: false, reason: `differs from the other hosts (${digest})` });
  }
  return rows;
}

/** The rows of a verify run, in inventory order of the hosts. */
export function verifyRows(result: RunResult, hostOrder: string[]): CheckRow[] {
  const rows: CheckRow[] = result.hosts.filter((h) => h.unreachable).map((h) => ({ host: h.host, kind: 'reachable', check: 'reachable', pass: false, reason: 'host unreachable' }));
  const tasks = result.events.filter((e): e is TaskEvent => e.type === 'task' && e.status !== 'skipped');
  for (const t of tasks) rows.push(t.kind === 'check' ? checkRow(t) : driftRow(t));
  rows.push(...identicalRows(tasks));
  const order = new Map(hostOrder.map((h, i) => [h, i]));
  return rows.sort((a, b) => (order.get(a.host) ?? 0) - (order.get(b.host) ?? 0));
}

/** The rows as the CLI prints them: per host, drift folded into one line, then every check; a closing count. */
export function formatVerifyRows(rows: CheckRow[]): string[] {
  const out: string[] = [];
  for (const h of [...new Set(rows.map((r) => r.host))]) {
    const mine = rows.filter((r) => r.host === h);
    const drift = mine.filter((r) => r.kind === 'drift');
    const driftBad = drift.filter((r) => !r.pass);
    out.push(h, `  ${driftBad.length ? 'FAIL' : 'PASS'}  matches the inventory (${drift.length - driftBad.length}/${drift.length} tasks without drift)`);
    for (const r of driftBad) out.push(`          ${r.check.slice(DRIFT.length)} — ${r.reason}`);
    for (const r of mine.filter((x) => x.kind !== 'drift')) out.push(`  ${r.pass ? 'PASS' : 'FAIL'}  ${r.check} — ${r.reason}`);
  }
  const failed = rows.filter((r) => !r.pass).length;
  out.push('', `${rows.length - failed} passed, ${failed} failed checks`);
  return out;
}
