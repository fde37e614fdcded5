/** `ipvsadm -S -n` (save/restore format): parse and render. Pure except template loading. */
import { renderTemplate } from '../util/paths.js';

export type Forwarding = 'dr' | 'nat' | 'tun';

export interface IpvsDest {
  address: string;
  port: number;
  forwarding: Forwarding;
  weight: number;
  uThreshold?: number;
  lThreshold?: number;
  /** tunnel settings other than the default `--tun-type ipip` (e.g. ['--tun-type', 'gue', '--tun-port', '6080']) */
  tunOptions?: string[];
}

export interface IpvsService {
  /** 't:10.0.0.1:80' | 'u:10.0.0.1:53' | 't:[2001:db8::1]:80' | 'f:80' — see serviceKey() */
  key: string;
  protocol: 'tcp' | 'udp' | 'fwmark';
  address?: string;
  port?: number;
  fwmark?: number;
  scheduler: string;
  /** persistence timeout in seconds (bare `-p` = 300) */
  persistence?: number;
  netmask?: string;
  /** scheduler flags (-b), e.g. ['sh-fallback', 'sh-port'] */
  flags?: string[];
  ops?: boolean;
  pe?: string;
  dests: IpvsDest[];
}

export class IpvsParseError extends Error {
  override name = 'IpvsParseError';
}

export const DEFAULT_SCHEDULER = 'wlc';
export const DEFAULT_PERSISTENCE = 300;
const FWD_FLAG: Record<Forwarding, string> = { dr: '-g', nat: '-m', tun: '-i' };

/** `10.0.0.1`,80 → `10.0.0.1:80`; IPv6 → `[2001:db8::1]:80`. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The identity of a virtual service. */
export function serviceKey(s: Pick<IpvsService, 'protocol' | 'address' | 'port' | 'fwmark'>): string {
  if (s.protocol === 'fwmark') return `f:${s.fwmark}`;
  if (s.address === undefined || s.port === undefined) throw new IpvsParseError(`${s.protocol} service without address/port`);
  return `${s.protocol === 'tcp' ? 't' : 'u'}:${hostPort(s.address, s.port)}`;
}

function parseHostPort(s: string, what: string): { address: string; port: number } {
  let m = /^\[([0-9A-Fa-f:.]+)\]:(\S+)$/.exec(s);
  if (!m) m = /^([^:\s]+):(\S+)$/.exec(s);
  if (!m) throw new IpvsParseError(`bad ${what} ${JSON.stringify(s)} (want addr:port or [v6addr]:port)`);
  if (!/^\d+$/.test(m[2]!)) throw new IpvsParseError(`non-numeric port in ${JSON.stringify(s)}: read the table with ipvsadm -S -n`);
  const port = Number(m[2]);
  if (port > 65535) throw new IpvsParseError(`port out of range in ${JSON.stringify(s)}`);
  return { address: m[1]!.includes(':') ? m[1]!.toLowerCase() : m[1]!, port };
}

const LONG: Record<string, string> = {
  '--add-service': '-A', '--edit-service': '-E', '--add-server': '-a', '--edit-server': '-e',
  '--tcp-service': '-t', '--udp-service': '-u', '--fwmark-service': '-f', '--scheduler': '-s',
  '--persistent': '-p', '--netmask': '-M', '--real-server': '-r', '--gatewaying': '-g',
  '--masquerading': '-m', '--ipip': '-i', '--weight': '-w', '--u-threshold': '-x', '--l-threshold': '-y',
  '--sched-flags': '-b', '--ops': '-o',
};

function int(v: string | undefined, what: string, line: string): number {
  if (v === undefined || !/^\d+$/.test(v)) throw new IpvsParseError(`${what} needs a number in: ${line}`);
  return Number(v);
}

