// cluster_config: /etc/cluster.xml (clumanager) or /etc/cluster/cluster.conf (cman), identical on every member.
//
// Version numbers (config_viewnumber / config_version): each member reads its own file; the number is kept when
// the content (ignoring the number) is unchanged, else it becomes current+1 (1 when there is no file). Members
// written by the same run go from the same number to the same number; after a partial run (one member written,
// the other not) the lagging member computes old+1 = the leader's number, so they converge. Only two different
// configurations applied by two partial runs could leave them apart; the plan then shows different numbers per member.
import { z } from 'zod';
import { defineModule } from '../../engine/types.js';
import { parseConfigVersion, parseViewNumber, renderClusterConf, renderClusterXml, stripVersion, type ClusterXmlContext } from '../../parsers/clusterconf.js';
import { unifiedDiff } from '../../util/diff.js';
import { q } from '../../util/shell.js';
import { backupSh, deviceNumbers, errText, type Ha, haArg, haOf, stableLinksSh, stableNameWarnings, stablePartitionPath } from '../support/disks.js';

const args = z.object({ ...haArg, /** the cluster's name */ cluster: z.string().min(1), state: z.enum(['present', 'absent']).default('present') }).strict();
type Args = z.infer<typeof args>;

export const CLUSTER_XML = '/etc/cluster.xml';
export const CLUSTER_CONF = '/etc/cluster/cluster.conf';

interface State { current: string | null; managed: boolean; links: string }

export function clusterContext(cluster: string, ha: Ha, viewnumber: number): ClusterXmlContext {
  const nums = deviceNumbers(ha);
  return {
    cluster,
    viewnumber,
    members: ha.members.map((name, id) => ({ id, name })),
    quorum: { primary: ha.quorum.primary, shadow: ha.quorum.shadow },
    services: ha.services.map((s, i) => ({
      id: i,
      name: s.name,
      address: s.address,
      device: stablePartitionPath(ha.shared_disk, nums[2 + i]!),
      mountpoint: s.mountpoint,
      fstype: s.fstype,
      ...(s.nfs ? { nfs: { export: s.nfs.export, clients: s.nfs.clients, options: s.nfs.options } } : {}),
    })),
  };
}

/** Render with the number rule above: returns the wanted text and its number. */
export function wantedConfig(cluster: string, ha: Ha, current: string | null, templatesDir?: string): { text: string; version: number } {
  const cman = ha.format === 'cman';
  const render = (v: number) => (cman ? renderClusterConf({ ...clusterContext(cluster, ha, v), version: v }, templatesDir) : renderClusterXml(clusterContext(cluster, ha, v), templatesDir));
  const cur = current === null ? null : cman ? parseConfigVersion(current) : parseViewNumber(current);
  if (current === null || cur === null) return { text: render(1), version: 1 };
  const same = render(cur);
  if (stripVersion(same) === stripVersion(current)) return { text: same, version: cur };
  return { text: render(cur + 1), version: cur + 1 };
}

export const clusterConfig = defineModule<Args, State>({
  name: 'cluster_config',
  doc: 'The cluster configuration (/etc/cluster.xml for clumanager, /etc/cluster/cluster.conf for cman), identical on every member.',
  args,
  read(ctx) {
    const path = haOf(ctx).format === 'cman' ? CLUSTER_CONF : CLUSTER_XML;
    const ha = haOf(ctx);
    return { conf: `cat ${q(path)}`, backup: backupSh(path), links: stableLinksSh(ha.shared_disk, deviceNumbers(ha).slice(2)) };
  },
  parse: (res) => ({ current: res.conf?.rc === 0 ? res.conf.out : null, managed: /backup|absent/.test(res.backup?.out ?? ''), links: res.links?.out ?? '' }),
  plan(st, ctx) {
    const ha = haOf(ctx);
    const path = ha.format === 'cman' ? CLUSTER_CONF : CLUSTER_XML;
    if (ctx.args.state === 'absent') {
      if (st.current === null) return { changes: [] };
      if (!st.managed) return { changes: [], notes: [`${path} was not written by clusterform; left alone`] };
      return { changes: [{ summary: `remove ${path} (restore the original if there was one)`, actions: [{ kind: 'remove', path, restoreBackup: true }] }] };
    }
    let w: { text: string; version: number };
    try {
      w = wantedConfig(ctx.args.cluster, ha, st.current, ctx.inventory.templatesDir);
    } catch (e) {
      return { changes: [], refuse: `cannot render ${path}: ${errText(e)}` };
    }
    const what = ha.format === 'cman' ? 'config_version' : 'config_viewnumber';
    const warnings = stableNameWarnings(ha.shared_disk, deviceNumbers(ha).slice(2), st.links, path);
    if (st.current === w.text) return { changes: [], notes: [`${path} up to date (${what} ${w.version})`], warnings };
    return {
      warnings,
      changes: [{
        summary: `${st.current === null ? 'create' : 'update'} ${path} (${what} ${w.version})`,
        diff: unifiedDiff(st.current ?? '', w.text, path),
        actions: [{ kind: 'write', path, content: w.text, mode: '0644', backup: true, mkdir: true }],
      }],
    };
  },
});
