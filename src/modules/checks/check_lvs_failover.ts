// Checks (read-only, for verify) of an LVS farm that keepalived runs (issue #13):
// - check_lvs_vip: run once on the directors, it sees every director's addresses: exactly one holds the VIP;
// - check_lvs_table: on each director, each real server's health as this director sees it (the inventory's check:
//   HTTP status or TCP connect), and the live IPVS table = the inventory's minus the failing real servers (weight 0
//   with on_failure: quiesce).
import { z } from 'zod';
import { defineCheck } from '../../engine/types.js';
import { effectiveHealth, type Health } from '../../inventory/lvs-failover.js';
import { lvsSchema } from '../../inventory/schema.js';
import { hostPort, parseIpvsadmSave, type IpvsService } from '../../parsers/ipvsadm.js';
import { q } from '../../util/shell.js';
import { wantedIpvsTable } from '../lvs/ipvs.js';
import { sec } from '../support/sections.js';

const args = z.object({ lvs: lvsSchema, hosts: z.array(z.object({ name: z.string(), address: z.string() }).passthrough()) }).strict();
type Args = z.infer<typeof args>;
type Lvs = Args['lvs'];

/** The VIP on one of this host's interfaces: prints 1 or 0. */
const vipSh = (vip: string) => `ip -o addr show | grep -cF ${q(` ${vip}/`)} || true`;

function vipCount(out: string | undefined): number | undefined {
  const n = Number((out ?? '').trim());
  return Number.isInteger(n) && (out ?? '').trim() !== '' ? n : undefined;
}

// ------------------------------------------------------------------------------------------------------ check_lvs_vip

export const checkLvsVip = defineCheck<Args, { self?: number }>({
  name: 'check_lvs_vip',
  doc: 'Exactly one LVS director holds the VIP (read-only check, run once on the directors: it reads the others too)',
  args,
  read: (ctx) => ({ vip: vipSh(ctx.args.lvs.vip) }),
  peers: (ctx) => ({ vip: vipSh(ctx.args.lvs.vip) }),
  parse: (res) => ({ self: vipCount(sec(res, 'vip').out) }),
  check(st, ctx) {
    const seen: { host: string; n?: number; missing?: string }[] = [{ host: ctx.host.name, n: st.self }];
    for (const p of ctx.peers ?? []) seen.push(p.missing ? { host: p.host, missing: p.missing } : { host: p.host, n: vipCount(p.res?.vip?.out) });
    const unknown = seen.filter((s) => s.n === undefined);
    const holders = seen.filter((s) => (s.n ?? 0) > 0).map((s) => s.host);
    const what = `VIP ${ctx.args.lvs.vip} held by ${holders.join(', ') || 'no director'}`;
    if (holders.length === 1) return { pass: true, reason: `${what}${unknown.length ? ` (not read: ${unknown.map((u) => `${u.host}${u.missing ? ': ' + u.missing : ''}`).join('; ')})` : ''}` };
    return { pass: false, reason: `${what}: exactly one director must hold it${unknown.length ? ` (not read: ${unknown.map((u) => u.host).join(', ')})` : ''}` };
  },
});

// ---------------------------------------------------------------------------------------------------- check_lvs_table

/** One probe per real server and port: `ADDR:PORT OK` or `ADDR:PORT FAIL`, as keepalived's check would see it. */
export function healthSh(address: string, port: number, h: Health): string {
  const target = `/dev/tcp/${address}/${port}`;
  const hp = hostPort(address, port);
  if (h.check === 'http') {
    const req = `exec 3<>${q(target)} && printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n' ${q(h.path)} ${q(address)} >&3 && head -n 1 <&3`;
    return `l=$(timeout ${h.timeout} bash -c ${q(req)} 2>/dev/null); case "$l" in "HTTP/1."?" ${h.status} "*) echo ${q(hp)} OK;; *) echo ${q(hp)} FAIL;; esac`;
  }
  return `if timeout ${h.timeout} bash -c ${q(`exec 3<>${q(target)}`)} 2>/dev/null; then echo ${q(hp)} OK; else echo ${q(hp)} FAIL; fi`;
}

interface Checked { service: IpvsService; health: Health }

