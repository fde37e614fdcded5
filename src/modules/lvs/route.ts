// route: the default route via a gateway (NAT real servers → the director), live and at boot (through the network stack
// the host uses: support/netstack.ts); absent puts back the previous one.
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { cmd, q } from '../../util/shell.js';
import { catFile, MANAGED, parseCatFile, recordOnceScript, STATE_DIR } from '../support/files.js';
import {
  type Artifact, dropInPath, foundSh, type Found, NETWORKD_DIR, type NetStack, netStackSh, NM_RECORD_DIR, noBackendNote, parseFound, parseNetStack,
  type BackendPick, pickBackend, planPersist, renderUnit, unitPath,
} from '../support/netstack.js';
import { ifaceArg, ipv4Arg, isPlainIface } from '../../util/validators.js';
import { sec, stateArg } from '../support/sections.js';

export const ROUTE_RECORD = `${STATE_DIR}/route/default`;

const args = z
  .object({
    destination: z.literal('default').default('default'),
    /** required for present; on absent, the recorded previous route is restored */
    gateway: ipv4Arg.optional(),
    device: ifaceArg.optional(),
    persist: z.boolean().default(true),
    state: stateArg,
  })
  .strict()
  .refine((a) => a.state === 'absent' || a.gateway !== undefined, { message: 'gateway: is required when state is present', path: ['gateway'] });
export type RouteArgs = z.infer<typeof args>;

export interface DefaultRoute { via?: string; dev?: string; metric?: number; line: string }

export interface RouteState {
  routes: DefaultRoute[];
  /** device `ip route get <gateway>` picks */
  gatewayDev?: string;
  /** the route before clusterform first changed it: `via X dev Y`, `dev Y` or `none` */
  saved: string | null;
  /** the host's network stack, and clusterform's persistent forms of the route found on it */
  netstack: NetStack;
  found: Found;
}

/** `ip route show default` lines. */
export function parseDefaultRoutes(text: string): DefaultRoute[] {
  const out: DefaultRoute[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('default')) continue;
    const w = line.split(/\s+/);
    const at = (k: string) => { const i = w.indexOf(k); return i >= 0 ? w[i + 1] : undefined; };
    const r: DefaultRoute = { line };
    const via = at('via'); const dev = at('dev'); const metric = at('metric');
    if (via) r.via = via;
    if (dev) r.dev = dev;
    if (metric) r.metric = Number(metric);
    out.push(r);
  }
  return out;
}

const NAME = 'route-default';
const UNIT = `clusterform-net-${NAME}.service`;
const NM_RECORD = `${NM_RECORD_DIR}/${NAME}`;
/** Every place clusterform may keep the route, whatever the backend (so a stale form is found and removed). */
export const ROUTE_PATHS = [
  `/etc/network/interfaces.d/clusterform-${NAME}`,
  '/etc/sysconfig/network-scripts/route-*',
  dropInPath(`${NETWORKD_DIR}/*.network`, NAME),
  unitPath(UNIT),
  NM_RECORD,
];

/** ifupdown: a hook on the device; RHEL network-scripts: route-<dev> in ip-route format. */
export function renderRouteIfupdown(gateway: string, dev: string): string {
  return `${MANAGED}\nauto ${dev}\niface ${dev} inet manual\n    up ${cmd(['ip', 'route', 'replace', 'default', 'via', gateway, 'dev', dev])}\n`;
}
export const renderRouteScripts = (gateway: string, dev: string): string => `${MANAGED}\ndefault via ${gateway} dev ${dev}\n`;
/** clusterform's own unit: the route replaced once the network is up. */
export function renderRouteUnit(gateway: string, dev: string): string {
  return renderUnit({ description: `default route via ${gateway} dev ${dev}`, after: ['network-online.target'], wants: ['network-online.target'], start: [`/sbin/ip route replace default via ${gateway} dev ${dev}`] });
}

/**
 * The persistent form of the default route on the picked backend. systemd-networkd gets clusterform's unit, not a
 * [Route] drop-in: a Gateway= of the host's own .network would compete with it (two default routes of metric 0, one
 * refused at boot). NetworkManager: ipv4.gateway of a connection with static addresses (the old value recorded); a
 * DHCP connection takes its gateway from the server, so the unit replaces that route after it.
 */
export function routeArtifacts(gateway: string, dev: string, pick: BackendPick, found: Found): { artifacts: Artifact[]; notes: string[] } {
  const notes = pick.note ? [pick.note] : [];
  const unit = (why?: string) => ({ artifacts: [{ kind: 'file' as const, path: unitPath(UNIT), content: renderRouteUnit(gateway, dev), unit: UNIT }], notes: why ? [...notes, why] : notes });
  switch (pick.backend) {
    case 'ifupdown': return { artifacts: [{ kind: 'file', path: `/etc/network/interfaces.d/clusterform-${NAME}`, content: renderRouteIfupdown(gateway, dev) }], notes };
    case 'network-scripts': return { artifacts: [{ kind: 'file', path: `/etc/sysconfig/network-scripts/route-${dev}`, content: renderRouteScripts(gateway, dev) }], notes };
    case 'nm': {
      const vals = found.nmValues[pick.con!] ?? {};
      if ((vals['ipv4.method'] ?? '').trim() !== 'manual') return unit(`NetworkManager connection ${JSON.stringify(pick.con)} uses DHCP: clusterform's own unit sets the default route after it at boot`);
      const prev = found.nmRecords[NM_RECORD]?.prev ?? (vals['ipv4.gateway'] ?? '').trim();
      return { artifacts: [{ kind: 'nm', record: NM_RECORD, con: pick.con!, prop: 'ipv4.gateway', value: gateway, prev }], notes };
    }
    case 'networkd':
    case 'unit': return unit();
  }
}

