// Lab networking: the bridge namespace (one bridge per network), controller veths, host netns + veths.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { run } from './sh.js';
import { ipToInt, parseCidr } from './ipv4.js';
import type { LabConfig, LabHost, LabNetwork, LabNic } from './types.js';

export const NETNS_DIR = '/run/netns';

export function netnsExists(name: string): boolean {
  return existsSync(`${NETNS_DIR}/${name}`);
}
export function listNetns(): Set<string> {
  try {
    return new Set(readdirSync(NETNS_DIR));
  } catch {
    return new Set();
  }
}
/** inode of a named netns, or undefined */
export function netnsIno(name: string): number | undefined {
  try {
    return statSync(`${NETNS_DIR}/${name}`).ino;
  } catch {
    return undefined;
  }
}
export function runNetnsIsMount(): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === NETNS_DIR);
  } catch {
    return false;
  }
}

export interface LinkInfo { name: string; up: boolean; master?: string; addrs: string[]; mac?: string }

/** Links (and their IPv4 addresses) of a namespace (undefined = root namespace). */
export async function links(ns?: string): Promise<Map<string, LinkInfo>> {
  const pre = ns ? ['-n', ns] : [];
  const [l, a] = await Promise.all([
    run('ip', [...pre, '-o', 'link', 'show'], { allowFail: true }),
    run('ip', [...pre, '-o', '-4', 'addr', 'show'], { allowFail: true }),
  ]);
  const m = new Map<string, LinkInfo>();
  for (const line of l.stdout.split('\n')) {
    const mm = /^\d+:\s+([^:@\s]+)(?:@[^:\s]+)?:\s+<([^>]*)>(.*)$/.exec(line);
    if (!mm) continue;
    const flags = mm[2]!.split(',');
    const master = / master (\S+)/.exec(mm[3]!)?.[1];
    const mac = / link\/ether (\S+)/.exec(mm[3]!)?.[1];
    m.set(mm[1]!, { name: mm[1]!, up: flags.includes('UP'), master, addrs: [], ...(mac ? { mac } : {}) });
  }
  for (const line of a.stdout.split('\n')) {
    const mm = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(line);
    if (mm && m.has(mm[1]!)) m.get(mm[1]!)!.addrs.push(mm[2]!);
  }
  return m;
}

/** Links of a namespace from one `ip -br addr` (no master info; up = not administratively down). */
export async function briefLinks(ns: string): Promise<Map<string, LinkInfo>> {
  const r = await run('ip', ['-n', ns, '-br', 'addr', 'show'], { allowFail: true });
  const m = new Map<string, LinkInfo>();
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 2 || !f[0]) continue;
    const name = f[0].replace(/@.*$/, '');
    m.set(name, { name, up: f[1] !== 'DOWN', addrs: f.slice(2).filter((a) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(a)) });
  }
  return m;
}

/** `ip -batch` lines configuring the inside of a freshly created ns host (run inside its netns). */
export function freshHostNetCommands(h: LabHost, networks: LabNetwork[]): string[] {
  return ['link set lo up', ...h.nics.flatMap((n) => [`addr replace ${n.address}/${n.prefix} dev ${n.ifname}`, `link set ${n.ifname} up`, ...controllerNeighbour(n, networks)])];
}

/*
 * Static neighbour entries between the controller and the ns hosts. The kernel's neighbour table is one table for
 * every network namespace of the machine, and learned entries count against net.ipv4.neigh.default.gc_thresh3
 * (1,024 by default): a 1,000-host lab learns ~2,000 (the controller's entry for each host, each host's for the
 * controller) and connections fail with EHOSTUNREACH. Permanent entries do not count against it (Linux >= 4.19,
 * "neighbor: Improve garbage collection"), and the lab knows every MAC, so it writes them instead of changing a
 * sysctl of the machine. Traffic between hosts still learns its entries as on any LAN.
 */

/** The host's permanent entry for the controller on `nic`'s network (none when the network has no controller). */
function controllerNeighbour(nic: LabNic, networks: LabNetwork[]): string[] {
  const net = networks.find((n) => n.name === nic.network);
  return net ? [`neigh replace ${net.controller} lladdr ${net.controllerMac} dev ${nic.ifname} nud permanent`] : [];
}

/** `ip neigh show nud permanent` (one device) as address → MAC. */
export function parsePermanentNeighbours(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const mm = /^(\d+\.\d+\.\d+\.\d+)\s.*\blladdr\s+(\S+)/.exec(line.trim());
    if (mm) m.set(mm[1]!, mm[2]!.toLowerCase());
  }
  return m;
}

