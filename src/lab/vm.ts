// Lab host kind "vm": a qemu (TCG) guest with its own kernel, booted from an initramfs
// assembled from this machine's binaries (image "fast") or from a real Debian 12 root disk
// (image "debian", vm/debian-image.ts). Used where the host kernel lacks features
// (IPVS, ipip, ...), e.g. for LVS directors, and where a real distribution is needed.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { waitSshReady } from './ns.js';
import { artifactPaths, ensureArtifacts, packCpio, pidExists, run } from './vm/artifacts.js';
import { debianKernelArgs, ensureDebianImage, ensureOverlay, ROOT_SERIAL, SEED_SERIAL, writeSeedDisk } from './vm/debian-image.js';

export type VmImage = 'fast' | 'debian';

export interface VmNic { tap: string; bridge: string; mac: string; address: string; prefix: number }
export interface VmSpec {
  lab: string; name: string; hostname: string;
  stateDir: string;          // per-VM dir (logs, pid file, per-VM initrd)
  cacheDir: string;          // shared artefact cache, e.g. /var/cache/clusterform/vm
  netns: string;             // namespace where qemu runs and its taps are created (bridges exist there)
  nics: VmNic[];             // first = primary
  disks: { image: string; id: string }[];   // raw images, shown in the VM as /dev/disk/by-id/<id>
  hostKeyDir: string;        // holds ssh_host_ed25519_key and .pub
  authorizedKeys: string;    // content of root's authorized_keys in the VM
  memoryMb?: number;         // default 256 (fast), 512 (debian)
  watchdog?: boolean;        // an emulated i6300esb watchdog whose expiry resets this VM (never the machine)
  image?: VmImage;           // default fast: the initramfs of this machine's binaries
  aptSource?: string;        // debian: the VM's only apt source (the lab's package source)
}

/** Root disk (qcow2 overlay on the Debian base) and seed disk of a Debian-image VM, in its state dir. */
export const ROOT_DISK = 'root.qcow2';
const SEED_DISK = 'seed.tar';

const PID_FILE = 'qemu.pid';
const CONSOLE_LOG = 'console.log';

/** Build (once) what VMs of these image kinds boot: the fast initramfs and/or the Debian base image (cached). */
export async function ensureVmArtifacts(cacheDir: string, log?: (s: string) => void, images: VmImage[] = ['fast']): Promise<void> {
  if (images.includes('fast')) await ensureArtifacts(cacheDir, log);
  if (images.includes('debian')) await ensureDebianImage(cacheDir, log);
}

function readPid(stateDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(stateDir, PID_FILE), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch { return undefined; }
}

/** True if pid is a live (non-zombie) qemu process. */
function isQemu(pid: number): boolean {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.includes('qemu-system')) return false;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch { return false; }
}

export function vmAlive(stateDir: string): boolean {
  const pid = readPid(stateDir);
  return pid !== undefined && isQemu(pid);
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

function validate(spec: VmSpec): void {
  if (!spec.nics.length) throw new Error(`vm ${spec.name}: at least one nic required`);
  for (const n of spec.nics) {
    if (!/^[A-Za-z0-9._-]{1,15}$/.test(n.tap)) throw new Error(`vm ${spec.name}: bad tap name ${n.tap} (max 15 chars)`);
    if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(n.mac)) throw new Error(`vm ${spec.name}: bad mac ${n.mac}`);
    if (!/^[0-9a-fA-F.:]+$/.test(n.address) || !(n.prefix >= 0 && n.prefix <= 128)) throw new Error(`vm ${spec.name}: bad address ${n.address}/${n.prefix}`);
  }
  for (const d of spec.disks) if (!NAME_RE.test(d.id)) throw new Error(`vm ${spec.name}: bad disk id ${d.id}`);
  if (!NAME_RE.test(spec.hostname)) throw new Error(`vm ${spec.name}: bad hostname ${spec.hostname}`);
}

/** Can the file be opened with O_DIRECT (needed by qemu cache=none)? */
function supportsODirect(file: string): boolean {
  const O_DIRECT = fs.constants.O_DIRECT ?? 0o40000;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | O_DIRECT);
    fs.closeSync(fd);
    return true;
  } catch { return false; }
}

