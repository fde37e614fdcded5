export class SizeError extends Error {
  override name = 'SizeError';
}

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
};

/**
 * Parse a size to bytes. Binary multiples like sfdisk/fdisk: `10M` = 10 MiB.
 * Accepts `512K`, `10M`, `1G`, `2T`, `100MiB`, `1000M`, `1.5G`, `4096`, `4096B` (case-insensitive suffix,
 * optional `iB`/`B`). Plain integers are bytes. The result must be a whole number of bytes.
 */
export function parseSize(s: string): number {
  if (typeof s !== 'string') throw new SizeError(`size must be a string, got ${typeof s}`);
  const t = s.trim();
  if (t === '') throw new SizeError('empty size');
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B)?$/i.exec(t);
  if (!m) {
    if (/^-/.test(t)) throw new SizeError(`negative size not allowed: ${JSON.stringify(s)}`);
    throw new SizeError(
      `invalid size ${JSON.stringify(s)}: expected a number with an optional unit K, M, G, T (binary: 1M = 1 MiB), e.g. 10M, 1G, 100MiB`,
    );
  }
  const unit = m[2]!.toUpperCase();
  if (m[3] && m[3].toLowerCase() === 'ib' && unit === '')
    throw new SizeError(`invalid size ${JSON.stringify(s)}: "iB" needs a unit prefix (KiB, MiB, ...)`);
  const mult = UNITS[unit]!;
  const [intPart, frac = ''] = m[1]!.split('.');
  // exact arithmetic with BigInt to avoid 1.1G rounding surprises
  const scale = 10n ** BigInt(frac.length);
  const num = BigInt(intPart! + frac) * BigInt(mult);
  if (num % scale !== 0n) throw new SizeError(`size ${JSON.stringify(s)} is not a whole number of bytes`);
  const bytes = num / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new SizeError(`size ${JSON.stringify(s)} is too large`);
  return Number(bytes);
}

/** Human-readable binary size: 10485760 → "10MiB", 1536 → "1.5KiB", 100 → "100B". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) throw new SizeError(`invalid byte count ${bytes}`);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const str = Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/\.?0+$/, '');
  return `${str}${units[i]}`;
}