/** `ip -batch` lines that make `have` (address → MAC, permanent entries of `dev`) exactly `want`. */
export function neighbourCommands(dev: string, have: Map<string, string>, want: Map<string, string>): string[] {
  const cmds: string[] = [];
  for (const [ip] of have) if (!want.has(ip)) cmds.push(`neigh del ${ip} dev ${dev}`);
  for (const [ip, mac] of want) if (have.get(ip) !== mac) cmds.push(`neigh replace ${ip} lladdr ${mac} dev ${dev} nud permanent`);
  return cmds;
}

/** The controller's permanent entries for the ns hosts, on each network's controller veth: exactly the lab's ns hosts'. */
export async function ensureControllerNeighbours(cfg: LabConfig): Promise<void> {
  const cmds: string[] = [];
  await Promise.all(cfg.networks.map(async (net) => {
    const want = new Map<string, string>();
    for (const h of cfg.hosts) if (h.kind === 'ns') for (const nic of h.nics) if (nic.network === net.name) want.set(nic.address, nic.mac.toLowerCase());
    const r = await run('ip', ['-4', 'neigh', 'show', 'dev', net.controllerIf, 'nud', 'permanent'], { allowFail: true });
    cmds.push(...neighbourCommands(net.controllerIf, parsePermanentNeighbours(r.stdout), want));
  }));
  await ipBatch(undefined, cmds);
}

async function ipBatch(ns: string | undefined, cmds: string[]): Promise<void> {
  if (cmds.length === 0) return;
  const pre = ns ? ['-n', ns] : [];
  await run('ip', [...pre, '-batch', '-'], { input: cmds.join('\n') + '\n' });
}

/**
 * Refuses lab subnets that overlap a route of the machine that is not the lab's own controller link
 * (another lab, a VPN, the uplink...): lab traffic must never leave the lab.
 */
export async function assertSubnetsFree(cfg: LabConfig): Promise<void> {
  const r = await run('ip', ['-o', '-4', 'route', 'show', 'table', 'all'], { allowFail: true });
  const ours = new Set(cfg.networks.map((n) => n.controllerIf));
  for (const line of r.stdout.split('\n')) {
    const m = /^(?:(?:local|broadcast|unicast)\s+)?(\d+\.\d+\.\d+\.\d+(?:\/\d+)?)\s.*\bdev\s+(\S+)/.exec(line.trim());
    if (!m || ours.has(m[2]!)) continue;
    const dst = m[1]!.includes('/') ? m[1]! : `${m[1]}/32`;
    let d: { base: number; size: number };
    try {
      const [ip, p] = dst.split('/');
      const prefix = Number(p);
      const size = 2 ** (32 - prefix);
      d = { base: ipToInt(ip!) - (ipToInt(ip!) % size), size };
    } catch {
      continue;
    }
    if (d.size >= 2 ** 24 && line.includes('table local')) continue; // 127.0.0.0/8 etc.
    for (const n of cfg.networks) {
      const c = parseCidr(n.subnet);
      if (d.base < c.base + c.size && c.base < d.base + d.size) {
        throw new Error(`lab ${cfg.lab}: network ${n.name} ${n.subnet} overlaps a route of this machine (${line.trim()}); choose another lab subnet`);
      }
    }
  }
}

/** Bridge namespace, one bridge per network, one controller veth pair per network. Idempotent. */
export async function ensureBridgeNs(cfg: LabConfig, log: (s: string) => void): Promise<void> {
  if (!netnsExists(cfg.bridgeNs)) {
    log(`lab: creating namespace ${cfg.bridgeNs}`);
    await run('ip', ['netns', 'add', cfg.bridgeNs]);
  }
  const [br, root] = await Promise.all([links(cfg.bridgeNs), links()]);
  const brCmds: string[] = [];
  const rootCmds: string[] = [];
  if (!br.get('lo')?.up) brCmds.push('link set lo up');
  for (const n of cfg.networks) {
    if (!br.has(n.bridge)) brCmds.push(`link add name ${n.bridge} type bridge stp_state 0 forward_delay 0`);
    if (!br.get(n.bridge)?.up) brCmds.push(`link set ${n.bridge} up`);
  }
  await ipBatch(cfg.bridgeNs, brCmds);
  brCmds.length = 0;
  for (const n of cfg.networks) {
    const r = root.get(n.controllerIf);
    if (!r || !br.has(n.controllerPeerIf)) {
      log(`lab: controller link ${n.controllerIf} ${n.controller}/${n.prefix} on ${n.name}`);
      if (r) await run('ip', ['link', 'del', n.controllerIf], { allowFail: true });
      if (br.has(n.controllerPeerIf)) await run('ip', ['-n', cfg.bridgeNs, 'link', 'del', n.controllerPeerIf], { allowFail: true });
      await run('ip', ['link', 'add', n.controllerIf, 'address', n.controllerMac, 'type', 'veth', 'peer', 'name', n.controllerPeerIf, 'netns', cfg.bridgeNs]);
      rootCmds.push(`addr add ${n.controller}/${n.prefix} dev ${n.controllerIf}`, `link set ${n.controllerIf} up`);
      brCmds.push(`link set ${n.controllerPeerIf} master ${n.bridge} up`);
      continue;
    }
    if (!r.addrs.includes(`${n.controller}/${n.prefix}`)) rootCmds.push(`addr add ${n.controller}/${n.prefix} dev ${n.controllerIf}`);
    if (!r.up) rootCmds.push(`link set ${n.controllerIf} up`);
    // a link made before the MAC was fixed: the hosts' entries for the controller name the fixed one
    if (r.mac && r.mac.toLowerCase() !== n.controllerMac) rootCmds.push(`link set dev ${n.controllerIf} address ${n.controllerMac}`);
    const p = br.get(n.controllerPeerIf)!;
    if (p.master !== n.bridge || !p.up) brCmds.push(`link set ${n.controllerPeerIf} master ${n.bridge} up`);
  }
  await ipBatch(cfg.bridgeNs, brCmds);
  await ipBatch(undefined, rootCmds);
}

