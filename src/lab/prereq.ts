// Checks that the lab can run here (Linux, root, required commands) and installs missing packages on Debian.
import { existsSync } from 'node:fs';
import { run } from './sh.js';
import type { LabConfig } from './types.js';

/** command -> Debian package providing it */
const COMMANDS: Record<string, string> = {
  sshd: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  ip: 'iproute2',
  losetup: 'mount',
  unshare: 'util-linux',
  mount: 'mount',
  busybox: 'busybox-static',
};
const VM_COMMANDS: Record<string, string> = { 'qemu-system-x86_64': 'qemu-system-x86' };
const ALL_PKGS = 'openssh-server iproute2 fdisk e2fsprogs ipvsadm iptables busybox-static kmod cpio qemu-system-x86';
const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...PATH_DIRS];
  for (const d of dirs) if (existsSync(`${d}/${cmd}`)) return `${d}/${cmd}`;
  return undefined;
}

export function assertLinuxRoot(): void {
  if (process.platform !== 'linux') throw new Error(`clusterform lab needs Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) throw new Error('clusterform lab must run as root (it creates network namespaces, veths and loop devices)');
}

export function missingCommands(needVm: boolean): { cmd: string; pkg: string }[] {
  const want = { ...COMMANDS, ...(needVm ? VM_COMMANDS : {}) };
  return Object.entries(want)
    .filter(([cmd]) => !which(cmd))
    .map(([cmd, pkg]) => ({ cmd, pkg }));
}

export async function ensurePrereqs(cfg: LabConfig, log: (s: string) => void = () => {}): Promise<void> {
  assertLinuxRoot();
  const needVm = cfg.hosts.some((h) => h.kind === 'vm');
  let missing = missingCommands(needVm);
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  if (!which('apt-get')) {
    throw new Error(
      `lab: missing commands ${missing.map((m) => m.cmd).join(', ')}; install them, e.g. on Debian: apt-get install -y ${ALL_PKGS}`,
    );
  }
  log(`lab: installing ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = await run('apt-get', ['install', '-y', ...pkgs], { allowFail: true, env });
  if (r.code !== 0) {
    await run('apt-get', ['update'], { allowFail: true, env });
    r = await run('apt-get', ['install', '-y', ...pkgs], { allowFail: true, env });
  }
  missing = missingCommands(needVm);
  if (r.code !== 0 || missing.length > 0) {
    throw new Error(
      `lab: could not install ${pkgs.join(' ')} (missing: ${missing.map((m) => m.cmd).join(', ') || 'none'}); run: apt-get install -y ${ALL_PKGS}\n${r.stderr.slice(-2000)}`,
    );
  }
}
