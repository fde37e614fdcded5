// package: a package installed when the command it provides is missing, via the host's package manager.
import { z } from 'zod';
import { defineModule } from '../../engine/types.js';
import { cmd, q } from '../../util/shell.js';
import { sec } from '../support/sections.js';

const pkgName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9+._-]*$/, 'a package name');
const cmdName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9+._-]*$/, 'a command name');

const args = z
  .object({
    name: pkgName.optional(),
    /** the command the package provides (default: the package name) */
    command: cmdName.optional(),
    /** other commands that do the job as well: with any of them present nothing is installed (nftables unless iptables) */
    unless: z.array(cmdName).optional(),
    /**
     * several packages installed in ONE package-manager run (one dependency resolution, one round of triggers): each a
     * name or { name, command }; an empty name is skipped, so a template can leave an entry out
     */
    packages: z.array(z.union([z.literal(''), pkgName, z.object({ name: z.union([z.literal(''), pkgName]), command: cmdName.optional() }).strict()])).optional(),
    state: z.literal('present').default('present'),
  })
  .strict()
  .refine((a) => (a.name === undefined) !== (a.packages === undefined), { message: 'give either name (one package) or packages (a list)' })
  .refine((a) => a.packages === undefined || a.command === undefined, { message: 'command goes with name; in packages give { name, command }', path: ['command'] })
  .refine((a) => a.packages === undefined || a.unless === undefined, { message: 'unless goes with name', path: ['unless'] });
export type PackageArgs = z.infer<typeof args>;

/** The packages of a task, each with the command that shows it is installed. */
export function packageItems(a: PackageArgs): { name: string; command: string }[] {
  if (a.name !== undefined) return [{ name: a.name, command: a.command ?? a.name }];
  return (a.packages ?? []).flatMap((p) => (p === '' ? [] : typeof p === 'string' ? [{ name: p, command: p }] : p.name === '' ? [] : [{ name: p.name, command: p.command ?? p.name }]));
}

/**
 * missing: the packages whose command is not found; readOnly: the first place the package manager writes to
 * (PKG_PATHS) that is mounted read-only, if any.
 */
export interface PackageState { missing: string[]; readOnly?: string }

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

export function installArgv(pkg: string, names: string | string[]): string[] | undefined {
  const n = typeof names === 'string' ? [names] : names;
  switch (pkg) {
    // never a question: dpkg keeps changed configuration files as they are (its prompt would read EOF and fail)
    case 'apt': return ['apt-get', 'install', '-y', '--no-install-recommends', ...n, '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];
    case 'dnf': return ['dnf', '-y', 'install', ...n];
    case 'yum': return ['yum', '-y', 'install', ...n];
    case 'zypper': return ['zypper', '--non-interactive', 'install', ...n];
    default: return undefined;
  }
}

function readOnlyRefusal(missing: { name: string; command: string }[], path: string): string {
  const what = missing.map((m) => (m.command === m.name ? m.name : `${m.command} (${m.name})`)).join(', ');
  return `package ${missing.map((m) => m.name).join(', ')}: ${what} ${missing.length > 1 ? 'are' : 'is'} missing and ${path} is read-only on this host, so it cannot be installed here ` +
    "(a lab namespace host sees the controller machine's /usr read-only): install it on the controller machine or use a VM host";
}

export const pkg = defineModule<PackageArgs, PackageState>({
  name: 'package',
  doc: 'Packages, installed with the host package manager when the command each provides is missing (several in one run with packages:).',
  args,
  // the mount table is read only when a command is missing (a no-op run of installed packages reads nothing more)
  read: ({ args: a }) => {
    const items = packageItems(a);
    const found = (c: string) => `command -v ${q(c)} >/dev/null 2>&1`;
    if (a.name !== undefined) {
      const which = [items[0]!.command, ...(a.unless ?? [])].map((c) => `command -v ${q(c)}`).join(' || ');
      return { which, ro: `if ! { ${which}; } >/dev/null 2>&1; then\n${readOnlySh()}\nfi` };
    }
    // which: the name of each package whose command is missing; ro: the mount table, only when one is
    return {
      which: [...items.map((i) => `${found(i.command)} || echo ${q(i.name)}`), 'exit 0'].join('\n'),
      ro: `if ! { ${items.map((i) => found(i.command)).join(' && ') || 'true'}; }; then\n${readOnlySh()}\nfi`,
    };
  },
  parse: (res, { args: a }) => {
    const w = sec(res, 'which');
    const missing = a.name !== undefined ? (w.rc === 0 ? [] : [a.name]) : w.out.split('\n').map((l) => l.trim()).filter(Boolean);
    return missing.length ? { missing, readOnly: parseReadOnly(sec(res, 'ro').out) } : { missing };
  },
  plan: (s, { args: a, facts }) => {
    const missing = packageItems(a).filter((i) => s.missing.includes(i.name));
    if (!missing.length) return { changes: [] };
    const names = missing.map((m) => m.name);
    const argv = installArgv(facts.pkg, names);
    if (!argv) return { changes: [], refuse: `${missing.map((m) => m.command).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing and this host has no package manager clusterform knows (apt-get, dnf, yum, zypper): install ${names.join(', ')} by hand` };
    if (s.readOnly) return { changes: [], refuse: readOnlyRefusal(missing, s.readOnly) };
    // apt: retry once after refreshing the package lists (fresh images often have none)
    const line = facts.pkg === 'apt' ? `export DEBIAN_FRONTEND=noninteractive; ${cmd(argv)} || { apt-get update && ${cmd(argv)}; }` : cmd(argv);
    return { changes: [{ summary: `install ${names.length > 1 ? 'packages' : 'package'} ${names.join(', ')} (${facts.pkg})`, actions: [{ kind: 'sh', script: line, desc: line }] }] };
  },
});
