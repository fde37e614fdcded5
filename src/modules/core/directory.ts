// A directory (e.g. a mount point); `absent` removes it only when it is empty and was made by clusterform.
import { z } from 'zod';
import { absolutePath } from '../../util/validators.js';
import { defineModule, type Action } from '../../engine/types.js';
import { catFile, joinLines, lines, parseCatFile } from '../support/files.js';
import { sec } from '../support/sections.js';
import { q } from '../../util/shell.js';

const args = z
  .object({
    path: absolutePath.refine((p) => p !== '/', 'not /'),
    mode: z.string().regex(/^0?[0-7]{3,4}$/).default('0755'),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .strict();

interface DirState {
  kind: 'dir' | 'missing' | 'other';
  mode?: string;
  empty: boolean;
  /** the list of directories clusterform made (one path a line; empty when there is none) */
  marks: string;
  ours: boolean;
  mounted: boolean;
}
const MARK = '/var/lib/clusterform/dirs';
/** Write the list of directories clusterform made (atomically, as every file). */
const markAction = (content: string): Action => ({ kind: 'write', path: MARK, content, mode: '0644', mkdir: true });

export const directory = defineModule<z.infer<typeof args>, DirState>({
  name: 'directory',
  doc: 'a directory such as a mount point',
  args,
  read: (c) => {
    const p = q(c.args.path);
    return {
      stat: `if [ -d ${p} ]; then echo dir; stat -c %a -- ${p}; [ -z "$(ls -A -- ${p})" ] && echo empty; elif [ -e ${p} ]; then echo other; else echo missing; fi`,
      // the whole list (not a grep): a round trip that creates several directories plans each from the list the one
      // before it writes (engine/batch.ts)
      marks: catFile(MARK),
      mounted: `awk '{print $2}' /proc/mounts | grep -qxF -- ${p} && echo mounted; true`,
    };
  },
  parse: (res, c) => {
    const l = sec(res, 'stat').out.trim().split('\n');
    const marks = parseCatFile(sec(res, 'marks'));
    return { kind: l[0] as DirState['kind'], mode: l[1]?.padStart(4, '0'), empty: l.includes('empty'), marks: marks.content, ours: lines(marks.content).includes(c.args.path), mounted: /mounted/.test(sec(res, 'mounted').out) };
  },
  plan(s, c) {
    const a = c.args;
    const p = q(a.path);
    const mode = a.mode.padStart(4, '0');
    if (a.state === 'present') {
      if (s.kind === 'other') return { changes: [], refuse: `${a.path} exists and is not a directory` };
      if (s.kind === 'dir') {
        if (s.mode === mode || s.mounted) return { changes: [] };
        return { changes: [{ summary: `${a.path}: mode ${s.mode} → ${mode}`, actions: [{ kind: 'sh', script: `chmod ${q(mode)} -- ${p}`, desc: `chmod ${mode} ${a.path}` }] }] };
      }
      const mkdir: Action = { kind: 'sh', script: `mkdir -p -m ${q(mode)} -- ${p}`, desc: `mkdir -p ${a.path}` };
      return { changes: [{ summary: `create directory ${a.path}`, actions: s.ours ? [mkdir] : [mkdir, markAction(joinLines([...lines(s.marks), a.path]))] }] };
    }
    if (s.kind !== 'dir' || !s.ours) return { changes: [] };
    if (s.mounted || !s.empty) return { changes: [], notes: [`${a.path} kept: ${s.mounted ? 'something is mounted there' : 'not empty'}`] };
    const rmdir: Action = { kind: 'sh', script: `rmdir -- ${p} 2>/dev/null || [ ! -e ${p} ]`, desc: `rmdir ${a.path}` };
    return { changes: [{ summary: `remove empty directory ${a.path}`, actions: [rmdir, markAction(joinLines(lines(s.marks).filter((l) => l !== a.path)))] }] };
  },
});
