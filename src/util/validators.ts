// zod validators for values that end up on a host (paths, interface names, addresses), shared by the inventory
// schema and the modules' argument schemas: one definition of each.
import { isIP } from 'node:net';
import { z } from 'zod';

/** An absolute path (any characters but NUL and newline; always quoted when it reaches a shell), no `..`. */
export const absolutePath = z
  .string()
  .regex(/^\/[^\0\n]*$/, 'must be an absolute path (starting with /)')
  .refine((s) => !s.split('/').includes('..'), { message: "must not contain '..'" });

/** An absolute path of plain characters only, for paths that are also written into configuration files. */
export const plainAbsolutePath = absolutePath.refine((s) => /^[A-Za-z0-9/._+:@,=-]+$/.test(s), {
  message: 'contains characters that are not allowed in a path here (only letters, digits and / . _ + : @ , = -)',
});

const IFACE_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,14}$/;
export const ifaceArg = z.string().regex(IFACE_RE, 'an interface name (at most 15 letters, digits, . _ - @)');
/**
 * True for an interface name that can be written into a network config file as a plain word (ifupdown `iface X`,
 * RHEL route-X). Linux allows almost any character in a name, so a name read back from a host is checked first.
 */
export const isPlainIface = (s: string): boolean => IFACE_RE.test(s);
export const ipv4Arg = z.string().refine((s) => isIP(s) === 4, { message: 'not an IPv4 address' });
export const ipArg = z.string().refine((s) => isIP(s) !== 0, { message: 'not an IPv4 or IPv6 address' });
export const cidrArg = z
  .string()
  .refine((s) => { const [a, p, x] = s.split('/'); return x === undefined && isIP(a ?? '') === 4 && (p === undefined || (/^\d+$/.test(p) && Number(p) <= 32)); }, { message: 'an IPv4 network like 10.0.0.0/24' });
