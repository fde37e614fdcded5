// Builds and caches the VM kernel + base initramfs from this machine's own binaries.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { pool, run as runChecked, type RunResult } from '../sh.js';
import {
  DISK_LINKS_SCRIPT, GROUP, UDEVADM_SHIM, INIT_SCRIPT, MDEV_CONF, NSSWITCH, PASSWD, PROFILE, SHADOW, SSHD_CONFIG,
} from './guest-files.js';

/** Bump when the image layout changes so cached images get rebuilt. */
const BUILDER_VERSION = 5;
/** Written as the last entry of the base initramfs; its presence shows the archive is complete. */
export const INITRD_MARKER = 'etc/clusterform/base-initrd.complete';
/** Below these sizes a cached artefact is certainly broken (the real ones are several MiB). */
export const MIN_BYTES = { kernel: 1 << 20, initrd: 1 << 20 };

/** Run a command (no shell); resolves with its stdout, rejects with its exit code and stderr on any failure. */
export async function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer | string } = {}): Promise<string> {
  return (await runChecked(cmd, args, opts)).stdout;
}

export interface VmArtifacts { kernel: string; initrd: string; kernelVersion: string }

export function artifactPaths(cacheDir: string): { kernel: string; initrd: string; stamp: string } {
  return {
    kernel: path.join(cacheDir, 'vmlinuz'),
    initrd: path.join(cacheDir, 'base-initrd.cpio.gz'),
    stamp: path.join(cacheDir, 'base.stamp.json'),
  };
}

/** The manifest (base.stamp.json), written only after a complete build: what was built from what, and checksums. */
export interface Manifest {
  builder: number;
  fingerprint: string;
  kernelVersion: string;
  files: { kernel: FileSum; initrd: FileSum };
}
export interface FileSum { size: number; sha256: string }

export async function sumFile(file: string): Promise<FileSum> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) { h.update(chunk as Buffer); size += (chunk as Buffer).length; }
  return { size, sha256: h.digest('hex') };
}

const verified = new Map<string, string>(); // file -> "size mtime sha256" already checked in this process

/** Why a cached artefact cannot be used (undefined: it can): missing, below the minimum size, or not the file the manifest describes. */
export async function artefactProblem(file: string, want: FileSum | undefined, minBytes: number): Promise<string | undefined> {
  const name = path.basename(file);
  let st: fs.Stats;
  try { st = await fsp.stat(file); } catch { return `${name} is missing`; }
  if (st.size < minBytes) return `${name} is ${st.size} bytes (a complete one has at least ${minBytes})`;
  if (!want || typeof want.sha256 !== 'string') return `the manifest has no checksum for ${name}`;
  if (st.size !== want.size) return `${name} is ${st.size} bytes, the manifest says ${want.size}`;
  const key = `${st.size} ${st.mtimeMs} ${want.sha256}`;
  if (verified.get(file) === key) return undefined;
  if ((await sumFile(file)).sha256 !== want.sha256) return `${name} does not match its checksum in the manifest`;
  verified.set(file, key);
  return undefined;
}

/**
 * Checks the cache: the manifest exists and matches this builder and these host files (fingerprint), the kernel and the
 * base initramfs have at least the minimum size and the size and sha256 the manifest recorded. Returns the manifest,
 * or the reason the cache must be rebuilt.
 */
export async function checkCache(
  cacheDir: string,
  fingerprintOf: (kernelVersion: string) => Promise<string>,
): Promise<{ manifest: Manifest } | { problem: string }> {
  const p = artifactPaths(cacheDir);
  let m: Manifest;
  try { m = JSON.parse(await fsp.readFile(p.stamp, 'utf8')) as Manifest; } catch { return { problem: 'no readable manifest (base.stamp.json)' }; }
  if (m.builder !== BUILDER_VERSION || typeof m.kernelVersion !== 'string') return { problem: 'manifest from another builder version' };
  const problem = (await artefactProblem(p.kernel, m.files?.kernel, MIN_BYTES.kernel))
    ?? (await artefactProblem(p.initrd, m.files?.initrd, MIN_BYTES.initrd));
  if (problem) return { problem };
  if (m.fingerprint !== (await fingerprintOf(m.kernelVersion))) return { problem: 'host binaries or guest files changed since the build' };
  return { manifest: m };
}

