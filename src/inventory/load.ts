// Load an inventory file: YAML with positions → zod schema → cross-checks → a typed Inventory with derived groups.
import { dirname, isAbsolute, resolve } from 'node:path';
import { homedir } from 'node:os';
import { inventorySchema, SCHEDULERS, type RawInventory } from './schema.js';
import { InputError, issueAt, loadYamlFile, zodIssues, type InputIssue, type LoadedYaml } from '../util/input.js';
import { parseSize } from '../util/size.js';

export interface SshSettings {
  user: string;
  port: number;
  privateKey?: string;
  knownHosts: string;
  passphraseEnv?: string;
  become?: 'sudo';
  becomePasswordEnv?: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  strictHostKeyChecking: 'yes' | 'accept-new';
}

export interface HostEntry {
  name: string;
  address: string;
  ssh: SshSettings;
  vars: Record<string, unknown>;
}

export interface Inventory {
  file: string;
  dir: string;
  cluster: string;
  raw: RawInventory;
  hosts: HostEntry[];
  host(name: string): HostEntry;
  groups: Record<string, string[]>;
  templatesDir?: string;
}

export const DERIVED_GROUPS = ['all', 'ha_members', 'lvs_directors', 'real_servers'] as const;
const HOST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

function expandPath(p: string, base: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(base, p);
}

export function loadInventory(file: string, text?: string): Inventory {
  const y = loadYamlFile(file, text);
  if (typeof y.value !== 'object' || y.value === null || Array.isArray(y.value)) {
    throw new InputError([issueAt(y, [], `expected a mapping with cluster:, hosts: …, got ${Array.isArray(y.value) ? 'a list' : typeof y.value}`)]);
  }
  const parsed = inventorySchema.safeParse(y.value);
  const issues: InputIssue[] = [];
  if (!parsed.success) issues.push(...zodIssues(y, parsed.error, inventorySchema));
  // Cross-checks run on whatever parsed, so that every problem is reported at once.
  issues.push(...crossCheck(y, y.value as any));
  if (issues.length) {
    issues.sort((a, b) => a.line - b.line || a.col - b.col);
    const seen = new Set<string>();
    throw new InputError(issues.filter((i) => { const k = `${i.line}:${i.col}:${i.message}`; return seen.has(k) ? false : (seen.add(k), true); }));
  }
  return build(file, parsed.data!);
}

