// service_state: services the cluster starts itself (nfs, smb…) stopped and disabled at boot on every member (or started+enabled).
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { bootWord, maskedRefusal, noInitSystem, parseSvc, startActions, stopActions, svcReadSh, type SvcState } from '../support/services.js';

const args = z
  .object({
    names: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9@._-]*$/, 'a service name (letters, digits, @ . _ -)')),
    state: z.enum(['stopped_disabled', 'started_enabled']).default('stopped_disabled'),
  })
  .strict();
type Args = z.infer<typeof args>;

export const serviceState = defineModule<Args, Map<string, SvcState>>({
  name: 'service_state',
  doc: 'Services left to the cluster are stopped and disabled at boot (or started and enabled).',
  args,
  read: (ctx) => ({ svc: svcReadSh(ctx.args.names, ctx.facts) }),
  parse: (res) => parseSvc(res.svc?.out ?? ''),
  plan(st, ctx) {
    const changes: Change[] = [];
    const notes: string[] = [];
    const stop = ctx.args.state === 'stopped_disabled';
    const noInit = noInitSystem(ctx.facts, ctx.args.names);
    if (noInit) return { changes: [], refuse: noInit };
    for (const n of ctx.args.names) {
      const s = st.get(n);
      if (!s) return { changes: [], refuse: `could not read the state of service ${n}` };
      if (!s.installed) {
        notes.push(stop ? `${n}: not installed (nothing to stop)` : `${n}: not installed`);
        continue;
      }
      const masked = stop ? undefined : maskedRefusal(s);
      if (masked) return { changes: [], refuse: masked };
      const actions = stop ? stopActions(s, ctx.facts) : startActions(s, ctx.facts);
      if (actions.length) changes.push({ summary: `${n}: ${stop ? 'stop and disable at boot' : 'enable and start'} (${[s.active ? 'running' : 'stopped', bootWord(s)].join(', ')} now)`, actions });
    }
    if (!stop && notes.length) return { changes, warnings: notes };
    return { changes, notes };
  },
});
