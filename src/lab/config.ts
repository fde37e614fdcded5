// Builds a LabConfig from the lab's view of an inventory (synchronous; reads <stateDir>/addresses.yaml if present).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { InventoryLike, LabConfig, LabDisk, LabHost, LabNetwork, LabNic } from './types.js';
import { parseSize } from '../util/size.js';
import { inSubnet, intToIp, ipToInt, isIpv4, parseCidr } from './ipv4.js';
import { labInventoryProblems } from './schema.js';

/** Short, stable interface name (<= 15 chars): cf + 8 hex. */
export function shortName(...parts: string[]): string {
  return 'cf' + createHash('sha1').update(parts.join('\0')).digest('hex').slice(0, 8);
}
function macFor(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\0')).digest('hex');
  return ['52', '54', h.slice(0, 2), h.slice(2, 4), h.slice(4, 6), h.slice(6, 8)].join(':');
}

/** The lab's configuration for an inventory; throws with every problem when the inventory does not describe a valid lab. */
export function labConfigFromInventory(inv: InventoryLike, inventoryPath: string): LabConfig {
  const problems = labInventoryProblems(inv);
  if (problems.length) throw new Error(`lab: ${problems.join('; ')}`);
  const lab = inv.cluster;
  const stateDir = path.join(path.dirname(path.resolve(inventoryPath)), '.lab', lab);
  const pick = addressPicker(reservedAddresses(inv), readRecorded(stateDir));
  const chosen: LabConfig['chosen'] = { hosts: {}, controller: {} };
  const networks = networkSpecs(inv).map(([n, subnet]) => labNetwork(lab, n, subnet, (chosen.controller[n] = pick.controller(n, subnet))));
  const hosts = Object.keys(inv.hosts).map((h) => labHost(inv, h, stateDir, networks, (n) => ((chosen.hosts[h] ??= {})[n.name] = pick.host(h, n.name, n.subnet))));
  return {
    lab,
    inventoryPath: path.resolve(inventoryPath),
    stateDir,
    bridgeNs: `cf-${lab}-br`,
    networks,
    hosts,
    disks: Object.entries(inv.lab?.disks ?? {}).map(([d, spec]) => labDisk(lab, stateDir, d, spec)),
    chosen,
    vmCacheDir: process.env.CLUSTERFORM_VM_CACHE || '/var/cache/clusterform/vm',
    // ns: 10 s, plus 50 ms per ns host: a 1,000-host lab starts its sshds on the same 2 cores (issue #17's scale lab)
    readyTimeoutMs: { ns: nsReadyTimeoutMs(hosts.filter((h) => h.kind === 'ns').length), vm: 60_000, debianVm: 300_000 },
    packages: inv.lab?.packages ?? [],
    concurrency: 16,
  };
}

/** How long an ns host's sshd may take to answer: 10 s, and 50 ms more per ns host starting at the same time. */
export function nsReadyTimeoutMs(nsHosts: number): number {
  return 10_000 + 50 * nsHosts;
}

/** Every IPv4 address the inventory mentions: the lab never picks one of these. */
function reservedAddresses(inv: InventoryLike): Set<number> {
  const all = [
    ...Object.values(inv.hosts).map((h) => h.address),
    inv.lvs?.vip,
    inv.lvs?.nat?.gateway,
    ...(inv.ha?.services ?? []).map((s) => s?.address),
    ...Object.values(inv.lab?.hosts ?? {}).flatMap((h) => Object.values(h.addresses ?? {})),
  ];
  return new Set(all.filter((a): a is string => typeof a === 'string' && isIpv4(a)).map(ipToInt));
}

/** [name, subnet] of each lab network: lab.networks, or "public", the /24 around the first host's address. */
function networkSpecs(inv: InventoryLike): [string, string][] {
  const nets = inv.lab?.networks ?? {};
  if (Object.keys(nets).length > 0) return Object.entries(nets).map(([n, v]) => [n, v.subnet]);
  const first = ipToInt(Object.values(inv.hosts)[0]!.address);
  return [['public', `${intToIp(first - (first % 256))}/24`]];
}

