// Service state helpers shared by service_state and cluster_daemon: one read snippet for many services, per init system.
import type { Facts } from '../../facts/facts.js';
import type { Action } from '../../engine/types.js';
import { cmd, q } from '../../util/shell.js';

/** boot: what the init system says about starting it at boot (systemctl is-enabled's word; enabled/disabled on SysV). */
export interface SvcState { name: string; installed: boolean; active: boolean; enabled: boolean; unit: string; boot: string }

const ENABLED = new Set(['enabled', 'enabled-runtime', 'linked', 'linked-runtime', 'alias']);
/** systemd units that `systemctl enable/disable` cannot change: started by other units, or made by a generator. */
const NOT_INSTALLABLE = new Set(['static', 'indirect', 'generated', 'transient']);

/** Why services cannot be managed on this host at all (no init system clusterform knows), or undefined. */
export function noInitSystem(facts: Facts, names: string[]): string | undefined {
  if (facts.init !== 'none' || names.length === 0) return undefined; // nothing to manage: nothing to refuse
  return `cannot manage ${names.join(', ')}: this host has neither systemd (no /run/systemd/system) nor SysV init ` +
    '(/etc/init.d or /etc/rc.d/init.d with update-rc.d or chkconfig): start and stop them by hand';
}

/** A masked systemd unit cannot be started or enabled: say so instead of failing in systemctl. */
export function maskedRefusal(s: SvcState): string | undefined {
  return s.boot === 'masked' ? `${s.name}: ${s.unit} is masked: unmask it (systemctl unmask ${s.unit}) or leave it out` : undefined;
}

/** The boot state shown in a summary: enabled, disabled, or systemd's own word when it is neither (masked, static…). */
export function bootWord(s: SvcState): string {
  return s.enabled ? 'enabled' : s.boot === 'masked' || NOT_INSTALLABLE.has(s.boot) ? s.boot : 'disabled';
}

/** systemd unit candidates for a service name (nfs: the nfs-server unit first). */
export function unitCandidates(name: string): string[] {
  const u = name.endsWith('.service') ? name : `${name}.service`;
  return name === 'nfs' ? ['nfs-server.service', u] : [u];
}

/** Succeeds when `chkconfig --list NAME` (on stdin) shows the service on in a multi-user runlevel (2 to 5). */
export const CHKCONFIG_ON = "grep -q '[2345]:on'";

/** One snippet; prints `name|installed|active|enabled|unit` per service. */
export function svcReadSh(names: string[], facts: Facts): string {
  const lines: string[] = [];
  for (const n of names) {
    if (facts.init === 'systemd') {
      lines.push(
        `f=''; for u in ${unitCandidates(n).map(q).join(' ')}; do ls=$(systemctl show -p LoadState "$u" 2>/dev/null); ls=\${ls#LoadState=}; if [ "$ls" = loaded ] || [ "$ls" = masked ]; then ` +
          `a=0; systemctl is-active --quiet "$u" && a=1; e=$(systemctl is-enabled "$u" 2>/dev/null); printf '%s|1|%s|%s|%s\\n' ${q(n)} "$a" "$e" "$u"; f=1; break; fi; done; ` +
          `[ -n "$f" ] || printf '%s|0|0|-|-\\n' ${q(n)}`,
      );
    } else {
      // SysV: Red Hat chkconfig or Debian rc?.d links
      lines.push(
        `s=''; for d in /etc/rc.d/init.d /etc/init.d; do [ -x "$d"/${q(n)} ] && { s="$d"/${q(n)}; break; }; done; ` +
          `if [ -z "$s" ]; then printf '%s|0|0|-|-\\n' ${q(n)}; else a=0; "$s" status >/dev/null 2>&1 && a=1; e=disabled; ` +
          `if command -v chkconfig >/dev/null 2>&1; then chkconfig --list ${q(n)} 2>/dev/null | ${CHKCONFIG_ON} && e=enabled; ` +
          `else for l in /etc/rc[2345].d/S[0-9][0-9]${q(n)}; do [ -e "$l" ] && e=enabled; done; fi; printf '%s|1|%s|%s|%s\\n' ${q(n)} "$a" "$e" "$s"; fi`,
      );
    }
  }
  lines.push('true');
  return lines.join('\n');
}

export function parseSvc(out: string): Map<string, SvcState> {
  const m = new Map<string, SvcState>();
  for (const line of out.split('\n')) {
    const f = line.split('|');
    if (f.length !== 5) continue;
    const boot = f[3]!.trim();
    m.set(f[0]!, { name: f[0]!, installed: f[1] === '1', active: f[2] === '1', enabled: ENABLED.has(boot), unit: f[4]!.trim(), boot });
  }
  return m;
}

function sysvTool(facts: Facts): 'chkconfig' | 'update-rc.d' {
  return facts.tools.chkconfig || facts.os.family === 'redhat' || !facts.tools['update-rc.d'] ? 'chkconfig' : 'update-rc.d';
}

export function stopActions(s: SvcState, facts: Facts): Action[] {
  const out: Action[] = [];
  if (facts.init === 'systemd') {
    if (s.active) out.push({ kind: 'sh', desc: `systemctl stop ${s.unit}`, script: cmd(['systemctl', 'stop', s.unit]) });
    if (s.enabled) out.push({ kind: 'sh', desc: `systemctl disable ${s.unit}`, script: cmd(['systemctl', 'disable', '--quiet', s.unit]) });
    return out;
  }
  if (s.active) out.push({ kind: 'sh', desc: `service ${s.name} stop`, script: `${cmd(['service', s.name, 'stop'])} || ${cmd([s.unit, 'stop'])}` });
  if (s.enabled)
    out.push(sysvTool(facts) === 'chkconfig'
      ? { kind: 'sh', desc: `chkconfig ${s.name} off`, script: cmd(['chkconfig', s.name, 'off']) }
      : { kind: 'sh', desc: `update-rc.d ${s.name} disable`, script: cmd(['update-rc.d', s.name, 'disable']) });
  return out;
}

export function startActions(s: SvcState, facts: Facts): Action[] {
  const out: Action[] = [];
  if (facts.init === 'systemd') {
    if (!s.enabled && !NOT_INSTALLABLE.has(s.boot)) out.push({ kind: 'sh', desc: `systemctl enable ${s.unit}`, script: cmd(['systemctl', 'enable', '--quiet', s.unit]) });
    if (!s.active) out.push({ kind: 'sh', desc: `systemctl start ${s.unit}`, script: cmd(['systemctl', 'start', s.unit]) });
    return out;
  }
  if (!s.enabled)
    out.push(sysvTool(facts) === 'chkconfig'
      ? { kind: 'sh', desc: `chkconfig ${s.name} on`, script: cmd(['chkconfig', s.name, 'on']) }
      : { kind: 'sh', desc: `update-rc.d ${s.name} defaults && update-rc.d ${s.name} enable`, script: `${cmd(['update-rc.d', s.name, 'defaults'])} && ${cmd(['update-rc.d', s.name, 'enable'])}` });
  if (!s.active) out.push({ kind: 'sh', desc: `service ${s.name} start`, script: `${cmd(['service', s.name, 'start'])} || ${cmd([s.unit, 'start'])}` });
  return out;
}
