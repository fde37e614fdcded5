// Builds and caches the VM kernel + base initramfs from this machine's own binaries.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  DISK_LINKS_SCRIPT, GROUP, UDEVADM_SHIM, INIT_SCRIPT, MDEV_CONF, NSSWITCH, PASSWD, PROFILE, SHADOW, SSHD_CONFIG,
} from './guest-files.js';

const execFileP = promisify(execFile);

/** Bump when the image layout changes so cached images get rebuilt. */
const BUILDER_VERSION = 4;

export async function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer | string } = {}): Promise<string> {
  if (opts.input !== undefined) {
    const { spawn } = await import('node:child_process');
    return await new Promise<string>((resolve, reject) => {
      const p = spawn(cmd, args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = []; const err: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => out.push(d));
      p.stderr.on('data', (d: Buffer) => err.push(d));
      p.on('error', reject);
      p.on('close', (code) => {
        if (code === 0) resolve(Buffer.concat(out).toString());
        else reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${Buffer.concat(err).toString().trim()}`));
      });
      p.stdin.end(opts.input);
    });
  }
  try {
    const r = await execFileP(cmd, args, { cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024 });
    return r.stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

export interface VmArtifacts { kernel: string; initrd: string; kernelVersion: string }

export function artifactPaths(cacheDir: string): { kernel: string; initrd: string; stamp: string } {
  return {
    kernel: path.join(cacheDir, 'vmlinuz'),
    initrd: path.join(cacheDir, 'base-initrd.cpio.gz'),
    stamp: path.join(cacheDir, 'base.stamp.json'),
  };
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

async function sharedLibs(f: string): Promise<string[]> {
  let out: string;
  try { out = await run('ldd', [f]); } catch { return []; }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
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

/** Pack a directory as a gzip'd newc cpio (owner root). */
export async function packCpio(dir: string, out: string): Promise<void> {
  const list = await run('find', ['.', '-mindepth', '1'], { cwd: dir });
  const sorted = list.split('\n').filter(Boolean).sort().join('\n') + '\n';
  const tmp = `${out}.tmp.${process.pid}`;
  await run('sh', ['-c', `cpio --quiet -o -H newc -R 0:0 | gzip -1 > '${tmp}'`], { cwd: dir, input: sorted });
  await fsp.rename(tmp, out);
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
  // xz-compress modules (kmod decompresses in userspace): keeps the guest's RAM-backed root small
  await run('sh', ['-c', "find . -name '*.ko' -print0 | xargs -0 -r -P 4 -n 32 xz -q --check=crc32 -6"], { cwd: gmod });
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

  await packCpio(root, initrd);
  const vmlinuz = path.join(kroot, 'boot', `vmlinuz-${kver}`);
  await fsp.copyFile(vmlinuz, `${kernel}.tmp`);
  await fsp.rename(`${kernel}.tmp`, kernel);
  await fsp.rm(root, { recursive: true, force: true });
}

async function withLock<T>(cacheDir: string, fn: () => Promise<T>): Promise<T> {
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
  const check = async (): Promise<VmArtifacts | undefined> => {
    try {
      const stamp = JSON.parse(await fsp.readFile(paths.stamp, 'utf8')) as { fingerprint: string; kernelVersion: string };
      if (!(await exists(paths.kernel)) || !(await exists(paths.initrd))) return undefined;
      if (stamp.fingerprint !== (await fingerprint(files, stamp.kernelVersion))) return undefined;
      return { kernel: paths.kernel, initrd: paths.initrd, kernelVersion: stamp.kernelVersion };
    } catch { return undefined; }
  };
  const cached = await check();
  if (cached) return cached;
  return withLock(cacheDir, async () => {
    const again = await check();
    if (again) return again;
    const t0 = Date.now();
    const k = await ensureKernel(cacheDir, log);
    log(`vm: building base initramfs for kernel ${k.version}`);
    await buildBase(cacheDir, k.root, k.version, files, (s) => log(s));
    const fp = await fingerprint(files, k.version);
    await fsp.writeFile(paths.stamp, JSON.stringify({ fingerprint: fp, kernelVersion: k.version, builtAt: new Date().toISOString() }, null, 2));
    log(`vm: artefacts ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return { kernel: paths.kernel, initrd: paths.initrd, kernelVersion: k.version };
  });
}
