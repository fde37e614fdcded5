// `clusterform verify INVENTORY`: read-only checks after a build — no drift from the inventory, plus functional checks.
import { Command } from 'commander';
import { resolve } from 'node:path';
import { loadInventory } from '../inventory/load.js';
import { loadPlaybook } from '../playbook/load.js';
import { runPlaybook } from '../engine/run.js';
import { becomePasswordFor, builtinPlaybook, defaultRegistry, packageRoot, sshTransportFor } from '../api.js';
import type { TaskEvent } from '../engine/types.js';

export interface CheckRow { host: string; check: string; pass: boolean; reason: string }

export async function verify(inventory: string, opts: { limit?: string; forks?: number; acceptNewHostKeys?: boolean; log?: (l: string) => void }): Promise<CheckRow[]> {
  const inv = loadInventory(inventory);
  const plays = [...loadPlaybook(builtinPlaybook('site'), defaultRegistry), ...loadPlaybook(resolve(packageRoot(), 'playbooks', 'verify.yaml'), defaultRegistry)];
  const res = await runPlaybook({ mode: 'plan', inventory: inv, plays, limit: opts.limit, forks: opts.forks, transport: sshTransportFor(inv, opts), becomePasswordFor, log: opts.log });
  const rows: CheckRow[] = [];
  for (const h of res.hosts) if (h.unreachable) rows.push({ host: h.host, check: 'reachable', pass: false, reason: 'host unreachable' });
  const sums = new Map<string, Map<string, string[]>>(); // check → digest → hosts
  for (const e of res.events) {
    if (e.type !== 'task' || e.status === 'skipped') continue;
    const t = e as TaskEvent;
    if (t.module.startsWith('check_')) {
      const digest = t.notes.find((n) => n.startsWith('digest '));
      if (digest) {
        const m = sums.get(t.task) ?? new Map<string, string[]>();
        m.set(digest, [...(m.get(digest) ?? []), t.host]);
        sums.set(t.task, m);
      }
      const warn = t.warnings.length ? ` (warning: ${t.warnings.join('; ')})` : '';
      rows.push({ host: t.host, check: t.task, pass: t.status === 'ok', reason: (t.status === 'ok' ? t.notes.filter((n) => !n.startsWith('digest ')).join('; ') || 'ok' : t.error?.message ?? 'failed') + warn });
    } else {
      rows.push({ host: t.host, check: `matches inventory: ${t.task}`, pass: t.status === 'ok', reason: t.status === 'ok' ? 'no drift' : t.status === 'changed' ? `drift: ${t.changes.map((c) => c.summary).join('; ')}` : t.error?.message ?? 'failed' });
    }
  }
  for (const [check, m] of sums) if (m.size > 1) for (const [d, hosts] of m) for (const h of hosts) rows.push({ host: h, check: `${check}: identical on all`, pass: false, reason: `differs from the other hosts (${d})` });
  const order = new Map(inv.hosts.map((h, i) => [h.name, i]));
  return rows.sort((a, b) => (order.get(a.host) ?? 0) - (order.get(b.host) ?? 0));
}

export function verifyCommand(addRunOptions: (c: Command) => Command): Command {
  const c = new Command('verify').argument('<inventory>', 'inventory YAML').description('read-only checks after a build: every host matches the inventory, names resolve, disks, raw devices, cluster.xml, LVS traffic');
  addRunOptions(c).action(async (inventory: string, f: { limit?: string; forks: string; json?: boolean; acceptNewHostKeys?: boolean; verbose: number }) => {
    const rows = await verify(resolve(inventory), { limit: f.limit, forks: Number(f.forks) || 100, acceptNewHostKeys: f.acceptNewHostKeys, log: f.verbose >= 2 ? (l) => process.stderr.write(l + '\n') : undefined });
    if (f.json) process.stdout.write(JSON.stringify({ ok: rows.every((r) => r.pass), checks: rows }, null, 2) + '\n');
    else {
      const hosts = [...new Set(rows.map((r) => r.host))];
      for (const h of hosts) {
        const mine = rows.filter((r) => r.host === h);
        const drift = mine.filter((r) => r.check.startsWith('matches inventory: '));
        const checks = mine.filter((r) => !r.check.startsWith('matches inventory: '));
        process.stdout.write(`${h}\n`);
        const driftBad = drift.filter((r) => !r.pass);
        process.stdout.write(`  ${driftBad.length ? 'FAIL' : 'PASS'}  matches the inventory (${drift.length - driftBad.length}/${drift.length} tasks without drift)\n`);
        for (const r of driftBad) process.stdout.write(`          ${r.check.slice('matches inventory: '.length)} — ${r.reason}\n`);
        for (const r of checks) process.stdout.write(`  ${r.pass ? 'PASS' : 'FAIL'}  ${r.check} — ${r.reason}\n`);
      }
      const failed = rows.filter((r) => !r.pass).length;
      process.stdout.write(`\n${rows.length - failed} passed, ${failed} failed checks\n`);
    }
    process.exitCode = rows.every((r) => r.pass) ? 0 : 1;
  });
  return c;
}
