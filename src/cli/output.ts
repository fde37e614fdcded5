// Rendering engine events: plain lines (CI, pipes), a listr2 live tree (terminals), the recap, and --json.
import type { CheckRow } from '../verify.js';
import type { EngineEvent, HostRecap, RunResult, TaskEvent, TaskStartEvent } from '../engine/types.js';

export interface OutputOptions { verbose: number; mode: RunResult['mode']; stats: boolean; color: boolean }

/**
 * Colour for output going to `stream`: only when it is a terminal, never with --no-color (`flag` false) or a
 * non-empty NO_COLOR (https://no-color.org).
 */
export function useColor(stream: { isTTY?: boolean }, flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return flag !== false && !env.NO_COLOR && stream.isTTY === true;
}

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

/** `user@address:port (ip) via jump1 > jump2`: how a host was reached (-v). */
function endpointText(p: NonNullable<Extract<EngineEvent, { type: 'host' }>['endpoint']>): string {
  return `${p.user}@${p.address}:${p.port}${p.ip && p.ip !== p.address ? ` (${p.ip})` : ''}${p.jump.length ? ' via ' + p.jump.join(' > ') : ''}`;
}

export function formatEvent(e: EngineEvent, o: OutputOptions): string[] {
  const c = C(o.color);
  if (e.type === 'start') return [c.dim(`  ${e.host.padEnd(12)} ${'running'.padEnd(12)} ${e.task} …`)];
  if (e.type === 'play') return [c.bold(`PLAY ${e.play}`) + c.dim(` [${e.hosts.join(', ') || 'no hosts'}]`)];
  if (e.type === 'host') {
    if (e.status === 'connected') {
      const via = o.verbose ? [c.dim(`  ${e.host.padEnd(12)} connected${e.endpoint ? ' ' + endpointText(e.endpoint) : ''}`)] : [];
      return e.message ? [c.yellow(`  ${e.host.padEnd(12)} ${e.message}`), ...via] : via; // a host key was recorded: always say so
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

/**
 * Plain progress (CI logs, pipes): every event as formatEvent prints it, and a "running" line for a task still
 * running `slowMs` after it started on a host, so that a long task (mkfs) shows while it runs.
 */
export class PlainProgress {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  constructor(private readonly write: (line: string) => void, private readonly o: OutputOptions, private readonly slowMs = 1000) {}

  readonly onEvent = (e: EngineEvent): void => {
    if (e.type === 'start') return this.started(e);
    if (e.type === 'task' || e.type === 'host') this.stop(e.host);
    formatEvent(e, this.o).forEach(this.write);
  };

  private started(e: TaskStartEvent): void {
    this.stop(e.host);
    const t = setTimeout(() => { this.timers.delete(e.host); formatEvent(e, this.o).forEach(this.write); }, this.slowMs);
    t.unref();
    this.timers.set(e.host, t);
  }

  private stop(host: string): void {
    clearTimeout(this.timers.get(host));
    this.timers.delete(host);
  }

  /** No more lines (the run ended). */
  close(): void {
    for (const h of [...this.timers.keys()]) this.stop(h);
  }
}

/** The version of the --json format; raised when a key changes meaning or disappears (new keys may appear). */
export const JSON_FORMAT_VERSION = 1;

/** `changed` — or `would_change` in plan, where nothing changed yet. */
const changedKey = (mode: RunResult['mode']) => (mode === 'plan' ? 'would_change' : 'changed');

function jsonRecap(h: HostRecap, mode: RunResult['mode']) {
  const stats = h.stats && { connections: h.stats.connections, commands: h.stats.commands, busy_ms: h.stats.busyMs, bytes_in: h.stats.bytesIn, bytes_out: h.stats.bytesOut };
  return { host: h.host, ok: h.ok, [changedKey(mode)]: h.changed, failed: h.failed, skipped: h.skipped, unreachable: h.unreachable, warnings: h.warnings, ...(stats ? { stats } : {}) };
}

function jsonEvent(e: EngineEvent, mode: RunResult['mode']) {
  if (e.type !== 'task') return e;
  const { durationMs, ...rest } = e;
  return { ...rest, status: e.status === 'changed' && mode === 'plan' ? 'would_change' : e.status, duration_ms: durationMs };
}

/** The --json document of up, plan, down and run (see README "JSON output"). */
export function jsonResult(r: RunResult) {
  return {
    format_version: JSON_FORMAT_VERSION,
    mode: r.mode,
    ok: exitCodeOf(r) === 0,
    interrupted: r.interrupted,
    wall_ms: r.wallMs,
    [changedKey(r.mode)]: r.hosts.reduce((a, h) => a + h.changed, 0),
    recap: r.hosts.map((h) => jsonRecap(h, r.mode)),
    events: r.events.map((e) => jsonEvent(e, r.mode)),
  };
}

/** The --json document of verify: the same envelope, with the check rows. */
export function jsonVerify(ok: boolean, rows: CheckRow[], run: RunResult) {
  const { events, recap, wall_ms, interrupted } = jsonResult(run);
  return { format_version: JSON_FORMAT_VERSION, mode: 'verify', ok, interrupted, wall_ms, checks: rows, recap, events };
}
