// The held shell: one long-lived remote shell per host (the one that holds the run lock) runs every probe and apply
// as a message, instead of a new SSH channel (and a new login shell, and sudo again) per round trip.
//
// Request (one line, controller → host): `@@CF-REQ <id> <base64 script or -> <base64 stdin or ->`. The server reads
// it with `read -r`, which reads a pipe byte by byte, so it never swallows the next request.
// Answer (host → controller): `@@CF-PID <id> <pid>` as soon as the script runs (its process group, for a timeout's
// kill), then `@@CF-ANS <id> <exit code> <stdout bytes> <stderr bytes>`, a line of base64 stdout, a line of base64
// stderr. Everything the host sends is ASCII, so binary output survives any decoding of the channel.
import { TransportError, type ExecResult } from './types.js';

/**
 * The server loop, POSIX sh (dash, bash, busybox sh): each script runs as its own process group (`setsid`, when the
 * host has it) in a private temp dir, with the run lock's fd 9 closed (a daemon it starts must not keep our lock),
 * stdin from the request, stdout and stderr to files that are sent base64-encoded once it ends.
 */
export const HELD_SHELL_SERVER = [
  '__cfw=$(mktemp -d) || exit 1',
  'set -f',
  '__cfsid=; command -v setsid >/dev/null 2>&1 && __cfsid=setsid',
  "if printf x | base64 -w0 >/dev/null 2>&1; then __cfenc() { base64 -w0 < \"$1\"; }; else __cfenc() { base64 < \"$1\" | tr -d '\\n'; }; fi",
  'while read -r __cfm __cfid __cfs __cfi __cfx; do',
  '  [ "$__cfm" = @@CF-REQ ] || continue',
  '  if [ "$__cfs" = - ]; then : > "$__cfw/s"; else printf %s "$__cfs" | base64 -d > "$__cfw/s"; fi',
  '  if [ "$__cfi" = - ]; then : > "$__cfw/i"; else printf %s "$__cfi" | base64 -d > "$__cfw/i"; fi',
  '  $__cfsid sh "$__cfw/s" < "$__cfw/i" > "$__cfw/o" 2> "$__cfw/e" 9>&- &',
  '  __cfp=$!',
  '  echo "@@CF-PID $__cfid $__cfp"',
  '  wait "$__cfp"; __cfrc=$?',
  '  echo "@@CF-ANS $__cfid $__cfrc $(($(wc -c < "$__cfw/o"))) $(($(wc -c < "$__cfw/e")))"',
  '  __cfenc "$__cfw/o"; echo',
  '  __cfenc "$__cfw/e"; echo',
  'done',
  'rm -rf "$__cfw"',
].join('\n');

/** What the held shell needs on the host besides a POSIX sh (coreutils or busybox). */
export const HELD_SHELL_NEEDS = ['base64', 'mktemp', 'wc'];

/**
 * The lock command's lines after the facts. Without the held shell: READY, then wait for the end of the run. With it:
 * `@@CF-HELD 1` when the host has what the server needs (then READY and the server), `@@CF-HELD 0` when it lacks one
 * (then READY and a plain wait: the run falls back to an exec channel per request on this host).
 */
export function lockTail(held: boolean): string {
  if (!held) return 'echo @@CF-READY\ncat >/dev/null';
  return [
    `__cfheld=1; for __cft in ${HELD_SHELL_NEEDS.join(' ')}; do command -v "$__cft" >/dev/null 2>&1 || __cfheld=0; done`,
    'echo "@@CF-HELD $__cfheld"',
    'echo @@CF-READY',
    'if [ "$__cfheld" = 1 ]; then',
    HELD_SHELL_SERVER,
    'else cat >/dev/null; fi',
  ].join('\n');
}

/** Whether the lock command's output (up to READY) says the host serves the held shell. */
export const heldShellServed = (out: string): boolean => /^@@CF-HELD 1$/m.test(out);

/** The command that kills request `pid`'s process group (or the process alone, on a host without setsid). */
export const killCommand = (pid: number) => `kill -KILL -${pid} 2>/dev/null || kill -KILL ${pid}`; // dash: no `--`

const b64 = (s: string | Buffer) => (s.length === 0 ? '-' : Buffer.from(s).toString('base64'));

export function encodeRequest(id: number, script: string, stdin?: string | Buffer): string {
  return `@@CF-REQ ${id} ${b64(script)} ${stdin === undefined ? '-' : b64(stdin)}\n`;
}

export type HeldEvent =
  | { kind: 'pid'; id: number; pid: number }
  | { kind: 'answer'; id: number; code: number; stdout: Buffer; stderr: Buffer };

/** Splits the host's stream into events; a chunk may end anywhere, and one chunk may hold several answers. */
export class AnswerParser {
  private parts: string[] = [];
  private pending: { id: number; code: number; outBytes: number; errBytes: number; stdout?: Buffer } | null = null;

