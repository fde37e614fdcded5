// The pacemaker CIB as data: elements parsed from `cibadmin -Q` (fast-xml-parser), the objects format: pacemaker
// wants (one group per HA service, the fence devices, cluster properties, resource defaults), and their comparison.
// Pure: no I/O.
import { XMLParser } from 'fast-xml-parser';
import { fencingOf, timeoutsOf, type FenceAgent } from '../../inventory/ha-pacemaker.js';
import type { HaService } from '../../inventory/schema.js';
import { type Ha, servicePartition, stablePartitionPath } from '../support/disks.js';
import { sbdDevice } from './sbd.js';

/** An XML element: its tag, attributes and child elements (text is never meaningful in the CIB's configuration). */
export interface El { tag: string; attrs: Record<string, string>; children: El[] }

/** What marks a resource clusterform made (its `description`). */
export const MANAGED_DESC = 'managed by clusterform';

const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, parseTagValue: false, trimValues: true });

type Ordered = Record<string, unknown>;
function fromOrdered(nodes: Ordered[]): El[] {
  const out: El[] = [];
  for (const n of nodes) {
    const tag = Object.keys(n).find((k) => k !== ':@');
    if (!tag || tag === '#text' || tag.startsWith('?') || tag === '#comment') continue;
    const attrs = Object.fromEntries(Object.entries((n[':@'] as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]));
    out.push({ tag, attrs, children: fromOrdered((n[tag] as Ordered[]) ?? []) });
  }
  return out;
}

