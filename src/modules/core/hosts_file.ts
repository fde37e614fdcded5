// /etc/hosts: one managed block listing every host of the inventory; every other line stays as it was.
import { z } from 'zod';
import { defineModule } from '../../engine/types.js';
import { applyHostsBlock, removeHostsBlock } from '../../parsers/hostsblock.js';
import { parseFileSections, planFile, readFileSections, type FileState } from '../support/files.js';

const args = z
  .object({
    path: z.string().default('/etc/hosts'),
    cluster: z.string(),
    entries: z.array(z.object({ address: z.string(), names: z.array(z.string()).min(1) })).default([]),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .strict();

export const hostsFile = defineModule<z.infer<typeof args>, FileState>({
  name: 'hosts_file',
  doc: 'the clusterform block in /etc/hosts',
  args,
  read: (c) => readFileSections(c.args.path),
  parse: (res) => parseFileSections(res),
  plan(cur, c) {
    const { path, cluster, entries, state } = c.args;
    let wanted: string;
    try {
      wanted = state === 'present' ? applyHostsBlock(cur.content, cluster, entries) : removeHostsBlock(cur.content, cluster);
    } catch (e) {
      return { changes: [], refuse: `${path}: ${(e as Error).message}` };
    }
    if (state === 'absent' && !cur.exists) return { changes: [] };
    const ch = planFile(path, cur, wanted, { mode: cur.mode ?? '0644', owner: cur.owner, backup: true });
    if (ch) ch.summary = state === 'present' ? `${path}: managed block for ${entries.length} hosts` : `${path}: remove the managed block`;
    return { changes: ch ? [ch] : [] };
  },
});
