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

export interface PackageState { found: boolean }

export function installArgv(pkg: string, name: string): string[] | undefined {
  switch (pkg) {
    case 'apt': return ['apt-get', 'install', '-y', '--no-install-recommends', name];
    case 'dnf': return ['dnf', '-y', 'install', name];
    case 'yum': return ['yum', '-y', 'install', name];
    case 'zypper': return ['zypper', '--non-interactive', 'install', name];
    default: return undefined;
  }
}

export const pkg = defineModule<PackageArgs, PackageState>({
  name: 'package',
  doc: 'A package, installed with the host package manager when the command it provides is missing.',
  args,
  read: ({ args: a }) => ({ which: `command -v ${q(a.command ?? a.name)}` }),
  parse: (res) => ({ found: sec(res, 'which').rc === 0 }),
  plan: (s, { args: a, facts }) => {
    if (s.found) return { changes: [] };
    const argv = installArgv(facts.pkg, a.name);
    if (!argv) return { changes: [], refuse: `${a.command ?? a.name} is missing and this host has no package manager clusterform knows (apt-get, dnf, yum, zypper): install ${a.name} by hand` };
    // apt: retry once after refreshing the package lists (fresh images often have none)
    const line = facts.pkg === 'apt' ? `export DEBIAN_FRONTEND=noninteractive; ${cmd(argv)} || { apt-get update && ${cmd(argv)}; }` : cmd(argv);
    return { changes: [{ summary: `install package ${a.name} (${facts.pkg})`, actions: [{ kind: 'sh', script: line, desc: line }] }] };
  },
});
