// cluster_daemon: the cluster manager (clumanager, cman + rgmanager, or corosync + pacemaker with sbd) enabled and
// started where installed; absent: stopped and disabled.
import { z } from 'zod';
import { defineModule, type Action, type Change } from '../../engine/types.js';
import type { Facts } from '../../facts/facts.js';
import { fencingOf } from '../../inventory/ha-pacemaker.js';
import { cmd } from '../../util/shell.js';
import { type Ha, haArg, haOf } from '../support/disks.js';
import { parseSvc, startActions, stopActions, svcReadSh, type SvcState } from '../support/services.js';

/** The arguments of the cluster tasks (cluster_daemon, pacemaker_cib): the HA section, the state, and a wait. */
export const clusterTaskArgs = z.object({
  ...haArg,
  state: z.enum(['present', 'absent']).default('present'),
  /** pacemaker: how long to wait for the cluster to settle (a designated controller, resources) (s; TCG lab VMs are slow) */
  wait: z.number().int().min(1).max(3600).default(300),
}).strict();
const args = clusterTaskArgs;
type Args = z.infer<typeof args>;

export function daemonNames(format: Ha['format']): string[] {
  if (format === 'pacemaker') return ['corosync', 'pacemaker'];
  return format === 'cman' ? ['cman', 'rgmanager'] : ['clumanager'];
}

/** sbd runs beside corosync (its unit starts and stops with corosync's: it is enabled, never started by hand). */
const withSbd = (ha: Ha): boolean => ha.format === 'pacemaker' && fencingOf(ha) === 'sbd';

/**
 * Shell: one bounded look for a designated controller. Each call is cut after 10 s: a `crmadmin -D` started while
 * pacemaker was still electing hung for minutes (its own -t did not end it) on Debian 12's pacemaker 2.1.5.
 */
export const HAS_DC_SH = `timeout 10 crmadmin -D -t 5000 >/dev/null 2>&1`;

/** Shell: wait until the cluster has a designated controller (the CIB then takes changes). */
export function waitDcSh(seconds: number): string {
  return `t0=$(date +%s); while [ $(( $(date +%s) - t0 )) -lt ${seconds} ]; do if ${HAS_DC_SH}; then exit 0; fi; sleep 1; done; echo "pacemaker has no designated controller after ${seconds} s" >&2; exit 1`;
}

function missingWarning(ha: Ha, missing: string[]): string {
  if (ha.format === 'pacemaker') return `${missing.join(' and ')} not installed: the cluster cannot start`;
  const conf = ha.format === 'cman' ? 'cluster.conf' : 'cluster.xml';
  // neither clumanager nor cman exists on a distribution of today: say what does
  return `${conf} written, ${missing.join(' and ')} not installed (no current distribution ships it: set ha.format: pacemaker for a cluster that runs its services and fails over)`;
}

function sbdActions(s: SvcState | undefined, present: boolean, facts: Facts): Action[] {
  if (!s?.installed || facts.init !== 'systemd') return [];
  if (present && !s.enabled) return [{ kind: 'sh', desc: `systemctl enable ${s.unit}`, script: cmd(['systemctl', 'enable', '--quiet', s.unit]) }];
  if (!present && s.enabled) return [{ kind: 'sh', desc: `systemctl disable ${s.unit}`, script: cmd(['systemctl', 'disable', '--quiet', s.unit]) }];
  return [];
}

export const clusterDaemon = defineModule<Args, Map<string, SvcState>>({
  name: 'cluster_daemon',
  doc: 'The cluster daemons (clumanager, cman and rgmanager, or corosync and pacemaker with sbd) are enabled and running where installed; absent: stopped.',
  args,
  read: (ctx) => ({ svc: svcReadSh([...daemonNames(haOf(ctx).format), ...(withSbd(haOf(ctx)) ? ['sbd'] : [])], ctx.facts) }),
  parse: (res) => parseSvc(res.svc?.out ?? ''),
  plan(st, ctx) {
    const ha = haOf(ctx);
    const names = daemonNames(ha.format);
    const present = ctx.args.state === 'present';
    const missing = [...names, ...(withSbd(ha) ? ['sbd'] : [])].filter((n) => !st.get(n)?.installed);
    if (present && missing.length) return { changes: [], warnings: [missingWarning(ha, missing)] };
    const changes: Change[] = [];
    // sbd is enabled before corosync starts (it then starts with it), disabled once corosync stopped
    const sbd = withSbd(ha) ? sbdActions(st.get('sbd'), present, ctx.facts) : [];
    if (present && sbd.length) changes.push({ summary: 'sbd: enable (starts with corosync)', actions: sbd });
    // start in order (cman before rgmanager, corosync before pacemaker), stop in reverse
    for (const n of present ? names : [...names].reverse()) {
      const s = st.get(n);
      if (!s?.installed) continue;
      const actions = present ? startActions(s, ctx.facts) : stopActions(s, ctx.facts);
      if (present && n === 'pacemaker' && !s.active) actions.push({ kind: 'sh', desc: `wait for a designated controller (up to ${ctx.args.wait} s)`, script: waitDcSh(ctx.args.wait) });
      if (actions.length) changes.push({ summary: `${n}: ${present ? 'enable and start' : 'stop and disable'}`, actions });
    }
    if (!present && sbd.length) changes.push({ summary: 'sbd: disable', actions: sbd });
    const notes = !present && missing.length ? [`${missing.join(', ')}: not installed`] : [];
    if (present && withSbd(ha) && st.get('corosync')?.active && sbd.length) notes.push('sbd enabled while corosync runs: it starts at the next start of the cluster on this member');
    return { changes, notes };
  },
});