async function buildPerVmInitrd(spec: VmSpec, baseInitrd: string): Promise<string> {
  const ov = path.join(spec.stateDir, 'overlay');
  await fsp.rm(ov, { recursive: true, force: true });
  const mk = async (p: string, content: string | Buffer, mode: number): Promise<void> => {
    const t = path.join(ov, p);
    await fsp.mkdir(path.dirname(t), { recursive: true });
    await fsp.writeFile(t, content);
    await fsp.chmod(t, mode);
  };
  const conf = [
    `hostname ${spec.hostname}`,
    ...spec.nics.map((n) => `nic ${n.mac.toLowerCase()} ${n.address}/${n.prefix}`),
    ...spec.disks.map((d, i) => `disk cfd${i} ${d.id}`),
  ].join('\n') + '\n';
  await mk('etc/clusterform/vm.conf', conf, 0o644);
  await mk('etc/hostname', `${spec.hostname}\n`, 0o644);
  await mk('etc/hosts', `127.0.0.1 localhost\n127.0.1.1 ${spec.hostname}\n${spec.nics[0].address} ${spec.hostname}\n`, 0o644);
  await mk('etc/ssh/ssh_host_ed25519_key', await fsp.readFile(path.join(spec.hostKeyDir, 'ssh_host_ed25519_key')), 0o600);
  await mk('etc/ssh/ssh_host_ed25519_key.pub', await fsp.readFile(path.join(spec.hostKeyDir, 'ssh_host_ed25519_key.pub')), 0o644);
  const ak = spec.authorizedKeys.endsWith('\n') ? spec.authorizedKeys : spec.authorizedKeys + '\n';
  await mk('root/.ssh/authorized_keys', ak, 0o600);
  await fsp.chmod(path.join(ov, 'root/.ssh'), 0o700);
  await fsp.chmod(path.join(ov, 'root'), 0o700);
  const extra = path.join(spec.stateDir, 'vm-overlay.cpio.gz');
  await packCpio(ov, extra);
  const out = path.join(spec.stateDir, 'initrd.img');
  const tmp = `${out}.tmp`;
  await fsp.copyFile(baseInitrd, tmp);
  await fsp.appendFile(tmp, await fsp.readFile(extra));
  await fsp.rename(tmp, out);
  await fsp.rm(ov, { recursive: true, force: true });
  return out;
}

async function deleteTap(netns: string, tap: string): Promise<void> {
  try { await run('ip', ['-n', netns, 'link', 'del', 'dev', tap]); } catch { /* absent or netns gone */ }
}

