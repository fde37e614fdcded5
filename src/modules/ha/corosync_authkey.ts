// corosync_authkey (format: pacemaker): /etc/corosync/authkey, the same on every member, in two steps.
//   step: choose (a once-task): the key is the one a member already has (this member's first), else 256 random bytes
//     made here on the controller (crypto.randomBytes); never two members' different keys (refused: a running
//     cluster's key is not replaced). The chosen key stays in the controller's memory for this run.
//   step: install (every member): writes the chosen key where it differs.
// The key only ever travels inside the scripts over SSH: no summary, description, diff or note shows it (nor -vv, --json).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineModule, type Action, type Plan, type TaskCtx } from '../../engine/types.js';
import { q } from '../../util/shell.js';
import { haArg } from '../support/disks.js';
import { sec } from '../support/sections.js';
import { AUTHKEY } from './corosync_config.js';

const args = z.object({ ...haArg, cluster: z.string().min(1), step: z.enum(['choose', 'install']) }).strict();
type Args = z.infer<typeof args>;

/** corosync-keygen's size for corosync 3 */
export const KEY_BYTES = 256;
/** Base64 of the key on one line, or nothing when there is none. */
const READ_KEY_SH = `if [ -s ${q(AUTHKEY)} ]; then base64 -w0 ${q(AUTHKEY)}; fi`;

/** The chosen keys of this run, by inventory file and cluster (the controller's memory; never written anywhere else). */
const chosen = new Map<string, string>();
const keyOf = (ctx: TaskCtx<Args>) => `${ctx.inventory.file}\0${ctx.args.cluster}`;
/** Forget the chosen keys (tests). */
export function forgetChosenKeys(): void { chosen.clear(); }

interface State { key: string | null }

/** Shell that writes a base64 key to AUTHKEY (mode 0400, temp file + rename). */
function writeKeyAction(b64: string): Action {
  const script = `umask 077\n__cfk=$(mktemp /etc/corosync/.cf-XXXXXX) || exit 1\n{ printf '%s' ${q(b64)} | base64 -d > "$__cfk" && chmod 0400 "$__cfk" && mv -f "$__cfk" ${q(AUTHKEY)}; } || { rm -f "$__cfk"; exit 1; }`;
  return { kind: 'sh', desc: `write ${AUTHKEY} (${Buffer.from(b64, 'base64').length} bytes, mode 0400; the key is not shown)`, script: `mkdir -p /etc/corosync\n${script}` };
}

function choosePlan(st: State, ctx: TaskCtx<Args>): Plan {
  const missing = (ctx.peers ?? []).filter((p) => p.missing || sec(p.res ?? {}, 'key').rc !== 0);
  if (missing.length) return { changes: [], refuse: `cannot choose the corosync key without every member: ${missing.map((p) => `${p.host}: ${p.missing ?? 'its key cannot be read'}`).join('; ')}` };
  const keys = new Map<string, string[]>();
  const add = (host: string, k: string | null) => { if (k) keys.set(k, [...(keys.get(k) ?? []), host]); };
  add(ctx.host.name, st.key);
  for (const p of ctx.peers ?? []) add(p.host, sec(p.res!, 'key').out.trim() || null);
  if (keys.size > 1) return { changes: [], refuse: `the members have different corosync keys (${[...keys.values()].map((h) => h.join(', ')).join(' / ')}): left alone; remove ${AUTHKEY} where it is wrong` };
  const key = [...keys.keys()][0] ?? randomBytes(KEY_BYTES).toString('base64');
  chosen.set(keyOf(ctx), key);
  const note = keys.size ? `the members' key is kept (${[...keys.values()][0]!.join(', ')})` : `a new ${KEY_BYTES}-byte key, made on the controller`;
  if (st.key === key) return { changes: [], notes: [note] };
  return { changes: [{ summary: `${AUTHKEY}: ${note}`, actions: [writeKeyAction(key)] }] };
}

function installPlan(st: State, ctx: TaskCtx<Args>): Plan {
  const key = chosen.get(keyOf(ctx));
  if (!key) return { changes: [], refuse: 'no corosync key was chosen in this run (the corosync_authkey step: choose task runs once before this one)' };
  if (st.key === key) return { changes: [], notes: [`${AUTHKEY} is the cluster's key`] };
  return { changes: [{ summary: `${AUTHKEY}: ${st.key ? "replaced by the cluster's key" : "the cluster's key"}`, actions: [writeKeyAction(key)] }] };
}

export const corosyncAuthkey = defineModule<Args, State>({
  name: 'corosync_authkey',
  doc: "format: pacemaker: /etc/corosync/authkey, the same on every member: a member's existing key, else one made on the controller; never shown.",
  args,
  read: () => ({ key: READ_KEY_SH }),
  parse: (res) => ({ key: sec(res, 'key').rc === 0 ? sec(res, 'key').out.trim() || null : null }),
  peers: (ctx): Record<string, string> => (ctx.args.step === 'choose' ? { key: READ_KEY_SH } : {}),
  plan: (st, ctx) => (ctx.args.step === 'choose' ? choosePlan(st, ctx) : installPlan(st, ctx)),
});
