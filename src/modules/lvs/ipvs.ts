// ipvs: the IPVS virtual services clusterform owns (fewest ipvsadm edits, foreign services left alone) and the rules file for boot.
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { lvsSchema, type RawInventory } from '../../inventory/schema.js';
import { keepalivedOwns } from '../../inventory/lvs-failover.js';
import { planIpvsEdits } from '../../lvs/plan.js';
import { IpvsParseError, parseIpvsadmSave, renderIpvsadmRules, serviceKey, serviceSelector, type IpvsService } from '../../parsers/ipvsadm.js';
import { unifiedDiff } from '../../util/diff.js';
import { cmd, q } from '../../util/shell.js';
import { plainAbsolutePath } from '../../util/validators.js';
import { catFile, type FileState, joinLines, lines, MANAGED, parseCatFile, STATE_DIR } from '../support/files.js';
import { sec } from '../support/sections.js';

export const OWNED_RECORD = `${STATE_DIR}/ipvs-owned`;
export const ENABLED_RECORD = `${STATE_DIR}/ipvs-enabled`;
export const DEBIAN_RULES = '/etc/ipvsadm.rules';
export const DEBIAN_DEFAULT = '/etc/default/ipvsadm';
export const REDHAT_RULES = '/etc/sysconfig/ipvsadm';

type Lvs = NonNullable<RawInventory['lvs']>;

/**
 * The wanted IPVS table from the inventory's lvs: section. Pure. Real servers get their inventory
 * address; the port is `port ?? real_port ?? service port` for NAT; for DR/TUN ipvsadm forces the
 * service port (fwmark services: 0), so that is what we want too.
 */
export function wantedIpvsTable(lvs: Lvs, hostsByName: Record<string, { address: string }>): IpvsService[] {
  return lvs.virtual_services.map((vs, i) => {
    const protocol = vs.protocol ?? 'tcp';
    const base: Pick<IpvsService, 'protocol' | 'address' | 'port' | 'fwmark'> =
      protocol === 'fwmark' ? { protocol, fwmark: vs.fwmark } : { protocol, address: lvs.vip, port: vs.port };
    if (protocol === 'fwmark' && vs.fwmark === undefined) throw new Error(`lvs.virtual_services[${i}]: a fwmark service needs fwmark:`);
    if (protocol !== 'fwmark' && vs.port === undefined) throw new Error(`lvs.virtual_services[${i}]: a ${protocol} service needs port:`);
    const forwarding = vs.forwarding ?? lvs.forwarding ?? 'dr';
    const svcPort = protocol === 'fwmark' ? 0 : vs.port!;
    const s: IpvsService = {
      key: serviceKey(base),
      ...base,
      scheduler: vs.scheduler,
      dests: lvs.real_servers.map((rs) => {
        const h = hostsByName[rs.host];
        if (!h) throw new Error(`lvs.real_servers: "${rs.host}" is not a host in hosts:`);
        return { address: h.address.includes(':') ? h.address.toLowerCase() : h.address, port: forwarding === 'nat' ? rs.port ?? vs.real_port ?? svcPort : svcPort, forwarding, weight: rs.weight ?? 1 };
      }),
    };
    if (vs.persistence !== undefined) {
      s.persistence = vs.persistence;
      if (vs.netmask !== undefined) s.netmask = vs.netmask;
    }
    return s;
  });
}

/** Port mappings that DR/TUN cannot do (ipvsadm silently uses the service port): for warnings. */
export function ignoredPorts(lvs: Lvs): string[] {
  const out: string[] = [];
  lvs.virtual_services.forEach((vs) => {
    const f = vs.forwarding ?? lvs.forwarding ?? 'dr';
    if (f === 'nat') return;
    if (vs.real_port !== undefined && vs.real_port !== vs.port) out.push(`real_port ${vs.real_port} of ${vs.protocol ?? 'tcp'} service ${vs.port ?? vs.fwmark} is ignored: ${f} forwarding cannot change the port`);
    for (const rs of lvs.real_servers) if (rs.port !== undefined && rs.port !== vs.port) out.push(`port ${rs.port} of real server ${rs.host} is ignored for service ${vs.port ?? vs.fwmark}: ${f} forwarding cannot change the port`);
  });
  return [...new Set(out)];
}

