// keepalived: the director's keepalived.conf (rendered, checked on the host with `keepalived -t` before it replaces the
// old one), keepalived enabled and running, applied with a reload (never a restart); `absent` stops and disables it
// and removes the config (keepalived's stop removes its VIP and IPVS services).
import { z } from 'zod';
import { defineModule, type Action, type Change } from '../../engine/types.js';
import { lvsSchema } from '../../inventory/schema.js';
import { cmd, q } from '../../util/shell.js';
import { catFile, type FileState, MANAGED, parseCatFile } from '../support/files.js';
import { parseSvc, startActions, stopActions, svcReadSh, type SvcState } from '../support/services.js';
import { sec } from '../support/sections.js';
import { keepalivedOwns } from '../../inventory/lvs-failover.js';
import { AUTH_PASS_MAX, forbidden, KEEPALIVED_CONF, maskedDiff, renderKeepalivedConf } from './keepalived-conf.js';

const args = z
  .object({
    /** the inventory's lvs: section (playbooks pass "{{lvs}}") */
    lvs: lvsSchema,
    /** every host's name and address (playbooks pass "{{hosts}}"): the unicast peers and the real servers */
    hosts: z.array(z.object({ name: z.string(), address: z.string() }).passthrough()),
    /** auto: present when keepalived owns the farm (lvs.failover or health checks), absent otherwise */
    state: z.enum(['present', 'absent', 'auto']).default('present'),
    /**
     * where keepalived is started when it is not running (present): `all` (here, whatever the host); `preferred_master`
     * (the config on every director, started only on lvs.directors[0], which is waited for until it holds the VIP);
     * `backups` (no config: the other directors started, after the preferred master). With `preempt: false` the first
     * director to start keeps the VIP, so a fresh farm starts its preferred master first.
     */
    start: z.enum(['all', 'preferred_master', 'backups']).default('all'),
  })
  .strict()
  .transform((a) => ({ ...a, state: a.state === 'auto' ? (keepalivedOwns(a.lvs) ? 'present' as const : 'absent' as const) : a.state }));
export type KeepalivedArgs = z.infer<typeof args>;

export interface KeepalivedState {
  installed: boolean;
  conf: FileState;
  svc: SvcState;
  /** the interface holding this host's address ('' when none) */
  iface: string;
  /** NAT with failover: the interface on the gateway's network ('' when none) */
  gwIface: string;
}

/** The new config is written beside the old one, checked, then renamed over it. */
export const CONF_NEW = '/etc/keepalived/.keepalived.conf.cf-new';
const NO_SVC: SvcState = { name: 'keepalived', installed: false, active: false, enabled: false, unit: '-', boot: 'disabled' };

const isNat = (lvs: KeepalivedArgs['lvs']) => lvs.forwarding === 'nat' || lvs.virtual_services.some((v) => v.forwarding === 'nat');

/** Check the new config on the host (the test exits 0 for a missing file: look first), then rename it into place. */
export function installConfScript(): string {
  return [
    `[ -s ${q(CONF_NEW)} ] || { echo ${q(`${CONF_NEW} is missing or empty`)} >&2; exit 1; }`,
    `if ! __cfk=$(keepalived -t -f ${q(CONF_NEW)} 2>&1); then printf '%s\\n' "$__cfk" >&2; rm -f ${q(CONF_NEW)}; echo 'keepalived -t refused the new configuration (the old one is kept)' >&2; exit 1; fi`,
    cmd(['mv', '-f', CONF_NEW, KEEPALIVED_CONF]),
  ].join('\n');
}

/** The VRRP password from the environment variable the inventory names; an error text when it is not set. */
function authPass(lvs: KeepalivedArgs['lvs'], env: NodeJS.ProcessEnv): { pass?: string; error?: string } {
  const name = lvs.failover?.auth_pass_env;
  if (!name) return {};
  const v = env[name];
  if (v === undefined || v === '') return { error: `lvs.failover.auth_pass_env: the environment variable ${name} is not set (the VRRP password)` };
  if (v.length > AUTH_PASS_MAX || !/^[\x21-\x7e]+$/.test(v)) return { error: `the VRRP password in ${name} must be 1..${AUTH_PASS_MAX} printable characters without spaces (VRRPv2 PASS authentication)` };
  return { pass: v };
}

/** Waits (bounded) until this host holds the VIP: the preferred master's first start, before the others start. */
export function awaitVipScript(vip: string, seconds: number): string {
  const tries = Math.ceil(seconds * 2);
  return `i=0; while [ $i -lt ${tries} ] && ! ip -o addr show | grep -qF ${q(` ${vip}/`)}; do sleep 0.5; i=$((i + 1)); done; true`;
}

