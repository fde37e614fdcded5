// A whole file with given content or rendered from a template; `absent` removes it (or puts the original back).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { absolutePath } from '../../util/validators.js';
import { defineModule } from '../../engine/types.js';
import { renderTemplate } from '../../playbook/render.js';
import { renderContext } from '../../engine/context.js';
import { templatePath } from '../../util/paths.js';
import { parseFileSections, planFile, readFileSections, type FileState } from '../support/files.js';

const args = z
  .object({
    path: absolutePath,
    content: z.string().optional(),
    template: z.string().optional(),
    mode: z.string().regex(/^0?[0-7]{3,4}$/).default('0644'),
    owner: z.string().regex(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/).optional(),
    backup: z.boolean().default(true),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .strict()
  .refine((a) => a.state === 'absent' || (a.content === undefined) !== (a.template === undefined), { message: 'give exactly one of content: or template:' });

export const file = defineModule<z.infer<typeof args>, FileState>({
  name: 'file',
  doc: 'a file with given content, or rendered from a template in templates/',
  args,
  read: (c) => readFileSections(c.args.path),
  parse: (res) => parseFileSections(res),
  plan(cur, c) {
    const a = c.args;
    if (a.state === 'absent') {
      if (!cur.exists) return { changes: [] };
      return { changes: [{ summary: `remove ${a.path}${a.backup ? ' (or put back the original)' : ''}`, actions: [{ kind: 'remove', path: a.path, restoreBackup: a.backup }] }] };
    }
    let content = a.content;
    if (a.template !== undefined) {
      const src = readFileSync(templatePath(a.template, c.inventory.templatesDir), 'utf8');
      content = renderTemplate(src, renderContext(c.inventory, c.host, c.facts));
    }
    const ch = planFile(a.path, cur, content!, { mode: a.mode, owner: a.owner, backup: a.backup, mkdir: true });
    return { changes: ch ? [ch] : [] };
  },
});