/**
 * Creates the namespaces and veths of many new ns hosts at once (two `ip -batch` runs in total). The inside of
 * each host (addresses, links up) is configured by its startup script (see freshHostNetCommands).
 */
export async function createHostsNet(cfg: LabConfig, fresh: LabHost[], brLinks: Map<string, LinkInfo>): Promise<void> {
  if (fresh.length > 0) {
    await ipBatch(undefined, fresh.map((h) => `netns add ${h.netns}`));
    const cmds: string[] = [];
    for (const h of fresh) {
      for (const nic of h.nics) {
        if (brLinks.has(nic.peer)) cmds.push(`link del ${nic.peer}`);
        cmds.push(
          `link add ${nic.peer} type veth peer name ${nic.ifname} address ${nic.mac} netns ${h.netns}`,
          `link set ${nic.peer} master ${nic.bridge} up`,
        );
      }
    }
    await ipBatch(cfg.bridgeNs, cmds);
  }
}

/**
 * Network namespace of an ns host with one veth per network (eth0, eth1, ...) whose peer sits on the
 * network's bridge. `brLinks` is a snapshot of the bridge namespace's links. Idempotent.
 */
export async function ensureHostNet(cfg: LabConfig, h: LabHost, brLinks: Map<string, LinkInfo>): Promise<boolean> {
  let changed = false;
  const fresh = !netnsExists(h.netns);
  if (fresh) {
    await run('ip', ['netns', 'add', h.netns]);
    changed = true;
  }
  const inner = fresh ? new Map<string, LinkInfo>() : await briefLinks(h.netns);
  const brCmds: string[] = [];
  const hostCmds: string[] = [];
  if (!inner.get('lo')?.up) hostCmds.push('link set lo up');
  for (const nic of h.nics) {
    const cidr = `${nic.address}/${nic.prefix}`;
    const i = inner.get(nic.ifname);
    const p = brLinks.get(nic.peer);
    if (!i || !p) {
      if (p) brCmds.push(`link del ${nic.peer}`);
      if (i) hostCmds.unshift(`link del ${nic.ifname}`);
      brCmds.push(
        `link add ${nic.peer} type veth peer name ${nic.ifname} address ${nic.mac} netns ${h.netns}`,
        `link set ${nic.peer} master ${nic.bridge} up`,
      );
      hostCmds.push(`addr add ${cidr} dev ${nic.ifname}`, `link set ${nic.ifname} up`, ...controllerNeighbour(nic, cfg.networks));
      continue;
    }
    if (p.master !== nic.bridge || !p.up) brCmds.push(`link set ${nic.peer} master ${nic.bridge} up`);
    if (!i.addrs.includes(cidr)) hostCmds.push(`addr add ${cidr} dev ${nic.ifname}`);
    if (!i.up) hostCmds.push(`link set ${nic.ifname} up`);
  }
  // host-side deletes of stale links must happen before the bridge side re-creates them
  const dels = hostCmds.filter((c) => c.startsWith('link del'));
  if (dels.length) await ipBatch(h.netns, dels);
  await ipBatch(cfg.bridgeNs, brCmds);
  await ipBatch(h.netns, hostCmds.filter((c) => !c.startsWith('link del')));
  return changed || brCmds.length > 0 || hostCmds.length > 0;
}