const destSchema = z.object({ address: z.string(), port: z.number().int().min(0).max(65535), forwarding: z.enum(['dr', 'nat', 'tun']), weight: z.number().int().min(0).max(65535).default(1) }).strict();
const serviceSchema = z
  .object({
    protocol: z.enum(['tcp', 'udp', 'fwmark']).default('tcp'),
    address: z.string().optional(),
    port: z.number().int().min(1).max(65535).optional(),
    fwmark: z.number().int().min(1).optional(),
    scheduler: z.string().regex(/^[a-z]+$/),
    persistence: z.number().int().min(1).optional(),
    netmask: z.string().optional(),
    dests: z.array(destSchema).default([]),
  })
  .strict();

const args = z
  .object({
    /** build the wanted table from an inventory-style lvs: section (playbooks pass "{{lvs}}") and the hosts' addresses */
    lvs: lvsSchema.optional(),
    /** name → address of the real servers (playbooks pass "{{hosts}}") */
    hosts: z.array(z.object({ name: z.string(), address: z.string() }).passthrough()).optional(),
    /** or the wanted services themselves */
    services: z.array(serviceSchema).optional(),
    /** `auto`: /etc/sysconfig/ipvsadm (redhat) or /etc/ipvsadm.rules + /etc/default/ipvsadm (debian); `none`; or a path */
    rules_file: z.union([z.literal('auto'), z.literal('none'), plainAbsolutePath]).default('auto'),
    /** released: keepalived owns the table now — the live services stay (keepalived adopts them), clusterform's
     *  record, rules file and restore at boot go */
    state: z.enum(['present', 'absent', 'released', 'auto']).default('present'),
  })
  .strict()
  .refine((a) => !(a.lvs && a.services), { message: 'give either lvs: (with hosts:) or services:, not both' })
  .refine((a) => !a.lvs || a.hosts, { message: 'lvs: needs hosts: (the real servers\' addresses)' })
  .refine((a) => a.state !== 'auto' || a.lvs, { message: 'state: auto needs lvs:' })
  // auto: released when keepalived owns the table (lvs.failover or health checks), present otherwise
  .transform((a) => (a.state === 'auto' ? { ...a, state: keepalivedOwns(a.lvs!) ? 'released' as const : 'present' as const } : a as typeof a & { state: 'present' | 'absent' | 'released' }));
export type IpvsArgs = z.infer<typeof args>;

export interface IpvsState {
  /** 'ok' | 'no-ipvsadm' | 'not-loaded' (ip_vs not loaded: the table is empty) | 'error' */
  status: 'ok' | 'no-ipvsadm' | 'not-loaded' | 'error';
  error?: string;
  live: IpvsService[];
  owned: string[];
  ownedFile: FileState;
  rules: FileState;
  defaults: FileState;
  /** systemd ipvsadm.service enabled (redhat); undefined when not asked */
  enabled?: boolean;
  enabledRecord: boolean;
}

function rulesPaths(a: IpvsArgs, family: string): { rules?: string; defaults?: string } {
  if (a.rules_file === 'none') return {};
  if (a.rules_file !== 'auto') return { rules: a.rules_file };
  if (family === 'redhat') return { rules: REDHAT_RULES };
  if (family === 'debian') return { rules: DEBIAN_RULES, defaults: DEBIAN_DEFAULT };
  return {};
}

/** /etc/default/ipvsadm with AUTO="true" (other lines kept; a minimal file when there is none). */
export function editIpvsadmDefaults(text: string): string {
  const l = lines(text);
  if (l.length === 0) return joinLines(['# managed by clusterform', 'AUTO="true"', 'DAEMON="none"']);
  let placed = false;
  const out = l.map((x) => (/^\s*AUTO=/.test(x) ? ((placed = true), 'AUTO="true"') : x));
  if (!placed) out.push('AUTO="true"');
  return joinLines(out);
}

function wantedServices(a: IpvsArgs): IpvsService[] {
  if (a.services) {
    return a.services.map((s) => {
      const base = s.protocol === 'fwmark' ? { protocol: s.protocol, fwmark: s.fwmark } : { protocol: s.protocol, address: s.address, port: s.port };
      const out: IpvsService = { key: serviceKey(base), ...base, scheduler: s.scheduler, dests: s.dests };
      if (s.persistence !== undefined) { out.persistence = s.persistence; if (s.netmask !== undefined) out.netmask = s.netmask; }
      return out;
    });
  }
  if (!a.lvs) throw new Error('give the wanted services: lvs: (with hosts:) or services:');
  return wantedIpvsTable(a.lvs, Object.fromEntries((a.hosts ?? []).map((h) => [h.name, { address: h.address }])));
}

