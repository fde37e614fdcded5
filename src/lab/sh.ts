// Small local command runner used by the lab code (never runs anything remote).
import { spawn } from 'node:child_process';

export interface RunResult { code: number; stdout: string; stderr: string }
export interface RunOpts { input?: string | Buffer; allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }

export class CommandError extends Error {
  constructor(public cmd: string, public result: RunResult) {
    super(`command failed (exit ${result.code}): ${cmd}\n${result.stderr.trim()}`);
  }
}

/** Run a command (no shell) and collect its output. Throws CommandError on non-zero exit unless allowFail. */
export function run(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      const r = { code: 127, stdout, stderr: stderr + String(e) };
      if (opts.allowFail) resolve(r);
      else reject(new CommandError([cmd, ...args].join(' '), r));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const r = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (r.code !== 0 && !opts.allowFail) reject(new CommandError([cmd, ...args].join(' '), r));
      else resolve(r);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Run a POSIX shell script. */
export function sh(script: string, opts: RunOpts = {}): Promise<RunResult> {
  return run('/bin/sh', ['-c', script], opts);
}

/** Single-quote a string for /bin/sh. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Map over items with bounded concurrency; rejects with the first error after all started work settles. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let firstErr: unknown;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        if (firstErr === undefined) firstErr = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstErr !== undefined) throw firstErr;
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
