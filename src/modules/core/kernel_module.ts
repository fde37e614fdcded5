// kernel_module: a kernel module loaded now (modprobe) and at boot (one line in /etc/modules-load.d/clusterform.conf).
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { unifiedDiff } from '../../util/diff.js';
import { q } from '../../util/shell.js';
import { plainAbsolutePath } from '../../util/validators.js';
import { catFile, type FileState, joinLines, lines, MANAGED, onlyComments, parseCatFile } from '../support/files.js';
import { sec, stateArg } from '../support/sections.js';

export const DEFAULT_MODULES_FILE = '/etc/modules-load.d/clusterform.conf';

const args = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,56}$/, 'a kernel module name (letters, digits, _ and -)'),
    persist: z.boolean().default(true),
    file: plainAbsolutePath.default(DEFAULT_MODULES_FILE),
    /** on absent: also `modprobe -r` (fails when the module is in use) */
    unload: z.boolean().default(false),
    state: stateArg,
  })
  .strict();
export type KernelModuleArgs = z.infer<typeof args>;

export interface KernelModuleState {
  loaded: boolean;
  /** 'builtin' | 'available' (a .ko exists) | 'none' */
  availability: 'builtin' | 'available' | 'none';
  file: FileState;
  /** the directory of `file` exists (systemd-modules-load reads it) */
  dirExists: boolean;
}

const sysName = (n: string) => n.replace(/-/g, '_');

/** Why a module is needed, for refusals. */
export function missingModuleMessage(name: string, kernel: string): string {
  const n = sysName(name);
  if (n === 'ip_vs') return `the kernel has no IPVS (ip_vs): use a kernel with CONFIG_IP_VS (running ${kernel || 'unknown'})`;
  if (n.startsWith('ip_vs_')) return `the kernel has no IPVS scheduler module ${n}: use a kernel with CONFIG_IP_VS_${n.slice(6).toUpperCase()} or another scheduler (running ${kernel || 'unknown'})`;
  if (n === 'ipip') return `the kernel has no IP-in-IP tunnel (ipip) for LVS-TUN: use a kernel with CONFIG_NET_IPIP (running ${kernel || 'unknown'})`;
  return `kernel module ${name} does not exist for kernel ${kernel || 'unknown'}`;
}

export const kernelModule = defineModule<KernelModuleArgs, KernelModuleState>({
  name: 'kernel_module',
  doc: 'A kernel module: loaded now with modprobe and listed in /etc/modules-load.d/clusterform.conf for boot.',
  args,
  read: ({ args: a }) => {
    const n = sysName(a.name);
    const alt = n.replace(/_/g, '-');
    return {
      mod: [
        // in /sys/module but not in /proc/modules: built into the kernel (also where /lib/modules is missing)
        `if grep -qs ${q('^' + n + ' ')} /proc/modules; then echo loaded; elif [ -d ${q('/sys/module/' + n)} ]; then echo loaded builtin; else echo unloaded; fi`,
        'read __k < /proc/sys/kernel/osrelease; M=/lib/modules/$__k',
        `if grep -qs -e ${q('/' + n + '.ko')} -e ${q('/' + alt + '.ko')} "$M/modules.builtin"; then echo builtin; ` +
          // modules.dep lists every loadable module: one grep instead of walking the tree (find only without it)
          `elif if [ -r "$M/modules.dep" ]; then grep -qs -e ${q('/' + n + '.ko')} -e ${q('/' + alt + '.ko')} "$M/modules.dep"; ` +
          `else [ -n "$(find "$M" \\( -name ${q(n + '.ko*')} -o -name ${q(alt + '.ko*')} \\) 2>/dev/null | head -n1)" ]; fi; then echo available; else echo none; fi`,
        `if [ -d ${q(a.file.replace(/\/[^/]*$/, ''))} ]; then echo dir; else echo nodir; fi`,
      ].join('\n'),
      file: catFile(a.file),
    };
  },
  parse: (res) => {
    const w = sec(res, 'mod').out.split(/\s+/);
    return {
      loaded: w.includes('loaded'),
      availability: w.includes('builtin') ? 'builtin' : w.includes('available') ? 'available' : 'none',
      dirExists: w.includes('dir'),
      file: parseCatFile(sec(res, 'file')),
    };
  },
  plan: (s, { args: a, facts }) => {
    const changes: Change[] = [];
    const notes: string[] = [];
    const n = sysName(a.name);
    const listed = lines(s.file.content).some((l) => sysName(l.replace(/#.*$/, '').trim()) === n);
    if (a.state === 'present') {
      if (!s.loaded && s.availability === 'none') return { changes: [], refuse: missingModuleMessage(a.name, facts.kernel) };
      if (!s.loaded && s.availability !== 'builtin') changes.push({ summary: `load kernel module ${a.name}`, actions: [{ kind: 'sh', script: `modprobe ${q(a.name)}`, desc: `modprobe ${a.name}` }] });
      if (a.persist && s.availability !== 'builtin') {
        if (!s.dirExists && !s.file.exists) notes.push(`${a.name} not persisted: ${a.file.replace(/\/[^/]*$/, '')} does not exist (no systemd-modules-load)`);
        else if (!listed) {
          const next = joinLines([...(s.file.exists ? lines(s.file.content) : [MANAGED]), a.name]);
          changes.push({ summary: `load ${a.name} at boot (${a.file})`, diff: unifiedDiff(s.file.content, next, a.file), actions: [{ kind: 'write', path: a.file, content: next, mode: '0644' }] });
        }
      }
      return { changes, notes };
    }
    if (listed) {
      const next = joinLines(lines(s.file.content).filter((l) => sysName(l.replace(/#.*$/, '').trim()) !== n));
      changes.push(
        onlyComments(next)
          ? { summary: `remove ${a.file} (no modules left)`, diff: unifiedDiff(s.file.content, '', a.file), actions: [{ kind: 'remove', path: a.file }] }
          : { summary: `stop loading ${a.name} at boot (${a.file})`, diff: unifiedDiff(s.file.content, next, a.file), actions: [{ kind: 'write', path: a.file, content: next, mode: '0644' }] },
      );
    }
    if (a.unload && s.loaded && s.availability !== 'builtin') changes.push({ summary: `unload kernel module ${a.name}`, actions: [{ kind: 'sh', script: `modprobe -r ${q(a.name)}`, desc: `modprobe -r ${a.name}` }] });
    return { changes, notes };
  },
});
