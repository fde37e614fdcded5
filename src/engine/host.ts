// A host for the length of a run: one connection, the run lock held by one long command, facts, probes and applies.
import { hostname } from 'node:os';
import { factsScript, parseFacts, type Facts } from '../facts/facts.js';
import type { HostEntry } from '../inventory/load.js';
import { HELD_SHELL_NEEDS, HeldShell, heldShellServed, killCommand, lockTail } from '../transport/held-shell.js';
import type { ExecResult, HeldCommand, PromptAnswer, Transport } from '../transport/types.js';
import { q } from '../util/shell.js';
import { applyScript, nonce, readRound, scriptForLog } from './script.js';
import type { Action, ProbeResult } from './types.js';

export class LockedError extends Error {
  constructor(readonly host: string, readonly holder: string) {
    super(`${host} is locked by another clusterform run (${holder || 'holder unknown'}); wait for it, or re-run with --wait-lock`);
  }
}

export interface HostSessionOptions {
  becomePassword?: string; // secret
  waitLockSec?: number; // 0 = fail fast
  log?: (line: string) => void; // -vv
  lock?: boolean;
  /** run probes and applies through the held shell (default: the inventory's ssh.held_shell, on) */
  heldShell?: boolean;
}

/** Whether a host's probes and applies go through the held shell (default on): CLUSTERFORM_HELD_SHELL=1/0 overrides the rest. */
export function heldShellWanted(entry: HostEntry, opt: boolean | undefined, env = process.env.CLUSTERFORM_HELD_SHELL): boolean {
  if (env === '1' || env === '0') return env === '1';
  return opt ?? entry.ssh.heldShell ?? true;
}

/**
 * Shell lines that take the run lock on fd 9 in `$d`: a directory only we can write (root: /run/clusterform, else
 * ~/.clusterform), created 0700; refused when it or the lock file is a symlink or belongs to someone else, so that
 * nobody can plant a link for us to follow or hold our lock.
 */
export function lockScript(take: string, owner: string): string[] {
  const refuse = (what: string) => `{ echo "@@CF-LOCKERR ${what}"; exit 4; }`;
  return [
    '__cfu=$(umask); umask 077',
    'if [ "$(id -u)" -eq 0 ]; then d=/run; [ -d "$d" ] || d=/var/run; d="$d/clusterform"; else d="${HOME:-/nonexistent}/.clusterform"; fi',
    '[ -L "$d" ] || [ -d "$d" ] || mkdir -m 0700 "$d" 2>/dev/null',
    `if [ -L "$d" ] || [ ! -d "$d" ] || [ ! -O "$d" ]; then ${refuse('$d is a symlink, missing or not owned by $(id -un): refusing to lock there')}; fi`,
    'chmod 0700 "$d" || exit 4',
    `if [ -L "$d/lock" ] || { [ -e "$d/lock" ] && { [ ! -f "$d/lock" ] || [ ! -O "$d/lock" ]; }; }; then ${refuse('$d/lock is a symlink or not a file owned by $(id -un): refusing to open it')}; fi`,
    `exec 9>>"$d/lock" || ${refuse('cannot open $d/lock')}`,
    `if ! ${take}; then printf '@@CF-LOCKED %s\\n' "$(cat "$d/owner" 2>/dev/null)"; exit 3; fi`,
    `rm -f "$d/owner"; printf '%s\\n' ${q(owner)} > "$d/owner"`,
    'umask "$__cfu"',
  ];
}

/** Lines after lockScript: the round trip stop file's path (in `$d`, named after this shell), said as @@CF-STOP. */
export function stopFileScript(): string[] {
  return ['__cfstop="$d/stop.$$"; rm -f "$__cfstop"', 'echo "@@CF-STOP $__cfstop"'];
}

/** The largest script sent through the held shell. */
const HELD_MAX_SCRIPT = 1024 * 1024;

export class HostSession {
  facts!: Facts;
  private lock: HeldCommand | null = null;
  private shell: HeldShell | null = null;

