// ns hosts: a real OpenSSH sshd inside the host's netns plus a private mount + UTS namespace
// (overlayfs over /etc, /var, /root; fresh tmpfs on /run, /tmp and /mnt; this machine's /usr, /boot and the package
// managers' state read-only; no usable /dev/watchdog*).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { hostKeyDir } from './keys.js';
import { netnsIno } from './net.js';
import { q, sleep } from './sh.js';
import type { LabHost } from './types.js';

const IPROUTE2 = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';
export const OVERLAY_DIRS = ['etc', 'var', 'root'] as const;
export const SSHD_CONFIG = '/etc/ssh/sshd_config_cf';
/** This machine's own files an ns host sees (bound read-only; a symlink such as a merged /lib → usr/lib is skipped). */
export const READ_ONLY_DIRS = ['/usr', '/boot', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;
/** The package managers' state under the host's /var overlay, read-only too: apt, dpkg and rpm stop before changing anything. */
export const READ_ONLY_PKG_DIRS = ['/var/lib/dpkg', '/var/lib/apt', '/var/cache/apt', '/var/lib/rpm'] as const;
const NO_WATCHDOG = '/run/.cf-no-watchdog';

export function sshdConfig(h: LabHost): string {
  return [
    '# clusterform lab sshd for host ' + h.name + ' (per-host file in the host overlay; the machine config is untouched)',
    ...h.nics.map((n) => `ListenAddress ${n.address}:22`),
    'HostKey /etc/ssh/cf_host_ed25519_key',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'AuthorizedKeysFile /etc/ssh/cf_authorized_keys',
    'PidFile /run/sshd.pid',
    'UsePAM no',
    'UseDNS no',
    'MaxStartups 10:30:100',
    'MaxSessions 10',
    'PrintMotd no',
    'AcceptEnv LANG LC_*',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n');
}

async function writeIfChanged(file: string, content: string, mode: number): Promise<void> {
  let old: string | undefined;
  try {
    old = await readFile(file, 'utf8');
  } catch {
    /* missing */
  }
  if (old !== content) {
    await writeFile(file, content, { mode });
  }
  await chmod(file, mode);
}

/** Creates the overlay upper/work dirs and writes the per-host sshd files into the /etc upper layer. */
export async function prepareHostFs(h: LabHost, authorizedKeys: string): Promise<void> {
  for (const d of OVERLAY_DIRS) {
    await mkdir(path.join(h.dir, `${d}.work`), { recursive: true });
    if (!existsSync(path.join(h.dir, `${d}.upper`))) {
      await mkdir(path.join(h.dir, `${d}.upper`), { recursive: true, mode: d === 'root' ? 0o700 : 0o755 });
      await chmod(path.join(h.dir, `${d}.upper`), d === 'root' ? 0o700 : 0o755);
    }
  }
  const etc = path.join(h.dir, 'etc.upper');
  await mkdir(path.join(etc, 'ssh'), { recursive: true, mode: 0o755 });
  await writeIfChanged(path.join(etc, 'ssh', 'sshd_config_cf'), sshdConfig(h), 0o644);
  await writeIfChanged(path.join(etc, 'ssh', 'cf_authorized_keys'), authorizedKeys.trim() + '\n', 0o644); // readable by non-root users too (the file holds public keys only)
  // A lab host is a fresh machine: its root gets a minimal shell profile instead of this machine's (whose .bashrc may
  // run heavy tools such as pyenv on every SSH command: bash reads ~/.bashrc for commands run by sshd).
  const rootUpper = path.join(h.dir, 'root.upper');
  for (const f of ['.bashrc', '.profile']) {
    const p = path.join(rootUpper, f);
    if (!existsSync(p)) await writeFile(p, `# clusterform lab host ${h.name}: minimal ${f}\n`, { mode: 0o644 });
  }
  const keySrc = path.join(hostKeyDir(h), 'ssh_host_ed25519_key');
  const keyDst = path.join(etc, 'ssh', 'cf_host_ed25519_key');
  await writeIfChanged(keyDst, await readFile(keySrc, 'utf8'), 0o600);
  await writeIfChanged(`${keyDst}.pub`, await readFile(`${keySrc}.pub`, 'utf8'), 0o644);
  if (!existsSync(path.join(etc, 'hostname'))) await writeFile(path.join(etc, 'hostname'), h.hostname + '\n');
}

/** A read-only bind mount of each existing directory onto itself (inside the host's private mount namespace only); a failure stops the host (set -e). */
export function readOnlyBindSh(dirs: readonly string[]): string {
  return `for d in ${dirs.map(q).join(' ')}; do if [ -d "$d" ] && [ ! -L "$d" ]; then mount --bind "$d" "$d"; mount -o remount,bind,ro "$d"; fi; done`;
}

/**
 * Covers every `DEV/watchdog*` node with an empty read-only file (never opening the node: opening a watchdog arms it).
 * An ns host shares this machine's kernel: a watchdog armed there would reset the machine. Nodes that appear after
 * the host started (a watchdog driver loaded later) are not covered.
 */
export function hideWatchdogsSh(dev = '/dev', blank = NO_WATCHDOG): string {
  return [
    `: > ${q(blank)}`,
    `chmod 0 ${q(blank)}`,
    `for w in ${q(dev)}/watchdog*; do if [ -e "$w" ] || [ -L "$w" ]; then mount --bind ${q(blank)} "$w"; mount -o remount,bind,ro "$w"; fi; done`,
  ].join('\n');
}

/**
 * The shell script run inside `unshare --mount --uts` before exec'ing sshd. It runs under `busybox sh`, whose
 * applets (hostname, mkdir, mount...) run without an exec each: that halves the start cost of a host.
 */
export function hostSetupScript(h: LabHost, netCommands: string[] = []): string {
  const st = '/run/.cf-state';
  const lines = [
    'set -e',
    // iproute2's ip by full path (busybox sh would otherwise pick its own ip applet)
    ...(netCommands.length ? [`${IPROUTE2} -batch - <<'CF_EOF'`, ...netCommands, 'CF_EOF'] : []),
    `hostname ${q(h.hostname)}`,
    // fresh /run first; the state dir is bound under it so that overlay layers never resolve through another overlay
    'mount -t tmpfs -o mode=0755,nosuid,nodev,size=64m cf-run /run',
    `mkdir ${st}`,
    `mount --bind ${q(h.dir)} ${st}`,
    ...OVERLAY_DIRS.map(
      (d) => `mount -t overlay -o lowerdir=/${d},upperdir=${st}/${d}.upper,workdir=${st}/${d}.work cf-${d} /${d}`,
    ),
    `umount -l ${st}`,
    `rmdir ${st}`,
    readOnlyBindSh([...READ_ONLY_DIRS, ...READ_ONLY_PKG_DIRS]),
    hideWatchdogsSh(),
    'mkdir -m 0755 /run/sshd',
    'mkdir -m 1777 /run/lock',
    'mount -t tmpfs -o mode=1777,nosuid,nodev,size=256m cf-tmp /tmp',
    // mount points (/mnt/hanfs, ...) are per host too, as on separate machines
    'mount -t tmpfs -o mode=0755,nosuid,nodev,size=16m cf-mnt /mnt',
    `exec /usr/sbin/sshd -D -e -f ${SSHD_CONFIG}`,
  ];
  return lines.join('\n');
}

export interface StartedSshd { pid: number; exited: Promise<number | null>; logFile: string }

/** Starts sshd for an ns host (detached). The returned pid is sshd's own (ip/unshare/sh all exec). */
export function startSshd(h: LabHost, netCommands: string[] = [], joinPid?: number): StartedSshd {
  const logFile = path.join(h.dir, 'sshd.log');
  const fd = openSync(logFile, 'a');
  try {
    // joinPid: a surviving process of the host (e.g. a daemon started over ssh) - the new sshd joins its
    // mount + UTS namespace so that the host keeps one view of its files (never two overlays on one upper dir).
    const [cmd, args] = joinPid
      ? ['nsenter', ['--target', String(joinPid), '--mount', '--uts', '--net', '--', '/usr/sbin/sshd', '-D', '-e', '-f', SSHD_CONFIG]]
      : ['ip', ['netns', 'exec', h.netns, 'unshare', '--mount', '--uts', '--propagation', 'private', '--', 'busybox', 'sh', '-c', hostSetupScript(h, netCommands)]];
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.on('error', () => resolve(127));
    });
    child.unref();
    if (!child.pid) throw new Error(`lab: could not start sshd for ${h.name}`);
    return { pid: child.pid, exited, logFile };
  } finally {
    closeSync(fd);
  }
}