export const ipvs = defineModule<IpvsArgs, IpvsState>({
  name: 'ipvs',
  doc: 'The IPVS virtual services clusterform owns, edited with the fewest ipvsadm commands, and the ipvsadm rules file for boot.',
  args,
  read: ({ args: a, facts }) => {
    const p = rulesPaths(a, facts.os.family);
    const r: Record<string, string> = {
      // read-only: ipvsadm would load ip_vs by itself, so look at /proc/net/ip_vs first
      table: 'command -v ipvsadm >/dev/null 2>&1 || { echo @@no-ipvsadm; exit 0; }\n[ -e /proc/net/ip_vs ] || { echo @@not-loaded; exit 0; }\nipvsadm -S -n',
      owned: catFile(OWNED_RECORD),
      enabledRecord: `[ -e ${q(ENABLED_RECORD)} ] && echo yes; true`,
    };
    if (p.rules) r.rules = catFile(p.rules);
    if (p.defaults) r.defaults = catFile(p.defaults);
    if (facts.os.family === 'redhat' && facts.init === 'systemd' && a.rules_file === 'auto') r.enabled = 'systemctl is-enabled ipvsadm.service';
    return r;
  },
  parse: (res) => {
    const t = sec(res, 'table');
    const ownedFile = parseCatFile(sec(res, 'owned'));
    const st: IpvsState = {
      status: 'ok',
      live: [],
      owned: lines(ownedFile.content).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')),
      ownedFile,
      rules: parseCatFile(sec(res, 'rules')),
      defaults: parseCatFile(sec(res, 'defaults')),
      enabledRecord: sec(res, 'enabledRecord').out.trim() === 'yes',
    };
    if (res.enabled) st.enabled = res.enabled.out.trim() === 'enabled';
    if (t.out.startsWith('@@no-ipvsadm')) st.status = 'no-ipvsadm';
    else if (t.out.startsWith('@@not-loaded')) st.status = 'not-loaded';
    else if (t.rc !== 0) { st.status = 'error'; st.error = `ipvsadm -S -n failed (exit ${t.rc}): ${t.err.trim()}`; }
    else {
      try { st.live = parseIpvsadmSave(t.out); }
      catch (e) { st.status = 'error'; st.error = `cannot read the IPVS table: ${(e as IpvsParseError).message}`; }
    }
    return st;
  },
  plan: (s, { args: a, facts, inventory, dryRun }) => {
    const changes: Change[] = [];
    const notes: string[] = [];
    const warnings: string[] = [];
    if (s.status === 'error') return { changes: [], refuse: s.error! };
    if (s.status === 'no-ipvsadm' && a.state === 'present') {
      if (!dryRun) return { changes: [], refuse: 'ipvsadm is not installed on this host (install the ipvsadm package first)' };
      notes.push('ipvsadm is not installed yet (an earlier task installs it): planned against an empty table');
    }
    if (s.status === 'not-loaded') notes.push('ip_vs is not loaded: the table is empty');
    const p = rulesPaths(a, facts.os.family);
    const ownedContent = (keys: string[]) => joinLines(['# IPVS services managed by clusterform, one key per line', ...keys]);
    const writeOwned = (keys: string[], why: string): Change => ({
      summary: `${why}: ${keys.join(' ') || '(none)'}`,
      diff: unifiedDiff(s.ownedFile.content, ownedContent(keys), OWNED_RECORD),
      actions: [{ kind: 'write', path: OWNED_RECORD, content: ownedContent(keys), mode: '0644', mkdir: true }],
    });

    if (a.state === 'released') notes.push('the live IPVS services are left to keepalived');
    if (a.state === 'absent' || a.state === 'released') {
      if (a.state === 'absent') for (const x of s.live) if (s.owned.includes(x.key)) {
        const argv = ['-D', ...serviceSelector(x)];
        changes.push({ summary: argv.join(' '), actions: [{ kind: 'sh', script: cmd(['ipvsadm', ...argv]), desc: `ipvsadm ${argv.join(' ')}` }] });
      }
      const foreign = s.live.filter((x) => !s.owned.includes(x.key)).map((x) => x.key);
      if (foreign.length && a.state === 'absent') notes.push(`left alone (not clusterform's): ${foreign.join(', ')}`);
      // released: only clusterform's own rules file (Debian's init script writes an empty one at every boot)
      const oursOrAbsent = a.state === 'absent' || s.rules.content.startsWith(MANAGED);
      if (p.rules && s.rules.exists && oursOrAbsent) changes.push({ summary: `remove ${p.rules}`, diff: unifiedDiff(s.rules.content, '', p.rules), actions: [{ kind: 'remove', path: p.rules, restoreBackup: true }] });
      if (p.defaults && s.defaults.exists && s.defaults.content !== '' && /AUTO="?true/.test(s.defaults.content)) changes.push({ summary: `restore ${p.defaults} (or remove it)`, actions: [{ kind: 'remove', path: p.defaults, restoreBackup: true }] });
      if (s.enabledRecord) changes.push({ summary: 'disable ipvsadm.service at boot (clusterform enabled it)', actions: [{ kind: 'sh', script: 'systemctl disable ipvsadm.service', desc: 'systemctl disable ipvsadm.service' }, { kind: 'remove', path: ENABLED_RECORD }] });
      if (s.ownedFile.exists) changes.push({ summary: `remove ${OWNED_RECORD}`, actions: [{ kind: 'remove', path: OWNED_RECORD }] });
      return { changes, notes };
    }

    let wanted: IpvsService[];
    try { wanted = wantedServices(a); }
    catch (e) { return { changes: [], refuse: (e as Error).message }; }
    if (a.lvs) warnings.push(...ignoredPorts(a.lvs));
    let edits;
    try { edits = planIpvsEdits(s.live, wanted, s.owned); }
    catch (e) { return { changes: [], refuse: (e as Error).message }; }
    if (edits.foreign.length) notes.push(`left alone (not clusterform's): ${edits.foreign.join(', ')}`);
    const wantKeys = wanted.map((w) => w.key);
    // record ownership before the edits (old ∪ new, so that a failed -D is retried), and the final set after
    const union = [...new Set([...s.owned, ...wantKeys])];
    const same = (x: string[], y: string[]) => x.length === y.length && x.every((k, i) => k === y[i]);
    if (edits.edits.length && !same(s.owned, union)) changes.push(writeOwned(union, 'record owned IPVS services'));
    for (const e of edits.edits) changes.push({ summary: e.argv.join(' '), actions: [{ kind: 'sh', script: cmd(['ipvsadm', ...e.argv]), desc: `ipvsadm ${e.argv.join(' ')} (${e.summary})` }] });
    const recorded = edits.edits.length && !same(s.owned, union) ? union : s.owned;
    if (!same(recorded, wantKeys)) changes.push(writeOwned(wantKeys, 'owned IPVS services'));

    if (p.rules) {
      const content = renderIpvsadmRules(wanted, inventory.templatesDir);
      if (!s.rules.exists || s.rules.content !== content) changes.push({ summary: `write ${p.rules} (restored at boot)`, diff: unifiedDiff(s.rules.content, content, p.rules), actions: [{ kind: 'write', path: p.rules, content, mode: '0600', backup: true, mkdir: true }] });
    }
    if (p.defaults) {
      const next = editIpvsadmDefaults(s.defaults.content);
      if (!s.defaults.exists || next !== s.defaults.content) changes.push({ summary: `set AUTO="true" in ${p.defaults} (load ${p.rules} at boot)`, diff: unifiedDiff(s.defaults.content, next, p.defaults), actions: [{ kind: 'write', path: p.defaults, content: next, mode: '0644', backup: true, mkdir: true }] });
    }
    if (s.enabled === false) changes.push({ summary: 'enable ipvsadm.service at boot', actions: [{ kind: 'sh', script: `systemctl enable ipvsadm.service && { [ -e ${q(ENABLED_RECORD)} ] || { mkdir -p ${q(STATE_DIR)} && : > ${q(ENABLED_RECORD)}; }; }`, desc: 'systemctl enable ipvsadm.service' }] });
    else if (!p.rules && a.rules_file === 'auto') notes.push(`IPVS table not persisted: no rules file known for ${facts.os.family}`);
    return { changes, notes, warnings };
  },
});