/** Writes the manifest for the kernel + base initramfs now in cacheDir (call only after both are completely built). */
export async function writeManifest(cacheDir: string, kernelVersion: string, fingerprint: string): Promise<Manifest> {
  const p = artifactPaths(cacheDir);
  const m: Manifest = {
    builder: BUILDER_VERSION, fingerprint, kernelVersion,
    files: { kernel: await sumFile(p.kernel), initrd: await sumFile(p.initrd) },
  };
  const tmp = `${p.stamp}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify({ ...m, builtAt: new Date().toISOString() }, null, 2) + '\n');
  await fsp.rename(tmp, p.stamp);
  return m;
}

/** The fingerprint the manifest must carry for the host files the builder would use now. */
export async function currentFingerprint(kernelVersion: string): Promise<string> {
  return fingerprint(await hostFileList(() => {}), kernelVersion);
}

// Host packages whose executables go into the guest as real binaries (busybox fills the rest).
const HOST_PACKAGES = [
  'bash', 'coreutils', 'util-linux', 'mount', 'fdisk', 'e2fsprogs', 'kmod', 'iproute2', 'ipvsadm',
  'iptables', 'procps', 'psmisc', 'grep', 'sed', 'mawk', 'findutils', 'tar', 'gzip', 'diffutils',
  'hostname', 'less', 'openssh-server', 'openssh-sftp-server', 'libc-bin', 'cpio', 'nftables', 'xz-utils',
];
const EXTRA_FILES = [
  '/usr/lib/openssh/sftp-server', '/usr/lib/openssh/sshd-session', '/usr/sbin/sshd',
  '/usr/bin/busybox', '/etc/os-release', '/usr/lib/os-release', '/etc/debian_version',
  '/usr/sbin/iptables', '/usr/sbin/iptables-save', '/usr/sbin/iptables-restore',
  '/usr/sbin/ip6tables', '/usr/sbin/ip6tables-save', '/usr/sbin/ip6tables-restore',
  '/usr/sbin/arptables', '/usr/sbin/ebtables',
  '/etc/protocols', '/etc/services', '/etc/ethertypes', '/etc/iproute2', '/usr/share/iproute2',
];
// kernel module selection (paths relative to lib/modules/<ver>/), plus their dependencies
const MODULE_PREFIXES = [
  'kernel/net/', 'kernel/drivers/virtio/', 'kernel/drivers/md/', 'kernel/drivers/block/virtio_blk.ko',
  'kernel/drivers/block/loop.ko', 'kernel/drivers/char/hw_random/', 'kernel/fs/xfs/', 'kernel/fs/overlayfs/',
  'kernel/fs/fuse/', 'kernel/fs/nls/', 'kernel/fs/fat/', 'kernel/fs/vfat/', 'kernel/fs/isofs/',
];
const MODULE_TOPLEVEL_DIRS = ['kernel/drivers/net/']; // only *.ko directly in these dirs

async function exists(p: string): Promise<boolean> {
  try { await fsp.lstat(p); return true; } catch { return false; }
}

/** Map host path into the merged-/usr layout used in the guest. */
function guestPath(p: string): string {
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
    if (p === `/${d}` || p.startsWith(`/${d}/`)) return '/usr' + p;
  }
  return p;
}

async function hostFileList(log: (s: string) => void): Promise<string[]> {
  const files = new Set<string>();
  for (const pkg of HOST_PACKAGES) {
    // dpkg's file lists, read directly (much faster than `dpkg -L` per package)
    let out: string | undefined;
    for (const f of [`/var/lib/dpkg/info/${pkg}.list`, `/var/lib/dpkg/info/${pkg}:amd64.list`]) {
      try { out = await fsp.readFile(f, 'utf8'); break; } catch { /* try next */ }
    }
    if (out === undefined) {
      try { out = await run('dpkg', ['-L', pkg]); } catch { log(`vm: host package ${pkg} not installed, skipped`); continue; }
    }
    for (const line of out.split('\n')) {
      const f = line.trim();
      if (/^\/(usr\/)?s?bin\/[^/]+$/.test(f)) files.add(f);
    }
  }
  for (const f of EXTRA_FILES) if (await exists(f)) files.add(f);
  return [...files].sort();
}

async function fingerprint(files: string[], kernelVersion: string): Promise<string> {
  const h = createHash('sha256');
  h.update(`v${BUILDER_VERSION}\n${kernelVersion}\n${INIT_SCRIPT}${DISK_LINKS_SCRIPT}${SSHD_CONFIG}${PASSWD}${MDEV_CONF}${UDEVADM_SHIM}`);
  for (const f of files) {
    try {
      const st = await fsp.stat(f);
      h.update(`${f} ${st.size} ${st.mtimeMs}\n`);
    } catch { h.update(`${f} missing\n`); }
  }
  return h.digest('hex');
}

async function findKernelPackage(log: (s: string) => void): Promise<string> {
  const lookup = async (): Promise<string | undefined> => {
    try {
      const out = await run('apt-cache', ['depends', 'linux-image-cloud-amd64']);
      const m = /Depends:\s*(linux-image-[0-9][^\s]*-cloud-amd64)\b/.exec(out);
      return m?.[1];
    } catch { return undefined; }
  };
  let pkg = await lookup();
  if (!pkg) {
    log('vm: apt-get update (kernel package not found in apt cache)');
    await run('apt-get', ['update', '-qq']);
    pkg = await lookup();
  }
  if (!pkg) throw new Error('cannot find linux-image-*-cloud-amd64 package');
  return pkg;
}

/** Download + extract the kernel package into cacheDir/kernel/<ver> (once). */
async function ensureKernel(cacheDir: string, log: (s: string) => void): Promise<{ root: string; version: string }> {
  const kdir = path.join(cacheDir, 'kernel');
  await fsp.mkdir(kdir, { recursive: true });
  // reuse any completely extracted kernel
  for (const e of (await fsp.readdir(kdir)).sort().reverse()) {
    if (await exists(path.join(kdir, e, '.complete'))) return { root: path.join(kdir, e), version: e };
  }
  const pkg = await findKernelPackage(log);
  const version = pkg.replace(/^linux-image-/, '');
  const dl = path.join(cacheDir, 'dl');
  await fsp.rm(dl, { recursive: true, force: true });
  await fsp.mkdir(dl, { recursive: true });
  log(`vm: downloading ${pkg}`);
  await run('apt-get', ['download', '-q', pkg], { cwd: dl });
  const deb = (await fsp.readdir(dl)).find((f) => f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
  const root = path.join(kdir, version);
  await fsp.rm(root, { recursive: true, force: true });
  await run('dpkg-deb', ['-x', path.join(dl, deb), root]);
  // modules.dep for the full tree, used to compute the guest's module closure
  await run('depmod', ['-b', root, version]);
  await fsp.writeFile(path.join(root, '.complete'), `${pkg}\n`);
  await fsp.rm(dl, { recursive: true, force: true });
  return { root, version };
}

function modulesBase(kroot: string, version: string): string {
  for (const c of [`usr/lib/modules/${version}`, `lib/modules/${version}`]) {
    if (fs.existsSync(path.join(kroot, c))) return path.join(kroot, c);
  }
  throw new Error(`no modules dir for ${version} in ${kroot}`);
}

async function selectModules(modBase: string): Promise<string[]> {
  const dep = await fsp.readFile(path.join(modBase, 'modules.dep'), 'utf8');
  const deps = new Map<string, string[]>();
  for (const line of dep.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    deps.set(line.slice(0, i), line.slice(i + 1).trim().split(/\s+/).filter(Boolean));
  }
  const want = new Set<string>();
  const add = (m: string): void => {
    if (want.has(m)) return;
    want.add(m);
    for (const d of deps.get(m) ?? []) add(d);
  };
  for (const m of deps.keys()) {
    if (MODULE_PREFIXES.some((p) => m.startsWith(p))) add(m);
    for (const d of MODULE_TOPLEVEL_DIRS) if (m.startsWith(d) && !m.slice(d.length).includes('/')) add(m);
  }
  return [...want].sort();
}

async function copyFileTo(root: string, src: string, dst = guestPath(src)): Promise<void> {
  const target = path.join(root, dst);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  await fsp.rm(target, { force: true });
  await fsp.copyFile(src, target);
  const st = await fsp.stat(src);
  await fsp.chmod(target, st.mode & 0o7777);
}

/** Copy a host path (following symlink chains: each link is recreated) into the guest tree. */
async function copyHostPath(root: string, src: string, elfs: Set<string>, depth = 0): Promise<void> {
  if (depth > 10) return;
  const gp = guestPath(src);
  const target = path.join(root, gp);
  const st = await fsp.lstat(src);
  if (st.isSymbolicLink()) {
    const resolved = await fsp.realpath(src);
    const link = await fsp.readlink(src);
    let linkText = link;
    // absolute links (e.g. /etc/alternatives/...) are pointed straight at the real file
    if (path.isAbsolute(link)) linkText = path.relative(path.dirname(gp), guestPath(resolved));
    if (!(await exists(target))) {
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.symlink(linkText, target);
    }
    const next = path.isAbsolute(link) ? resolved : path.resolve(path.dirname(src), link);
    if (!(await exists(path.join(root, guestPath(next))))) await copyHostPath(root, next, elfs, depth + 1);
    return;
  }
  if (st.isDirectory()) {
    for (const e of await fsp.readdir(src)) await copyHostPath(root, path.join(src, e), elfs, depth);
    return;
  }
  if (!st.isFile()) return;
  if (await exists(target)) return;
  await copyFileTo(root, src, gp);
  if (st.mode & 0o111 || /\.so(\.|$)/.test(src)) elfs.add(src);
}

async function isElf(f: string): Promise<boolean> {
  const fh = await fsp.open(f, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b.toString('latin1') === '\x7fELF';
  } finally { await fh.close(); }
}

/** Shared libraries of an ELF file; [] for a static one; throws when ldd itself fails (missing, broken). */
async function sharedLibs(f: string): Promise<string[]> {
  const r: RunResult = await runChecked('ldd', [f], { allowFail: true });
  if (r.code !== 0) {
    if (/not a dynamic executable/.test(r.stdout + r.stderr)) return [];
    throw new Error(`ldd ${f} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

async function writeGuest(root: string, p: string, content: string, mode = 0o644): Promise<void> {
  const t = path.join(root, p);
  await fsp.mkdir(path.dirname(t), { recursive: true });
  await fsp.writeFile(t, content, { mode });
  await fsp.chmod(t, mode);
}

/** Spawns a command with piped stdio; `done` resolves (never rejects) with its exit code and stderr. */
function spawnPiped(cmd: string, args: string[], cwd?: string) {
  const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {}); // EPIPE when it exits early: reported through its exit code
  const done = new Promise<{ code: number; stderr: string }>((resolve) => {
    child.on('error', (e) => resolve({ code: 127, stderr: `${stderr}${String(e)}` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr }));
  });
  return { child, done };
}

