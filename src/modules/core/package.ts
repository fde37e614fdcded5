// package: a package installed when the command it provides is missing, via the host's package manager.
import { z } from 'zod';
import { defineModule } from '../../engine/types.js';
import { cmd, q } from '../../util/shell.js';
import { sec } from '../support/sections.js';

const args = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9+._-]*$/, 'a package name'),
    /** the command the package provides (default: the package name) */
    command: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9+._-]*$/, 'a command name').optional(),
    state: z.literal('present').default('present'),
  })
  .strict();
export type PackageArgs = z.infer<typeof args>;

/** readOnly: the first place the package manager writes to (PKG_PATHS) that is mounted read-only, if any. */
export interface PackageState { found: boolean; readOnly?: string }

/** Where apt/dpkg and rpm (dnf, yum, zypper) write: installing needs all of them writable. */
export const PKG_PATHS = ['/usr', '/var/lib/dpkg', '/var/cache/apt', '/var/lib/rpm'] as const;

/**
 * Prints `PATH OPTIONS` for each existing PKG_PATHS entry: the per-mount options of the mount holding it (the
 * longest mount point that contains it; the last one listed when mounts are stacked). A read-only bind mount
 * shows `ro` here, while `[ -w PATH ]` is true for root in dash and busybox even there.
 */
export function readOnlySh(): string {
  const awk = '$m == p || index(p, ($m == "/" ? "/" : $m "/")) == 1 { if (length($m) >= b) { b = length($m); x = $o } } END { print n " " x }';
  return [
    'f=/proc/self/mountinfo; m=5; o=6; [ -r "$f" ] || { f=/proc/mounts; m=2; o=4; }',
    `for p in ${PKG_PATHS.join(' ')}; do [ -d "$p" ] || continue; r=$(cd -P "$p" && pwd) || continue; awk -v n="$p" -v p="$r" -v m="$m" -v o="$o" ${q(awk)} "$f"; done`,
  ].join('\n');
}

/** The first path of `PATH OPTIONS` lines whose options include ro. */
export function parseReadOnly(out: string): string | undefined {
  for (const line of out.split('\n')) {
    const [p, opts] = line.trim().split(/\s+/);
    if (p && opts?.split(',').includes('ro')) return p;
  }
  return undefined;
}

export function installArgv(pkg: string, name: string): string[] | undefined {
  switch (pkg) {
    // never a question: dpkg keeps changed configuration files as they are (its prompt would read EOF and fail)
    case 'apt': return ['apt-get', 'install', '-y', '--no-install-recommends', name, '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];
    case 'dnf': return ['dnf', '-y', 'install', name];
    case 'yum': return ['yum', '-y', 'install', name];
    case 'zypper': return ['zypper', '--non-interactive', 'install', name];
    default: return undefined;
  }
}

function readOnlyRefusal(a: PackageArgs, path: string): string {
  return `package ${a.name}: ${a.command ?? a.name} is missing and ${path} is read-only on this host, so it cannot be installed here ` +
    "(a lab namespace host sees the controller machine's /usr read-only): install it on the controller machine or use a VM host";
}

export const pkg = defineModule<PackageArgs, PackageState>({
  name: 'package',
  doc: 'A package, installed with the host package manager when the command it provides is missing.',
  args,
  // the mount table is read only when the command is missing (a no-op run of an installed package reads nothing more)
  read: ({ args: a }) => {
    const which = `command -v ${q(a.command ?? a.name)}`;
    return { which, ro: `if ! ${which} >/dev/null 2>&1; then\n${readOnlySh()}\nfi` };
  },
  parse: (res) => (sec(res, 'which').rc === 0 ? { found: true } : { found: false, readOnly: parseReadOnly(sec(res, 'ro').out) }),
  plan: (s, { args: a, facts }) => {
    if (s.found) return { changes: [] };
    const argv = installArgv(facts.pkg, a.name);
    if (!argv) return { changes: [], refuse: `${a.command ?? a.name} is missing and this host has no package manager clusterform knows (apt-get, dnf, yum, zypper): install ${a.name} by hand` };
    if (s.readOnly) return { changes: [], refuse: readOnlyRefusal(a, s.readOnly) };
    // apt: retry once after refreshing the package lists (fresh images often have none)
    const line = facts.pkg === 'apt' ? `export DEBIAN_FRONTEND=noninteractive; ${cmd(argv)} || { apt-get update && ${cmd(argv)}; }` : cmd(argv);
    return { changes: [{ summary: `install package ${a.name} (${facts.pkg})`, actions: [{ kind: 'sh', script: line, desc: line }] }] };
  },
});
