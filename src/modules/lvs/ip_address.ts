// ip_address: one IP address on an interface (lo:0, eth0, tunl0), live (`ip addr`) and in the OS network config.
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { unifiedDiff } from '../../util/diff.js';
import { cmd, q } from '../../util/shell.js';
import { catFile, type FileState, MANAGED, parseCatFile } from '../support/files.js';
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
  /** persistent config: the directory exists, and our file */
  persistDir: boolean;
  persistFile: FileState;
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

/** Where the address is kept across reboots, by OS family; undefined = not supported. */
export function persistPath(a: IpAddressArgs, family: string): { dir: string; path: string } | undefined {
  if (family === 'debian') return { dir: '/etc/network/interfaces.d', path: `/etc/network/interfaces.d/clusterform-${persistName(a)}` };
  if (family === 'redhat' && a.label) return { dir: '/etc/sysconfig/network-scripts', path: `/etc/sysconfig/network-scripts/ifcfg-${a.label}` };
  return undefined;
}

/** The persistent config file's content. */
export function renderPersist(a: IpAddressArgs, device: string, family: string): string {
  if (family === 'redhat') {
    return [MANAGED, `DEVICE=${a.label}`, `IPADDR=${a.address}`, `NETMASK=${prefixToNetmask(a.prefix)}`, 'ONBOOT=yes', ...(device === 'lo' ? ['NAME=loopback'] : []), ''].join('\n');
  }
  const addArgv = ['ip', 'addr', 'add', `${a.address}/${a.prefix}`, 'dev', device, ...(a.label ? ['label', a.label] : [])];
  // ifupdown: a `manual` stanza whose hooks add the address (works for lo, tunl0 and a second address on eth0)
  return [
    MANAGED,
    `auto ${a.label ?? device}`,
    `iface ${a.label ?? device} inet manual`,
    `    up ${cmd(['ip', 'link', 'set', 'dev', device, 'up'])}`,
    `    up ${cmd(addArgv)} || true`,
    `    down ${cmd(['ip', 'addr', 'del', `${a.address}/${a.prefix}`, 'dev', device])} || true`,
    '',
  ].join('\n');
}

export const ipAddress = defineModule<IpAddressArgs, IpAddressState>({
  name: 'ip_address',
  doc: 'One IP address on an interface (a VIP on lo:0, eth0 or tunl0), live and in the OS network configuration.',
  args,
  read: ({ args: a, host, facts }) => {
    const pick = a.device === 'auto' ? `D=$(ip -o addr show to ${q(host.address)} | awk '{print $2; exit}'); D=\${D%%@*}` : `D=${q(a.device)}`;
    const r: Record<string, string> = {
      addr: [pick, 'echo "device=$D"', '[ -n "$D" ] || exit 0', 'ip -o addr show dev "$D" || exit 0', 'echo @@link', 'ip -o link show dev "$D"'].join('\n'),
    };
    const p = persistPath(a, facts.os.family);
    if (p) r.persist = `if [ -d ${q(p.dir)} ]; then echo dir; fi\n${catFile(p.path)}`;
    return r;
  },
  parse: (res) => {
    const out = sec(res, 'addr').out;
    const dm = /^device=(.*)$/m.exec(out);
    const device = dm && dm[1]!.trim() !== '' ? dm[1]!.trim() : null;
    const [addrPart, linkPart] = out.split('@@link');
    const p = sec(res, 'persist');
    const pl = p.out.split('\n');
    const hasDir = pl[0] === 'dir';
    return {
      device,
      deviceExists: linkPart !== undefined && linkPart.trim() !== '',
      up: linkPart !== undefined && /<[^>]*\bUP\b[^>]*>/.test(linkPart),
      addrs: parseIpAddrLines(addrPart ?? ''),
      persistDir: hasDir,
      persistFile: parseCatFile({ ...p, out: hasDir ? pl.slice(1).join('\n') : p.out }),
    };
  },
  plan: (s, { args: a, facts, host, dryRun }) => {
    const changes: Change[] = [];
    const notes: string[] = [];
    const cidr = `${a.address}/${a.prefix}`;
    if (s.device === null) {
      if (a.state === 'absent') return { changes: [], notes: [`no interface holds ${host.address}: nothing to remove`] };
      return { changes: [], refuse: `no interface holds this host's address ${host.address}: set lvs.interface (or device:) to the public interface` };
    }
    const dev = s.device;
    const here = s.addrs.filter((x) => x.device === dev && x.address === a.address.toLowerCase());
    const p = persistPath(a, facts.os.family);
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
        if (!p) notes.push(facts.os.family === 'redhat' ? `${cidr} not persisted: give a label (e.g. ${dev}:0) to get an ifcfg-<label> file` : `${cidr} not persisted: no network config format known for ${facts.os.family}`);
        else if (!s.persistDir) notes.push(`${cidr} not persisted: ${p.dir} does not exist`);
        else if (!isPlainIface(dev)) notes.push(`${cidr} not persisted: the interface name ${JSON.stringify(dev)} cannot be written to ${p.path} safely`);
        else {
          const content = renderPersist(a, dev, facts.os.family);
          if (!s.persistFile.exists || s.persistFile.content !== content)
            changes.push({ summary: `keep ${cidr} on ${a.label ?? dev} at boot (${p.path})`, diff: unifiedDiff(s.persistFile.content, content, p.path), actions: [{ kind: 'write', path: p.path, content, mode: '0644' }] });
        }
      }
      return { changes, notes };
    }
    for (const x of here) changes.push({ summary: `remove ${x.address}/${x.prefix} from ${x.label ?? dev}`, actions: [{ kind: 'sh', script: cmd(['ip', 'addr', 'del', `${x.address}/${x.prefix}`, 'dev', dev]), desc: `ip addr del ${x.address}/${x.prefix} dev ${dev}` }] });
    if (p && s.persistFile.exists) changes.push({ summary: `remove ${p.path}`, diff: unifiedDiff(s.persistFile.content, '', p.path), actions: [{ kind: 'remove', path: p.path }] });
    return { changes, notes };
  },
});
