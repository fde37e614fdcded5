// Load an inventory file: YAML with positions → zod schema → cross-checks → a typed Inventory with derived groups.
import { readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { homedir } from 'node:os';
import { inventorySchema, SCHEDULERS, type RawInventory } from './schema.js';
import { checkPacemaker } from './ha-pacemaker.js';
import { InputError, issueAt, loadTextFile, loadYamlFile, zodIssues, type InputIssue, type LoadedYaml } from '../util/input.js';
import { checkTemplate } from '../playbook/render.js';
import { parseSize } from '../util/size.js';
import { checkFailover } from './lvs-failover.js';

/** A host's SSH settings from the inventory; undefined ones come from ~/.ssh/config or defaults (src/transport/targets.ts). */
export interface SshSettings {
  user?: string;
  port?: number;
  privateKey?: string;
  knownHosts?: string;
  passphraseEnv?: string;
  become?: 'sudo';
  becomePasswordEnv?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs: number;
  strictHostKeyChecking?: 'yes' | 'accept-new';
  /** ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config */
  configFile?: string;
  proxyJump?: string;
  /** probes and applies as messages to the lock's long-lived shell (ssh.held_shell) */
  heldShell?: boolean;
}

export interface HostEntry {
  name: string;
  /** the inventory's address (an IP, a DNS name or an ssh config alias; the host's name when left out), once connected the IP it answered on */
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
  /** -e KEY=VALUE / -e @file.yaml: extra variables for playbook templates (highest precedence) */
  extraVars?: Record<string, unknown>;
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

/** What crossCheck needs to know about the hosts, whatever else is wrong with the file. */
interface HostIndex {
  isHost: (n: unknown) => boolean;
  byAddr: Map<string, string>;
}

const isArr = (a: unknown): a is unknown[] => Array.isArray(a);
const isObj = (o: unknown): o is Record<string, any> => !!o && typeof o === 'object' && !Array.isArray(o);

function crossCheck(y: LoadedYaml, v: any): InputIssue[] {
  const out: InputIssue[] = [];
  const hi = checkHosts(y, v, out);
  checkGroups(y, v?.groups, hi, out);
  if (isObj(v?.ha)) checkHa(y, v.ha, hi, out);
  if (isObj(v?.ha) && isArr(v.ha.services)) checkServices(y, v.ha.services, typeof v?.lvs?.vip === 'string' ? v.lvs.vip : undefined, hi, out);
  if (isObj(v?.lvs)) checkLvs(y, v.lvs, hi, out);
  if (typeof v?.templates === 'string' && v.templates) checkTemplatesDir(y, v.templates, out);
  return out;
}

function checkHosts(y: LoadedYaml, v: any, out: InputIssue[]): HostIndex {
  const hosts: Record<string, any> = isObj(v?.hosts) ? v.hosts : {};
  const names = Object.keys(hosts);
  for (const n of names) {
    if (!HOST_NAME_RE.test(n)) out.push(issueAt(y, ['hosts'], `host name "${n}" must start with a letter or digit and contain only letters, digits, '_' and '-'`, n));
    else if ((DERIVED_GROUPS as readonly string[]).includes(n)) out.push(issueAt(y, ['hosts'], `host name "${n}" is the name of a built-in group (${DERIVED_GROUPS.join(', ')})`, n));
  }
  if (v?.hosts && names.length === 0) out.push(issueAt(y, ['hosts'], 'no hosts defined'));
  // (address, port): unique; two hosts may share an address on different ports
  const byAddr = new Map<string, string>();
  const byEndpoint = new Map<string, string>();
  for (const n of names) {
    const a = hosts[n]?.address;
    if (typeof a !== 'string') continue;
    const port = hosts[n]?.ssh?.port ?? hosts[n]?.port ?? v?.ssh?.port ?? 22;
    const key = `${a.toLowerCase()} ${port}`;
    const prev = byEndpoint.get(key);
    if (prev) out.push(issueAt(y, ['hosts', n, 'address'], `address ${a} port ${port} is already used by host "${prev}"`));
    else byEndpoint.set(key, n);
    if (!byAddr.has(a)) byAddr.set(a, n);
  }
  return { isHost: (n) => typeof n === 'string' && Object.hasOwn(hosts, n), byAddr };
}

const refHost = (y: LoadedYaml, hi: HostIndex, out: InputIssue[]) => (path: (string | number)[], n: unknown) => {
  if (typeof n === 'string' && !hi.isHost(n)) out.push(issueAt(y, path, `"${n}" is not a host in hosts:`));
};

function checkGroups(y: LoadedYaml, groups: unknown, hi: HostIndex, out: InputIssue[]): void {
  if (!isObj(groups)) return;
  const ref = refHost(y, hi, out);
  for (const [g, members] of Object.entries<any>(groups)) {
    if ((DERIVED_GROUPS as readonly string[]).includes(g) || hi.isHost(g)) out.push(issueAt(y, ['groups'], `group name "${g}" clashes with a ${hi.isHost(g) ? 'host' : 'built-in group'}`, g));
    if (isArr(members)) members.forEach((m, i) => ref(['groups', g, i], m));
  }
}

/** Names that say the device is a partition, not a whole disk: sdb1, nvme0n1p2, vda3, loop0p1, by-id/…-part1, by-partuuid/… */
const PARTITION_RES = [
  /^\/dev\/(?:[shv]d|xvd)[a-z]+\d+$/,
  /^\/dev\/(?:nvme\d+n\d+|mmcblk\d+|loop\d+|nbd\d+|md\d+|(?:cciss|ida|rd)\/c\d+d\d+)p\d+$/,
  /^\/dev\/disk\/by-[^/]+\/.+-part\d+$/,
  /^\/dev\/disk\/by-(?:partuuid|partlabel)\//,
];

function checkHa(y: LoadedYaml, ha: Record<string, any>, hi: HostIndex, out: InputIssue[]): void {
  const ref = refHost(y, hi, out);
  if (isArr(ha.members)) {
    ha.members.forEach((m, i) => ref(['ha', 'members', i], m));
    const seen = new Set<unknown>();
    const dup = ha.members.find((m) => (seen.has(m) ? true : (seen.add(m), false)));
    if (dup !== undefined) out.push(issueAt(y, ['ha', 'members'], `"${dup}" is listed twice`));
  }
  if (typeof ha.shared_disk === 'string' && PARTITION_RES.some((re) => re.test(ha.shared_disk)))
    out.push(issueAt(y, ['ha', 'shared_disk'], `shared_disk must be a whole disk: ${ha.shared_disk} is a partition (the partitions are made by clusterform)`));
  const sizes: [(string | number)[], unknown][] = [[['ha', 'quorum', 'size'], ha.quorum?.size]];
  if (isArr(ha.services)) ha.services.forEach((s: any, i) => sizes.push([['ha', 'services', i, 'size'], s?.size]));
  for (const [p, val] of sizes) {
    if (typeof val === 'string') { try { parseSize(val); } catch (e) { out.push(issueAt(y, p, (e as Error).message)); } }
  }
  if (ha.quorum && ha.quorum.primary && ha.quorum.primary === ha.quorum.shadow) out.push(issueAt(y, ['ha', 'quorum', 'shadow'], 'primary and shadow must be different raw devices'));
  checkPacemaker(ha, (p, msg, key) => out.push(issueAt(y, p, msg, key)));
}

/** Directories no service may be mounted on (deeper paths such as /mnt/x or /srv/x are fine). */
const SYSTEM_DIRS = new Set(['/', '/etc', '/usr', '/var', '/boot', '/bin', '/sbin', '/lib', '/lib64', '/proc', '/sys', '/dev', '/run', '/tmp', '/home', '/root', '/opt', '/srv', '/mnt']);
const normDir = (p: string) => posix.normalize(p).replace(/(.)\/+$/, '$1');

function checkServices(y: LoadedYaml, services: unknown[], vip: string | undefined, hi: HostIndex, out: InputIssue[]): void {
  const seenName = new Map<string, number>();
  const seenAddr = new Map<string, string>();
  const mounts = new Map<string, number>(); // normalised mount point -> the first service with it
  services.forEach((s: any, i) => {
    if (!isObj(s)) return;
    const at = (f: string, msg: string) => out.push(issueAt(y, ['ha', 'services', i, f], msg));
    if (typeof s.name === 'string') {
      if (seenName.has(s.name)) at('name', `service name "${s.name}" is used twice`);
      seenName.set(s.name, i);
    }
    if (typeof s.mountpoint === 'string' && s.mountpoint.startsWith('/')) {
      const m = normDir(s.mountpoint);
      if (SYSTEM_DIRS.has(m)) at('mountpoint', `mount point ${s.mountpoint} is a system directory; mount the service below it, e.g. /mnt/${s.name ?? 'service'}`);
      else if (!mounts.has(m)) mounts.set(m, i);
    }
    if (s.size === undefined && i !== services.length - 1) out.push(issueAt(y, ['ha', 'services', i], 'only the last service may omit size: (it then takes the rest of the disk)', 'name'));
    if (typeof s.address === 'string') {
      if (hi.byAddr.has(s.address)) at('address', `address ${s.address} is host "${hi.byAddr.get(s.address)}"'s address; a service needs its own`);
      else if (s.address === vip) at('address', `address ${s.address} is the LVS VIP; a service needs its own`);
      else if (seenAddr.has(s.address)) at('address', `address ${s.address} is already used by service "${seenAddr.get(s.address)}"`);
      else seenAddr.set(s.address, String(s.name));
    }
  });
  checkMountNesting(y, services, mounts, out);
}

/** A mount point equal to or inside another service's: one service's file system would hide the other's. */
function checkMountNesting(y: LoadedYaml, services: unknown[], mounts: Map<string, number>, out: InputIssue[]): void {
  const nameOf = (j: number) => String((services[j] as any).name);
  services.forEach((s: any, i) => {
    if (!isObj(s) || typeof s.mountpoint !== 'string' || !s.mountpoint.startsWith('/')) return;
    const m = normDir(s.mountpoint);
    if (SYSTEM_DIRS.has(m)) return;
    const owner = mounts.get(m)!;
    if (owner !== i) { out.push(issueAt(y, ['ha', 'services', i, 'mountpoint'], `mount point ${s.mountpoint} is the mount point of service "${nameOf(owner)}"`)); return; }
    for (let d = posix.dirname(m); d !== '/'; d = posix.dirname(d)) {
      const parent = mounts.get(d);
      if (parent !== undefined) { out.push(issueAt(y, ['ha', 'services', i, 'mountpoint'], `mount point ${s.mountpoint} is inside ${d}, the mount point of service "${nameOf(parent)}"`)); return; }
    }
  });
}

function checkLvs(y: LoadedYaml, lvs: Record<string, any>, hi: HostIndex, out: InputIssue[]): void {
  const ref = refHost(y, hi, out);
  if (isArr(lvs.directors)) lvs.directors.forEach((m, i) => ref(['lvs', 'directors', i], m));
  if (isArr(lvs.real_servers)) {
    lvs.real_servers.forEach((r: any, i) => ref(['lvs', 'real_servers', i, 'host'], r?.host));
    const first = new Map<unknown, number>();
    const directors = new Set(isArr(lvs.directors) ? lvs.directors : []);
    lvs.real_servers.forEach((r: any, i) => {
      const h = r?.host;
      if (first.has(h)) out.push(issueAt(y, ['lvs', 'real_servers', i, 'host'], `real server "${h}" is listed twice`));
      else first.set(h, i);
      if (directors.has(h)) out.push(issueAt(y, ['lvs', 'real_servers', i, 'host'], `"${h}" is a director; a director cannot also be a real server here`));
    });
  }
  if (lvs.verify_from !== undefined) ref(['lvs', 'verify_from'], lvs.verify_from);
  if (typeof lvs.vip === 'string' && hi.byAddr.has(lvs.vip)) out.push(issueAt(y, ['lvs', 'vip'], `the VIP ${lvs.vip} is host "${hi.byAddr.get(lvs.vip)}"'s address`));
  if (isArr(lvs.virtual_services)) checkVirtualServices(y, lvs.virtual_services, out);
  checkFailover(lvs, (path, msg, key) => out.push(issueAt(y, path, msg, key)));
  const modes = new Set([lvs.forwarding ?? 'dr', ...(isArr(lvs.virtual_services) ? lvs.virtual_services.map((s: any) => s?.forwarding).filter(Boolean) : [])]);
  if (modes.has('nat') && !lvs.nat?.gateway) out.push(issueAt(y, ['lvs'], 'NAT forwarding needs nat: { gateway: <the director\'s inner address> } (the real servers\' default route)', 'forwarding'));
}

function checkVirtualServices(y: LoadedYaml, services: unknown[], out: InputIssue[]): void {
  const keys = new Set<string>();
  services.forEach((s: any, i) => {
    if (!isObj(s)) return;
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

const TEMPLATE_WALK = { depth: 3, entries: 5000 };

/** The *.hbs files in `dir` and below (a bounded walk: a templates: directory is small). */
function hbsFiles(dir: string, depth = 0, budget = { left: TEMPLATE_WALK.entries }, acc: string[] = []): string[] {
  if (depth > TEMPLATE_WALK.depth) return acc;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (--budget.left < 0) break;
    const p = join(dir, e.name);
    if (e.isDirectory()) hbsFiles(p, depth + 1, budget, acc);
    else if (e.name.endsWith('.hbs')) acc.push(p);
  }
  return acc;
}

/** templates: must be a directory; every *.hbs file in it (and below) must be a template that checkTemplate accepts. */
function checkTemplatesDir(y: LoadedYaml, templates: string, out: InputIssue[]): void {
  const dir = expandPath(templates, dirname(resolve(y.file)));
  let st;
  try { st = statSync(dir); } catch {
    out.push(issueAt(y, ['templates'], `${dir} does not exist`));
    return;
  }
  if (!st.isDirectory()) { out.push(issueAt(y, ['templates'], `${dir} is not a directory`)); return; }
  let files: string[];
  try { files = hbsFiles(dir); } catch (e) {
    out.push(issueAt(y, ['templates'], `cannot read ${dir}: ${(e as Error).message}`));
    return;
  }
  for (const path of files) {
    try { out.push(...checkTemplate(loadTextFile(path), path)); } catch (e) {
      if (e instanceof InputError) out.push(...e.issues);
      else throw e;
    }
  }
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
      address: h.address ?? name,
      vars: { ...(raw.vars ?? {}), ...(h.vars ?? {}) },
      ssh: {
        user: s.user,
        port: s.port,
        privateKey: s.private_key ? expandPath(s.private_key, dir) : undefined,
        knownHosts: s.known_hosts ? expandPath(s.known_hosts, dir) : undefined,
        passphraseEnv: s.passphrase_env,
        become: s.become,
        becomePasswordEnv: s.become_password_env,
        connectTimeoutMs: s.connect_timeout !== undefined ? s.connect_timeout * 1000 : undefined,
        commandTimeoutMs: (s.command_timeout ?? 300) * 1000,
        strictHostKeyChecking: s.strict_host_key_checking,
        configFile: s.config_file === 'none' ? 'none' : s.config_file ? expandPath(s.config_file, dir) : undefined,
        proxyJump: s.proxy_jump,
        heldShell: s.held_shell,
      },
    };
  });
  const all = hosts.map((h) => h.name);
  // without a prototype: a group is looked up by a user's name, and "constructor" is not a group
  const groups: Record<string, string[]> = Object.assign(Object.create(null), {
    all,
    ha_members: raw.ha?.members ?? [],
    lvs_directors: raw.lvs?.directors ?? [],
    real_servers: raw.lvs?.real_servers.map((r) => r.host) ?? [],
  }, raw.groups ?? {});
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
  const names = new Set(inv.hosts.map((h) => h.name));
  for (const it of items) {
    if (Object.hasOwn(inv.groups, it)) inv.groups[it]!.forEach((h) => want.add(h));
    else if (names.has(it)) want.add(it);
    else unknown.push(it);
  }
  return { hosts: inv.hosts.map((h) => h.name).filter((h) => want.has(h)), unknown };
}