function crossCheck(y: LoadedYaml, v: any): InputIssue[] {
  const out: InputIssue[] = [];
  const hosts: Record<string, any> = v && typeof v.hosts === 'object' && v.hosts && !Array.isArray(v.hosts) ? v.hosts : {};
  const names = Object.keys(hosts);
  const isArr = (a: unknown): a is unknown[] => Array.isArray(a);
  const refHost = (path: (string | number)[], n: unknown) => {
    if (typeof n === 'string' && !(n in hosts)) out.push(issueAt(y, path, `"${n}" is not a host in hosts:`));
  };
  for (const n of names) if (!HOST_NAME_RE.test(n)) out.push(issueAt(y, ['hosts'], `host name "${n}" must start with a letter or digit and contain only letters, digits, '_' and '-'`, n));
  if (v?.hosts && names.length === 0) out.push(issueAt(y, ['hosts'], 'no hosts defined'));
  // addresses: unique
  const byAddr = new Map<string, string>();
  for (const n of names) {
    const a = hosts[n]?.address;
    if (typeof a !== 'string') continue;
    const prev = byAddr.get(a);
    if (prev) out.push(issueAt(y, ['hosts', n, 'address'], `address ${a} is already used by host "${prev}"`));
    else byAddr.set(a, n);
  }
  // groups
  if (v?.groups && typeof v.groups === 'object') {
    for (const [g, members] of Object.entries<any>(v.groups)) {
      if ((DERIVED_GROUPS as readonly string[]).includes(g) || g in hosts) out.push(issueAt(y, ['groups'], `group name "${g}" clashes with a ${g in hosts ? 'host' : 'built-in group'}`, g));
      if (isArr(members)) members.forEach((m, i) => refHost(['groups', g, i], m));
    }
  }
  const ha = v?.ha;
  if (ha && typeof ha === 'object') {
    if (isArr(ha.members)) {
      ha.members.forEach((m: unknown, i: number) => refHost(['ha', 'members', i], m));
      const dup = ha.members.find((m: unknown, i: number) => ha.members.indexOf(m) !== i);
      if (dup !== undefined) out.push(issueAt(y, ['ha', 'members'], `"${dup}" is listed twice`));
    }
    if (isArr(ha.services)) {
      const seenName = new Map<string, number>();
      const seenMount = new Map<string, number>();
      ha.services.forEach((s: any, i: number) => {
        if (!s || typeof s !== 'object') return;
        if (typeof s.name === 'string') {
          if (seenName.has(s.name)) out.push(issueAt(y, ['ha', 'services', i, 'name'], `service name "${s.name}" is used twice`));
          seenName.set(s.name, i);
        }
        if (typeof s.mountpoint === 'string') {
          if (seenMount.has(s.mountpoint)) out.push(issueAt(y, ['ha', 'services', i, 'mountpoint'], `mount point ${s.mountpoint} is used by another service`));
          seenMount.set(s.mountpoint, i);
        }
        if (s.size === undefined && i !== ha.services.length - 1) out.push(issueAt(y, ['ha', 'services', i], 'only the last service may omit size: (it then takes the rest of the disk)', 'name'));
        if (typeof s.address === 'string' && byAddr.has(s.address)) out.push(issueAt(y, ['ha', 'services', i, 'address'], `address ${s.address} is host "${byAddr.get(s.address)}"'s address; a service needs its own`));
      });
    }
    for (const [p, val] of [[['ha', 'quorum', 'size'], ha.quorum?.size], ...(isArr(ha.services) ? ha.services.map((s: any, i: number) => [['ha', 'services', i, 'size'], s?.size]) : [])] as [(string | number)[], unknown][]) {
      if (typeof val === 'string') { try { parseSize(val); } catch (e) { out.push(issueAt(y, p, (e as Error).message)); } }
    }
    if (ha.quorum && ha.quorum.primary && ha.quorum.primary === ha.quorum.shadow) out.push(issueAt(y, ['ha', 'quorum', 'shadow'], 'primary and shadow must be different raw devices'));
  }
  const lvs = v?.lvs;
  if (lvs && typeof lvs === 'object') {
    if (isArr(lvs.directors)) lvs.directors.forEach((m: unknown, i: number) => refHost(['lvs', 'directors', i], m));
    if (isArr(lvs.real_servers)) {
      lvs.real_servers.forEach((r: any, i: number) => refHost(['lvs', 'real_servers', i, 'host'], r?.host));
      const hs = lvs.real_servers.map((r: any) => r?.host);
      hs.forEach((h: unknown, i: number) => { if (hs.indexOf(h) !== i) out.push(issueAt(y, ['lvs', 'real_servers', i, 'host'], `real server "${h}" is listed twice`)); });
      if (isArr(lvs.directors)) hs.forEach((h: unknown, i: number) => { if (lvs.directors.includes(h)) out.push(issueAt(y, ['lvs', 'real_servers', i, 'host'], `"${h}" is a director; a director cannot also be a real server here`)); });
    }
    if (lvs.verify_from !== undefined) refHost(['lvs', 'verify_from'], lvs.verify_from);
    if (typeof lvs.vip === 'string' && byAddr.has(lvs.vip)) out.push(issueAt(y, ['lvs', 'vip'], `the VIP ${lvs.vip} is host "${byAddr.get(lvs.vip)}"'s address`));
    if (isArr(lvs.virtual_services)) {
      const keys = new Set<string>();
      lvs.virtual_services.forEach((s: any, i: number) => {
        if (!s || typeof s !== 'object') return;
        if (typeof s.scheduler === 'string' && !(SCHEDULERS as readonly string[]).includes(s.scheduler))
          out.push(issueAt(y, ['lvs', 'virtual_services', i, 'scheduler'], `unknown scheduler "${s.scheduler}"; ipvsadm knows: ${SCHEDULERS.join(', ')}`));
        const proto = s.protocol ?? 'tcp';
        if (proto === 'fwmark' && s.fwmark === undefined) out.push(issueAt(y, ['lvs', 'virtual_services', i], 'a fwmark service needs fwmark:', 'protocol'));
        if (proto !== 'fwmark' && s.port === undefined) out.push(issueAt(y, ['lvs', 'virtual_services', i], `a ${proto} service needs port:`, 'protocol'));
        const k = proto === 'fwmark' ? `f:${s.fwmark}` : `${proto}:${s.port}`;
        if (keys.has(k)) out.push(issueAt(y, ['lvs', 'virtual_services', i], `virtual service ${k} is defined twice`, 'port'));
        keys.add(k);
        if (s.netmask !== undefined && s.persistence === undefined) out.push(issueAt(y, ['lvs', 'virtual_services', i, 'netmask'], 'netmask only applies to a persistent service (set persistence:)'));
      });
    }
    const modes = new Set([lvs.forwarding ?? 'dr', ...(isArr(lvs.virtual_services) ? lvs.virtual_services.map((s: any) => s?.forwarding).filter(Boolean) : [])]);
    if (modes.has('nat') && !lvs.nat?.gateway) out.push(issueAt(y, ['lvs'], 'NAT forwarding needs nat: { gateway: <the director\'s inner address> } (the real servers\' default route)', 'forwarding'));
  }
  const lab = v?.lab;
  if (lab && typeof lab === 'object') {
    if (lab.hosts && typeof lab.hosts === 'object') for (const h of Object.keys(lab.hosts)) if (!(h in hosts)) out.push(issueAt(y, ['lab', 'hosts'], `"${h}" is not a host in hosts:`, h));
    if (lab.disks && typeof lab.disks === 'object') {
      for (const [d, spec] of Object.entries<any>(lab.disks)) {
        if (isArr(spec?.hosts)) spec.hosts.forEach((h: unknown, i: number) => refHost(['lab', 'disks', d, 'hosts', i], h));
        // does the HA layout fit on this disk?
        if (ha && typeof spec?.size === 'string' && isArr(spec?.hosts) && isArr(ha.members) && ha.members.every((m: string) => spec.hosts.includes(m))) {
          try {
            const disk = parseSize(spec.size);
            const need = 2 * parseSize(ha.quorum?.size ?? '10M') + (isArr(ha.services) ? ha.services.reduce((a: number, s: any) => a + (s?.size ? parseSize(s.size) : 1 << 20), 0) : 0) + (4 << 20);
            if (need > disk) out.push(issueAt(y, ['lab', 'disks', d, 'size'], `the HA layout needs at least ${Math.ceil(need / (1 << 20))}M (two quorum partitions and the services), but this disk is ${spec.size}`));
          } catch { /* reported elsewhere */ }
        }
      }
    }
  }
  return out;
}

