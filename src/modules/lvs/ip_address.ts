// ip_address: one IP address on an interface (lo:0, eth0, tunl0), live (`ip addr`) and at boot through the network stack the host
// really uses (support/netstack.ts: NetworkManager, systemd-networkd, ifupdown, network-scripts or clusterform's own unit).
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { cmd, q } from '../../util/shell.js';
import { MANAGED } from '../support/files.js';
import {
  type Artifact, dropInPath, foundSh, type Found, NETWORKD_DIR, NETWORKD_LO, type NetStack, netStackSh, NM_RECORD_DIR, noBackendNote, parseFound,
  parseNetStack, type BackendPick, pickBackend, planPersist, renderNetworkdLo, renderUnit, unitPath,
} from '../support/netstack.js';
import { ifaceArg, ipArg, isPlainIface } from '../../util/validators.js';
import { prefixToNetmask } from '../support/net.js';
import { sec, stateArg } from '../support/sections.js';

const args = z
  .object({
    address: ipArg,
    prefix: z.coerce.number().int().min(1).max(128).default(32),
    /** an interface, or `auto`: the interface holding this host's inventory address */
    device: z.union([z.literal('auto'), ifaceArg]).default('auto'),
    label: z.string().regex(/^[A-Za-z0-9._-]+:[A-Za-z0-9_-]+$/, 'a label like lo:0').max(15).optional(),
    persist: z.boolean().default(true),
    /** absent only: false leaves the live address alone and removes only its boot configuration (another owner, such as keepalived, holds it now) */
    live: z.boolean().default(true),
    state: stateArg,
  })
  .strict()
  .refine((a) => !a.label || a.device === 'auto' || a.label.startsWith(a.device + ':'), { message: 'label must start with the device name and a colon (lo:0 for lo)', path: ['label'] });
export type IpAddressArgs = z.infer<typeof args>;

export interface IpAddr { device: string; family: 'inet' | 'inet6'; address: string; prefix: number; label?: string }

export interface IpAddressState {
  /** the resolved device; null when `auto` found no interface holding the host address */
  device: string | null;
  deviceExists: boolean;
  up: boolean;
  addrs: IpAddr[];
  /** the host's network stack, and clusterform's persistent forms of this address found on it */
  netstack: NetStack;
  found: Found;
  /** other addresses' drop-ins beside clusterform's lo .network (it stays while they are there) */
  loOthers: string[];
}

const ADDR_RE = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9A-Fa-f.:]+)\/(\d+)(.*)$/;

/** Parse `ip -o addr show` lines. The label of an IPv4 address is the last word before the `\`. */
export function parseIpAddrLines(text: string): IpAddr[] {
  const out: IpAddr[] = [];
  for (const line of text.split('\n')) {
    const m = ADDR_RE.exec(line.trim());
    if (!m) continue;
    const device = m[1]!.replace(/@.*$/, '');
    const a: IpAddr = { device, family: m[2] as 'inet' | 'inet6', address: m[3]!.toLowerCase(), prefix: Number(m[4]) };
    if (a.family === 'inet') {
      const words = m[5]!.split('\\')[0]!.trim().split(/\s+/);
      const last = words[words.length - 1];
      if (last && (last === device || last.startsWith(device + ':'))) a.label = last;
    }
    out.push(a);
  }
  return out;
}

const persistName = (a: IpAddressArgs) => (a.label ?? (a.device !== 'auto' ? a.device : `vip-${a.address}`)).replace(/[^A-Za-z0-9_-]/g, '-');

/** Every place clusterform may keep this address, whatever the backend (so a stale form is found and removed). */
export function addrPaths(a: IpAddressArgs): { ifupdown: string; ifcfg?: string; dropIns: string; unit: string; nmRecord: string } {
  const n = persistName(a);
  return {
    ifupdown: `/etc/network/interfaces.d/clusterform-${n}`,
    ...(a.label ? { ifcfg: `/etc/sysconfig/network-scripts/ifcfg-${a.label}` } : {}),
    dropIns: `${NETWORKD_DIR}/*.network.d/clusterform-${n}.conf`,
    unit: `clusterform-net-${n}.service`,
    nmRecord: `${NM_RECORD_DIR}/addr-${n}`,
  };
}

/** ifupdown: a `manual` stanza whose hooks add the address (lo, tunl0 after loading ipip, a second address on eth0). */
export function renderIfupdown(a: IpAddressArgs, device: string): string {
  const addArgv = ['ip', 'addr', 'add', `${a.address}/${a.prefix}`, 'dev', device, ...(a.label ? ['label', a.label] : [])];
  return [
    MANAGED,
    `auto ${a.label ?? device}`,
    `iface ${a.label ?? device} inet manual`,
    ...(device === 'tunl0' ? ['    pre-up modprobe ipip || true'] : []),
    `    up ${cmd(['ip', 'link', 'set', 'dev', device, 'up'])}`,
    `    up ${cmd(addArgv)} || true`,
    `    down ${cmd(['ip', 'addr', 'del', `${a.address}/${a.prefix}`, 'dev', device])} || true`,
    '',
  ].join('\n');
}

