// IPv4 arithmetic the network modules share. Pure.

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
