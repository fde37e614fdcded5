// Rendering engine events: plain lines (CI, pipes), a listr2 live tree (terminals), the recap, and --json.
import type { CheckRow } from '../verify.js';
import type { EngineEvent, HostRecap, RunResult, TaskEvent, TaskStartEvent, TaskStatus } from '../engine/types.js';
import { profileOf, slowestTasks, type HostTaskTime, type RunProfile, type TaskProfile } from '../engine/profile.js';

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
  if (o.stats) lines.push(...formatProfile(profileOf(r), o));
  return lines;
}

/** How many tasks the --stats table shows. */
export const SLOWEST_SHOWN = 10;

/** `s`, cut to `n` characters with an ellipsis. */
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

/** Rows as aligned columns two spaces apart: 'r' columns right-aligned, 'l' ones left-aligned. */
function alignColumns(rows: string[][], align: string): string[] {
  const widths = [...align].map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => (align[col] === 'r' ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!))).join('  ').trimEnd());
}

const PROFILE_HEAD = ['task', 'play', 'hosts', 'total ms', 'max ms', 'on', 'read ms', 'apply ms', 'wait ms'];

function profileRow(t: TaskProfile): string[] {
  const n = (v: number) => String(v);
  return [clip(t.task, 48), clip(t.play, 24), n(t.hosts.length), n(t.totalMs), n(t.maxMs), t.maxHost, n(t.readMs), n(t.applyMs), n(t.waitMs)];
}

/**
 * --stats: the slowest tasks by their slowest host, with the run's wall time. total, read, apply and wait are sums
 * over the task's hosts; max is its slowest host ("on").
 */
export function formatProfile(p: RunProfile, o: Pick<OutputOptions, 'color'>, top = SLOWEST_SHOWN): string[] {
  const c = C(o.color);
  const shown = slowestTasks(p, top);
  const title = `SLOWEST TASKS — ${shown.length} of ${p.tasks.length} by the slowest host; run ${(p.wallMs / 1000).toFixed(2)} s`;
  if (shown.length === 0) return ['', c.bold(title)];
  const [head, ...rows] = alignColumns([PROFILE_HEAD, ...shown.map(profileRow)], 'llrrrlrrr');
  return ['', c.bold(title), c.dim(`  ${head}`), ...rows.map((r) => `  ${r}`)];
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

/** A task status as --json says it: `would_change` in plan. */
const jsonStatus = (s: TaskStatus, mode: RunResult['mode']) => (s === 'changed' && mode === 'plan' ? 'would_change' : s);

function jsonEvent(e: EngineEvent, mode: RunResult['mode']) {
  if (e.type !== 'task') return e;
  const { durationMs, timing, ...rest } = e;
  return { ...rest, status: jsonStatus(e.status, mode), duration_ms: durationMs };
}

function jsonHostTime(h: HostTaskTime, mode: RunResult['mode']) {
  return { host: h.host, status: jsonStatus(h.status, mode), total_ms: h.totalMs, read_ms: h.readMs, apply_ms: h.applyMs, wait_ms: h.waitMs };
}

function jsonTaskProfile(t: TaskProfile, mode: RunResult['mode']) {
  return {
    play: t.play, task: t.task, module: t.module,
    total_ms: t.totalMs, max_ms: t.maxMs, max_host: t.maxHost, read_ms: t.readMs, apply_ms: t.applyMs, wait_ms: t.waitMs,
    hosts: t.hosts.map((h) => jsonHostTime(h, mode)),
  };
}

/** --json --stats: every task on every host (see README "JSON output"). */
export function jsonProfile(r: RunResult) {
  const p = profileOf(r);
  return { wall_ms: p.wallMs, tasks: p.tasks.map((t) => jsonTaskProfile(t, r.mode)) };
}

/** What the --json document carries besides the run: the time profile with --stats. */
export interface JsonOptions { profile?: boolean }

/** The --json document of up, plan, down and run (see README "JSON output"). */
export function jsonResult(r: RunResult, o: JsonOptions = {}) {
  return {
    format_version: JSON_FORMAT_VERSION,
    mode: r.mode,
    ok: exitCodeOf(r) === 0,
    interrupted: r.interrupted,
    wall_ms: r.wallMs,
    [changedKey(r.mode)]: r.hosts.reduce((a, h) => a + h.changed, 0),
    recap: r.hosts.map((h) => jsonRecap(h, r.mode)),
    events: r.events.map((e) => jsonEvent(e, r.mode)),
    ...(o.profile ? { profile: jsonProfile(r) } : {}),
  };
}

/** The --json document of verify: the same envelope, with the check rows. */
export function jsonVerify(ok: boolean, rows: CheckRow[], run: RunResult, o: JsonOptions = {}) {
  const { events, recap, wall_ms, interrupted } = jsonResult(run);
  return { format_version: JSON_FORMAT_VERSION, mode: 'verify', ok, interrupted, wall_ms, checks: rows, recap, events, ...(o.profile ? { profile: jsonProfile(run) } : {}) };
}
