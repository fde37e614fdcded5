// check_pacemaker (read-only, for verify; format: pacemaker): the cluster as `crm_mon --output-as=xml` shows it from
// this member. One aspect per task, so that verify prints one row each:
//   quorum: this member is in a quorate partition;  members: every ha member online;
//   fencing: fencing enabled and every fence device started (its monitor reaches the device; sbd: the SBD header
//     is readable here), or fencing: none said loudly;  services: every HA service's group runs, on exactly one member (which).
import { z } from 'zod';
import { defineCheck, type CheckResult } from '../../engine/types.js';
import { fencingOf } from '../../inventory/ha-pacemaker.js';
import { cmd } from '../../util/shell.js';
import { errText, type Ha, haArg, haOf } from '../support/disks.js';
import { sec } from '../support/sections.js';
import { type El, find, parseXml, xmlId } from '../ha/cib.js';
import { sbdDevice } from '../ha/sbd.js';

const args = z.object({ ...haArg, what: z.enum(['quorum', 'members', 'fencing', 'services']) }).strict();
type Args = z.infer<typeof args>;

export interface Status {
  error?: string;
  quorate: boolean;
  dc?: string;
  online: Set<string>;
  /** resource id → the members it is active on, failed or not */
  active: Map<string, { nodes: string[]; failed: boolean; agent: string }>;
  stonithEnabled: boolean;
  sbdReadable?: boolean;
}

function resources(list: El[], out: Status['active']): void {
  for (const r of list) {
    if (r.tag === 'group' || r.tag === 'clone') resources(r.children, out);
    if (r.tag !== 'resource') continue;
    const nodes = r.attrs.active === 'true' ? r.children.filter((c) => c.tag === 'node').map((c) => c.attrs.name!) : [];
    out.set(r.attrs.id!, { nodes, failed: r.attrs.failed === 'true', agent: r.attrs.resource_agent ?? '' });
  }
}

/** `crm_mon -1 --output-as=xml` → what the checks need. */
export function parseCrmMon(text: string): Status {
  const root = parseXml(text).find((e) => e.tag === 'pacemaker-result');
  if (!root) throw new Error('no <pacemaker-result> in the crm_mon output');
  const summary = find(root, 'summary');
  const dc = find(summary, 'current_dc');
  const st: Status = {
    quorate: dc?.attrs.with_quorum === 'true',
    ...(dc?.attrs.present === 'true' ? { dc: dc.attrs.name } : {}),
    online: new Set((find(root, 'nodes')?.children ?? []).filter((n) => n.attrs.online === 'true').map((n) => n.attrs.name!)),
    active: new Map(),
    stonithEnabled: find(summary, 'cluster_options')?.attrs['stonith-enabled'] !== 'false',
  };
  resources(find(root, 'resources')?.children ?? [], st.active);
  return st;
}

const empty = (error: string): Status => ({ error, quorate: false, online: new Set(), active: new Map(), stonithEnabled: false });

function fencingCheck(st: Status, ha: Ha): CheckResult {
  const f = fencingOf(ha);
  if (f === 'none') return st.stonithEnabled ? { pass: false, reason: 'fencing: none, but stonith-enabled is not false' } : { pass: true, reason: 'fencing: none (stonith-enabled=false)', warnings: ['no fencing: after a split brain both members may mount the shared disk and corrupt it'] };
  if (!st.stonithEnabled) return { pass: false, reason: 'stonith-enabled is false' };
  const ids = f === 'sbd' ? ['cf-fence-sbd'] : ha.members.map((m) => `cf-fence-${xmlId(m)}`);
  const bad = ids.filter((id) => { const r = st.active.get(id); return !r || r.failed || r.nodes.length === 0; });
  if (bad.length) return { pass: false, reason: `fence device${bad.length > 1 ? 's' : ''} not started: ${bad.join(', ')}` };
  if (f === 'sbd' && !st.sbdReadable) return { pass: false, reason: `the SBD header on ${sbdDevice(ha)} cannot be read here` };
  return { pass: true, reason: `stonith-enabled; ${ids.map((id) => `${id} (${st.active.get(id)!.agent}) started on ${st.active.get(id)!.nodes.join(', ')}`).join('; ')}${f === 'sbd' ? `; SBD header on ${sbdDevice(ha)} readable` : ''}` };
}

function servicesCheck(st: Status, ha: Ha): CheckResult {
  const rows = ha.services.map((s) => {
    const g = xmlId(s.name);
    const members = [...st.active.entries()].filter(([id]) => id.startsWith(`${g}-`));
    const where = [...new Set(members.flatMap(([, r]) => r.nodes))];
    const allOn = members.length > 0 && members.every(([, r]) => r.nodes.length === 1 && r.nodes[0] === where[0] && !r.failed);
    return { name: s.name, ok: allOn && where.length === 1, text: where.length ? `${s.name} on ${where.join(' and ')}` : `${s.name} not running` };
  });
  const bad = rows.filter((r) => !r.ok);
  return bad.length ? { pass: false, reason: `${bad.map((r) => r.text).join('; ')} (each service must run on exactly one member)` } : { pass: true, reason: rows.map((r) => r.text).join('; ') || 'no services' };
}

function check(st: Status, ctx: { args: Args; host: { name: string } }): CheckResult {
  if (st.error) return { pass: false, reason: `the cluster does not answer on ${ctx.host.name}: ${st.error}` };
  const ha = ctx.args.ha;
  switch (ctx.args.what) {
    case 'quorum': return st.quorate ? { pass: true, reason: `${ctx.host.name} is in the quorate partition (DC ${st.dc ?? 'none'})` } : { pass: false, reason: `${ctx.host.name} has no quorum` };
    case 'members': {
      const off = ha.members.filter((m) => !st.online.has(m));
      return off.length ? { pass: false, reason: `offline: ${off.join(', ')}` } : { pass: true, reason: `online: ${ha.members.join(', ')}` };
    }
    case 'fencing': return fencingCheck(st, ha);
    case 'services': return servicesCheck(st, ha);
  }
}

export const checkPacemaker = defineCheck<Args, Status>({
  name: 'check_pacemaker',
  doc: 'format: pacemaker: quorum, members online, fencing started, each service on exactly one member (read-only check; what: one aspect)',
  args,
  read: (ctx) => ({
    mon: 'crm_mon -1 --output-as=xml',
    ...(ctx.args.what === 'fencing' && fencingOf(haOf(ctx)) === 'sbd' ? { sbd: `${cmd(['sbd', '-d', sbdDevice(haOf(ctx)), 'dump'])} >/dev/null` } : {}),
  }),
  parse(res) {
    const mon = sec(res, 'mon');
    if (mon.rc !== 0) return empty((mon.err || mon.out || `crm_mon exit ${mon.rc}`).trim().split('\n')[0]!);
    try {
      const st = parseCrmMon(mon.out);
      if (res.sbd) st.sbdReadable = res.sbd.rc === 0;
      return st;
    } catch (e) { return empty(errText(e)); }
  },
  check,
});