/** The start (or reload) of keepalived on this host for the task's `start` phase. */
function startChanges(a: KeepalivedArgs, svc: SvcState, host: string, facts: Parameters<typeof startActions>[1], confChanged: boolean): { changes: Change[]; notes: string[] } {
  const preferred = a.lvs.directors[0] === host;
  const start: Action[] = startActions(svc, facts);
  if (!start.length) {
    if (!confChanged || a.start === 'backups') return { changes: [], notes: [] };
    return { changes: [{ summary: 'reload keepalived (applies the difference; a restart would drop every VIP and IPVS rule)', actions: [{ kind: 'sh', script: cmd(['systemctl', 'reload', svc.unit]), desc: `systemctl reload ${svc.unit}` }] }], notes: [] };
  }
  if ((a.start === 'preferred_master' && !preferred) || (a.start === 'backups' && preferred))
    return { changes: [], notes: a.start === 'preferred_master' ? [`keepalived starts after the preferred master ${a.lvs.directors[0]} (a later task)`] : [] };
  const f = a.lvs.failover;
  const wait: Action[] = f && a.start === 'preferred_master' && svc.active === false
    ? [{ kind: 'sh', script: awaitVipScript(a.lvs.vip, 3 * f.advert_int + 15), desc: `wait until this host holds the VIP ${a.lvs.vip} (at most ${3 * f.advert_int + 15} s)` }]
    : [];
  return { changes: [{ summary: `enable and start keepalived (${svc.active ? 'running' : 'stopped'}, ${svc.enabled ? 'enabled' : 'disabled'} now)`, actions: [...start, ...wait] }], notes: [] };
}

function planAbsent(s: KeepalivedState, facts: Parameters<typeof stopActions>[1]): { changes: Change[]; notes: string[] } {
  const ours = s.conf.exists && s.conf.content.startsWith(MANAGED);
  if (!ours) return { changes: [], notes: s.conf.exists ? [`${KEEPALIVED_CONF} is not clusterform's: keepalived left alone`] : [] };
  const changes: Change[] = [];
  const stop = stopActions(s.svc, facts);
  if (stop.length) changes.push({ summary: 'stop and disable keepalived (it removes its VIP and IPVS services)', actions: stop });
  changes.push({ summary: `remove ${KEEPALIVED_CONF}`, diff: maskedDiff(s.conf.content, '', KEEPALIVED_CONF), actions: [{ kind: 'remove', path: KEEPALIVED_CONF }] });
  return { changes, notes: [] };
}

export const keepalived = defineModule<KeepalivedArgs, KeepalivedState>({
  name: 'keepalived',
  doc: 'keepalived on an LVS director: keepalived.conf rendered from the inventory (VRRP for the VIP, the IPVS table with health checks), checked with keepalived -t, applied with a reload.',
  args,
  read: ({ args: a, host, facts }) => {
    const r: Record<string, string> = {
      bin: 'command -v keepalived',
      conf: catFile(KEEPALIVED_CONF),
      svc: svcReadSh(['keepalived'], facts),
    };
    if (a.state === 'absent') return r;
    r.iface = a.lvs.interface ? `echo ${q(a.lvs.interface)}` : `D=$(ip -o addr show to ${q(host.address)} | awk '{print $2; exit}'); echo "\${D%%@*}"`;
    if (a.lvs.failover && isNat(a.lvs) && a.lvs.nat)
      r.gw = `ip -o route show to match ${q(a.lvs.nat.gateway)} | awk '$1 != "default" { for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'`;
    return r;
  },
  parse: (res) => ({
    installed: sec(res, 'bin').rc === 0,
    conf: parseCatFile(sec(res, 'conf')),
    svc: parseSvc(sec(res, 'svc').out).get('keepalived') ?? NO_SVC,
    iface: res.iface ? res.iface.out.trim() : '',
    gwIface: res.gw ? res.gw.out.trim() : '',
  }),
  plan: (s, { args: a, host, facts, inventory, dryRun }) => {
    if (a.state === 'absent') return a.start === 'backups' ? { changes: [], notes: [] } : planAbsent(s, facts);
    const notes: string[] = [];
    if (!s.installed) {
      if (!dryRun) return { changes: [], refuse: 'keepalived is not installed on this host (install the keepalived package first)' };
      notes.push('keepalived is not installed yet (an earlier task installs it)');
    }
    if (!s.iface) return { changes: [], refuse: `no interface holds this host's address ${host.address}: set lvs.interface` };
    const auth = authPass(a.lvs, process.env);
    if (auth.error) return { changes: [], refuse: auth.error };
    let content: string;
    try {
      content = renderKeepalivedConf(a.lvs, a.hosts, { name: host.name, interface: s.iface, gatewayInterface: s.gwIface || undefined, authPass: auth.pass }, inventory.templatesDir);
    } catch (e) { return { changes: [], refuse: `keepalived.conf: ${(e as Error).message}` }; }
    const bad = forbidden(content);
    if (bad) return { changes: [], refuse: `the rendered keepalived.conf has ${bad}` };

    const changes: Change[] = [];
    const confChanged = !s.conf.exists || s.conf.content !== content;
    if (confChanged && a.start !== 'backups') {
      changes.push({
        summary: `${s.conf.exists ? 'update' : 'create'} ${KEEPALIVED_CONF} (checked with keepalived -t before it replaces the old one)`,
        diff: maskedDiff(s.conf.content, content, KEEPALIVED_CONF),
        actions: [{ kind: 'write', path: CONF_NEW, content, mode: '0600', mkdir: true }, { kind: 'sh', script: installConfScript(), desc: `keepalived -t -f ${CONF_NEW} && mv -f ${CONF_NEW} ${KEEPALIVED_CONF}` }],
      });
    }
    const svc = s.installed ? s.svc : { ...NO_SVC, unit: 'keepalived.service' };
    const st = startChanges(a, svc, host.name, facts, confChanged);
    return { changes: [...changes, ...st.changes], notes: [...notes, ...st.notes] };
  },
});