/**
 * Parse `ipvsadm -S -n` output (also /etc/sysconfig/ipvsadm, /etc/ipvsadm.rules, lines prefixed with
 * `ipvsadm `). Blank lines and `#` comments are skipped. Services keep their order; `-a` lines must
 * follow their service's `-A`.
 */
export function parseIpvsadmSave(text: string): IpvsService[] {
  const services: IpvsService[] = [];
  const byKey = new Map<string, IpvsService>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    let tok = line.split(/\s+/).map((t) => LONG[t] ?? t);
    if (tok[0] === 'ipvsadm' || tok[0]?.endsWith('/ipvsadm')) tok = tok.slice(1);
    const cmd = tok[0];
    if (cmd !== '-A' && cmd !== '-a') throw new IpvsParseError(`unexpected command in ipvsadm rules: ${line}`);
    let svc: Pick<IpvsService, 'protocol' | 'address' | 'port' | 'fwmark'> | undefined;
    const opts: Partial<IpvsService> = {};
    const dest: Partial<IpvsDest> = {};
    for (let i = 1; i < tok.length; i++) {
      const t = tok[i]!;
      const next = tok[i + 1];
      switch (t) {
        case '-t':
        case '-u':
          svc = { protocol: t === '-t' ? 'tcp' : 'udp', ...parseHostPort(next ?? '', 'service address') };
          i++;
          break;
        case '-f':
          svc = { protocol: 'fwmark', fwmark: int(next, '-f', line) };
          i++;
          break;
        case '-s':
          if (!next) throw new IpvsParseError(`-s needs a scheduler in: ${line}`);
          opts.scheduler = next;
          i++;
          break;
        case '-p':
          if (next !== undefined && /^\d+$/.test(next)) {
            opts.persistence = Number(next);
            i++;
          } else opts.persistence = DEFAULT_PERSISTENCE;
          break;
        case '-M':
          if (!next) throw new IpvsParseError(`-M needs a netmask in: ${line}`);
          opts.netmask = next;
          i++;
          break;
        case '-b':
          if (!next) throw new IpvsParseError(`-b needs flags in: ${line}`);
          opts.flags = next.split(',').filter((f) => f !== '');
          i++;
          break;
        case '-o':
          opts.ops = true;
          break;
        case '--pe':
          if (!next) throw new IpvsParseError(`--pe needs a name in: ${line}`);
          opts.pe = next;
          i++;
          break;
        case '-6':
          break; // IPv6 fwmark services: address family only
        case '-r': {
          const hp = parseHostPort(next ?? '', 'real server');
          dest.address = hp.address;
          dest.port = hp.port;
          i++;
          break;
        }
        case '-g':
          dest.forwarding = 'dr';
          break;
        case '-m':
          dest.forwarding = 'nat';
          break;
        case '-i':
          dest.forwarding = 'tun';
          break;
        case '-w':
          dest.weight = int(next, '-w', line);
          i++;
          break;
        case '-x':
          dest.uThreshold = int(next, '-x', line);
          i++;
          break;
        case '-y':
          dest.lThreshold = int(next, '-y', line);
          i++;
          break;
        // tunnel options (ipvsadm >= 1.30, kernel >= 5.3): `--tun-type ipip` is the default and printed for every
        // tunnelled real server; other tunnel settings are kept so that they show in plans and rules files
        case '--tun-type':
          if (next === undefined) throw new IpvsParseError(`--tun-type needs a value in: ${line}`);
          if (next !== 'ipip') (dest.tunOptions ??= []).push(t, next);
          i++;
          break;
        case '--tun-port':
          if (next === undefined) throw new IpvsParseError(`--tun-port needs a value in: ${line}`);
          (dest.tunOptions ??= []).push(t, String(int(next, '--tun-port', line)));
          i++;
          break;
        case '--tun-nocsum':
        case '--tun-csum':
        case '--tun-remcsum':
          (dest.tunOptions ??= []).push(t);
          break;
        default:
          throw new IpvsParseError(`unknown ipvsadm option ${JSON.stringify(t)} in: ${line}`);
      }
    }
    if (!svc) throw new IpvsParseError(`no -t/-u/-f service in: ${line}`);
    const key = serviceKey(svc);
    if (cmd === '-A') {
      if (byKey.has(key)) throw new IpvsParseError(`service ${key} defined twice`);
      const s: IpvsService = { key, ...svc, scheduler: opts.scheduler ?? DEFAULT_SCHEDULER, dests: [] };
      if (opts.persistence !== undefined) s.persistence = opts.persistence;
      if (opts.netmask !== undefined) s.netmask = opts.netmask;
      if (opts.flags !== undefined) s.flags = opts.flags;
      if (opts.ops) s.ops = true;
      if (opts.pe !== undefined) s.pe = opts.pe;
      services.push(s);
      byKey.set(key, s);
    } else {
      const s = byKey.get(key);
      if (!s) throw new IpvsParseError(`real server for unknown service ${key}: ${line}`);
      if (dest.address === undefined || dest.port === undefined) throw new IpvsParseError(`-a without -r in: ${line}`);
      const d: IpvsDest = { address: dest.address, port: dest.port, forwarding: dest.forwarding ?? 'dr', weight: dest.weight ?? 1 };
      if (dest.uThreshold) d.uThreshold = dest.uThreshold;
      if (dest.lThreshold) d.lThreshold = dest.lThreshold;
      if (dest.tunOptions) d.tunOptions = dest.tunOptions;
      s.dests.push(d);
    }
  }
  return services;
}

