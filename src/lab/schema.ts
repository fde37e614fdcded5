// The lab's part of an inventory, validated by the lab itself: its own `lab:` section, and what it reads from the
// rest (the cluster name as the lab name, host addresses, addresses it must not pick, the HA layout a lab disk
// must hold). The core inventory accepts `lab:` without looking inside; `clusterform lab …` reports every problem
// here as file:line:column before anything is created.
import { z } from 'zod';
import { InputError, issueAt, loadYamlFile, pathString, zodIssues, type InputIssue } from '../util/input.js';
import { parseSize } from '../util/size.js';
import { inSubnet, ipToInt, intToIp, isIpv4, isLabSubnet } from './ipv4.js';
import type { InventoryLike } from './types.js';

/** The lab is named after the cluster; the name goes into namespace and interface names. */
export const LAB_NAME_RE = /^[a-z0-9-]{1,12}$/;
const LAB_HOST_RE = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/;
const LAB_ITEM_RE = /^[a-zA-Z0-9_-]{1,32}$/;

const ipv4 = z.string().refine(isIpv4, { message: 'not an IPv4 address (lab hosts and networks are IPv4)' });
const subnet = z.string().refine(isLabSubnet, { message: 'a CIDR subnet like 10.213.0.0/24 (prefix /8 to /30)' });
const itemName = (what: string) => z.string().regex(LAB_ITEM_RE, `${what}: 1 to 32 letters, digits, '_' or '-'`);
const isSize = (s: string) => { try { return parseSize(s) > 0; } catch { return false; } };
const size = z.string().refine(isSize, { message: 'not a size: use a positive number with K, M, G or T (e.g. 64M, 2G)' });

/** The `lab:` section of an inventory. */
export const labSchema = z
  .object({
    networks: z.record(itemName('network name'), z.object({ subnet }).strict()).optional(),
    hosts: z.record(z.string(), z.object({ kind: z.enum(['ns', 'vm']).default('ns'), image: z.enum(['fast', 'debian']).optional(), networks: z.array(z.string()).optional(), addresses: z.record(z.string(), ipv4).optional(), memory: z.number().int().min(64).optional(), watchdog: z.boolean().optional() }).strict()).optional(),
    disks: z.record(itemName('disk name'), z.object({ size, hosts: z.array(z.string()).min(1) }).strict()).optional(),
    packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, { message: 'not a Debian package name' })).optional(),
  })
  .strict();

/** The inventory as the lab reads it: its own section strictly, of the rest only the fields it uses (the core validates the rest). */
export const labInventorySchema = z
  .object({
    cluster: z.string(),
    hosts: z.record(z.string(), z.object({ address: ipv4 }).passthrough()),
    ha: z.object({
      members: z.array(z.string()).optional(),
      quorum: z.object({ size: z.string().optional() }).passthrough().optional(),
      services: z.array(z.object({ address: z.string().optional(), size: z.string().optional() }).passthrough()).optional(),
    }).passthrough().optional(),
    lvs: z.object({ vip: z.string().optional(), nat: z.object({ gateway: z.string().optional() }).passthrough().optional() }).passthrough().optional(),
    lab: labSchema.optional(),
  })
  .passthrough();

/** A problem found by the cross-checks: where (a path, optionally a key inside it) and what. */
export interface LabProblem {
  path: (string | number)[];
  key?: string;
  message: string;
}

type Obj = Record<string, any>;
const isObj = (o: unknown): o is Obj => !!o && typeof o === 'object' && !Array.isArray(o);
const isArr = (a: unknown): a is unknown[] => Array.isArray(a);
const str = (s: unknown): s is string => typeof s === 'string';

/**
 * Cross-checks of the lab's part of an inventory value, on whatever is there (the value may also fail the schema,
 * so that every problem is reported at once).
 */