function build(file: string, raw: RawInventory): Inventory {
  const dir = dirname(resolve(file));
  const hosts: HostEntry[] = Object.entries(raw.hosts).map(([name, h]) => {
    const s = { ...raw.ssh, ...(h.ssh ?? {}) };
    if (h.user) s.user = h.user;
    if (h.port) s.port = h.port;
    if (h.private_key) s.private_key = h.private_key;
    return {
      name,
      address: h.address,
      vars: { ...(raw.vars ?? {}), ...(h.vars ?? {}) },
      ssh: {
        user: s.user ?? 'root',
        port: s.port ?? 22,
        privateKey: s.private_key ? expandPath(s.private_key, dir) : undefined,
        knownHosts: expandPath(s.known_hosts ?? '~/.ssh/known_hosts', dir),
        passphraseEnv: s.passphrase_env,
        become: s.become,
        becomePasswordEnv: s.become_password_env,
        connectTimeoutMs: (s.connect_timeout ?? 10) * 1000,
        commandTimeoutMs: (s.command_timeout ?? 300) * 1000,
        strictHostKeyChecking: s.strict_host_key_checking ?? 'yes',
      },
    };
  });
  const all = hosts.map((h) => h.name);
  const groups: Record<string, string[]> = {
    all,
    ha_members: raw.ha?.members ?? [],
    lvs_directors: raw.lvs?.directors ?? [],
    real_servers: raw.lvs?.real_servers.map((r) => r.host) ?? [],
    ...(raw.groups ?? {}),
  };
  const byName = new Map(hosts.map((h) => [h.name, h]));
  return {
    file,
    dir,
    cluster: raw.cluster,
    raw,
    hosts,
    host: (n) => { const h = byName.get(n); if (!h) throw new Error(`no host ${n}`); return h; },
    groups,
    templatesDir: raw.templates ? expandPath(raw.templates, dir) : undefined,
  };
}

/** Resolve a --limit / play target list (hosts and groups, comma separated) to host names in inventory order. */
export function resolveTargets(inv: Inventory, spec: string | string[]): { hosts: string[]; unknown: string[] } {
  const items = (Array.isArray(spec) ? spec : spec.split(',')).map((s) => s.trim()).filter(Boolean);
  const want = new Set<string>();
  const unknown: string[] = [];
  for (const it of items) {
    if (inv.groups[it]) inv.groups[it]!.forEach((h) => want.add(h));
    else if (inv.hosts.some((h) => h.name === it)) want.add(it);
    else unknown.push(it);
  }
  return { hosts: inv.hosts.map((h) => h.name).filter((h) => want.has(h)), unknown };
}