const describe = (r: DefaultRoute | undefined) => (r ? [r.via ? `via ${r.via}` : '', r.dev ? `dev ${r.dev}` : ''].filter(Boolean).join(' ') : 'none');

export const route = defineModule<RouteArgs, RouteState>({
  name: 'route',
  doc: 'The default route via a gateway, live and at boot; absent restores the default route from before clusterform.',
  args,
  read: ({ args: a }) => {
    const r: Record<string, string> = {
      routes: 'ip route show default',
      saved: catFile(ROUTE_RECORD),
      netstack: netStackSh(),
    };
    if (a.gateway) r.get = `ip -o route get ${q(a.gateway)}`;
    // NetworkManager's view of the gateway's device: resolve it in the same snippet
    const devSh = a.device ? q(a.device) : a.gateway ? `"$(ip -o route get ${q(a.gateway)} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')"` : `"$(ip route show default | sed -n '1s/.* dev \\([^ ]*\\).*/\\1/p')"`;
    r.persist = foundSh(ROUTE_PATHS, [UNIT], [NM_RECORD], { devSh, props: ['ipv4.method', 'ipv4.gateway'] });
    return r;
  },
  parse: (res) => {
    const get = sec(res, 'get');
    const gm = get.rc === 0 ? / dev (\S+)/.exec(get.out) : null;
    const saved = parseCatFile(sec(res, 'saved'));
    return {
      routes: parseDefaultRoutes(sec(res, 'routes').out),
      ...(gm ? { gatewayDev: gm[1]! } : {}),
      saved: saved.exists ? saved.content.trim() : null,
      netstack: parseNetStack(sec(res, 'netstack').out),
      found: parseFound(sec(res, 'persist').out),
    };
  },
  plan: (s, { args: a }) => {
    const changes: Change[] = [];
    const notes: string[] = [];
    const cur = s.routes[0];
    if (a.state === 'present') {
      const gw = a.gateway!;
      const dev = a.device ?? s.gatewayDev;
      if (!dev) return { changes: [], refuse: `gateway ${gw} is not reachable from this host (ip route get ${gw} failed): it must be on a directly connected network` };
      const ok = cur?.via === gw && (!a.device || cur.dev === a.device) && s.routes.length === 1;
      if (!ok) {
        const actions: Change['actions'] = [];
        if (s.saved === null) actions.push({ kind: 'sh', script: recordOnceScript(ROUTE_RECORD, describe(cur)), desc: `record the current default route (${describe(cur)}) in ${ROUTE_RECORD}` });
        // other default routes (other metrics) would compete with ours: remove them, they are recorded above only if first
        for (const r of s.routes.slice(1)) actions.push({ kind: 'sh', script: `ip route del ${r.line.split(/\s+/).map(q).join(' ')}`, desc: `ip route del ${r.line}` });
        const rep = ['ip', 'route', 'replace', 'default', 'via', gw, 'dev', dev];
        if (cur && cur.metric !== undefined) actions.push({ kind: 'sh', script: `ip route del ${cur.line.split(/\s+/).map(q).join(' ')}`, desc: `ip route del ${cur.line}` });
        actions.push({ kind: 'sh', script: cmd(rep), desc: rep.join(' ') });
        changes.push({ summary: `default route via ${gw} dev ${dev} (now ${s.routes.map(describe).join(', ') || 'none'})`, actions });
      }
      if (a.persist) {
        const p = routePersistPlan(gw, dev, s);
        changes.push(...p.changes);
        notes.push(...p.notes);
      }
      return { changes, notes };
    }
    // absent: put back what was there, only if the route is still ours
    if (s.saved !== null) {
      const actions: Change['actions'] = [];
      const ours = !a.gateway || cur?.via === a.gateway;
      if (ours && describe(cur) !== s.saved) {
        if (s.saved === 'none') { if (cur) actions.push({ kind: 'sh', script: `ip route del ${cur.line.split(/\s+/).map(q).join(' ')}`, desc: `ip route del ${cur.line}` }); }
        else {
          const rep = ['ip', 'route', 'replace', 'default', ...s.saved.split(/\s+/)];
          actions.push({ kind: 'sh', script: cmd(rep), desc: rep.join(' ') });
        }
      } else if (!ours) notes.push(`the default route (${describe(cur)}) is not clusterform's any more: left as is`);
      actions.push({ kind: 'remove', path: ROUTE_RECORD });
      changes.push({ summary: actions.length > 1 ? `restore the default route ${s.saved} (now ${describe(cur)})` : `forget the recorded default route (${s.saved})`, actions });
    }
    changes.push(...planPersist([], s.found, 'the default route'));
    return { changes, notes };
  },
});

/** The persistent form on the backend the host uses (and the removal of any other form clusterform left). */
function routePersistPlan(gw: string, dev: string, s: RouteState): { changes: Change[]; notes: string[] } {
  if (!isPlainIface(dev)) return { changes: [], notes: [`default route not persisted: the interface name ${JSON.stringify(dev)} cannot be written to a network config file safely`] };
  const pick = pickBackend(s.netstack, dev);
  if (!pick) return { changes: [], notes: [noBackendNote('default route')] };
  const { artifacts, notes } = routeArtifacts(gw, dev, pick, s.found);
  const foreign = artifacts.flatMap((x) => (x.kind === 'file' && s.found.foreign.includes(x.path) ? [x.path] : []));
  if (foreign.length) return { changes: [], notes: [`default route not persisted: ${foreign.join(', ')} exists and is not clusterform's`] };
  return { changes: planPersist(artifacts, s.found, `the default route via ${gw}`), notes };
}