/** Pack a directory as a gzip'd newc cpio (owner root); `last` (a path relative to dir) becomes the last entry. */
export async function packCpio(dir: string, out: string, opts: { last?: string } = {}): Promise<number> {
  let names = (await run('find', ['.', '-mindepth', '1'], { cwd: dir })).split('\n').filter(Boolean).sort();
  if (opts.last) {
    const last = `./${opts.last}`;
    if (!names.includes(last)) throw new Error(`packCpio: ${last} not found in ${dir}`);
    names = [...names.filter((n) => n !== last), last];
  }
  const tmp = `${out}.tmp.${process.pid}`;
  const { child, done } = spawnPiped('cpio', ['--quiet', '-o', '-H', 'newc', '-R', '0:0'], dir);
  child.stdin.end(names.join('\n') + '\n');
  try {
    const [r] = await Promise.all([done, pipeline(child.stdout, createGzip({ level: 1 }), fs.createWriteStream(tmp))]);
    if (r.code !== 0) throw new Error(`cpio failed (exit ${r.code}) packing ${dir}: ${r.stderr.trim()}`);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsp.rename(tmp, out);
  return names.length;
}

/** Names in a gzip'd cpio archive, in archive order (cpio -t). */
export async function listCpio(file: string): Promise<string[]> {
  const { child, done } = spawnPiped('cpio', ['--quiet', '-t']);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const fed = pipeline(fs.createReadStream(file), createGunzip(), child.stdin).then(() => undefined, (e: Error) => e);
  const r = await done;
  if (r.code !== 0) throw new Error(`cpio -t ${file} failed (exit ${r.code}): ${r.stderr.trim()}`);
  // cpio stops reading at the archive's trailer: the gzip'd padding after it may meet a closed pipe (harmless);
  // a decompression error (truncated or corrupt file) is not
  const feedErr = (await fed) as NodeJS.ErrnoException | undefined;
  if (feedErr && !['EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED'].includes(feedErr.code ?? '')) {
    throw new Error(`reading ${file}: ${feedErr.message}`);
  }
  return out.split('\n').filter(Boolean);
}

/** Fails unless the archive holds `count` entries and ends with the completion marker. */
async function assertCompleteInitrd(file: string, count: number): Promise<void> {
  const names = await listCpio(file);
  if (names.length !== count || names.at(-1) !== INITRD_MARKER) {
    throw new Error(`vm: built ${file} is incomplete (${names.length} of ${count} entries, last ${JSON.stringify(names.at(-1))})`);
  }
}

/** Guest files without which the VM cannot boot or be reached. */
const REQUIRED_GUEST_FILES = ['init', 'usr/bin/busybox', 'usr/sbin/sshd', 'usr/sbin/ip', 'usr/sbin/modprobe', 'usr/bin/bash'];

async function assertGuestComplete(root: string): Promise<void> {
  const missing: string[] = [];
  for (const f of REQUIRED_GUEST_FILES) if (!(await exists(path.join(root, f)))) missing.push(`/${f}`);
  if (missing.length) throw new Error(`vm: image would lack ${missing.join(', ')} (host packages busybox-static, openssh-server, iproute2, kmod, bash installed?)`);
}

/** xz-compress the kernel modules (kmod decompresses in userspace): keeps the guest's RAM-backed root small. */
async function compressModules(gmod: string, mods: string[]): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < mods.length; i += 32) batches.push(mods.slice(i, i + 32));
  await pool(batches, 4, (b) => run('xz', ['-q', '--check=crc32', '-6', ...b], { cwd: gmod }));
}

