// Builds a LabConfig from an inventory (pure, synchronous; reads <stateDir>/addresses.yaml if present).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { InventoryLike, LabConfig, LabDisk, LabHost, LabNetwork, LabNic } from './types.js';
import { parseSize } from '../util/size.js';

export const LAB_NAME_RE = /^[a-z0-9-]{1,12}$/;

export function ipToInt(ip: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) throw new Error(`invalid IPv4 address: ${ip}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw new Error(`invalid IPv4 address: ${ip}`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}
export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
export function parseCidr(cidr: string): { base: number; prefix: number; size: number } {
  const [ip, p] = cidr.split('/');
  const prefix = Number(p);
  if (!ip || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`invalid subnet (need a.b.c.d/8..30): ${cidr}`);
  const size = 2 ** (32 - prefix);
  const base = ipToInt(ip) - (ipToInt(ip) % size);
  return { base, prefix, size };
}
export function inSubnet(ip: string, cidr: string): boolean {
  const { base, size } = parseCidr(cidr);
  const n = ipToInt(ip);
  return n > base && n < base + size - 1;
}

/** Short, stable interface name (<= 15 chars): cf + 8 hex. */
export function shortName(...parts: string[]): string {
  return 'cf' + createHash('sha1').update(parts.join('\0')).digest('hex').slice(0, 8);
}
function macFor(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\0')).digest('hex');
  return ['52', '54', h.slice(0, 2), h.slice(2, 4), h.slice(4, 6), h.slice(6, 8)].join(':');
}

export function labConfigFromInventory(inv: InventoryLike, inventoryPath: string): LabConfig {
  const lab = inv.cluster;
  if (typeof lab !== 'string' || !LAB_NAME_RE.test(lab)) {
    throw new Error(`lab: cluster name ${JSON.stringify(lab)} must match [a-z0-9-]{1,12} to be used as a lab name`);
  }
  const hostNames = Object.keys(inv.hosts ?? {});
  if (hostNames.length === 0) throw new Error('lab: inventory has no hosts');
  const stateDir = path.join(path.dirname(path.resolve(inventoryPath)), '.lab', lab);
  const labSpec = inv.lab ?? {};
  const labHosts = labSpec.hosts ?? {};
  for (const h of Object.keys(labHosts)) if (!inv.hosts[h]) throw new Error(`lab.hosts.${h}: not an inventory host`);
  for (const h of hostNames) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/.test(h)) throw new Error(`lab: host name ${JSON.stringify(h)} is not a valid hostname`);
    ipToInt(inv.hosts[h]!.address);
  }

  // Every address mentioned in the inventory: the lab must never pick one of these.
  const used = new Set<number>();
  for (const h of hostNames) used.add(ipToInt(inv.hosts[h]!.address));
  if (inv.lvs?.vip) used.add(ipToInt(inv.lvs.vip));
  if (inv.lvs?.nat?.gateway) used.add(ipToInt(inv.lvs.nat.gateway));
  for (const s of inv.ha?.services ?? []) if (s?.address) used.add(ipToInt(s.address));
  for (const h of Object.keys(labHosts)) for (const ip of Object.values(labHosts[h]!.addresses ?? {})) used.add(ipToInt(ip));

  // Networks
  let netSpecs: [string, string][];
  if (labSpec.networks && Object.keys(labSpec.networks).length > 0) {
    netSpecs = Object.entries(labSpec.networks).map(([n, v]) => [n, v.subnet]);
  } else {
    const first = ipToInt(inv.hosts[hostNames[0]!]!.address);
    const cidr = `${intToIp(first - (first % 256))}/24`;
    for (const h of hostNames) {
      if (!inSubnet(inv.hosts[h]!.address, cidr)) {
        throw new Error(`lab: hosts span more than one /24 (${h} ${inv.hosts[h]!.address} not in ${cidr}); describe lab.networks`);
      }
    }
    netSpecs = [['public', cidr]];
  }
  const netInfo = new Map<string, { subnet: string; base: number; prefix: number; size: number }>();
  for (const [n, subnet] of netSpecs) {
    if (!/^[a-zA-Z0-9_-]{1,32}$/.test(n)) throw new Error(`lab.networks: invalid network name ${JSON.stringify(n)}`);
    const c = parseCidr(subnet);
    netInfo.set(n, { subnet: `${intToIp(c.base)}/${c.prefix}`, ...c });
  }

  // Previously chosen addresses (stable across runs)
  let recorded: { hosts?: Record<string, Record<string, string>>; controller?: Record<string, string> } = {};
  const addrFile = path.join(stateDir, 'addresses.yaml');
  if (existsSync(addrFile)) {
    try {
      recorded = (YAML.parse(readFileSync(addrFile, 'utf8')) as typeof recorded) ?? {};
    } catch {
      recorded = {};
    }
  }
  const taken = new Set<number>(used);
  const pick = (net: string, prev: string | undefined): string => {
    const ni = netInfo.get(net)!;
    if (prev) {
      try {
        const n = ipToInt(prev);
        if (inSubnet(prev, ni.subnet) && !taken.has(n)) {
          taken.add(n);
          return prev;
        }
      } catch {
        /* ignore bad recorded value */
      }
    }
    for (let n = ni.base + ni.size - 2; n > ni.base; n--) {
      if (!taken.has(n)) {
        taken.add(n);
        return intToIp(n);
      }
    }
    throw new Error(`lab: network ${net} (${ni.subnet}) has no free address left`);
  };
  // Reserve recorded values first so that re-picking is stable regardless of order.
  const chosen: LabConfig['chosen'] = { hosts: {}, controller: {} };

  const networks: LabNetwork[] = [];
  for (const [n] of netSpecs) {
    const ni = netInfo.get(n)!;
    const controller = pick(n, recorded.controller?.[n]);
    chosen.controller[n] = controller;
    networks.push({
      name: n,
      subnet: ni.subnet,
      prefix: ni.prefix,
      bridge: shortName(lab, 'br', n),
      controller,
      controllerIf: shortName(lab, 'ctl', n),
      controllerPeerIf: shortName(lab, 'ctlp', n),
    });
  }
  const netByName = new Map(networks.map((n) => [n.name, n]));

  const hosts: LabHost[] = [];
  for (const h of hostNames) {
    const spec = labHosts[h] ?? {};
    const kind = spec.kind ?? 'ns';
    if (kind !== 'ns' && kind !== 'vm') throw new Error(`lab.hosts.${h}.kind must be ns or vm`);
    const primary = inv.hosts[h]!.address;
    let nets = spec.networks;
    if (!nets || nets.length === 0) {
      const home = networks.find((n) => inSubnet(primary, n.subnet));
      if (!home) throw new Error(`lab: ${h} address ${primary} is in none of the lab networks`);
      nets = [home.name];
    }
    for (const n of nets) if (!netByName.has(n)) throw new Error(`lab.hosts.${h}.networks: unknown network ${n}`);
    if (new Set(nets).size !== nets.length) throw new Error(`lab.hosts.${h}.networks: duplicate network`);
    if (!inSubnet(primary, netByName.get(nets[0]!)!.subnet)) {
      throw new Error(`lab: ${h} address ${primary} is not in its first network ${nets[0]} (${netByName.get(nets[0]!)!.subnet})`);
    }
    const nics: LabNic[] = nets.map((n, i) => {
      const net = netByName.get(n)!;
      let address: string;
      if (i === 0) address = primary;
      else if (spec.addresses?.[n]) {
        address = spec.addresses[n]!;
        if (!inSubnet(address, net.subnet)) throw new Error(`lab.hosts.${h}.addresses.${n}: ${address} not in ${net.subnet}`);
      } else {
        address = pick(n, recorded.hosts?.[h]?.[n]);
        (chosen.hosts[h] ??= {})[n] = address;
      }
      return {
        network: n,
        address,
        prefix: net.prefix,
        ifname: `eth${i}`,
        peer: shortName(lab, kind === 'vm' ? 'tap' : 'veth', h, n),
        bridge: net.bridge,
        mac: macFor(lab, h, n),
      };
    });
    hosts.push({
      name: h,
      kind,
      hostname: h,
      netns: `cf-${lab}-${h}`,
      dir: path.join(stateDir, 'hosts', h),
      nics,
      primaryAddress: primary,
    });
  }
  // Duplicate address check across all lab addresses
  const seen = new Map<string, string>();
  for (const h of hosts) for (const nic of h.nics) {
    const prev = seen.get(nic.address);
    if (prev) throw new Error(`lab: address ${nic.address} used by both ${prev} and ${h.name}`);
    seen.set(nic.address, h.name);
  }
  for (const n of networks) if (seen.has(n.controller)) throw new Error(`lab: controller address ${n.controller} collides with ${seen.get(n.controller)}`);

  const disks: LabDisk[] = Object.entries(labSpec.disks ?? {}).map(([d, spec]) => {
    if (!/^[a-zA-Z0-9_-]{1,32}$/.test(d)) throw new Error(`lab.disks: invalid disk name ${JSON.stringify(d)}`);
    for (const h of spec.hosts ?? []) if (!inv.hosts[h]) throw new Error(`lab.disks.${d}.hosts: unknown host ${h}`);
    const byId = `clusterform-${lab}-${d}`;
    return {
      name: d,
      sizeBytes: parseSize(spec.size),
      image: path.join(stateDir, 'disks', `${d}.img`),
      hosts: [...(spec.hosts ?? [])],
      byId,
      byIdPath: `/dev/disk/by-id/${byId}`,
    };
  });

  return {
    lab,
    inventoryPath: path.resolve(inventoryPath),
    stateDir,
    bridgeNs: `cf-${lab}-br`,
    networks,
    hosts,
    disks,
    chosen,
    vmCacheDir: process.env.CLUSTERFORM_VM_CACHE || '/var/cache/clusterform/vm',
    readyTimeoutMs: { ns: 10_000, vm: 60_000 },
    concurrency: 16,
  };
}