interface Recorded { hosts?: Record<string, Record<string, string>>; controller?: Record<string, string> }

/** Addresses the lab chose on an earlier run (<stateDir>/addresses.yaml), kept stable across runs. */
function readRecorded(stateDir: string): Recorded {
  const file = path.join(stateDir, 'addresses.yaml');
  if (!existsSync(file)) return {};
  try {
    return (YAML.parse(readFileSync(file, 'utf8')) as Recorded) ?? {};
  } catch {
    return {};
  }
}

/** Chooses free addresses: the recorded one when still free and in the subnet, else the highest free one. */
function addressPicker(taken: Set<number>, recorded: Recorded) {
  const pick = (net: string, subnet: string, prev: string | undefined): string => {
    const { base, size } = parseCidr(subnet);
    if (prev && isIpv4(prev) && inSubnet(prev, subnet) && !taken.has(ipToInt(prev))) {
      taken.add(ipToInt(prev));
      return prev;
    }
    for (let n = base + size - 2; n > base; n--) {
      if (!taken.has(n)) {
        taken.add(n);
        return intToIp(n);
      }
    }
    throw new Error(`lab: network ${net} (${subnet}) has no free address left`);
  };
  return {
    controller: (net: string, subnet: string) => pick(net, subnet, recorded.controller?.[net]),
    host: (h: string, net: string, subnet: string) => pick(net, subnet, recorded.hosts?.[h]?.[net]),
  };
}

function labNetwork(lab: string, name: string, subnet: string, controller: string): LabNetwork {
  const c = parseCidr(subnet);
  return {
    name,
    subnet: `${intToIp(c.base)}/${c.prefix}`,
    prefix: c.prefix,
    bridge: shortName(lab, 'br', name),
    controller,
    controllerIf: shortName(lab, 'ctl', name),
    // no host is named '' (so no host's MAC is this one)
    controllerMac: macFor(lab, '', 'controller', name),
    controllerPeerIf: shortName(lab, 'ctlp', name),
  };
}

/** A lab host: one NIC per network (the first holds its inventory address; others given or picked). */
function labHost(inv: InventoryLike, h: string, stateDir: string, networks: LabNetwork[], pickFor: (n: LabNetwork) => string): LabHost {
  const lab = inv.cluster;
  const spec = (inv.lab?.hosts && Object.hasOwn(inv.lab.hosts, h) ? inv.lab.hosts[h] : undefined) ?? {};
  const kind = spec.kind ?? 'ns';
  const primary = inv.hosts[h]!.address;
  const names = spec.networks?.length ? spec.networks : [networks.find((n) => inSubnet(primary, n.subnet))!.name];
  const nics: LabNic[] = names.map((name, i) => {
    const net = networks.find((n) => n.name === name)!;
    return {
      network: name,
      address: i === 0 ? primary : spec.addresses?.[name] ?? pickFor(net),
      prefix: net.prefix,
      ifname: `eth${i}`,
      peer: shortName(lab, kind === 'vm' ? 'tap' : 'veth', h, name),
      bridge: net.bridge,
      mac: macFor(lab, h, name),
    };
  });
  const vm = kind === 'vm' ? { image: spec.image ?? 'fast', ...(spec.memory ? { memoryMb: spec.memory } : {}), ...(spec.watchdog ? { watchdog: true } : {}) } : {};
  return { name: h, kind, ...vm, hostname: h, netns: `cf-${lab}-${h}`, dir: path.join(stateDir, 'hosts', h), nics, primaryAddress: primary };
}

function labDisk(lab: string, stateDir: string, name: string, spec: { size: string; hosts: string[] }): LabDisk {
  const byId = `clusterform-${lab}-${name}`;
  return {
    name,
    sizeBytes: parseSize(spec.size),
    image: path.join(stateDir, 'disks', `${name}.img`),
    hosts: [...spec.hosts],
    byId,
    byIdPath: `/dev/disk/by-id/${byId}`,
  };
}
