// A host for the length of a run: one connection, the run lock held by one long command, facts, probes and applies.
import { hostname } from 'node:os';
import { factsScript, parseFacts, type Facts } from '../facts/facts.js';
import type { HostEntry } from '../inventory/load.js';
import type { ExecResult, HeldCommand, Transport } from '../transport/types.js';
import { q } from '../util/shell.js';
import { applyScript, nonce, parseProbe, probeScript } from './script.js';
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
}

export class HostSession {
  facts!: Facts;
  private lock: HeldCommand | null = null;

  constructor(readonly entry: HostEntry, readonly transport: Transport, readonly opts: HostSessionOptions = {}) {}

  get name() { return this.entry.name; }

  /** Wrap a script for the remote login shell, with sudo when the inventory says so. */
  wrap(script: string): { command: string; stdinPrefix: string } {
    if (this.entry.ssh.become === 'sudo') {
      // two spare empty lines: a wrong password then fails sudo's three tries at once instead of waiting for more input
      if (this.opts.becomePassword !== undefined) return { command: `sudo -S -p '' sh -c ${q(script)}`, stdinPrefix: this.opts.becomePassword + '\n\n\n' };
      return { command: `sudo -n sh -c ${q(script)}`, stdinPrefix: '' };
    }
    return { command: `sh -c ${q(script)}`, stdinPrefix: '' };
  }

  async run(script: string, timeoutMs?: number): Promise<ExecResult> {
    // A long script (large file content) would not fit in one argument (Linux: 128 KiB): send it on stdin instead,
    // into a private temp file that is run with stdin closed.
    const big = Buffer.byteLength(script) > 60_000;
    const w = this.wrap(big ? 'umask 077; __cfs=$(mktemp) || exit 1; cat > "$__cfs" || exit 1; sh "$__cfs" </dev/null; __rc=$?; rm -f "$__cfs"; exit $__rc' : script);
    if (big) w.stdinPrefix += script;
    this.opts.log?.(`[${this.name}] $ ${script.length > 2000 ? script.slice(0, 2000) + ' …' : script}`);
    const r = await this.transport.exec(w.command, { stdin: w.stdinPrefix || undefined, timeoutMs });
    this.opts.log?.(`[${this.name}] → exit ${r.code}${r.timedOut ? ' (timed out)' : ''}${r.stderr.trim() ? '\n' + r.stderr.trimEnd() : ''}`);
    return r;
  }

  /** Connect, take the run lock and read the facts, all in one command that stays open for the run. */
  async open(): Promise<void> {
    await this.transport.connect();
    const owner = `${hostname()} pid ${process.pid} since ${new Date().toISOString()}`;
    const wait = this.opts.waitLockSec ?? 0;
    const take = this.opts.lock === false ? 'true' : wait > 0 ? `flock -w ${Math.floor(wait)} 9` : 'flock -n 9';
    const script = [
      'd=/run/lock; [ -d "$d" ] || d=/var/lock; [ -d "$d" ] || mkdir -p "$d"',
      'exec 9>>"$d/clusterform.lock" || { echo "@@CF-LOCKERR cannot open $d/clusterform.lock"; exit 4; }',
      `if ! ${take}; then printf '@@CF-LOCKED %s\\n' "$(cat "$d/clusterform.owner" 2>/dev/null)"; exit 3; fi`,
      `printf '%s\\n' ${q(owner)} > "$d/clusterform.owner"`,
      factsScript(),
      'echo @@CF-READY',
      'cat >/dev/null',
      'rm -f "$d/clusterform.owner"',
    ].join('\n');
    const w = this.wrap(script);
    this.lock = await this.transport.hold(w.command);
    let out: string;
    try {
      if (w.stdinPrefix) this.lock.write(w.stdinPrefix);
      out = await this.lock.until('@@CF-READY', (wait + 30) * 1000);
    } catch (e: any) {
      const text: string = e.output ?? e.message ?? '';
      const m = /@@CF-LOCKED (.*)/.exec(text);
      this.lock = null;
      if (m) throw new LockedError(this.name, m[1]!.trim());
      throw new Error(`cannot start the run on ${this.name}: ${text.trim().split('\n').slice(-3).join(' ')}`);
    }
    this.facts = parseFacts(out);
  }

  async probe(sections: [string, string][]): Promise<ProbeResult> {
    if (sections.length === 0) return {};
    const n = nonce();
    const r = await this.run(probeScript(sections, n));
    if (r.timedOut) throw new Error('reading the host state timed out');
    const res = parseProbe(r.stdout, n);
    for (const [name] of sections) if (!res[name]) throw new Error(`reading the host state failed (exit ${r.code}): ${r.stderr.trim().slice(-500)}`);
    return res;
  }

  /** Apply actions; when they all succeed, read `after` (the following tasks' state) in the same round trip. */
  async apply(actions: Action[], timeoutMs?: number, after: [string, string][] = []): Promise<ExecResult & { failedStep?: number; probe?: ProbeResult }> {
    const n = nonce();
    const script = after.length ? `${applyScript(actions)}\nset +u\n${probeScript(after, n)}` : applyScript(actions);
    const r = await this.run(script, timeoutMs);
    const m = /@@CF-FAILED-STEP (\d+) (\d+)/.exec(r.stderr);
    let probe: ProbeResult | undefined;
    if (after.length && r.code === 0) {
      probe = parseProbe(r.stdout, n);
      if (after.some(([name]) => !probe![name])) probe = undefined; // incomplete: read again later
    }
    return { ...r, stderr: r.stderr.replace(/@@CF-FAILED-STEP \d+ \d+\n?/, ''), failedStep: m ? Number(m[1]) : undefined, probe };
  }

  async close(): Promise<void> {
    try { await this.lock?.end(); } catch { /* connection may be gone */ }
    this.lock = null;
    await this.transport.close();
  }
}
