// Small shared pieces of the LVS modules: state arg, file reads, owned line-files, records. Pure.
import { isIP } from 'node:net';
import { z } from 'zod';
import type { ProbeResult, SectionResult } from '../../engine/types.js';
import { q } from '../../util/shell.js';

export const STATE_DIR = '/var/lib/clusterform';
export const MANAGED = '# managed by clusterform';

export const stateArg = z.enum(['present', 'absent']).default('present');
export const absPathArg = z
  .string()
  .regex(/^\/[A-Za-z0-9/._+:@,=-]+$/, 'must be an absolute path of letters, digits and / . _ + : @ , = -')
  .refine((s) => !s.split('/').includes('..'), { message: "must not contain '..'" });
const IFACE_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,14}$/;
export const ifaceArg = z.string().regex(IFACE_RE, 'an interface name (at most 15 letters, digits, . _ - @)');
/**
 * True for an interface name that can be written into a network config file as a plain word (ifupdown `iface X`,
 * RHEL route-X). Linux allows almost any character in a name, so a name read back from a host is checked first.
 */
export const isPlainIface = (s: string): boolean => IFACE_RE.test(s);
export const ipv4Arg = z.string().refine((s) => isIP(s) === 4, { message: 'not an IPv4 address' });
export const ipArg = z.string().refine((s) => isIP(s) !== 0, { message: 'not an IPv4 or IPv6 address' });

/** A section's result; a missing section reads as "command not run" (rc 127). */
export function sec(res: ProbeResult, name: string): SectionResult {
  return res[name] ?? { out: '', err: `section ${name} missing`, rc: 127 };
}

/** Snippet: prints `exists` + the file, or `missing`. One `cat`. */
export function catFile(path: string): string {
  return `if [ -f ${q(path)} ]; then echo exists; cat ${q(path)}; else echo missing; fi`;
}

export interface FileState { exists: boolean; text: string }

export function parseCatFile(r: SectionResult): FileState {
  const nl = r.out.indexOf('\n');
  const head = (nl < 0 ? r.out : r.out.slice(0, nl)).trim();
  if (head !== 'exists') return { exists: false, text: '' };
  return { exists: true, text: nl < 0 ? '' : r.out.slice(nl + 1) };
}

/** Lines of a text without the trailing empty line. */
export function lines(text: string): string[] {
  const l = text.split('\n');
  if (l.length && l[l.length - 1] === '') l.pop();
  return l;
}

export function joinLines(l: string[]): string {
  return l.length ? l.join('\n') + '\n' : '';
}

/** True when a file holds nothing but comments and blank lines. */
export function onlyComments(text: string): boolean {
  return lines(text).every((l) => l.trim() === '' || l.trim().startsWith('#'));
}

/** Action: write `value` to a record file unless one is there already (keeps the first value). */
export function recordOnceScript(path: string, value: string): string {
  const dir = path.replace(/\/[^/]*$/, '');
  return `if [ ! -e ${q(path)} ]; then mkdir -p ${q(dir)} && printf '%s\\n' ${q(value)} > ${q(path)}; fi`;
}

/** 24 → 255.255.255.0 */
export function prefixToNetmask(prefix: number): string {
  const n = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** 10.0.0.5/24 → 10.0.0.0/24, 10.0.0.5 → 10.0.0.5/32 (what iptables and nft print). */
export function normCidr(cidr: string): string {
  const [a, p] = cidr.split('/');
  const prefix = p === undefined ? 32 : Number(p);
  const parts = a!.split('.').map(Number);
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${prefix}`;
}

export const cidrArg = z
  .string()
  .refine((s) => { const [a, p, x] = s.split('/'); return x === undefined && isIP(a ?? '') === 4 && (p === undefined || (/^\d+$/.test(p) && Number(p) <= 32)); }, { message: 'an IPv4 network like 10.0.0.0/24' });
