// The lab's package source: a local Debian repository of the packages a cluster needs (downloaded once on the
// controller with their dependencies into <vmCacheDir>/debian/repo, indexed with dpkg-scanpackages), served over HTTP
// on the lab network by a process the lab starts (lab up) and stops (lab down). It is the only apt source of the
// Debian-image VMs, which reach nothing outside the lab.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { connect } from 'node:net';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { run, sleep } from './sh.js';
import type { LabConfig, LabHost } from './types.js';

/** Packages every lab repository holds (with their dependencies); an inventory adds more with `lab.packages`. */
export const LAB_PACKAGES = ['ipvsadm', 'keepalived', 'nfs-kernel-server', 'fdisk', 'nftables'];
export const REPO_PORT = 8780;
const pidFile = (cfg: LabConfig, net: string) => path.join(cfg.stateDir, `repo-http-${net}.pid`);

export const repoDir = (cfg: LabConfig) => path.join(cfg.vmCacheDir, 'debian', 'repo');
const manifestPath = (dir: string) => path.join(dir, 'repo.json');

/** The apt source line of a lab VM: the lab's repository on the controller's address of the VM's first network (pure). */
export function aptSourceFor(cfg: LabConfig, h: LabHost): string {
  const net = cfg.networks.find((n) => n.name === h.nics[0]!.network)!;
  return `deb [trusted=yes] http://${net.controller}:${REPO_PORT}/ ./`;
}

/** Package names of `apt-cache depends --recurse` output: real packages only, not <virtual> ones (pure). */
export function parseDependsClosure(out: string): string[] {
  return [...new Set(out.split('\n').filter((l) => /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$/.test(l)).map((l) => l.replace(/:.*$/, '')))].sort();
}

/** Package name of a downloaded .deb file name (name_version_arch.deb) (pure). */
export const debPackageName = (file: string) => file.split('_')[0]!;

/** A Release file for a flat repository holding these index files (apt wants one; the source is [trusted=yes]) (pure). */
export function releaseFile(files: { name: string; content: Buffer }[], date: Date): string {
  const sums = files.map((f) => ` ${createHash('sha256').update(f.content).digest('hex')} ${f.content.length} ${f.name}`);
  return `Origin: clusterform-lab\nLabel: clusterform-lab\nSuite: lab\nCodename: lab\nDate: ${date.toUTCString()}\nArchitectures: amd64 all\nSHA256:\n${sums.join('\n')}\n`;
}

async function dependencyClosure(pkgs: string[]): Promise<string[]> {
  const r = await run('apt-cache', ['depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...pkgs]);
  return parseDependsClosure(r.stdout);
}

/** The repository holds the wanted packages when its manifest (written last) lists them all. */
function repoComplete(dir: string, want: string[]): boolean {
  try {
    const m = JSON.parse(fs.readFileSync(manifestPath(dir), 'utf8')) as { packages?: string[] };
    return want.every((p) => m.packages?.includes(p)) && fs.existsSync(path.join(dir, 'Packages.gz'));
  } catch {
    return false;
  }
}

/** Downloads (once) the packages and their dependencies into the cache and indexes them. */
export async function ensureRepo(cfg: LabConfig, log: (s: string) => void): Promise<string> {
  const dir = repoDir(cfg);
  const want = [...new Set([...LAB_PACKAGES, ...cfg.packages])].sort();
  if (repoComplete(dir, want)) return dir;
  const t0 = Date.now();
  await fsp.mkdir(dir, { recursive: true });
  await fsp.rm(manifestPath(dir), { force: true });
  let closure = await dependencyClosure(want).catch(async () => {
    log('lab: apt-get update (a lab package is unknown to apt)');
    await run('apt-get', ['update', '-qq']);
    return dependencyClosure(want);
  });
  const have = new Set((await fsp.readdir(dir)).filter((f) => f.endsWith('.deb')).map(debPackageName));
  closure = closure.filter((p) => !have.has(p));
  if (closure.length) {
    log(`lab: downloading ${closure.length} packages for the lab's package source into ${dir}`);
    await run('apt-get', ['download', '-q', ...closure], { cwd: dir, timeoutMs: 30 * 60_000 });
  }
  const packages = (await run('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: dir })).stdout;
  const index = [{ name: 'Packages', content: Buffer.from(packages) }, { name: 'Packages.gz', content: gzipSync(packages) }];
  for (const f of index) await fsp.writeFile(path.join(dir, f.name), f.content);
  await fsp.writeFile(path.join(dir, 'Release'), releaseFile(index, new Date()));
  await fsp.writeFile(manifestPath(dir), JSON.stringify({ packages: want, builtAt: new Date().toISOString() }, null, 2) + '\n');
  log(`lab: package source ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${want.join(', ')} and their dependencies)`);
  return dir;
}

function serverPid(cfg: LabConfig, net: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(cfg, net), 'utf8').trim());
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const zombie = /^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
    return cmd.includes('http.server') && cmd.includes(repoDir(cfg)) && !zombie ? pid : undefined;
  } catch {
    return undefined;
  }
}

function listening(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port, timeout: 500 });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

/** The last lines of a log file, for an error message (the lab's state dir may be gone when it is read). */
function logTail(file: string): string {
  try { return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ') || '(empty log)'; } catch { return '(no log)'; }
}

/** Starts the repository's HTTP servers, one on each lab network's controller address (restarted by lab up when dead). */
export async function ensureRepoServers(cfg: LabConfig, log: (s: string) => void): Promise<void> {
  for (const n of cfg.networks) await ensureRepoServer(cfg, n.name, n.controller, log);
}

/** One server bound to the controller's address on one network (not 0.0.0.0: that would face this machine's other networks). */
async function ensureRepoServer(cfg: LabConfig, net: string, addr: string, log: (s: string) => void): Promise<void> {
  if (serverPid(cfg, net) !== undefined) return;
  const dir = repoDir(cfg);
  const logFile = path.join(cfg.stateDir, `repo-http-${net}.log`);
  const logFd = fs.openSync(logFile, 'a');
  const p = spawn('python3', ['-m', 'http.server', String(REPO_PORT), '--bind', addr, '--directory', dir], { detached: true, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  // whether it died is the child's exit, not its /proc cmdline: right after spawn that can still be node's own
  let exited: string | undefined;
  p.once('exit', (code, sig) => { exited = `exited (${sig ?? `code ${code}`})`; });
  p.unref();
  await fsp.writeFile(pidFile(cfg, net), `${p.pid}\n`);
  const t0 = Date.now();
  while (!(await listening(addr, REPO_PORT))) {
    const why = exited ?? (Date.now() - t0 > 10_000 ? 'is not listening after 10 s' : undefined);
    if (why) throw new Error(`lab: the package source's HTTP server on ${addr}:${REPO_PORT} ${why}: ${logTail(logFile)}`);
    await sleep(100);
  }
  log(`lab: package source served on http://${addr}:${REPO_PORT}/ (network ${net})`);
}

/** Stops the repository's HTTP servers (lab down). */
export async function stopRepoServers(cfg: LabConfig): Promise<void> {
  for (const n of cfg.networks) {
    const pid = serverPid(cfg, n.name);
    if (pid === undefined) continue;
    process.kill(pid, 'SIGTERM');
    const t0 = Date.now();
    while (serverPid(cfg, n.name) !== undefined && Date.now() - t0 < 5000) await sleep(50);
    if (serverPid(cfg, n.name) !== undefined) process.kill(pid, 'SIGKILL');
  }
}
