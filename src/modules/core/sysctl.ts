// sysctl: one kernel parameter, live (/proc/sys) and as one `name = value` line in a clusterform-owned sysctl.d file.
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { unifiedDiff } from '../../util/diff.js';
import { q } from '../../util/shell.js';
import { plainAbsolutePath } from '../../util/validators.js';
import { catFile, type FileState, joinLines, lines, MANAGED, onlyComments, parseCatFile, recordOnceScript, STATE_DIR } from '../support/files.js';
import { sec, stateArg } from '../support/sections.js';

export const DEFAULT_SYSCTL_FILE = '/etc/sysctl.d/90-clusterform-lvs.conf';

const args = z
  .object({
    name: z.string().regex(/^[a-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/, 'a sysctl name like net.ipv4.ip_forward'),
    value: z.union([z.string(), z.number()]).transform((v) => String(v).trim().split(/\s+/).join(' ')).optional(),
    file: plainAbsolutePath.default(DEFAULT_SYSCTL_FILE),
    /** keep the value across reboots in `file` */
    persist: z.boolean().default(true),
    /** on absent: put back the live value recorded before clusterform first changed it */
    restore: z.boolean().default(false),
    state: stateArg,
  })
  .strict()
  .refine((a) => a.state === 'absent' || a.value !== undefined, { message: 'value: is required when state is present', path: ['value'] });
export type SysctlArgs = z.infer<typeof args>;

export interface SysctlState {
  /** live value, whitespace-normalised; null when /proc/sys has no such entry */
  live: string | null;
  file: FileState;
  /** value recorded before clusterform first changed it (null when there is none or it is empty) */
  saved: string | null;
  /** a record file exists but is empty: nothing to restore from it */
  savedEmpty?: boolean;
}

export const procPath = (name: string) => `/proc/sys/${name.replace(/\./g, '/')}`;
export const recordPath = (name: string) => `${STATE_DIR}/sysctl/${name}`;
const norm = (s: string) => s.trim().split(/\s+/).join(' ');
const keyRe = (name: string) => new RegExp(`^\\s*${name.replace(/\./g, '[./]')}\\s*=`);

/** The file with exactly one `name = value` line for `name` (or none when value is undefined); other lines kept. */
export function editSysctlFile(text: string, name: string, value: string | undefined): string {
  const re = keyRe(name);
  const out: string[] = [];
  let placed = false;
  for (const l of lines(text)) {
    if (re.test(l)) {
      if (value !== undefined && !placed) out.push(`${name} = ${value}`);
      placed = true;
      continue;
    }
    out.push(l);
  }
  if (value !== undefined && !placed) {
    if (out.length === 0) out.push(MANAGED);
    out.push(`${name} = ${value}`);
  }
  return joinLines(out);
}

export const sysctl = defineModule<SysctlArgs, SysctlState>({
  name: 'sysctl',
  doc: 'One kernel parameter: its live value and one line in a clusterform-owned /etc/sysctl.d file; absent can restore the value from before.',
  args,
  read: ({ args: a }) => ({
    live: `cat ${q(procPath(a.name))}`,
    file: catFile(a.file),
    saved: catFile(recordPath(a.name)),
  }),
  parse: (res) => {
    const live = sec(res, 'live');
    const saved = parseCatFile(sec(res, 'saved'));
    // an empty record (written by a version that did not flush it, then a power cut) is no record
    return { live: live.rc === 0 ? norm(live.out) : null, file: parseCatFile(sec(res, 'file')), saved: saved.exists && norm(saved.content) !== '' ? norm(saved.content) : null, savedEmpty: saved.exists && norm(saved.content) === '' };
  },
  plan: (s, { args: a, dryRun }) => {
    const changes: Change[] = [];
    const notes: string[] = [];
    const proc = procPath(a.name);
    const fileChange = (want: string | undefined): Change | undefined => {
      if (!s.file.exists && want === undefined) return undefined;
      const next = editSysctlFile(s.file.content, a.name, want);
      if (s.file.exists && next === s.file.content) return undefined;
      if (want === undefined && onlyComments(next))
        return { summary: `remove ${a.file} (no settings left)`, diff: unifiedDiff(s.file.content, '', a.file), actions: [{ kind: 'remove', path: a.file }] };
      return { summary: want === undefined ? `remove ${a.name} from ${a.file}` : `persist ${a.name} = ${want} in ${a.file}`, diff: unifiedDiff(s.file.content, next, a.file), actions: [{ kind: 'write', path: a.file, content: next, mode: '0644', mkdir: true }] };
    };
    if (a.state === 'present') {
      const want = a.value!;
      if (s.live === null) {
        if (!dryRun) return { changes: [], refuse: `this kernel has no ${a.name} (${proc} does not exist)` };
        notes.push(`${proc} does not exist yet (an earlier task should create it)`);
      }
      if (s.live !== want) {
        const actions: Change['actions'] = [];
        if (s.live !== null && s.saved === null) actions.push({ kind: 'sh', script: recordOnceScript(recordPath(a.name), s.live), desc: `record the current value ${s.live} in ${recordPath(a.name)}` });
        actions.push({ kind: 'sh', script: `printf '%s\\n' ${q(want)} > ${q(proc)}`, desc: `write ${want} to ${proc}` });
        changes.push({ summary: `set ${a.name} = ${want} (now ${s.live ?? 'missing'})`, actions });
      }
      if (a.persist) { const c = fileChange(want); if (c) changes.push(c); }
      return { changes, notes };
    }
    // absent
    const c = fileChange(undefined);
    if (c) changes.push(c);
    if (a.restore && s.saved !== null) {
      const actions: Change['actions'] = [];
      if (s.live === null) notes.push(`${proc} is gone: nothing to restore`);
      else if (s.live !== s.saved) actions.push({ kind: 'sh', script: `printf '%s\\n' ${q(s.saved)} > ${q(proc)}`, desc: `write ${s.saved} to ${proc}` });
      actions.push({ kind: 'remove', path: recordPath(a.name) });
      changes.push({ summary: s.live !== null && s.live !== s.saved ? `restore ${a.name} = ${s.saved} (now ${s.live})` : `forget the recorded value of ${a.name}`, actions });
    } else if (a.restore && s.savedEmpty) {
      changes.push({ summary: `forget the empty record of ${a.name} (live value ${s.live ?? 'missing'} left as is)`, actions: [{ kind: 'remove', path: recordPath(a.name) }] });
    } else if (a.restore && s.saved === null && c) notes.push(`no value recorded for ${a.name}: live value ${s.live ?? 'missing'} left as is`);
    return { changes, notes };
  },
});
