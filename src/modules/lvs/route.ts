// route: the default route via a gateway (NAT real servers → the director), live and at boot; absent puts back the previous one.
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { unifiedDiff } from '../../util/diff.js';
import { cmd, q } from '../../util/shell.js';
import { catFile, type FileState, MANAGED, parseCatFile, recordOnceScript, STATE_DIR } from '../support/files.js';
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
  persist: { dir: boolean; file: FileState };
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

/** The persistent form, by OS family: Debian an ifupdown hook in interfaces.d, RHEL route-<dev> (ip-route format). */
export function routePersist(family: string, dev: string): { dir: string; path: string } | undefined {
  if (family === 'debian') return { dir: '/etc/network/interfaces.d', path: '/etc/network/interfaces.d/clusterform-route-default' };
  if (family === 'redhat') return { dir: '/etc/sysconfig/network-scripts', path: `/etc/sysconfig/network-scripts/route-${dev}` };
  return undefined;
}

export function renderRoutePersist(family: string, gateway: string, dev: string): string {
  if (family === 'redhat') return `${MANAGED}\ndefault via ${gateway} dev ${dev}\n`;
  return `${MANAGED}\nauto ${dev}\niface ${dev} inet manual\n    up ${cmd(['ip', 'route', 'replace', 'default', 'via', gateway, 'dev', dev])}\n`;
}

const describe = (r: DefaultRoute | undefined) => (r ? [r.via ? `via ${r.via}` : '', r.dev ? `dev ${r.dev}` : ''].filter(Boolean).join(' ') : 'none');

export const route = defineModule<RouteArgs, RouteState>({
  name: 'route',
  doc: 'The default route via a gateway, live and at boot; absent restores the default route from before clusterform.',
  args,
  read: ({ args: a, facts }) => {
    const r: Record<string, string> = {
      routes: 'ip route show default',
      saved: catFile(ROUTE_RECORD),
    };
    if (a.gateway) r.get = `ip -o route get ${q(a.gateway)}`;
    // the persistent file's name needs the device: resolve it in the same snippet
    const devExpr = a.device ? q(a.device) : a.gateway ? `$(ip -o route get ${q(a.gateway)} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')` : `$(ip route show default | sed -n '1s/.* dev \\([^ ]*\\).*/\\1/p')`;
    if (facts.os.family === 'debian') r.persist = `if [ -d /etc/network/interfaces.d ]; then echo dir; fi\n${catFile('/etc/network/interfaces.d/clusterform-route-default')}`;
    else if (facts.os.family === 'redhat')
      r.persist = [
        `D=${devExpr}`,
        'if [ -d /etc/sysconfig/network-scripts ]; then echo dir; fi',
        'F="/etc/sysconfig/network-scripts/route-$D"',
        'if [ -n "$D" ] && [ -f "$F" ]; then echo exists; cat "$F"; else echo missing; fi',
      ].join('\n');
    return r;
  },
  parse: (res) => {
    const get = sec(res, 'get');
    const gm = get.rc === 0 ? / dev (\S+)/.exec(get.out) : null;
    const saved = parseCatFile(sec(res, 'saved'));
    const p = sec(res, 'persist');
    const pl = p.out.split('\n');
    const dir = pl[0] === 'dir';
    return {
      routes: parseDefaultRoutes(sec(res, 'routes').out),
      ...(gm ? { gatewayDev: gm[1]! } : {}),
      saved: saved.exists ? saved.content.trim() : null,
      persist: { dir, file: parseCatFile({ ...p, out: dir ? pl.slice(1).join('\n') : p.out }) },
    };
  },
  plan: (s, { args: a, facts }) => {
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
        const p = routePersist(facts.os.family, dev);
        if (!p) notes.push(`default route not persisted: no network config format known for ${facts.os.family}`);
        else if (!isPlainIface(dev)) notes.push(`default route not persisted: the interface name ${JSON.stringify(dev)} cannot be written to ${p.path} safely`);
        else if (!s.persist.dir) notes.push(`default route not persisted: ${p.dir} does not exist`);
        else if (s.persist.file.exists && !s.persist.file.content.startsWith(MANAGED)) notes.push(`default route not persisted: ${p.path} exists and is not clusterform's`);
        else {
          const content = renderRoutePersist(facts.os.family, gw, dev);
          if (s.persist.file.content !== content) changes.push({ summary: `keep the default route via ${gw} at boot (${p.path})`, diff: unifiedDiff(s.persist.file.content, content, p.path), actions: [{ kind: 'write', path: p.path, content, mode: '0644' }] });
        }
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
    const p = routePersist(facts.os.family, a.device ?? s.gatewayDev ?? cur?.dev ?? '');
    if (p && s.persist.file.exists && s.persist.file.content.startsWith(MANAGED)) changes.push({ summary: `remove ${p.path}`, diff: unifiedDiff(s.persist.file.content, '', p.path), actions: [{ kind: 'remove', path: p.path }] });
    return { changes, notes };
  },
});