  push(chunk: string): HeldEvent[] {
    const events: HeldEvent[] = [];
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      this.parts.push(chunk.slice(start, nl));
      const line = this.parts.join('');
      this.parts = [];
      start = nl + 1;
      const e = this.line(line);
      if (e) events.push(e);
    }
    if (start < chunk.length) this.parts.push(chunk.slice(start));
    return events;
  }

  private line(line: string): HeldEvent | null {
    const p = this.pending;
    if (p) return this.body(p, line);
    let m = /^@@CF-PID (\d+) (\d+)$/.exec(line);
    if (m) return { kind: 'pid', id: Number(m[1]), pid: Number(m[2]) };
    m = /^@@CF-ANS (\d+) (\d+) (\d+) (\d+)$/.exec(line);
    if (!m) throw new Error(`the held shell sent something unexpected: ${JSON.stringify(line.slice(0, 200))}`);
    this.pending = { id: Number(m[1]), code: Number(m[2]), outBytes: Number(m[3]), errBytes: Number(m[4]) };
    return null;
  }

  private body(p: NonNullable<AnswerParser['pending']>, line: string): HeldEvent | null {
    const data = decode(line, p.stdout ? p.errBytes : p.outBytes);
    if (!p.stdout) { p.stdout = data; return null; }
    this.pending = null;
    return { kind: 'answer', id: p.id, code: p.code, stdout: p.stdout, stderr: data };
  }
}

function decode(line: string, bytes: number): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(line) || line.length !== 4 * Math.ceil(bytes / 3)) {
    throw new Error(`the held shell sent a damaged answer (${line.length} base64 characters for ${bytes} bytes)`);
  }
  return Buffer.from(line, 'base64');
}

/** The controller's end of the held command: what it writes, and the host's stdout from the READY marker on. */
export interface ShellPipe {
  write(data: string): void;
  /** `onData` gets every later stdout chunk (and what followed the marker); `onEnd` once the command is gone */
  attach(onData: (chunk: string) => void, onEnd: (err?: Error) => void): void;
}

export interface HeldRequest { stdin?: string | Buffer; timeoutMs: number }
export interface RawAnswer { code: number | null; stdout: Buffer; stderr: Buffer; timedOut: boolean; durationMs: number }

interface InFlight { id: number; what: string; pid?: number; timedOut: boolean; resolve: (a: RawAnswer) => void; reject: (e: Error) => void; started: number }

/** How long to wait for the answer after killing a request that timed out, before giving the shell up. */
const KILL_GRACE_MS = 10_000;

/**
 * One request at a time (the engine runs one task at a time per host; a queue keeps it so). When the shell ends, the
 * request in flight fails and so does every later one: the caller opens a new shell.
 */
export class HeldShell {
  private parser = new AnswerParser();
  private nextId = 1;
  private current: InFlight | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private ended: Error | null = null;

  constructor(private readonly pipe: ShellPipe, private readonly kill: (pid: number) => Promise<unknown>, private readonly host = 'the host') {
    pipe.attach((chunk) => this.onData(chunk), (err) => this.onEnd(err));
  }

  get alive(): boolean { return !this.ended; }

  /** Run `script` (`what` names it in errors); the raw bytes it printed. */
  request(script: string, what: string, o: HeldRequest): Promise<RawAnswer> {
    const run = this.queue.then(() => this.send(script, what, o));
    this.queue = run.catch(() => {});
    return run;
  }

  /** As `request`, with the output decoded as SSH exec does (UTF-8). */
  async run(script: string, what: string, o: HeldRequest): Promise<ExecResult> {
    const a = await this.request(script, what, o);
    return { stdout: a.stdout.toString('utf8'), stderr: a.stderr.toString('utf8'), code: a.code, timedOut: a.timedOut, durationMs: a.durationMs };
  }

  private send(script: string, what: string, o: HeldRequest): Promise<RawAnswer> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<RawAnswer>((resolve, reject) => {
      const f: InFlight = { id: this.nextId++, what, timedOut: false, resolve, reject, started: Date.now() };
      let timer: NodeJS.Timeout | undefined;
      const done = () => { clearTimeout(timer); this.current = null; };
      f.resolve = (a) => { done(); resolve(a); };
      f.reject = (e) => { done(); reject(e); };
      this.current = f;
      timer = setTimeout(() => this.timeOut(f), o.timeoutMs);
      this.pipe.write(encodeRequest(f.id, script, o.stdin));
    });
  }

  private timeOut(f: InFlight) {
    f.timedOut = true;
    const giveUp = setTimeout(() => this.onEnd(new Error(`${this.host}: the held shell did not answer after killing a request that timed out`)), KILL_GRACE_MS);
    giveUp.unref?.();
    const clear = () => clearTimeout(giveUp);
    const { resolve, reject } = f;
    f.resolve = (a) => { clear(); resolve(a); };
    f.reject = (e) => { clear(); reject(e); };
    if (f.pid === undefined) return this.onEnd(new Error(`${this.host}: the held shell did not start a request within its time`));
    this.kill(f.pid).catch(() => {});
  }

  private onData(chunk: string) {
    let events: HeldEvent[];
    try { events = this.parser.push(chunk); } catch (e) { return this.onEnd(e as Error); }
    for (const e of events) {
      const f = this.current;
      if (!f || e.id !== f.id) return this.onEnd(new Error(`${this.host}: the held shell answered request ${e.id}, not the one in flight`));
      if (e.kind === 'pid') { f.pid = e.pid; continue; }
      const durationMs = Date.now() - f.started;
      f.resolve({ code: f.timedOut ? null : e.code, stdout: e.stdout, stderr: e.stderr, timedOut: f.timedOut, durationMs });
    }
  }

  private onEnd(err?: Error) {
    if (this.ended) return;
    const f = this.current;
    this.ended = err instanceof TransportError ? err : new TransportError(`${this.host}: the remote shell ended${f ? ` while running ${f.what}` : ''}${err ? `: ${err.message}` : ''}`, 'other');
    if (!f) return;
    if (f.timedOut) return f.resolve({ code: null, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), timedOut: true, durationMs: Date.now() - f.started });
    f.reject(this.ended);
  }
}