/** RHEL network-scripts: ifcfg-<label> (an alias of the device). */
export function renderIfcfg(a: IpAddressArgs, device: string): string {
  return [MANAGED, `DEVICE=${a.label}`, `IPADDR=${a.address}`, `NETMASK=${prefixToNetmask(a.prefix)}`, 'ONBOOT=yes', ...(device === 'lo' ? ['NAME=loopback'] : []), ''].join('\n');
}

/** systemd-networkd: an [Address] drop-in for the device's .network file. */
export function renderNetworkdAddress(a: IpAddressArgs): string {
  return [MANAGED, '[Address]', `Address=${a.address}/${a.prefix}`, ...(a.label ? [`Label=${a.label}`] : []), ''].join('\n');
}

/** clusterform's own unit: the address added at boot (tunl0: ipip loaded first), removed when stopped. */
export function renderAddrUnit(a: IpAddressArgs, device: string): string {
  const early = device === 'lo' || device === 'tunl0';
  return renderUnit({
    description: `${a.address}/${a.prefix} on ${a.label ?? device}`,
    after: device === 'tunl0' ? ['systemd-modules-load.service', 'network-pre.target'] : early ? ['network-pre.target'] : ['network.target'],
    ...(device === 'tunl0' ? { pre: ['/sbin/modprobe ipip'] } : {}),
    start: [`/sbin/ip link set dev ${device} up`, `/sbin/ip addr replace ${a.address}/${a.prefix} dev ${device}${a.label ? ` label ${a.label}` : ''}`],
    stop: [`/sbin/ip addr del ${a.address}/${a.prefix} dev ${device}`],
  });
}

/** The persistent form on the picked backend, or a note saying why there is none. */
export function addrArtifacts(a: IpAddressArgs, device: string, pick: BackendPick): { artifacts: Artifact[]; notes: string[] } {
  const p = addrPaths(a);
  const notes = pick.note ? [pick.note] : [];
  const unit = (): Artifact[] => [{ kind: 'file', path: unitPath(p.unit), content: renderAddrUnit(a, device), unit: p.unit }];
  switch (pick.backend) {
    case 'ifupdown':
      return { artifacts: [{ kind: 'file', path: p.ifupdown, content: renderIfupdown(a, device) }], notes };
    case 'network-scripts':
      if (p.ifcfg) return { artifacts: [{ kind: 'file', path: p.ifcfg, content: renderIfcfg(a, device) }], notes };
      return { artifacts: unit(), notes: [...notes, `network-scripts keep an extra address as ifcfg-<label>: without a label, clusterform's own unit keeps ${a.address}/${a.prefix}`] };
    case 'networkd': {
      const dropIn: Artifact = { kind: 'file', path: dropInPath(pick.file!, persistName(a)), content: renderNetworkdAddress(a) };
      return { artifacts: pick.own ? [{ kind: 'file', path: NETWORKD_LO, content: renderNetworkdLo() }, dropIn] : [dropIn], notes };
    }
    case 'nm': {
      const prop = a.address.includes(':') ? 'ipv6.addresses' : 'ipv4.addresses';
      return { artifacts: [{ kind: 'nm', record: p.nmRecord, con: pick.con!, prop, value: `${a.address}/${a.prefix}` }], notes: a.label ? [...notes, `NetworkManager keeps no address labels: at boot ${a.address} is on ${device} without the label ${a.label}`] : notes };
    }
    case 'unit':
      return { artifacts: unit(), notes };
  }
}