function checkedServices(lvs: Lvs, hosts: Args['hosts']): Checked[] {
  const byName = Object.fromEntries(hosts.map((h) => [h.name, { address: h.address }]));
  return wantedIpvsTable(lvs, byName).map((service, i) => {
    const h = effectiveHealth(lvs.health, lvs.virtual_services[i]!.health);
    return { service, health: service.protocol === 'udp' ? { ...h, check: 'none' as const } : h };
  });
}

/** The table keepalived should have now: the inventory's minus the failing real servers (weight 0 when quiesced). */
export function expectedTable(checked: Checked[], failing: Set<string>): IpvsService[] {
  return checked.map(({ service, health }) => ({
    ...service,
    dests: service.dests.flatMap((d) => {
      if (health.check === 'none' || !failing.has(hostPort(d.address, d.port))) return [d];
      return health.on_failure === 'quiesce' ? [{ ...d, weight: 0 }] : [];
    }),
  }));
}

/** What differs between the live table and the expected one, one phrase each ([] = the same). */
export function tableDiffs(live: IpvsService[], want: IpvsService[]): string[] {
  const out: string[] = [];
  const cur = new Map(live.map((s) => [s.key, s]));
  for (const w of want) {
    const c = cur.get(w.key);
    if (!c) { out.push(`${w.key} missing`); continue; }
    if (c.scheduler !== w.scheduler) out.push(`${w.key} scheduler ${c.scheduler} (want ${w.scheduler})`);
    const cd = new Map(c.dests.map((d) => [hostPort(d.address, d.port), d]));
    for (const d of w.dests) {
      const x = cd.get(hostPort(d.address, d.port));
      if (!x) out.push(`${w.key}: ${hostPort(d.address, d.port)} missing`);
      else if (x.weight !== d.weight || x.forwarding !== d.forwarding) out.push(`${w.key}: ${hostPort(d.address, d.port)} ${x.forwarding} weight ${x.weight} (want ${d.forwarding} weight ${d.weight})`);
      cd.delete(hostPort(d.address, d.port));
    }
    for (const k of cd.keys()) out.push(`${w.key}: ${k} should not be there`);
  }
  return out;
}

interface TableState { live?: IpvsService[]; error?: string; failing: Set<string>; healthy: string[] }

export const checkLvsTable = defineCheck<Args, TableState>({
  name: 'check_lvs_table',
  doc: "Each real server's health as this director sees it, and the director's IPVS table = the inventory's minus the failing real servers (read-only check)",
  args,
  read(ctx) {
    const probes = [...new Map(checkedServices(ctx.args.lvs, ctx.args.hosts).filter((c) => c.health.check !== 'none')
      .flatMap((c) => c.service.dests.map((d) => [hostPort(d.address, d.port), healthSh(d.address, d.port, c.health)] as const))).values()];
    return {
      table: 'ipvsadm -S -n',
      health: `command -v bash >/dev/null 2>&1 || { echo "bash not found" >&2; exit 3; }\n${probes.join('\n')}\ntrue`,
    };
  },
  parse(res) {
    const t = sec(res, 'table');
    const h = sec(res, 'health');
    const st: TableState = { failing: new Set(), healthy: [] };
    for (const l of h.out.split('\n')) {
      const [hp, word] = l.trim().split(' ');
      if (word === 'FAIL') st.failing.add(hp!);
      else if (word === 'OK') st.healthy.push(hp!);
    }
    if (h.rc !== 0) st.error = `cannot check the real servers: ${h.err.trim()}`;
    if (t.rc !== 0) st.error = `ipvsadm -S -n failed (exit ${t.rc}): ${t.err.trim()}`;
    else { try { st.live = parseIpvsadmSave(t.out); } catch (e) { st.error = (e as Error).message; } }
    return st;
  },
  check(st, ctx) {
    if (st.error || !st.live) return { pass: false, reason: st.error ?? 'no table' };
    const health = `real servers as this director sees them: ${[...st.healthy.map((x) => `${x} healthy`), ...[...st.failing].map((x) => `${x} failing`)].join(', ') || 'not checked'}`;
    const diffs = tableDiffs(st.live, expectedTable(checkedServices(ctx.args.lvs, ctx.args.hosts), st.failing));
    if (diffs.length) return { pass: false, reason: `IPVS table differs from the inventory minus the failing real servers: ${diffs.join('; ')}; ${health}` };
    return { pass: true, reason: `IPVS table = the inventory minus the failing real servers; ${health}` };
  },
});
