// cluster_daemon: the cluster manager (clumanager, or cman + rgmanager) enabled and started where installed.
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { haArg, haOf } from '../support/disks.js';
import { parseSvc, startActions, stopActions, svcReadSh, type SvcState } from '../support/services.js';

const args = z.object({ ...haArg, state: z.enum(['present', 'absent']).default('present') }).strict();
type Args = z.infer<typeof args>;

export function daemonNames(format: 'clumanager' | 'cman'): string[] {
  return format === 'cman' ? ['cman', 'rgmanager'] : ['clumanager'];
}

export const clusterDaemon = defineModule<Args, Map<string, SvcState>>({
  name: 'cluster_daemon',
  doc: 'The cluster daemons (clumanager, or cman and rgmanager) are enabled and running where installed; absent: stopped.',
  args,
  read: (ctx) => ({ svc: svcReadSh(daemonNames(haOf(ctx).format), ctx.facts) }),
  parse: (res) => parseSvc(res.svc?.out ?? ''),
  plan(st, ctx) {
    const ha = haOf(ctx);
    const names = daemonNames(ha.format);
    const conf = ha.format === 'cman' ? '/etc/cluster/cluster.conf' : '/etc/cluster.xml';
    const present = ctx.args.state === 'present';
    const missing = names.filter((n) => !st.get(n)?.installed);
    if (present && missing.length) return { changes: [], warnings: [`${conf.replace(/.*\//, '')} written, ${missing.join(' and ')} not installed`] };
    const changes: Change[] = [];
    // start in order (cman before rgmanager), stop in reverse
    for (const n of present ? names : [...names].reverse()) {
      const s = st.get(n);
      if (!s?.installed) continue;
      const actions = present ? startActions(s, ctx.facts) : stopActions(s, ctx.facts);
      if (actions.length) changes.push({ summary: `${n}: ${present ? 'enable and start' : 'stop and disable'}`, actions });
    }
    return { changes, notes: !present && missing.length ? [`${missing.join(', ')}: not installed`] : [] };
  },
});