  constructor(readonly entry: HostEntry, readonly transport: Transport, readonly opts: HostSessionOptions = {}) {}

  get name() { return this.entry.name; }

  /**
   * Wrap a script for the remote login shell, with sudo when the inventory says so. With a password, sudo prompts
   * with a random marker on stderr and the password is sent only in answer to it (never when sudo does not ask:
   * NOPASSWD, a cached timestamp), so it can never become the script's input.
   */
  wrap(script: string): { command: string; answer?: PromptAnswer } {
    if (this.entry.ssh.become !== 'sudo') return { command: `sh -c ${q(script)}` };
    const password = this.opts.becomePassword;
    if (password === undefined) return { command: `sudo -n sh -c ${q(script)}` };
    const prompt = `@@CF-SUDO-${nonce()}@@`;
    const ready = `@@CF-RUNS-${nonce()}`;
    return { command: `sudo -S -p ${q(prompt)} sh -c ${q(`printf '%s\\n' ${q(ready)} >&2\n${script}`)}`, answer: { prompt, answer: password, ready } };
  }

  async run(script: string, timeoutMs?: number): Promise<ExecResult> {
    if (this.opts.log) { const shown = scriptForLog(script); this.opts.log(`[${this.name}] $ ${shown.length > 2000 ? shown.slice(0, 2000) + ' …' : shown}`); }
    // the server reads a request byte by byte (~0.35 µs a byte in dash): a script of megabytes goes by exec instead
    const r = this.held && Buffer.byteLength(script) <= HELD_MAX_SCRIPT ? await this.runHeld(script, timeoutMs) : await this.runExec(script, timeoutMs);
    this.opts.log?.(`[${this.name}] → exit ${r.code}${r.timedOut ? ' (timed out)' : ''}${r.stderr.trim() ? '\n' + r.stderr.trimEnd() : ''}`);
    return r;
  }

  /** A new exec channel for the script. */
  private runExec(script: string, timeoutMs?: number): Promise<ExecResult> {
    // A long script (large file content) would not fit in one argument (Linux: 128 KiB): send it on stdin instead,
    // into a private temp file that is run with stdin closed.
    const big = Buffer.byteLength(script) > 60_000;
    const w = this.wrap(big ? 'umask 077; __cfs=$(mktemp) || exit 1; cat > "$__cfs" || exit 1; sh "$__cfs" </dev/null; __rc=$?; rm -f "$__cfs"; exit $__rc' : script);
    return this.transport.exec(w.command, { stdin: big ? script : undefined, answer: w.answer, timeoutMs });
  }

  /** A message to the held shell; a shell that has ended (a script killed it) is opened again first, lock and all. */
  private async runHeld(script: string, timeoutMs?: number): Promise<ExecResult> {
    if (!this.shell?.alive) await this.reopen();
    const what = scriptForLog(script).split('\n').find((l) => l.trim())?.trim().slice(0, 120) ?? 'an empty script';
    return this.shell!.run(script, JSON.stringify(what), { timeoutMs: timeoutMs ?? this.entry.ssh.commandTimeoutMs });
  }

  /** The held shell was wanted but the host lacks what it needs (HELD_SHELL_NEEDS): exec channels for this run. */
  private heldUnavailable = false;

  private get held(): boolean { return !this.heldUnavailable && heldShellWanted(this.entry, this.opts.heldShell); }

  /** Connect, take the run lock and read the facts, all in one command that stays open for the run. */
  async open(): Promise<void> {
    await this.transport.connect();
    this.facts = parseFacts(await this.takeLock());
  }

  /** After the held shell ended: end what is left of it and take the lock again (the facts stay those of the start). */
  private async reopen(): Promise<void> {
    try { await this.lock?.end(); } catch { /* gone already */ }
    this.lock = null;
    this.shell = null;
    await this.takeLock();
  }

