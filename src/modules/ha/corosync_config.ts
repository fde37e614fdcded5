// corosync_config (format: pacemaker): /etc/corosync/corosync.conf from templates/corosync.conf.hbs (the cluster's name,
// the members' addresses, two_node for two members, the token timeout), identical on every member.
//
// The packages start a one-member cluster of their own (Debian: cluster "debian", one node "node1" on 127.0.0.1):
// the first write stops it and clears its empty CIB, so the members join as the inventory names them. A
// corosync.conf of another cluster that clusterform did not write is left alone (refused). A later change is written
// and reloaded (corosync-cfgtool -R): nothing restarts, no resource moves.
import { z } from 'zod';
import { defineModule, type Action, type Plan, type TaskCtx } from '../../engine/types.js';
import { timeoutsOf } from '../../inventory/ha-pacemaker.js';
import { unifiedDiff } from '../../util/diff.js';
import { renderTemplate } from '../../util/paths.js';
import { cmd, q } from '../../util/shell.js';
import { catFile, MANAGED, parseCatFile, type FileState } from '../support/files.js';
import { errText, type Ha, haArg, haOf } from '../support/disks.js';
import { sec } from '../support/sections.js';
import { nfsUnit } from './cib.js';

const args = z.object({ ...haArg, cluster: z.string().min(1), state: z.enum(['present', 'absent']).default('present') }).strict();
type Args = z.infer<typeof args>;

export const COROSYNC_CONF = '/etc/corosync/corosync.conf';
export const AUTHKEY = '/etc/corosync/authkey';
/** pacemaker's CIB on disk (cib.xml, its digest and its backups) */
export const CIB_DIR = '/var/lib/pacemaker/cib';

interface State { conf: FileState; corosyncActive: boolean }

export interface CorosyncContext { cluster: string; token: number; twoNode: boolean; nodes: { name: string; nodeid: number; address: string }[] }

export function corosyncContext(cluster: string, ha: Ha, addressOf: (member: string) => string): CorosyncContext {
  return {
    cluster,
    token: timeoutsOf(ha).token,
    twoNode: ha.members.length === 2,
    nodes: ha.members.map((name, i) => ({ name, nodeid: i + 1, address: addressOf(name) })),
  };
}

export function renderCorosyncConf(c: CorosyncContext, templatesDir?: string): string {
  return renderTemplate('corosync.conf.hbs', c, { escape: false, overrideDir: templatesDir });
}