async function buildBase(cacheDir: string, kroot: string, kver: string, files: string[], log: (s: string) => void): Promise<void> {
  const { kernel, initrd } = artifactPaths(cacheDir);
  const root = path.join(cacheDir, `rootfs.build.${process.pid}`);
  await fsp.rm(root, { recursive: true, force: true });
  await fsp.mkdir(root, { recursive: true });
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'usr/local/sbin', 'usr/local/bin', 'etc/ssh',
    'etc/clusterform', 'proc', 'sys', 'dev', 'run', 'tmp', 'var/lib', 'var/log', 'var/tmp', 'mnt', 'opt', 'srv', 'home']) {
    await fsp.mkdir(path.join(root, d), { recursive: true });
  }
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) await fsp.symlink(`usr/${d}`, path.join(root, d));
  await fsp.mkdir(path.join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  await fsp.chmod(path.join(root, 'root'), 0o700);
  await fsp.chmod(path.join(root, 'tmp'), 0o1777);
  await fsp.chmod(path.join(root, 'var/tmp'), 0o1777);

  // host binaries (real ones first; busybox only fills gaps)
  const elfs = new Set<string>();
  for (const f of files) await copyHostPath(root, f, elfs);
  const xt = '/usr/lib/x86_64-linux-gnu/xtables';
  if (await exists(xt)) await copyHostPath(root, xt, elfs);
  // shared libraries (+ dynamic loader) of every ELF, transitively via ldd
  const done = new Set<string>();
  const queue = [...elfs];
  while (queue.length) {
    const f = queue.pop()!;
    if (done.has(f)) continue;
    done.add(f);
    if (!(await isElf(f))) continue;
    for (const lib of await sharedLibs(f)) {
      if (done.has(lib)) continue;
      await copyHostPath(root, lib, new Set());
      const real = await fsp.realpath(lib);
      if (!(await exists(path.join(root, guestPath(lib))))) await copyFileTo(root, real, guestPath(lib));
      queue.push(lib);
    }
  }
  // busybox applets where no real binary exists
  const applets = (await run('/usr/bin/busybox', ['--list-full'])).split('\n').filter(Boolean);
  for (const a of applets) {
    const name = path.basename(a);
    const candidates = ['usr/bin', 'usr/sbin'].map((d) => path.join(root, d, name));
    if ((await Promise.all(candidates.map(exists))).some(Boolean)) continue;
    const gp = guestPath('/' + a);
    await fsp.mkdir(path.dirname(path.join(root, gp)), { recursive: true });
    await fsp.symlink(path.relative(path.dirname(gp), '/usr/bin/busybox'), path.join(root, gp));
  }
  if (!(await exists(path.join(root, 'usr/bin/sh')))) await fsp.symlink('busybox', path.join(root, 'usr/bin/sh'));

  // kernel modules: selected subtree + dependencies, then depmod
  const modBase = modulesBase(kroot, kver);
  const gmod = path.join(root, 'usr/lib/modules', kver);
  await fsp.mkdir(gmod, { recursive: true });
  const mods = await selectModules(modBase);
  for (const m of mods) {
    await fsp.mkdir(path.dirname(path.join(gmod, m)), { recursive: true });
    await fsp.copyFile(path.join(modBase, m), path.join(gmod, m));
  }
  for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
    if (await exists(path.join(modBase, f))) await fsp.copyFile(path.join(modBase, f), path.join(gmod, f));
  }
  await compressModules(gmod, mods);
  await run('depmod', ['-b', root, kver]);
  log(`vm: ${mods.length} kernel modules, ${done.size} ELF files`);

  // config files
  await writeGuest(root, 'init', INIT_SCRIPT, 0o755);
  await writeGuest(root, 'usr/local/sbin/cf-disk-links', DISK_LINKS_SCRIPT, 0o755);
  await writeGuest(root, 'etc/mdev.conf', MDEV_CONF);
  if (!(await exists(path.join(root, 'usr/bin/udevadm')))) await writeGuest(root, 'usr/bin/udevadm', UDEVADM_SHIM, 0o755);
  await writeGuest(root, 'etc/ssh/sshd_config', SSHD_CONFIG);
  await writeGuest(root, 'etc/passwd', PASSWD);
  await writeGuest(root, 'etc/group', GROUP);
  await writeGuest(root, 'etc/shadow', SHADOW, 0o640);
  await writeGuest(root, 'etc/nsswitch.conf', NSSWITCH);
  await writeGuest(root, 'etc/profile', PROFILE);
  await writeGuest(root, 'etc/shells', '/bin/sh\n/bin/bash\n/usr/bin/bash\n');
  await writeGuest(root, 'etc/hosts', '127.0.0.1 localhost\n');
  await writeGuest(root, 'etc/fstab', '');
  await writeGuest(root, 'etc/mtab', '');
  await fsp.rm(path.join(root, 'etc/mtab'));
  await fsp.symlink('../proc/self/mounts', path.join(root, 'etc/mtab'));
  if (!(await exists(path.join(root, 'etc/os-release')))) {
    await fsp.symlink('../usr/lib/os-release', path.join(root, 'etc/os-release'));
  }
  await writeGuest(root, 'root/.bashrc', PROFILE);
  await assertGuestComplete(root);

  await writeGuest(root, INITRD_MARKER, `builder ${BUILDER_VERSION} kernel ${kver}\n`);
  const count = await packCpio(root, initrd, { last: INITRD_MARKER });
  await assertCompleteInitrd(initrd, count);
  const vmlinuz = path.join(kroot, 'boot', `vmlinuz-${kver}`);
  await fsp.copyFile(vmlinuz, `${kernel}.tmp`);
  await fsp.rename(`${kernel}.tmp`, kernel);
  await fsp.rm(root, { recursive: true, force: true });
}

