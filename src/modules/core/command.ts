// A command run only when needed: when `creates` does not exist yet, or when the `unless` check fails.
import { z } from 'zod';
import { defineModule } from '../../engine/types.js';
import { cmd, q } from '../../util/shell.js';

const args = z
  .object({
    argv: z.array(z.string()).min(1),
    creates: z.string().optional(),
    unless: z.array(z.string()).min(1).optional(),
  })
  .strict();

export const command = defineModule<z.infer<typeof args>, { needed: boolean; why: string }>({
  name: 'command',
  doc: 'a command (an argv, never a shell string) run only when `creates` is missing or `unless` fails',
  args,
  read: (c) => ({
    check: c.args.creates !== undefined ? `[ -e ${q(c.args.creates)} ] && echo done || echo needed`
      : c.args.unless !== undefined ? `${cmd(c.args.unless)} >/dev/null 2>&1 && echo done || echo needed` : 'echo needed',
  }),
  parse: (res, c) => {
    const needed = res.check!.out.trim() !== 'done';
    return { needed, why: c.args.creates ? `${c.args.creates} does not exist` : c.args.unless ? `${c.args.unless.join(' ')} fails` : 'always runs' };
  },
  plan: (s, c) => (s.needed ? { changes: [{ summary: `run ${c.args.argv.join(' ')} (${s.why})`, actions: [{ kind: 'sh', script: cmd(c.args.argv), desc: cmd(c.args.argv) }] }] } : { changes: [] }),
});