/** The packages' own one-member cluster (or none at all): clusterform may take it over. */
export function isPackageDefault(conf: FileState): boolean {
  return !conf.exists || /^\s*cluster_name:\s*debian\s*$/m.test(conf.content) || !/^\s*nodelist\s*\{/m.test(conf.content);
}

const isManaged = (conf: FileState) => conf.exists && conf.content.startsWith(MANAGED);

/**
 * The systemd units the cluster starts (the NFS server, each service's systemd: unit, cluster_managed_services): they
 * are stopped and disabled at boot once, when clusterform takes the member over; later only pacemaker starts them.
 */
export function clusterUnits(ha: Ha, family: string): string[] {
  // Debian knows the NFS server by two names: both are disabled
  const nfs = family === 'redhat' ? [nfsUnit(family)] : [nfsUnit(family), 'nfs-kernel-server'];
  const u = [...(ha.services.some((s) => s.nfs) ? nfs : []), ...ha.services.flatMap((s) => (s.systemd ? [s.systemd] : [])), ...ha.cluster_managed_services];
  return [...new Set(u)];
}

/** Shell: stop the packages' cluster and forget its (empty) CIB; sbd stops with corosync. */
export const TAKEOVER_SH = `systemctl stop pacemaker.service corosync.service 2>/dev/null || true\nrm -f ${CIB_DIR}/cib*`;

function presentPlan(st: State, ctx: TaskCtx<Args>): Plan {
  const ha = haOf(ctx);
  let text: string;
  try {
    text = renderCorosyncConf(corosyncContext(ctx.args.cluster, ha, (m) => ctx.inventory.host(m).address), ctx.inventory.templatesDir);
  } catch (e) {
    return { changes: [], refuse: `cannot render ${COROSYNC_CONF}: ${errText(e)}` };
  }
  if (!text.startsWith(MANAGED)) return { changes: [], refuse: `corosync.conf.hbs must start with "${MANAGED}" (so that clusterform knows the file is its own)` };
  if (st.conf.exists && st.conf.content === text) return { changes: [], notes: [`${COROSYNC_CONF} up to date`] };
  const write: Action = { kind: 'write', path: COROSYNC_CONF, content: text, mode: '0644', backup: true, mkdir: true };
  if (isManaged(st.conf)) {
    const reload: Action[] = st.corosyncActive ? [{ kind: 'sh', desc: 'corosync-cfgtool -R (reload the configuration on every member)', script: cmd(['corosync-cfgtool', '-R']) }] : [];
    return { changes: [{ summary: `update ${COROSYNC_CONF}${reload.length ? ' and reload it' : ''}`, diff: diffOf(st.conf.content, text), actions: [write, ...reload] }] };
  }
  if (!isPackageDefault(st.conf)) return { changes: [], refuse: `${COROSYNC_CONF} describes a cluster clusterform did not set up: left alone (move it away to let clusterform write its own)` };
  const takeover: Action[] = st.conf.exists ? [{ kind: 'sh', desc: `stop the packages' one-member cluster and clear its empty CIB (${CIB_DIR}/cib*)`, script: TAKEOVER_SH }] : [];
  const units = clusterUnits(ha, ctx.facts.os.family);
  if (units.length) takeover.push({ kind: 'sh', desc: `stop and disable at boot what the cluster will start: ${units.join(', ')}`, script: units.map((u) => `${cmd(['systemctl', 'disable', '--now', '--quiet', u])} 2>/dev/null || true`).join('\n') });
  return {
    changes: [{ summary: `${st.conf.exists ? "replace the packages' default" : 'create'} ${COROSYNC_CONF}`, diff: diffOf(st.conf.content, text), actions: [...takeover, write] }],
  };
}

const diffOf = (a: string, b: string) => unifiedDiff(a, b, COROSYNC_CONF);

function absentPlan(st: State): Plan {
  if (!st.conf.exists) return { changes: [] };
  if (!isManaged(st.conf)) return { changes: [], notes: [`${COROSYNC_CONF} was not written by clusterform; left alone`] };
  if (st.corosyncActive) return { changes: [], refuse: 'corosync still runs here: stop the cluster first (cluster_daemon state: absent)' };
  return {
    changes: [{
      summary: `remove ${COROSYNC_CONF}, ${AUTHKEY} and the CIB (${CIB_DIR}); the shared disk's data stays`,
      actions: [
        { kind: 'remove', path: COROSYNC_CONF },
        { kind: 'remove', path: AUTHKEY },
        { kind: 'sh', desc: `rm -f ${CIB_DIR}/cib*`, script: `rm -f ${q(CIB_DIR)}/cib*` },
      ],
    }],
  };
}

export const corosyncConfig = defineModule<Args, State>({
  name: 'corosync_config',
  doc: 'format: pacemaker: /etc/corosync/corosync.conf from corosync.conf.hbs (members, two_node, token), the same on every member; absent: removed with the authkey and the CIB.',
  args,
  read: () => ({ conf: catFile(COROSYNC_CONF), active: 'systemctl is-active corosync.service || true' }),
  parse: (res) => ({ conf: parseCatFile(sec(res, 'conf')), corosyncActive: sec(res, 'active').out.trim() === 'active' }),
  plan: (st, ctx) => (ctx.args.state === 'absent' ? absentPlan(st) : presentPlan(st, ctx)),
});