/** Leftovers of builds whose process is gone (rootfs.build.<pid>, *.tmp.<pid>). */
export async function removeStaleBuilds(cacheDir: string): Promise<void> {
  for (const e of await fsp.readdir(cacheDir)) {
    const m = /^(?:rootfs\.build|.+\.tmp)\.(\d+)$/.exec(e);
    if (m && !pidExists(Number(m[1]))) await fsp.rm(path.join(cacheDir, e), { recursive: true, force: true });
  }
}

export async function withLock<T>(cacheDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(cacheDir, '.build.lock');
  const t0 = Date.now();
  for (;;) {
    try { await fsp.mkdir(lock); break; } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // stale lock: owner pid gone
      try {
        const pid = Number(await fsp.readFile(path.join(lock, 'pid'), 'utf8'));
        if (pid && !pidExists(pid)) { await fsp.rm(lock, { recursive: true, force: true }); continue; }
      } catch { /* lock being created */ }
      if (Date.now() - t0 > 15 * 60_000) throw new Error(`timeout waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await fsp.writeFile(path.join(lock, 'pid'), String(process.pid));
  try { return await fn(); } finally { await fsp.rm(lock, { recursive: true, force: true }); }
}

export function pidExists(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

const inflight = new Map<string, Promise<VmArtifacts>>();

export function ensureArtifacts(cacheDir: string, log: (s: string) => void = () => {}): Promise<VmArtifacts> {
  const key = path.resolve(cacheDir);
  let p = inflight.get(key);
  if (!p) {
    p = doEnsure(key, log).finally(() => inflight.delete(key));
    inflight.set(key, p);
  }
  return p;
}

async function doEnsure(cacheDir: string, log: (s: string) => void): Promise<VmArtifacts> {
  await fsp.mkdir(cacheDir, { recursive: true });
  const paths = artifactPaths(cacheDir);
  const files = await hostFileList(() => {});
  const fpOf = (kver: string): Promise<string> => fingerprint(files, kver);
  const usable = (m: Manifest): VmArtifacts => ({ kernel: paths.kernel, initrd: paths.initrd, kernelVersion: m.kernelVersion });
  const cached = await checkCache(cacheDir, fpOf);
  if ('manifest' in cached) return usable(cached.manifest);
  return withLock(cacheDir, async () => {
    const again = await checkCache(cacheDir, fpOf);
    if ('manifest' in again) return usable(again.manifest);
    await removeStaleBuilds(cacheDir);
    await fsp.rm(paths.stamp, { force: true }); // no manifest while the artefacts are being replaced
    const t0 = Date.now();
    const k = await ensureKernel(cacheDir, log);
    log(`vm: building base initramfs for kernel ${k.version} (${again.problem})`);
    await buildBase(cacheDir, k.root, k.version, files, (s) => log(s));
    await writeManifest(cacheDir, k.version, await fpOf(k.version));
    const built = await checkCache(cacheDir, fpOf);
    if ('problem' in built) {
      await fsp.rm(paths.stamp, { force: true });
      throw new Error(`vm: the artefacts just built in ${cacheDir} are unusable: ${built.problem}`);
    }
    log(`vm: artefacts ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return usable(built.manifest);
  });
}