  /** Start the lock command; the facts it printed. With the held shell, the same command then serves requests. */
  private async takeLock(): Promise<string> {
    const owner = `${hostname()} pid ${process.pid} since ${new Date().toISOString()}`;
    const wait = this.opts.waitLockSec ?? 0;
    const take = this.opts.lock === false ? 'true' : wait > 0 ? `flock -w ${Math.floor(wait)} 9` : 'flock -n 9';
    const held = this.held;
    const script = [
      ...lockScript(take, owner),
      ...stopFileScript(),
      factsScript(),
      lockTail(held),
      'rm -f "$d/owner" "$__cfstop"',
    ].join('\n');
    const w = this.wrap(script);
    const lock = await this.transport.hold(w.command, { answer: w.answer });
    let out: string;
    try {
      out = await lock.until('@@CF-READY', (wait + 30) * 1000);
    } catch (e: any) {
      const text: string = e.output ?? e.message ?? '';
      const m = /@@CF-LOCKED (.*)/.exec(text);
      if (m) throw new LockedError(this.name, m[1]!.trim());
      throw new Error(`cannot start the run on ${this.name}: ${text.trim().split('\n').slice(-3).join(' ')}`);
    }
    this.lock = lock;
    this.stopPath = /^@@CF-STOP (\/.+)$/m.exec(out)?.[1];
    if (held && !heldShellServed(out)) {
      this.heldUnavailable = true;
      this.opts.log?.(`[${this.name}] no held shell here (it needs ${HELD_SHELL_NEEDS.join(', ')}): a channel per request`);
    }
    if (this.held) this.shell = new HeldShell(lock, (pid) => this.kill(pid), this.name);
    return out;
  }

  /**
   * The file whose existence stops a round trip of batched tasks before the next task (batch.ts): made by stopBatch,
   * removed when the run lock is let go. Per lock command (`$d/stop.<its pid>`); unknown before the lock is taken.
   */
  stopPath: string | undefined;

  /** Make the stop file, over a new channel (the held shell is busy with the round trip); best effort. */
  async stopBatch(): Promise<void> {
    if (!this.stopPath) return;
    try { await this.aside(`: > ${q(this.stopPath)}`); } catch { /* the round trip ends anyway */ }
  }

  /** Kill a held-shell request's process group, over a new channel (the held shell is busy waiting for it). */
  private kill(pid: number): Promise<ExecResult> {
    return this.aside(killCommand(pid));
  }

  /** A short command beside the busy held shell: a new exec channel, as root when the run is. */
  private aside(script: string): Promise<ExecResult> {
    const w = this.wrap(script);
    return this.transport.exec(w.command, { answer: w.answer, timeoutMs: 30_000 });
  }

  async probe(sections: [string, string][]): Promise<ProbeResult> {
    if (sections.length === 0) return {};
    const read = readRound(sections);
    const r = await this.run(read.script);
    if (r.timedOut) throw new Error('reading the host state timed out');
    const res = read.parse(r.stdout);
    for (const [name] of sections) if (!res[name]) throw new Error(`reading the host state failed (exit ${r.code}): ${r.stderr.trim().slice(-500)}`);
    return res;
  }

  /** Apply actions; when they all succeed, read `after` (the following tasks' state) in the same round trip. */
  async apply(actions: Action[], timeoutMs?: number, after: [string, string][] = []): Promise<ExecResult & { failedStep?: number; probe?: ProbeResult }> {
    const read = readRound(after);
    const script = after.length ? `${applyScript(actions)}\nset +u\n${read.script}` : applyScript(actions);
    const r = await this.run(script, timeoutMs);
    const m = /@@CF-FAILED-STEP (\d+) (\d+)/.exec(r.stderr);
    let probe: ProbeResult | undefined;
    if (after.length && r.code === 0) {
      probe = read.parse(r.stdout);
      if (after.some(([name]) => !probe![name])) probe = undefined; // incomplete: read again later
    }
    return { ...r, stderr: r.stderr.replace(/@@CF-FAILED-STEP \d+ \d+\n?/, ''), failedStep: m ? Number(m[1]) : undefined, probe };
  }

  async close(): Promise<void> {
    try { await this.lock?.end(); } catch { /* connection may be gone */ }
    this.lock = null;
    this.shell = null;
    await this.transport.close();
  }
}
