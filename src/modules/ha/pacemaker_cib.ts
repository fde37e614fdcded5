// pacemaker_cib (format: pacemaker, a once-task): the live CIB compared with what the inventory wants, and only the
// difference applied with cibadmin / crm_attribute, in this order: fence devices and their constraints, cluster
// properties (stonith-enabled…), resource defaults (stickiness: a group stays where it runs), then one group per
// service. An object that is already as wanted is not touched, so a second `up` changes nothing and moves nothing;
// a changed group is replaced as a whole, and pacemaker restarts only its changed members. Groups clusterform made
// that the inventory no longer has are stopped, then removed.
// absent: every resource stopped (stop-all-resources), waiting for it; cluster_daemon then stops the cluster.
import { z } from 'zod';
import { defineModule, type Action, type Change, type Plan, type TaskCtx } from '../../engine/types.js';
import { cmd } from '../../util/shell.js';
import { errText, haOf } from '../support/disks.js';
import { sec } from '../support/sections.js';
import { canonical, type Cib, type El, hasSecret, MANAGED_DESC, parseCib, toXml, wantedCib } from './cib.js';
import { clusterTaskArgs, HAS_DC_SH } from './cluster_daemon.js';

const args = clusterTaskArgs;
type Args = z.infer<typeof args>;

interface State { running: boolean; error?: string; cib?: Cib }

const CIB_SH = 'if ! command -v cibadmin >/dev/null 2>&1; then echo "pacemaker is not installed" >&2; exit 3; fi\ncibadmin -Q -o configuration';

/** Shell for a read: while pacemaker runs but has no designated controller yet (it just started), wait for one. */
export function dcReadSh(seconds: number): string {
  return `if pgrep -x pacemakerd >/dev/null 2>&1; then t0=$(date +%s); while [ $(( $(date +%s) - t0 )) -lt ${seconds} ] && ! ${HAS_DC_SH}; do sleep 1; done; fi`;
}

export function parseState(out: string, rc: number, err: string): State {
  if (rc !== 0) return { running: false, error: (err || `cibadmin exit ${rc}`).trim() };
  try { return { running: true, cib: parseCib(out) }; } catch (e) { return { running: true, error: `cannot read the CIB: ${errText(e)}` }; }
}

const settle = (wait: number): Action => ({ kind: 'sh', desc: `crm_resource --wait (up to ${wait} s: the cluster settles)`, script: cmd(['crm_resource', '--wait', `--timeout=${wait}s`]) });

/** Create or replace one object in a section, or nothing when the live one is the same. */
function objectChange(section: 'resources' | 'constraints', live: El[], want: El): Change | null {
  const cur = live.find((e) => e.attrs.id === want.attrs.id);
  if (cur && canonical(cur) === canonical(want)) return null;
  const what = `${want.tag} ${want.attrs.id}${want.attrs.type ? ` (${want.attrs.type})` : ''}`;
  const op = cur ? '--replace' : '--create';
  const shown = hasSecret(want) ? '<… the XML holds a fence password: not shown>' : toXml(want);
  return {
    summary: `${cur ? 'update' : 'create'} ${what}`,
    actions: [{ kind: 'sh', desc: `cibadmin ${op} -o ${section} -X '${shown}'`, script: cmd(['cibadmin', op, '-o', section, '-X', toXml(want)]) }],
  };
}

function attrChanges(type: 'crm_config' | 'rsc_defaults', live: Record<string, string>, want: Record<string, string>): Change[] {
  return Object.entries(want).filter(([k, v]) => live[k] !== v).map(([k, v]) => ({
    summary: `${type === 'crm_config' ? 'cluster property' : 'resource default'} ${k}: ${live[k] ?? '(unset)'} → ${v}`,
    actions: [{ kind: 'sh', desc: `crm_attribute --type ${type} --name ${k} --update ${v}`, script: cmd(['crm_attribute', '--type', type, '--name', k, '--update', v]) }],
  }));
}

