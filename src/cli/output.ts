// Rendering engine events: plain lines (CI, pipes), a listr2 live tree (terminals), and the recap.
import type { EngineEvent, RunResult, TaskEvent } from '../engine/types.js';

export interface OutputOptions { verbose: number; mode: RunResult['mode']; stats: boolean; color: boolean }

const C = (on: boolean) => ({
  green: (s: string) => (on ? `\x1b[32m${s}\x1b[0m` : s),
  yellow: (s: string) => (on ? `\x1b[33m${s}\x1b[0m` : s),
  red: (s: string) => (on ? `\x1b[31m${s}\x1b[0m` : s),
  cyan: (s: string) => (on ? `\x1b[36m${s}\x1b[0m` : s),
  dim: (s: string) => (on ? `\x1b[2m${s}\x1b[0m` : s),
  bold: (s: string) => (on ? `\x1b[1m${s}\x1b[0m` : s),
});

function statusWord(ev: TaskEvent, mode: RunResult['mode']): string {
  if (ev.status === 'changed' && mode === 'plan') return 'would change';
  return ev.status;
}

/** The lines one task event prints. */
export function formatTask(ev: TaskEvent, o: OutputOptions): string[] {
  const c = C(o.color);
  const colour = ev.status === 'ok' ? c.green : ev.status === 'changed' ? c.yellow : ev.status === 'failed' ? c.red : c.dim;
  const lines = [`  ${ev.host.padEnd(12)} ${colour(statusWord(ev, o.mode).padEnd(12))} ${ev.task}${o.verbose ? c.dim(` [${ev.module}, ${ev.durationMs} ms]`) : ''}`];
  for (const ch of ev.changes) {
    lines.push(`      ${c.yellow('~')} ${ch.summary}`);
    if (ch.diff && (o.mode === 'plan' || o.verbose > 0)) for (const l of ch.diff.trimEnd().split('\n')) lines.push('        ' + (l.startsWith('+') && !l.startsWith('+++') ? c.green(l) : l.startsWith('-') && !l.startsWith('---') ? c.red(l) : l));
    if (ch.commands && o.verbose > 0) for (const cmd of ch.commands) lines.push(c.dim(`        $ ${cmd}`));
  }
  for (const n of ev.notes) if (ev.status !== 'skipped' || o.verbose) lines.push(c.dim(`      · ${n}`));
  for (const w of ev.warnings) lines.push(c.yellow(`      ! ${w}`));
  if (ev.error) {
    lines.push(c.red(`      ✗ ${ev.error.message}`));
    if (ev.error.command) lines.push(c.red(`        command: ${ev.error.command}`));
    if (ev.error.stderr) for (const l of ev.error.stderr.split('\n')) lines.push(c.red(`        | ${l}`));
  }
  return lines;
}

export function formatEvent(e: EngineEvent, o: OutputOptions): string[] {
  const c = C(o.color);
  if (e.type === 'play') return [c.bold(`PLAY ${e.play}`) + c.dim(` [${e.hosts.join(', ') || 'no hosts'}]`)];
  if (e.type === 'host') {
    if (e.status === 'connected') {
      if (e.message) return [c.yellow(`  ${e.host.padEnd(12)} ${e.message}`)]; // a host key was recorded: always say so
      return o.verbose ? [c.dim(`  ${e.host.padEnd(12)} connected`)] : [];
    }
    return [c.red(`  ${e.host.padEnd(12)} ${e.status.toUpperCase()}: ${e.message ?? ''}`)];
  }
  if (e.status === 'ok' && !o.verbose && e.notes.length === 0 && e.warnings.length === 0) return [];
  if (e.status === 'skipped' && !o.verbose) return [];
  return formatTask(e, o);
}

export function formatRecap(r: RunResult, o: OutputOptions): string[] {
  const c = C(o.color);
  const lines = ['', c.bold(`RECAP ${r.mode}${r.interrupted ? ' (interrupted)' : ''} — ${r.hosts.length} hosts, ${(r.wallMs / 1000).toFixed(2)} s`)];
  for (const h of r.hosts) {
    const bad = h.failed > 0 || h.unreachable;
    const changedWord = r.mode === 'plan' ? 'would_change' : 'changed';
    lines.push(`  ${(bad ? c.red : h.changed ? c.yellow : c.green)(h.host.padEnd(12))} ok=${h.ok} ${changedWord}=${h.changed} failed=${h.failed} skipped=${h.skipped} unreachable=${h.unreachable ? 1 : 0}`);
    if (o.stats && h.stats) lines.push(c.dim(`  ${''.padEnd(12)} connections=${h.stats.connections} commands=${h.stats.commands} remote_busy=${h.stats.busyMs}ms in=${h.stats.bytesIn}B out=${h.stats.bytesOut}B`));
    for (const w of h.warnings) lines.push(c.yellow(`  ${''.padEnd(12)} ! ${w}`));
  }
  const total = r.hosts.reduce((a, h) => a + h.changed, 0);
  lines.push(c.dim(`  total ${r.mode === 'plan' ? 'would_change' : 'changed'}=${total}`));
  return lines;
}

export function exitCodeOf(r: RunResult): number {
  return r.hosts.some((h) => h.failed > 0 || h.unreachable) || r.interrupted ? 1 : 0;
}

export function jsonResult(r: RunResult) {
  return {
    mode: r.mode,
    ok: exitCodeOf(r) === 0,
    interrupted: r.interrupted,
    wall_ms: r.wallMs,
    recap: r.hosts,
    changed: r.hosts.reduce((a, h) => a + h.changed, 0),
    events: r.events,
  };
}