/** `['-t', '10.0.0.1:80']` / `['-f', '80']` */
export function serviceSelector(s: IpvsService): string[] {
  if (s.protocol === 'fwmark') return ['-f', String(s.fwmark)];
  return [s.protocol === 'tcp' ? '-t' : '-u', hostPort(s.address!, s.port!)];
}

/** Service options in `ipvsadm -S` order: -s, -b, -p, -M, --pe, -o. */
export function serviceOptions(s: IpvsService): string[] {
  const a = ['-s', s.scheduler];
  if (s.flags && s.flags.length) a.push('-b', s.flags.join(','));
  if (s.persistence !== undefined) {
    a.push('-p', String(s.persistence));
    if (s.netmask !== undefined) a.push('-M', s.netmask);
  }
  if (s.pe !== undefined) a.push('--pe', s.pe);
  if (s.ops) a.push('-o');
  return a;
}

/** Real-server options in `ipvsadm -S` order: -r addr:port, forwarding, -w, then -x/-y when set (or `withThresholds`). */
export function destOptions(d: IpvsDest, withThresholds = false): string[] {
  const a = ['-r', hostPort(d.address, d.port), FWD_FLAG[d.forwarding], '-w', String(d.weight)];
  if (withThresholds || d.uThreshold || d.lThreshold) a.push('-x', String(d.uThreshold ?? 0), '-y', String(d.lThreshold ?? 0));
  if (d.forwarding === 'tun' && d.tunOptions) a.push(...d.tunOptions);
  return a;
}

/** One `-A …` line and its `-a …` lines, exactly as `ipvsadm -S -n` prints them. */
export function serviceLines(s: IpvsService): { service: string; dests: string[] } {
  const sel = serviceSelector(s);
  return {
    service: ['-A', ...sel, ...serviceOptions(s)].join(' '),
    dests: s.dests.map((d) => ['-a', ...sel, ...destOptions(d)].join(' ')),
  };
}

/** Restore-format rules file (for /etc/sysconfig/ipvsadm or /etc/ipvsadm.rules) with a `# managed by clusterform` header. */
export function renderIpvsadmRules(services: IpvsService[], templatesOverride?: string): string {
  return renderTemplate('ipvsadm.rules.hbs', { services: services.map(serviceLines) }, { escape: false, overrideDir: templatesOverride });
}
