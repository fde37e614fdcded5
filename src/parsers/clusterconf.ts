/**
 * RHCS cluster configuration: clumanager 1.2 /etc/cluster.xml (RHCS 3) and cman/rgmanager
 * /etc/cluster/cluster.conf. Rendering via templates (XML-escaped), plus version helpers. Pure except
 * template loading.
 */
import { createHash } from 'node:crypto';
import { renderTemplate } from '../util/paths.js';

export interface ClusterService {
  id: number;
  name: string;
  address: string;
  device: string;
  mountpoint: string;
  fstype: string;
  nfs?: { export: string; clients: string; options: string };
}

export interface ClusterXmlContext {
  cluster: string;
  viewnumber: number;
  /** 32 hex digits; default clusterKey(cluster) */
  key?: string;
  members: { id: number; name: string }[];
  quorum: { primary: string; shadow: string };
  services: ClusterService[];
}

/**
 * Context of cluster.conf; `version` = config_version (defaults to viewnumber). Node ids: member ids,
 * shifted so the smallest is 1 when a member has id 0 (cman wants nodeid ≥ 1). Failover domain priority =
 * member order. Two members → `<cman two_node="1" expected_votes="1"/>`. quorum/key are not used.
 */
export type ClusterConfContext = ClusterXmlContext & { version?: number; failoverdomain?: string };

/** Stable 32-hex-digit key for a cluster name (md5 of "clusterform:<name>"; the format clumanager uses). */
export function clusterKey(cluster: string): string {
  return createHash('md5').update(`clusterform:${cluster}`).digest('hex');
}

function check(ctx: ClusterXmlContext): void {
  if (!Number.isInteger(ctx.viewnumber) || ctx.viewnumber < 0) throw new Error(`invalid config_viewnumber ${ctx.viewnumber}`);
  if (ctx.key !== undefined && !/^[0-9a-f]{32}$/.test(ctx.key)) throw new Error(`invalid cluster key ${JSON.stringify(ctx.key)} (want 32 hex digits)`);
  if (ctx.members.length === 0) throw new Error('cluster without members');
}

export function renderClusterXml(ctx: ClusterXmlContext, templatesOverride?: string): string {
  check(ctx);
  return renderTemplate(
    'cluster.xml.hbs',
    { ...ctx, key: ctx.key ?? clusterKey(ctx.cluster), services: ctx.services.map((s) => ({ ...s, nfs: s.nfs ?? false })) },
    { escape: true, overrideDir: templatesOverride },
  );
}

export function renderClusterConf(ctx: ClusterConfContext, templatesOverride?: string): string {
  check(ctx);
  const version = ctx.version ?? ctx.viewnumber;
  if (!Number.isInteger(version) || version < 1) throw new Error(`invalid config_version ${version} (must be ≥ 1)`);
  const failoverdomain = ctx.failoverdomain ?? `${ctx.cluster}-domain`;
  const services = ctx.services.map((s) => ({ ...s, nfs: s.nfs ?? false, fsname: `${s.name}-fs` }));
  // cman node ids start at 1; clumanager member ids at 0: shift when a 0 id is present
  const shift = ctx.members.some((m) => m.id < 1) ? 1 - Math.min(...ctx.members.map((m) => m.id)) : 0;
  const nodes = ctx.members.map((m, i) => ({ name: m.name, nodeid: m.id + shift, priority: i + 1 }));
  return renderTemplate(
    'cluster.conf.hbs',
    { cluster: ctx.cluster, version, failoverdomain, services, nodes, twoNode: nodes.length === 2 },
    { escape: true, overrideDir: templatesOverride },
  );
}

function attrNumber(text: string, elem: string, attr: string): number | null {
  const re = new RegExp(`<${elem}\\b[^>]*?\\s${attr}\\s*=\\s*(["'])(\\d+)\\1`);
  const m = re.exec(text);
  return m ? Number(m[2]) : null;
}

/** config_viewnumber of a cluster.xml (null when missing). */
export function parseViewNumber(xml: string): number | null {
  return attrNumber(xml, 'cluster', 'config_viewnumber');
}

/** config_version of a cluster.conf (null when missing). */
export function parseConfigVersion(conf: string): number | null {
  return attrNumber(conf, 'cluster', 'config_version');
}

/** Replace the version numbers (config_viewnumber / config_version) by "X" so texts compare ignoring them. */
export function stripVersion(text: string): string {
  return text.replace(/(\s(?:config_viewnumber|config_version)\s*=\s*)(["'])\d+\2/g, '$1$2X$2');
}