/** Groups (and fence devices) clusterform made that are no longer wanted: stopped, then removed. */
function removals(cib: Cib, wanted: El[], wait: number): Change[] {
  const ids = new Set(wanted.map((w) => w.attrs.id));
  return cib.resources.filter((r) => r.attrs.description === MANAGED_DESC && !ids.has(r.attrs.id)).map((r) => ({
    summary: `remove ${r.tag} ${r.attrs.id} (no longer in the inventory): stopped first`,
    actions: [
      { kind: 'sh', desc: `crm_resource -r ${r.attrs.id} --meta -p target-role -v Stopped`, script: cmd(['crm_resource', '-r', r.attrs.id!, '--meta', '-p', 'target-role', '-v', 'Stopped']) },
      settle(wait),
      { kind: 'sh', desc: `cibadmin --delete -o resources -X '<${r.tag} id="${r.attrs.id}"/>'`, script: cmd(['cibadmin', '--delete', '-o', 'resources', '-X', toXml({ tag: r.tag, attrs: { id: r.attrs.id! }, children: [] })]) },
    ],
  }));
}

function presentPlan(st: State, ctx: TaskCtx<Args>): Plan {
  const ha = haOf(ctx);
  const w = wantedCib(ha, ctx.facts.os.family);
  if (w.missingEnv.length) return { changes: [], refuse: `fence password not set: environment variable ${w.missingEnv.join(', ')}` };
  const warnings = w.props['stonith-enabled'] === 'false' ? ['fencing: none: no member is fenced; after a split brain both may mount the shared disk and corrupt it'] : [];
  const empty: Cib = { resources: [], constraints: [], props: {}, rscDefaults: {} };
  if (!st.running && !ctx.dryRun) return { changes: [], refuse: `the cluster does not answer here: ${st.error} (cluster_daemon starts it)`, warnings };
  if (st.error && st.running) return { changes: [], refuse: st.error, warnings };
  const cib = st.cib ?? empty;
  const changes = [
    ...w.fencing.map((f) => objectChange('resources', cib.resources, f)),
    ...w.constraints.map((c) => objectChange('constraints', cib.constraints, c)),
  ].filter((c): c is Change => c !== null);
  changes.push(...attrChanges('crm_config', cib.props, w.props), ...attrChanges('rsc_defaults', cib.rscDefaults, w.rscDefaults));
  const groups = w.groups.map((g) => objectChange('resources', cib.resources, g)).filter((c): c is Change => c !== null);
  changes.push(...groups, ...removals(cib, [...w.fencing, ...w.groups], ctx.args.wait));
  if (changes.length) changes[changes.length - 1]!.actions.push(settle(ctx.args.wait));
  const notes = st.running ? [] : ['the cluster is not running yet (dry run): everything would be created'];
  return { changes, warnings, notes };
}

function absentPlan(st: State, ctx: TaskCtx<Args>): Plan {
  if (!st.running) return { changes: [], notes: ['the cluster is not running here'] };
  if (!st.cib) return { changes: [], refuse: st.error ?? 'cannot read the CIB' };
  if (st.cib.props['stop-all-resources'] === 'true') return { changes: [], notes: ['every resource is stopped (stop-all-resources)'] };
  return {
    changes: [{
      summary: 'stop every resource (stop-all-resources), the file systems unmounted; the data stays on the shared disk',
      actions: [
        { kind: 'sh', desc: 'crm_attribute --type crm_config --name stop-all-resources --update true', script: cmd(['crm_attribute', '--type', 'crm_config', '--name', 'stop-all-resources', '--update', 'true']) },
        settle(ctx.args.wait),
      ],
    }],
  };
}

export const pacemakerCib = defineModule<Args, State>({
  name: 'pacemaker_cib',
  doc: "format: pacemaker: the CIB's fence devices, properties and one resource group per HA service; only the difference is applied, nothing running moves.",
  args,
  read: (ctx) => ({ cib: `${dcReadSh(Math.min(ctx.args.wait, 60))}\n${CIB_SH}` }),
  parse: (res) => parseState(sec(res, 'cib').out, sec(res, 'cib').rc, sec(res, 'cib').err),
  plan: (st, ctx) => (ctx.args.state === 'absent' ? absentPlan(st, ctx) : presentPlan(st, ctx)),
});
