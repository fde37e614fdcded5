// Test helpers: run the real CLI, run ssh against lab hosts.
import { spawnSync, spawn } from 'node:child_process';
import { resolve, dirname } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = resolve(ROOT, 'bin/clusterform.js');
export const isRoot = process.getuid?.() === 0;

export interface CliResult { code: number; stdout: string; stderr: string; ms: number }

export function cli(args: string[], opts: { env?: Record<string, string>; timeout?: number; input?: string } = {}): CliResult {
  const t = Date.now();
  const r = spawnSync('node', [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', ...(opts.env ?? {}) }, timeout: opts.timeout ?? 300_000, input: opts.input ?? '' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t };
}

export function cliAsync(args: string[], opts: { env?: Record<string, string> } = {}) {
  const child = spawn('node', [CLI, ...args], { env: { ...process.env, CI: 'true', ...(opts.env ?? {}) } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((res) => child.on('close', (code) => res({ code: code ?? -1, stdout, stderr, ms: 0 })));
  return { child, done };
}

export function cliJson(args: string[], opts: { env?: Record<string, string> } = {}) {
  const r = cli([...args, '--json'], opts);
  let json: any = null;
  try { json = JSON.parse(r.stdout); } catch { /* keep null */ }
  return { ...r, json };
}

/** ssh into a lab host of an inventory using the lab's own key and known_hosts. */
export function sshFor(inventory: string) {
  const inv = parse(readFileSync(inventory, 'utf8'));
  const dir = dirname(inventory);
  const key = resolve(dir, inv.ssh.private_key);
  const kh = resolve(dir, inv.ssh.known_hosts);
  return (host: string, command: string, input?: string) => {
    const addr = inv.hosts[host].address;
    const r = spawnSync('ssh', ['-i', key, '-o', `UserKnownHostsFile=${kh}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', `root@${addr}`, command], { encoding: 'utf8', input: input ?? '', timeout: 120_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
}

/** `plan ARGS --json`: the tasks that would change something, as `host task: summaries` (empty = 0 changes). */
export function planChanges(args: string[], opts: { env?: Record<string, string> } = {}): string[] {
  const p = cliJson(['plan', ...args], opts);
  if (p.json === null) throw new Error(`plan printed no JSON: ${p.stderr.slice(-2000)}`);
  return p.json.events.filter((e: any) => e.type === 'task' && e.status === 'would_change').map((e: any) => `${e.host} ${e.task}: ${e.changes.map((c: any) => c.summary).join('; ')}`);
}

/** A lab test file's own lab, brought up from nothing (a leftover of an earlier run is taken down first). */
export function freshLab(inventory: string, label: string, timeoutMs = 900_000): void {
  cli(['lab', 'down', inventory]);
  const t = Date.now();
  const up = cli(['lab', 'up', inventory], { timeout: timeoutMs });
  console.log(`${label}: lab up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  if (up.code !== 0) throw new Error(`lab up ${inventory} failed (exit ${up.code}):\n${up.stderr}${up.stdout}`);
}