export const ipAddress = defineModule<IpAddressArgs, IpAddressState>({
  name: 'ip_address',
  doc: 'One IP address on an interface (a VIP on lo:0, eth0 or tunl0), live and in the OS network configuration.',
  args,
  read: ({ args: a, host }) => {
    const pick = a.device === 'auto' ? `D=$(ip -o addr show to ${q(host.address)} | awk '{print $2; exit}'); D=\${D%%@*}` : `D=${q(a.device)}`;
    const p = addrPaths(a);
    const paths = [p.ifupdown, ...(p.ifcfg ? [p.ifcfg] : []), p.dropIns, unitPath(p.unit), p.nmRecord, ...(a.device === 'lo' ? [NETWORKD_LO, `${NETWORKD_LO}.d/clusterform-*.conf`] : [])];
    const devSh = a.device === 'auto' ? `"$(ip -o addr show to ${q(host.address)} | awk '{print $2; exit}')"` : q(a.device);
    return {
      addr: [pick, 'echo "device=$D"', '[ -n "$D" ] || exit 0', 'ip -o addr show dev "$D" || exit 0', 'echo @@link', 'ip -o link show dev "$D"'].join('\n'),
      netstack: netStackSh(),
      persist: foundSh(paths, [p.unit], [p.nmRecord], { devSh, props: [a.address.includes(':') ? 'ipv6.addresses' : 'ipv4.addresses'] }),
    };
  },
  parse: (res, { args: a }) => {
    const out = sec(res, 'addr').out;
    const dm = /^device=(.*)$/m.exec(out);
    const device = dm && dm[1]!.trim() !== '' ? dm[1]!.trim() : null;
    const [addrPart, linkPart] = out.split('@@link');
    const found = parseFound(sec(res, 'persist').out);
    const mine = dropInPath(NETWORKD_LO, persistName(a));
    const loOthers = Object.keys(found.files).filter((f) => f.startsWith(`${NETWORKD_LO}.d/`) && f !== mine);
    for (const f of loOthers) delete found.files[f];
    return {
      device,
      deviceExists: linkPart !== undefined && linkPart.trim() !== '',
      up: linkPart !== undefined && /<[^>]*\bUP\b[^>]*>/.test(linkPart),
      addrs: parseIpAddrLines(addrPart ?? ''),
      netstack: parseNetStack(sec(res, 'netstack').out),
      found,
      loOthers,
    };
  },
  plan: (s, { args: a, host, dryRun }) => {
    const changes: Change[] = [];
    const notes: string[] = [];
    const cidr = `${a.address}/${a.prefix}`;
    const keep = s.loOthers.length ? [NETWORKD_LO] : [];
    if (s.device === null) {
      if (a.state === 'absent') return { changes: planPersist([], s.found, cidr, keep), notes: [`no interface holds ${host.address}: nothing to remove`] };
      return { changes: [], refuse: `no interface holds this host's address ${host.address}: set lvs.interface (or device:) to the public interface` };
    }
    const dev = s.device;
    const here = s.addrs.filter((x) => x.device === dev && x.address === a.address.toLowerCase());
    if (a.state === 'present') {
      if (!s.deviceExists) {
        if (!dryRun) return { changes: [], refuse: `interface ${dev} does not exist` };
        notes.push(`interface ${dev} does not exist yet (an earlier task should create it)`);
      }
      const exact = here.find((x) => x.prefix === a.prefix && (a.label === undefined || x.label === a.label));
      if (!exact) {
        const actions: Change['actions'] = here.map((x) => ({ kind: 'sh' as const, script: cmd(['ip', 'addr', 'del', `${x.address}/${x.prefix}`, 'dev', dev]), desc: `ip addr del ${x.address}/${x.prefix} dev ${dev}` }));
        const add = ['ip', 'addr', 'add', cidr, 'dev', dev, ...(a.label ? ['label', a.label] : [])];
        actions.push({ kind: 'sh', script: cmd(add), desc: add.join(' ') });
        changes.push({ summary: here.length ? `replace ${here.map((x) => `${x.address}/${x.prefix}${x.label ? ' (' + x.label + ')' : ''}`).join(', ')} with ${cidr} on ${a.label ?? dev}` : `add ${cidr} to ${a.label ?? dev}`, actions });
      }
      if (!s.up) changes.push({ summary: `bring ${dev} up`, actions: [{ kind: 'sh', script: cmd(['ip', 'link', 'set', 'dev', dev, 'up']), desc: `ip link set dev ${dev} up` }] });
      if (a.persist) {
        const p = persistPlan(a, dev, s, keep);
        changes.push(...p.changes);
        notes.push(...p.notes);
      }
      return { changes, notes };
    }
    if (a.live) for (const x of here) changes.push({ summary: `remove ${x.address}/${x.prefix} from ${x.label ?? dev}`, actions: [{ kind: 'sh', script: cmd(['ip', 'addr', 'del', `${x.address}/${x.prefix}`, 'dev', dev]), desc: `ip addr del ${x.address}/${x.prefix} dev ${dev}` }] });
    changes.push(...planPersist([], s.found, cidr, keep));
    return { changes, notes };
  },
});

/** The persistent form on the backend the host uses (and the removal of any other form clusterform left). */
function persistPlan(a: IpAddressArgs, dev: string, s: IpAddressState, keep: string[]): { changes: Change[]; notes: string[] } {
  const cidr = `${a.address}/${a.prefix}`;
  if (!isPlainIface(dev)) return { changes: [], notes: [`${cidr} not persisted: the interface name ${JSON.stringify(dev)} cannot be written to a network config file safely`] };
  const pick = pickBackend(s.netstack, dev);
  if (!pick) return { changes: [], notes: [noBackendNote(cidr)] };
  const { artifacts, notes } = addrArtifacts(a, dev, pick);
  const foreign = artifacts.flatMap((x) => (x.kind === 'file' && s.found.foreign.includes(x.path) ? [x.path] : []));
  if (foreign.length) return { changes: [], notes: [`${cidr} not persisted: ${foreign.join(', ')} exists and is not clusterform's`] };
  return { changes: planPersist(artifacts, s.found, `${cidr} on ${a.label ?? dev}`, keep), notes };
}
