// A directory (e.g. a mount point); `absent` removes it only when it is empty and was made by clusterform.
import { z } from 'zod';
import { absolutePath } from '../../util/validators.js';
import { defineModule } from '../../engine/types.js';
import { q } from '../../util/shell.js';

const args = z
  .object({
    path: absolutePath.refine((p) => p !== '/', 'not /'),
    mode: z.string().regex(/^0?[0-7]{3,4}$/).default('0755'),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .strict();

interface DirState { kind: 'dir' | 'missing' | 'other'; mode?: string; empty: boolean; ours: boolean; mounted: boolean }
const MARK = '/var/lib/clusterform/dirs';

export const directory = defineModule<z.infer<typeof args>, DirState>({
  name: 'directory',
  doc: 'a directory such as a mount point',
  args,
  read: (c) => {
    const p = q(c.args.path);
    return {
      stat: `if [ -d ${p} ]; then echo dir; stat -c %a -- ${p}; [ -z "$(ls -A -- ${p})" ] && echo empty; elif [ -e ${p} ]; then echo other; else echo missing; fi`,
      ours: `grep -qxF -- ${p} ${MARK} && echo yes; awk '{print $2}' /proc/mounts | grep -qxF -- ${p} && echo mounted; true`,
    };
  },
  parse: (res) => {
    const l = res.stat!.out.trim().split('\n');
    const o = res.ours!.out;
    return { kind: l[0] as DirState['kind'], mode: l[1]?.padStart(4, '0'), empty: l.includes('empty'), ours: /yes/.test(o), mounted: /mounted/.test(o) };
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
      return { changes: [{ summary: `create directory ${a.path}`, actions: [{ kind: 'sh', script: `mkdir -p -m ${q(mode)} -- ${p} && mkdir -p /var/lib/clusterform && { grep -qxF -- ${p} ${MARK} 2>/dev/null || printf '%s\\n' ${p} >> ${MARK}; }`, desc: `mkdir -p ${a.path}` }] }] };
    }
    if (s.kind !== 'dir' || !s.ours) return { changes: [] };
    if (s.mounted || !s.empty) return { changes: [], notes: [`${a.path} kept: ${s.mounted ? 'something is mounted there' : 'not empty'}`] };
    return { changes: [{ summary: `remove empty directory ${a.path}`, actions: [{ kind: 'sh', script: `{ rmdir -- ${p} 2>/dev/null || [ ! -e ${p} ]; } && { grep -vxF -- ${p} ${MARK} > ${MARK}.new || true; } && mv -f ${MARK}.new ${MARK}`, desc: `rmdir ${a.path}` }] }] };
  },
});
