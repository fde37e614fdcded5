// Checks that the lab can run here (Linux, root, every command it runs) before it touches anything.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { LabConfig } from './types.js';

/** Commands the lab runs for every lab (ns hosts, networks, disks) -> Debian package providing it. */
export const COMMANDS: Record<string, string> = {
  ip: 'iproute2',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  losetup: 'mount',
  mount: 'mount',
  umount: 'mount',
  busybox: 'busybox-static',
  sshd: 'openssh-server',
};
/** Commands qemu VMs and the VM image builder (src/lab/vm/artifacts.ts) run -> Debian package providing it. */
export const VM_COMMANDS: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  cpio: 'cpio',
  xz: 'xz-utils',
  find: 'findutils',
  ldd: 'libc-bin',
  depmod: 'kmod',
  dpkg: 'dpkg',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  'apt-cache': 'apt',
};
/** Commands Debian-image VMs (src/lab/vm/debian-image.ts) and `lab reboot` run -> Debian package providing it. */
export const DEBIAN_VM_COMMANDS: Record<string, string> = {
  debootstrap: 'debootstrap',
  'qemu-img': 'qemu-utils',
  'mkfs.ext4': 'e2fsprogs',
  truncate: 'coreutils',
  tar: 'tar',
  ssh: 'openssh-client',
  'dpkg-scanpackages': 'dpkg-dev',
  python3: 'python3-minimal',
};

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The command as spawn() would find it: through PATH only (a command outside PATH cannot be run by name either). */
export function which(cmd: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const d of searchPath.split(':').filter(Boolean)) {
    const f = path.join(d, cmd);
    if (isExecutable(f)) return f;
  }
  return undefined;
}

export function assertLinuxRoot(): void {
  if (process.platform !== 'linux') throw new Error(`clusterform lab needs Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) throw new Error('clusterform lab must run as root (it creates network namespaces, veths and loop devices)');
}

export function missingCommands(needVm: boolean, searchPath?: string, needDebian = false): { cmd: string; pkg: string }[] {
  const want = { ...COMMANDS, ...(needVm ? VM_COMMANDS : {}), ...(needDebian ? DEBIAN_VM_COMMANDS : {}) };
  return Object.entries(want)
    .filter(([cmd]) => !which(cmd, searchPath))
    .map(([cmd, pkg]) => ({ cmd, pkg }));
}

/** "lab: missing commands: cpio (Debian package cpio), ...; install them: apt-get install -y cpio" */
export function missingMessage(missing: { cmd: string; pkg: string }[]): string {
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  return (
    `lab: missing commands: ${missing.map((m) => `${m.cmd} (Debian package ${m.pkg})`).join(', ')}; ` +
    `install them with: apt-get install -y ${pkgs.join(' ')} (or: bash scripts/install-deps.sh). Nothing was changed.`
  );
}

/** Fails, before the lab changes anything, when this is not Linux as root or a command the lab runs is missing. */
export function ensurePrereqs(cfg: LabConfig): void {
  assertLinuxRoot();
  const missing = missingCommands(cfg.hosts.some((h) => h.kind === 'vm'), undefined, cfg.hosts.some((h) => h.image === 'debian'));
  if (missing.length) throw new Error(missingMessage(missing));
}
