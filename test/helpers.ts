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