/** Boot the VM; returns once qemu runs (daemonized, pid in stateDir/qemu.pid). Does not wait for ssh. */
export async function startVm(spec: VmSpec): Promise<{ pid: number }> {
  validate(spec);
  const existing = readPid(spec.stateDir);
  if (existing !== undefined && isQemu(existing)) return { pid: existing };
  await fsp.mkdir(spec.stateDir, { recursive: true });
  const boot = spec.image === 'debian' ? await debianBoot(spec) : await fastBoot(spec);

  for (const n of spec.nics) {
    await deleteTap(spec.netns, n.tap);
    await run('ip', ['-n', spec.netns, 'tuntap', 'add', 'dev', n.tap, 'mode', 'tap']);
    await run('ip', ['-n', spec.netns, 'link', 'set', 'dev', n.tap, 'master', n.bridge]);
    await run('ip', ['-n', spec.netns, 'link', 'set', 'dev', n.tap, 'up']);
  }

  const pidFile = path.join(spec.stateDir, PID_FILE);
  const consoleLog = path.join(spec.stateDir, CONSOLE_LOG);
  await fsp.rm(pidFile, { force: true });
  const args = [
    'netns', 'exec', spec.netns, 'qemu-system-x86_64',
    '-name', `${spec.lab}-${spec.name}`,
    '-accel', 'tcg,tb-size=64', '-cpu', 'max', '-smp', '1', '-m', String(spec.memoryMb ?? boot.memoryMb),
    '-nodefaults', '-display', 'none', '-monitor', 'none',
    '-chardev', `file,id=con0,path=${consoleLog}`, '-serial', 'chardev:con0',
    '-kernel', boot.kernel, '-initrd', boot.initrd,
    '-append', boot.append,
    ...boot.drives,
    '-device', 'virtio-rng-pci',
    // hands memory the guest frees (e.g. the unpacked initrd) back to the host
    '-device', 'virtio-balloon-pci,free-page-reporting=on',
    ...watchdogArgs(spec),
    ...(boot.reboot ? [] : ['-no-reboot']), '-daemonize', '-pidfile', pidFile,
  ];
  spec.nics.forEach((n, i) => {
    args.push('-netdev', `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=n${i},mac=${n.mac.toLowerCase()}`);
  });
  spec.disks.forEach((d, i) => {
    const cache = supportsODirect(d.image) ? 'none' : 'writethrough';
    const file = d.image.replace(/,/g, ',,');
    args.push('-drive', `file=${file},format=raw,if=none,id=d${i},cache=${cache},file.locking=off`,
      '-device', `virtio-blk-pci,drive=d${i},serial=cfd${i}`);
  });
  await fsp.writeFile(path.join(spec.stateDir, 'qemu.cmdline'), ['ip', ...args].join(' ') + '\n');
  await new Promise<void>((resolve, reject) => {
    const logFd = fs.openSync(path.join(spec.stateDir, 'qemu.log'), 'a');
    const p = spawn('ip', args, { stdio: ['ignore', logFd, logFd] });
    p.on('error', (e) => { fs.closeSync(logFd); reject(e); });
    p.on('close', (code) => {
      fs.closeSync(logFd);
      if (code === 0) resolve();
      else {
        let tail = '';
        try { tail = fs.readFileSync(path.join(spec.stateDir, 'qemu.log'), 'utf8').split('\n').slice(-10).join('\n'); } catch { /* none */ }
        reject(new Error(`qemu for ${spec.name} failed to start (${code}): ${tail}`));
      }
    });
  });
  const pid = readPid(spec.stateDir);
  if (pid === undefined || !isQemu(pid)) throw new Error(`qemu for ${spec.name} not running after start (see ${spec.stateDir}/qemu.log)`);
  return { pid };
}

/** qemu arguments of the VM's watchdog: an i6300esb device whose expiry resets the VM (qemu ≥ 6.0: -action). */
export function watchdogArgs(spec: Pick<VmSpec, 'watchdog'>): string[] {
  return spec.watchdog ? ['-device', 'i6300esb', '-action', 'watchdog=reset'] : [];
}

interface Boot { kernel: string; initrd: string; append: string; drives: string[]; memoryMb: number; reboot: boolean }

/** The fast image: cached kernel + base initramfs with this VM's files appended; a guest reboot ends qemu. */
async function fastBoot(spec: VmSpec): Promise<Boot> {
  await ensureArtifacts(spec.cacheDir);
  const art = artifactPaths(spec.cacheDir);
  const initrd = await buildPerVmInitrd(spec, art.initrd);
  return { kernel: art.kernel, initrd, append: 'console=ttyS0 quiet panic=-1', drives: [], memoryMb: 256, reboot: false };
}

/** -drive/-device arguments of one virtio disk with a serial (the guest's /dev/disk/by-id/virtio-<serial>). */
function virtioDisk(id: string, file: string, format: string, serial: string, extra = ''): string[] {
  return ['-drive', `file=${file.replace(/,/g, ',,')},format=${format},if=none,id=${id}${extra}`, '-device', `virtio-blk-pci,drive=${id},serial=${serial}`];
}