export interface ProcInfo { pid: number; comm: string; cmdline: string; netIno?: number }

/** One pass over /proc: every process with its comm, cmdline and net namespace inode. */
export function scanProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const pid = Number(e);
      const comm = readFileSync(`/proc/${e}/comm`, 'utf8').trim();
      const cmdline = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      let netIno: number | undefined;
      try {
        const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${e}/ns/net`));
        netIno = m ? Number(m[1]) : undefined;
      } catch {
        /* kernel thread or gone */
      }
      out.push({ pid, comm, cmdline, netIno });
    } catch {
      /* process went away */
    }
  }
  return out;
}

/** The listening sshd of an ns host (from a /proc scan), if running. */
export function findSshd(h: LabHost, procs: ProcInfo[]): number | undefined {
  const ino = netnsIno(h.netns);
  if (ino === undefined) return undefined;
  const p = procs.find((p) => p.netIno === ino && p.comm === 'sshd' && p.cmdline.includes(SSHD_CONFIG));
  return p?.pid;
}

/** A live process of the host that runs inside the host's private mount namespace (has the cf-etc overlay). */
export function findHostMountNsPid(h: LabHost, procs: ProcInfo[]): number | undefined {
  const ino = netnsIno(h.netns);
  if (ino === undefined) return undefined;
  for (const p of procs) {
    if (p.netIno !== ino) continue;
    try {
      if (readFileSync(`/proc/${p.pid}/mountinfo`, 'utf8').includes(' - overlay cf-etc ')) return p.pid;
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** Kills every process in the given namespaces: TERM, wait up to graceMs, then KILL. */
export async function killNamespaces(names: string[], graceMs = 2000): Promise<number> {
  const inos = new Set(names.map(netnsIno).filter((x): x is number => x !== undefined));
  if (inos.size === 0) return 0;
  const victims = () => scanProcs().filter((p) => p.netIno !== undefined && inos.has(p.netIno) && p.pid !== process.pid);
  let list = victims();
  const n = list.length;
  for (const p of list) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (list.length > 0 && Date.now() < deadline) {
    await sleep(25);
    list = victims();
  }
  for (let round = 0; list.length > 0 && round < 40; round++) {
    for (const p of list) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(25);
    list = victims();
  }
  return n;
}

/**
 * Waits until the process (sshd, inside its netns) has a listening TCP socket on port 22, read from
 * /proc/<pid>/net/tcp (the netns's table). Probing with TCP before the address exists would leave an
 * unanswered ARP request behind and cost a 1 s ARP retransmit, so this comes first.
 */
export async function waitListening(pid: number, timeoutMs: number, abort?: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let aborted = false;
  let tries = 0;
  void abort?.then(() => (aborted = true));
  while (Date.now() < deadline && !aborted) {
    try {
      const t = readFileSync(`/proc/${pid}/net/tcp`, 'utf8');
      if (/^\s*\d+: [0-9A-F]{8}:0016 [0-9A-F]{8}:0000 0A /m.test(t)) return;
    } catch {
      return; // process gone: let the TCP probe report it
    }
    await sleep(Math.min(200, 10 * ++tries)); // growing: a thousand hosts at once
  }
}

/** TCP connect to addr:22 and read an SSH banner. Retries until timeout (a connected attempt is never cut short). */
export async function waitSshReady(address: string, timeoutMs: number, abort?: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let aborted = false;
  let lastErr = 'timeout';
  let tries = 0;
  void abort?.then(() => (aborted = true));
  while (Date.now() < deadline) {
    if (aborted) throw new Error(`sshd on ${address} exited before it was ready`);
    const ok = await new Promise<boolean>((resolve) => {
      let settled = false;
      let buf = '';
      const s = net.connect({ host: address, port: 22 });
      const timer = setTimeout(() => done(false, 'connect timeout'), Math.max(50, Math.min(1000, deadline - Date.now())));
      function done(v: boolean, err?: string) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) lastErr = err;
        s.destroy();
        resolve(v);
      }
      s.on('connect', () => {
        // connected: wait for the banner as long as the overall deadline allows
        clearTimeout(timer);
        const t2 = setTimeout(() => done(false, 'no banner'), Math.max(50, deadline - Date.now()));
        s.once('close', () => clearTimeout(t2));
      });
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        if (buf.includes('\n') || buf.length > 255) done(buf.startsWith('SSH-'), buf.startsWith('SSH-') ? undefined : `bad banner ${JSON.stringify(buf.slice(0, 80))}`);
      });
      s.on('error', (e) => done(false, e.message));
      s.on('close', () => done(false, 'connection closed before banner'));
    });
    if (ok) return;
    // 20 ms, growing to 500 ms: a thousand hosts polling every 20 ms slow down the sshds they wait for
    await sleep(Math.min(500, 20 * ++tries));
  }
  throw new Error(`ssh on ${address}:22 not ready after ${timeoutMs} ms (${lastErr})`);
}