export function labCrossChecks(v: unknown): LabProblem[] {
  const out: LabProblem[] = [];
  const inv: Obj = isObj(v) ? v : {};
  const hosts: Obj = isObj(inv.hosts) ? inv.hosts : {};
  const lab: Obj = isObj(inv.lab) ? inv.lab : {};
  if (str(inv.cluster) && !LAB_NAME_RE.test(inv.cluster)) out.push({ path: ['cluster'], message: `the lab is named after the cluster: ${JSON.stringify(inv.cluster)} must match [a-z0-9-]{1,12} to be used as a lab name` });
  checkHostNames(inv.hosts, out);
  const implicit = !isObj(lab.networks) || Object.keys(lab.networks).length === 0;
  const labHosts: Obj = isObj(lab.hosts) ? lab.hosts : {};
  for (const h of Object.keys(labHosts)) if (!Object.hasOwn(hosts, h)) out.push({ path: ['lab', 'hosts'], key: h, message: `"${h}" is not a host in hosts:` });
  for (const [h, spec] of Object.entries<any>(labHosts)) {
    if (isObj(spec) && spec.image !== undefined && spec.kind !== 'vm') out.push({ path: ['lab', 'hosts', h, 'image'], message: 'an image is chosen only for a vm host (kind: vm)' });
    // a namespace host shares this machine's kernel: a watchdog there would reset the machine
    if (isObj(spec) && spec.watchdog === true && spec.kind !== 'vm') out.push({ path: ['lab', 'hosts', h, 'watchdog'], message: 'a watchdog is given only to a vm host (kind: vm): a namespace host shares this machine\'s kernel, and its watchdog would reset the machine' });
  }
  checkHostNetworks(hosts, labHosts, labSubnets(lab, hosts), implicit, out);
  if (isObj(lab.disks)) checkDisks(lab.disks, hosts, inv.ha, out);
  return out;
}

function checkHostNames(hosts: unknown, out: LabProblem[]): void {
  if (!isObj(hosts)) return;
  const names = Object.keys(hosts);
  if (names.length === 0) out.push({ path: ['hosts'], message: 'no hosts defined: the lab makes one per host' });
  for (const h of names) if (!LAB_HOST_RE.test(h)) out.push({ path: ['hosts'], key: h, message: `host name "${h}" is not a valid hostname for a lab host (letters, digits and '-')` });
}

/** The lab networks by name (undefined: an invalid subnet): lab.networks, or "public", the /24 around the first host's address. */
function labSubnets(lab: Obj, hosts: Obj): Map<string, string | undefined> {
  if (isObj(lab.networks) && Object.keys(lab.networks).length > 0) {
    return new Map(Object.entries<any>(lab.networks).map(([n, s]) => [n, str(s?.subnet) && isLabSubnet(s.subnet) ? s.subnet : undefined]));
  }
  const first = Object.values<any>(hosts).find((h) => str(h?.address) && isIpv4(h.address))?.address;
  return new Map([['public', first ? `${intToIp(ipToInt(first) - (ipToInt(first) % 256))}/24` : undefined]]);
}

/** Each host's networks exist and hold its addresses; no address is used twice. */
function checkHostNetworks(hosts: Obj, labHosts: Obj, subnets: Map<string, string | undefined>, implicit: boolean, out: LabProblem[]): void {
  const owner = new Map<string, string>();
  const claim = (path: (string | number)[], addr: string, h: string) => {
    const prev = owner.get(addr);
    if (prev !== undefined) out.push({ path, message: `address ${addr} is already used by host "${prev}"` });
    else owner.set(addr, h);
  };
  for (const [h, spec] of Object.entries<any>(hosts)) {
    const addr = spec?.address;
    if (!str(addr) || !isIpv4(addr)) continue;
    claim(['hosts', h, 'address'], addr, h);
    const lh: Obj = Object.hasOwn(labHosts, h) && isObj(labHosts[h]) ? labHosts[h] : {};
    const nets = isArr(lh.networks) && lh.networks.length > 0 ? checkNetworkList(h, lh.networks, addr, subnets, out) : homeNetwork(h, addr, subnets, implicit, out);
    if (!isObj(lh.addresses)) continue;
    for (const [n, a] of Object.entries<any>(lh.addresses)) {
      const path = ['lab', 'hosts', h, 'addresses', n];
      if (!subnets.has(n)) { out.push({ path: path.slice(0, -1), key: n, message: `"${n}" is not a lab network (${[...subnets.keys()].join(', ')})` }); continue; }
      const sub = subnets.get(n);
      if (!str(a) || !isIpv4(a)) continue;
      if (sub && !inSubnet(a, sub)) out.push({ path, message: `${a} is not in network ${n} (${sub})` });
      else if (nets.indexOf(n) > 0) claim(path, a, h);
    }
  }
}