/** The Debian image: its own kernel + initramfs, the VM's overlay as root disk and its seed disk; guest reboots stay in qemu. */
async function debianBoot(spec: VmSpec): Promise<Boot> {
  const img = await ensureDebianImage(spec.cacheDir);
  const root = path.join(spec.stateDir, ROOT_DISK);
  await ensureOverlay(root, img.image);
  const seed = path.join(spec.stateDir, SEED_DISK);
  await writeSeedDisk(seed, {
    hostname: spec.hostname,
    nics: spec.nics.map((n, i) => ({ ifname: `eth${i}`, address: n.address, prefix: n.prefix })),
    hostKey: await fsp.readFile(path.join(spec.hostKeyDir, 'ssh_host_ed25519_key'), 'utf8'),
    hostKeyPub: await fsp.readFile(path.join(spec.hostKeyDir, 'ssh_host_ed25519_key.pub'), 'utf8'),
    authorizedKeys: spec.authorizedKeys,
    disks: spec.disks.map((d, i) => ({ serial: `cfd${i}`, id: d.id })),
    ...(spec.aptSource ? { aptSource: spec.aptSource } : {}),
  });
  const drives = [...virtioDisk('root', root, 'qcow2', ROOT_SERIAL), ...virtioDisk('seed', seed, 'raw', SEED_SERIAL, ',readonly=on')];
  return { kernel: img.kernel, initrd: img.initrd, append: debianKernelArgs(), drives, memoryMb: 512, reboot: true };
}

/** Kill qemu (TERM, then KILL after 5 s) and delete the taps. Idempotent. */
export async function stopVm(spec: { stateDir: string; netns: string; nics: { tap: string }[] }): Promise<void> {
  const pid = readPid(spec.stateDir);
  if (pid !== undefined && isQemu(pid)) {
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    const t0 = Date.now();
    while (pidExists(pid) && isQemu(pid) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    if (isQemu(pid)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      const t1 = Date.now();
      while (isQemu(pid) && Date.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 50));
    }
  }
  await fsp.rm(path.join(spec.stateDir, PID_FILE), { force: true });
  for (const n of spec.nics) await deleteTap(spec.netns, n.tap);
}

/** Console lines after which the guest never comes up (with -no-reboot and panic=-1 qemu also exits). */
const BOOT_FAILURE = [/Kernel panic/, /end Kernel panic/, /No working init found/, /Attempted to kill init/];

/** The first console line that shows the boot failed, if any (pure). */
export function bootFailure(consoleText: string): string | undefined {
  return consoleText.split(/\r?\n/).find((l) => BOOT_FAILURE.some((re) => re.test(l)))?.trim();
}

/** The last `n` non-empty console lines (pure). */
export function consoleTail(consoleText: string, n = 20): string {
  return consoleText.split(/\r?\n/).map((l) => l.replace(/\r/g, '').trimEnd()).filter(Boolean).slice(-n).join('\n');
}

function readText(file: string): string {
  try { return fs.readFileSync(file, 'utf8'); } catch { return ''; }
}

/** Why the VM will not boot (panic on its console, or qemu gone), with the console's tail; undefined while it may still boot. */
export function vmBootProblem(stateDir: string, name: string): string | undefined {
  const pid = readPid(stateDir);
  const gone = pid === undefined || !isQemu(pid);
  const consoleText = readText(path.join(stateDir, CONSOLE_LOG)); // read after the liveness check: holds qemu's last words
  const line = bootFailure(consoleText);
  if (!line && !gone) return undefined;
  const qemuLog = gone ? consoleTail(readText(path.join(stateDir, 'qemu.log')), 5) : '';
  return `vm ${name} failed to boot: ${line ?? 'qemu exited'}\n` +
    `last console lines (${path.join(stateDir, CONSOLE_LOG)}):\n${consoleTail(consoleText) || '(empty)'}` +
    (qemuLog ? `\nqemu.log:\n${qemuLog}` : '');
}

/**
 * Waits for the VM's sshd banner while watching its console: a kernel panic, a missing init or qemu exiting ends the
 * wait at once (within `pollMs`) with the console's last lines; a timeout also reports them.
 */
export async function waitVmSsh(stateDir: string, name: string, address: string, timeoutMs: number, pollMs = 250): Promise<void> {
  let problem: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<string>((resolve) => {
    const tick = (): void => {
      problem = vmBootProblem(stateDir, name);
      if (problem) resolve(problem);
      else timer = setTimeout(tick, pollMs);
    };
    tick();
  });
  try {
    await Promise.race([waitSshReady(address, timeoutMs, failed), failed.then((m) => Promise.reject(new Error(m)))]);
  } catch (e) {
    if (problem) throw new Error(problem);
    const tail = consoleTail(readText(path.join(stateDir, CONSOLE_LOG)));
    throw new Error(`${(e as Error).message}\nlast console lines of vm ${name}:\n${tail || '(empty)'}`);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
