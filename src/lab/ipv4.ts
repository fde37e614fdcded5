// IPv4 arithmetic of the lab: addresses as numbers, subnets in CIDR notation.

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
  if (!ip || !/^\d+$/.test(p ?? '') || prefix < 8 || prefix > 30) throw new Error(`invalid subnet (need a.b.c.d/8..30): ${cidr}`);
  const size = 2 ** (32 - prefix);
  const base = ipToInt(ip) - (ipToInt(ip) % size);
  return { base, prefix, size };
}

/** `ip` is a host address of `cidr` (neither its network nor its broadcast address). */
export function inSubnet(ip: string, cidr: string): boolean {
  const { base, size } = parseCidr(cidr);
  const n = ipToInt(ip);
  return n > base && n < base + size - 1;
}

/** A valid IPv4 address in dotted-quad form. */
export function isIpv4(ip: string): boolean {
  try { ipToInt(ip); return true; } catch { return false; }
}

/** A valid subnet for a lab network (a.b.c.d/8 to /30). */
export function isLabSubnet(cidr: string): boolean {
  try { parseCidr(cidr); return true; } catch { return false; }
}