/** Parse XML text into elements (the top-level ones). Throws on malformed XML. */
export function parseXml(text: string): El[] {
  return fromOrdered(parser.parse(text) as Ordered[]);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One line of XML for an element (what cibadmin -X takes). */
export function toXml(e: El): string {
  const attrs = Object.entries(e.attrs).map(([k, v]) => ` ${k}="${esc(v)}"`).join('');
  return e.children.length ? `<${e.tag}${attrs}>${e.children.map(toXml).join('')}</${e.tag}>` : `<${e.tag}${attrs}/>`;
}

/** A comparable form: attributes sorted, children in order. */
export function canonical(e: El): string {
  const attrs = Object.keys(e.attrs).sort().map((k) => `${k}=${JSON.stringify(e.attrs[k])}`).join(' ');
  return `(${e.tag} ${attrs}${e.children.map((c) => ' ' + canonical(c)).join('')})`;
}

export const el = (tag: string, attrs: Record<string, string>, children: El[] = []): El => ({ tag, attrs, children });
export const find = (e: El | undefined, tag: string): El | undefined => e?.children.find((c) => c.tag === tag);

// ---- the live CIB ----

export interface Cib {
  resources: El[];
  constraints: El[];
  /** cib-bootstrap-options */
  props: Record<string, string>;
  rscDefaults: Record<string, string>;
}

function nvpairs(set: El | undefined): Record<string, string> {
  return Object.fromEntries((set?.children ?? []).filter((c) => c.tag === 'nvpair').map((c) => [c.attrs.name!, c.attrs.value ?? '']));
}

/** `cibadmin -Q -o configuration` → the parts clusterform compares. */
export function parseCib(text: string): Cib {
  const conf = parseXml(text).find((e) => e.tag === 'configuration');
  if (!conf) throw new Error('no <configuration> in the CIB');
  const crm = find(conf, 'crm_config');
  const boot = crm?.children.find((c) => c.tag === 'cluster_property_set' && c.attrs.id === 'cib-bootstrap-options');
  const defaults = find(conf, 'rsc_defaults');
  return {
    resources: find(conf, 'resources')?.children ?? [],
    constraints: find(conf, 'constraints')?.children ?? [],
    props: nvpairs(boot),
    rscDefaults: Object.assign({}, ...(defaults?.children ?? []).filter((c) => c.tag === 'meta_attributes').map(nvpairs)),
  };
}

// ---- what format: pacemaker wants ----

/** An XML id for a name: letters, digits, - _ . (pacemaker ids are XML ids: not starting with a digit). */
export function xmlId(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

const attrsSet = (id: string, tag: 'instance_attributes' | 'meta_attributes', pairs: Record<string, string>): El =>
  el(tag, { id: `${id}-${tag}` }, Object.entries(pairs).map(([k, v]) => el('nvpair', { id: `${id}-${tag}-${xmlId(k)}`, name: k, value: v })));

const ops = (id: string, list: [name: string, interval: string, timeout: string][]): El =>
  el('operations', {}, list.map(([name, interval, timeout]) => el('op', { id: `${id}-${name}-interval-${interval}`, name, interval, timeout })));

export function primitive(id: string, kind: { class: string; provider?: string; type: string }, params: Record<string, string>, opList: [string, string, string][], description?: string): El {
  const attrs: Record<string, string> = { id, class: kind.class, ...(kind.provider ? { provider: kind.provider } : {}), type: kind.type, ...(description ? { description } : {}) };
  return el('primitive', attrs, [...(Object.keys(params).length ? [attrsSet(id, 'instance_attributes', params)] : []), ops(id, opList)]);
}

const OCF = (type: string) => ({ class: 'ocf', provider: 'heartbeat', type });

/** The unit that serves NFS (disabled at boot: the cluster's nfsserver agent starts it): nfs-server on Red Hat and on Debian (where nfs-kernel-server is its other name). */
export const nfsUnit = (_family: string): string => 'nfs-server';

/** One group per service, in order: the file system (by its stable partition path), the address, then the service. */
export function serviceGroup(ha: Ha, s: HaService, index: number, family: string): El {
  const g = xmlId(s.name);
  const members: El[] = [
    primitive(`${g}-fs`, OCF('Filesystem'), { device: stablePartitionPath(ha.shared_disk, servicePartition(ha, s.name)), directory: s.mountpoint, fstype: s.fstype }, [['start', '0s', '120s'], ['stop', '0s', '120s'], ['monitor', '20s', '40s']]),
    primitive(`${g}-ip`, OCF('IPaddr2'), { ip: s.address }, [['monitor', '10s', '20s']]),
  ];
  if (s.nfs) {
    // ocf:heartbeat:nfsserver (ClusterLabs' agent for active/passive NFS), not systemd:nfs-server: it starts rpcbind,
    // rpc.statd, rpc.mountd and idmapd one by one and waits for each, then the server, and checks its threads. With
    // systemd:nfs-server the unit's start failed now and then on a member under load (TCG lab: "error (inactive)"),
    // and a failed start bans the group's NFS server from that member: the group then moved to the other one.
    members.push(primitive(`${g}-nfsd`, OCF('nfsserver'), {}, [['start', '0s', '120s'], ['stop', '0s', '120s'], ['monitor', '30s', '100s']]));
    members.push(primitive(`${g}-export`, OCF('exportfs'), { clientspec: s.nfs.clients, options: s.nfs.options, directory: s.nfs.export, fsid: String(index + 1) }, [['monitor', '30s', '60s']]));
  }
  if (s.systemd) members.push(primitive(`${g}-svc`, { class: 'systemd', type: s.systemd.replace(/\.service$/, '') }, {}, [['start', '0s', '120s'], ['stop', '0s', '120s'], ['monitor', '30s', '100s']]));
  return el('group', { id: g, description: MANAGED_DESC }, members);
}

/** The largest random delay before fencing (s): against both members fencing each other at once. */
export const FENCE_DELAY_MAX = 10;

export interface Wanted {
  /** fence devices first: they exist before any group may start */
  fencing: El[];
  constraints: El[];
  groups: El[];
  props: Record<string, string>;
  rscDefaults: Record<string, string>;
  /** a fence agent's password_env that is not set */
  missingEnv: string[];
}

/** The fence device of one member: its agent, its parameters (the password from the environment) and pcmk_host_list. */
function agentDevice(member: string, a: FenceAgent, env: NodeJS.ProcessEnv, missing: string[]): El {
  const params: Record<string, string> = Object.fromEntries(Object.entries(a.params).map(([k, v]) => [k, String(v)]));
  if (a.password_env) {
    const pw = env[a.password_env];
    if (pw === undefined) missing.push(a.password_env);
    else params.password = pw;
  }
  params.pcmk_host_list = member;
  return primitive(`cf-fence-${xmlId(member)}`, { class: 'stonith', type: a.agent }, params, [['monitor', '60s', '20s']], MANAGED_DESC);
}

/** Everything format: pacemaker wants in the CIB. */
export function wantedCib(ha: Ha, family: string, env: NodeJS.ProcessEnv = process.env): Wanted {
  const fencing = fencingOf(ha);
  const t = timeoutsOf(ha);
  const missingEnv: string[] = [];
  const w: Wanted = { fencing: [], constraints: [], groups: ha.services.map((s, i) => serviceGroup(ha, s, i, family)), props: {}, rscDefaults: { 'resource-stickiness': '100' }, missingEnv };
  // a `down` that stopped everything and did not finish leaves stop-all-resources behind: up starts them again
  w.props['stop-all-resources'] = 'false';
  if (fencing === 'none') w.props['stonith-enabled'] = 'false';
  else {
    w.props['stonith-enabled'] = 'true';
    if (fencing === 'sbd') {
      const sbd = family === 'redhat' ? { type: 'fence_sbd', param: 'devices' } : { type: 'external/sbd', param: 'sbd_device' };
      // a random delay (up to 10 s): when the members lose each other, one poison pill lands first and one survives
      w.fencing.push(primitive('cf-fence-sbd', { class: 'stonith', type: sbd.type }, { [sbd.param]: sbdDevice(ha), pcmk_delay_max: `${FENCE_DELAY_MAX}s` }, [['monitor', '3600s', '20s']], MANAGED_DESC));
      // pacemaker waits for a fence to finish: the pill plus the watchdog, with room
      w.props['stonith-timeout'] = `${Math.max(60, Math.ceil(t.msgwait * 1.2) + t.msgwait)}s`;
    } else {
      for (const m of ha.members) {
        const a = fencing[m];
        if (!a) continue;
        const dev = agentDevice(m, a, env, missingEnv);
        w.fencing.push(dev);
        // a member never runs its own fence device
        w.constraints.push(el('rsc_location', { id: `${dev.attrs.id}-avoids-${xmlId(m)}`, rsc: dev.attrs.id!, node: m, score: '-INFINITY' }));
      }
    }
  }
  return w;
}

/** Whether an element carries a secret (a fence password): its XML is never shown. */
export const hasSecret = (e: El): boolean => e.children.some((c) => c.attrs.name === 'password' || hasSecret(c));