/** lab.hosts.<h>.networks: known, each once, the first holding the host's address. Returns the list. */
function checkNetworkList(h: string, nets: unknown[], addr: string, subnets: Map<string, string | undefined>, out: LabProblem[]): string[] {
  const seen = new Set<unknown>();
  nets.forEach((n, i) => {
    const path = ['lab', 'hosts', h, 'networks', i];
    if (!str(n)) return;
    if (!subnets.has(n)) out.push({ path, message: `unknown network "${n}" (lab networks: ${[...subnets.keys()].join(', ')})` });
    else if (seen.has(n)) out.push({ path, message: `network "${n}" is listed twice` });
    seen.add(n);
  });
  const first = subnets.get(nets[0] as string);
  if (first && !inSubnet(addr, first)) out.push({ path: ['lab', 'hosts', h, 'networks', 0], message: `host "${h}" has address ${addr}, which is not in its first network ${nets[0]} (${first})` });
  return nets.filter(str);
}

/** A host without lab networks goes on the first network holding its address (without lab.networks: the one /24). */
function homeNetwork(h: string, addr: string, subnets: Map<string, string | undefined>, implicit: boolean, out: LabProblem[]): string[] {
  const known = [...subnets].filter((e): e is [string, string] => e[1] !== undefined);
  const home = known.find(([, s]) => inSubnet(addr, s));
  if (home) return [home[0]];
  const path = ['hosts', h, 'address'];
  if (implicit && known.length) out.push({ path, message: `the hosts span more than one /24 (${addr} is not in ${known[0]![1]}, the /24 of the first host): describe the networks under lab.networks` });
  else if (known.length === subnets.size) out.push({ path, message: `${addr} is in none of the lab networks (${known.map(([n, s]) => `${n} ${s}`).join(', ')})` });
  return [];
}

function checkDisks(disks: Obj, hosts: Obj, ha: unknown, out: LabProblem[]): void {
  for (const [d, spec] of Object.entries<any>(disks)) {
    if (!isArr(spec?.hosts)) continue;
    spec.hosts.forEach((h: unknown, i: number) => {
      if (str(h) && !Object.hasOwn(hosts, h)) out.push({ path: ['lab', 'disks', d, 'hosts', i], message: `"${h}" is not a host in hosts:` });
    });
    const need = isObj(ha) && isArr(ha.members) && ha.members.every((m) => spec.hosts.includes(m)) ? haLayoutBytes(ha) : undefined;
    if (need !== undefined && str(spec.size) && isSize(spec.size) && need > parseSize(spec.size)) {
      out.push({ path: ['lab', 'disks', d, 'size'], message: `the HA layout needs at least ${Math.ceil(need / (1 << 20))}M (two quorum partitions and the services), but this disk is ${spec.size}` });
    }
  }
}

/** Bytes the HA layout of `ha` takes on the shared disk (1M for a service without size), or undefined when a size is invalid. */
function haLayoutBytes(ha: Obj): number | undefined {
  try {
    const services = isArr(ha.services) ? ha.services : [];
    return 2 * parseSize(ha.quorum?.size ?? '10M') + services.reduce((a: number, s: any) => a + (s?.size ? parseSize(s.size) : 1 << 20), 0) + (4 << 20);
  } catch {
    return undefined; // the core reports the size
  }
}

/** Problems of an inventory value for the lab, as "path: message" lines (for callers without a file). */
export function labInventoryProblems(v: unknown): string[] {
  const parsed = labInventorySchema.safeParse(v);
  const zod: LabProblem[] = parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path, message: i.message }));
  return [...zod, ...labCrossChecks(v)].map((p) => `${pathString(p.key ? [...p.path, p.key] : p.path)}: ${p.message}`);
}

/** Read an inventory file for the lab; every problem of the lab's part is reported at once, with file:line:column. */
export function loadLabInventory(file: string, text?: string): InventoryLike {
  const y = loadYamlFile(file, text);
  if (!isObj(y.value)) throw new InputError([issueAt(y, [], `expected a mapping with cluster:, hosts: …, got ${isArr(y.value) ? 'a list' : typeof y.value}`)]);
  const parsed = labInventorySchema.safeParse(y.value);
  const issues: InputIssue[] = parsed.success ? [] : zodIssues(y, parsed.error, labInventorySchema);
  issues.push(...labCrossChecks(y.value).map((p) => issueAt(y, p.path, p.message, p.key)));
  if (issues.length || !parsed.success) throw new InputError(issues.sort((a, b) => a.line - b.line || a.col - b.col));
  return parsed.data;
}
