/** Parsers for `sfdisk --json DEV` and `sfdisk --dump DEV` (util-linux 2.38). Pure. */

export interface Partition {
  node: string;
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
  uuid?: string;
  name?: string;
}

export interface PartitionTable {
  label: 'dos' | 'gpt';
  id?: string;
  device: string;
  unit: 'sectors';
  sectorSize: number;
  firstLba?: number;
  lastLba?: number;
  partitions: Partition[];
}

export class SfdiskParseError extends Error {
  override name = 'SfdiskParseError';
}

function checkLabel(label: unknown): 'dos' | 'gpt' {
  if (label === 'dos' || label === 'gpt') return label;
  throw new SfdiskParseError(`unsupported partition table label ${JSON.stringify(label)} (only dos and gpt)`);
}

function num(v: unknown, what: string): number {
  const n = typeof v === 'string' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new SfdiskParseError(`bad ${what}: ${JSON.stringify(v)}`);
  return n;
}

/**
 * Parse `sfdisk --json DEV`. Returns null for empty output: sfdisk prints nothing on stdout
 * (exit 1, stderr "does not contain a recognized partition table") for a disk without a table.
 */
export function parseSfdiskJson(text: string): PartitionTable | null {
  if (text.trim() === '') return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SfdiskParseError(`sfdisk --json output is not JSON: ${(e as Error).message}`);
  }
  const pt = (doc as { partitiontable?: Record<string, unknown> })?.partitiontable;
  if (!pt || typeof pt !== 'object') throw new SfdiskParseError('sfdisk --json output has no "partitiontable" object');
  const unit = pt.unit ?? 'sectors';
  if (unit !== 'sectors') throw new SfdiskParseError(`unsupported unit ${JSON.stringify(unit)}`);
  const out: PartitionTable = {
    label: checkLabel(pt.label),
    device: String(pt.device ?? ''),
    unit: 'sectors',
    sectorSize: pt.sectorsize === undefined ? 512 : num(pt.sectorsize, 'sectorsize'),
    partitions: [],
  };
  if (pt.id !== undefined) out.id = String(pt.id);
  if (pt.firstlba !== undefined) out.firstLba = num(pt.firstlba, 'firstlba');
  if (pt.lastlba !== undefined) out.lastLba = num(pt.lastlba, 'lastlba');
  const parts = pt.partitions ?? [];
  if (!Array.isArray(parts)) throw new SfdiskParseError('"partitions" is not an array');
  for (const p of parts as Record<string, unknown>[]) {
    const part: Partition = {
      node: String(p.node ?? ''),
      start: num(p.start, 'start'),
      size: num(p.size, 'size'),
      type: String(p.type ?? ''),
    };
    if (p.bootable === true) part.bootable = true;
    if (p.uuid !== undefined) part.uuid = String(p.uuid);
    if (p.name !== undefined) part.name = String(p.name);
    out.partitions.push(part);
  }
  return out;
}

/** Split `start=  2048, size= 6144, type=83, bootable, name="a, b"` into key/value pairs. */
function splitFields(s: string): [string, string | true][] {
  const out: [string, string | true][] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
    if (i >= s.length) break;
    let key = '';
    while (i < s.length && s[i] !== '=' && s[i] !== ',') key += s[i++];
    key = key.trim();
    if (s[i] !== '=') {
      out.push([key, true]);
      continue;
    }
    i++; // '='
    while (s[i] === ' ') i++;
    let val = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        val += s[i++];
      }
      i++; // closing quote
    } else {
      while (i < s.length && s[i] !== ',') val += s[i++];
      val = val.trim();
    }
    out.push([key, val]);
  }
  return out;
}

/** Parse `sfdisk --dump DEV` (the script format). Returns null for empty output (no table). */
export function parseSfdiskDump(text: string): PartitionTable | null {
  if (text.trim() === '') return null;
  const header: Record<string, string> = {};
  const partitions: Partition[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const pm = /^(\S.*?)\s*:\s*(start=.*)$/.exec(line);
    if (pm) {
      const part: Partition = { node: pm[1]!, start: -1, size: -1, type: '' };
      for (const [k, v] of splitFields(pm[2]!)) {
        if (k === 'start') part.start = num(v, 'start');
        else if (k === 'size') part.size = num(v, 'size');
        else if (k === 'type' || k === 'Id') part.type = String(v);
        else if (k === 'bootable') part.bootable = true;
        else if (k === 'uuid') part.uuid = String(v);
        else if (k === 'name') part.name = String(v);
      }
      if (part.start < 0 || part.size < 0) throw new SfdiskParseError(`partition line without start/size: ${raw}`);
      partitions.push(part);
      continue;
    }
    const hm = /^([a-z-]+):\s*(.*)$/.exec(line);
    if (hm) {
      header[hm[1]!] = hm[2]!;
      continue;
    }
    throw new SfdiskParseError(`unrecognized sfdisk --dump line: ${raw}`);
  }
  if (!('label' in header)) throw new SfdiskParseError('sfdisk --dump output has no "label:" header');
  const unit = header.unit ?? 'sectors';
  if (unit !== 'sectors') throw new SfdiskParseError(`unsupported unit ${JSON.stringify(unit)}`);
  const out: PartitionTable = {
    label: checkLabel(header.label),
    device: header.device ?? '',
    unit: 'sectors',
    sectorSize: header['sector-size'] === undefined ? 512 : num(header['sector-size'], 'sector-size'),
    partitions,
  };
  if (header['label-id'] !== undefined) out.id = header['label-id'];
  if (header['first-lba'] !== undefined) out.firstLba = num(header['first-lba'], 'first-lba');
  if (header['last-lba'] !== undefined) out.lastLba = num(header['last-lba'], 'last-lba');
  return out;
}

/** Partition number from its node name: `/dev/sdb5` → 5, `/dev/nvme0n1p2` → 2, `/dev/loop0p7` → 7. */
export function partitionNumber(node: string): number {
  const m = /(\d+)$/.exec(node);
  if (!m) throw new SfdiskParseError(`cannot find a partition number in ${JSON.stringify(node)}`);
  return Number(m[1]);
}
