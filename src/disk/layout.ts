/**
 * Wanted partition layouts for shared disks: build them from sizes, turn them into an sfdisk script,
 * and compare them with the table read by `sfdisk --json`. Pure (no I/O).
 */
import { partitionNumber, type PartitionTable } from '../parsers/sfdisk.js';

export const DOS_LINUX = '83';
export const DOS_EXTENDED = '5';
export const GPT_LINUX_FS = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
/** DOS extended-partition type ids sfdisk may report (5 = Extended, f = W95 Ext'd (LBA), 85 = Linux extended). */
const DOS_EXTENDED_TYPES = new Set(['5', 'f', '85']);

/**
 * Flags for running the script: `sfdisk ${SFDISK_FLAGS} DISK < script`.
 * - no `--no-reread`: sfdisk first checks with BLKRRPART that no-one on this host uses the disk, and refuses
 *   otherwise (libfdisk skips that check on loop devices; clusterform's own guard runs before it in any case).
 * - `--no-tell-kernel`: the kernel is told by the caller instead: run `partx -u DISK` on EVERY host
 *   attached to the disk and check /proc/partitions (the rereadpt exit code is not trustworthy).
 * - `--wipe always`: remove stale signatures on the whole device before writing the new label.
 * - `--wipe-partitions always`: remove stale filesystem signatures inside the new partitions, so a
 *   later mkfs step cannot mistake leftovers of an earlier layout for a wanted filesystem.
 * Only run it after compareLayout() returned 'blank'.
 */
export const SFDISK_FLAGS: readonly string[] = ['--no-tell-kernel', '--wipe', 'always', '--wipe-partitions', 'always'];
/** Flags for rewriting a table while keeping some partitions (planRepartition): nothing is wiped by sfdisk itself. */
export const SFDISK_KEEP_FLAGS: readonly string[] = ['--no-tell-kernel', '--wipe', 'never', '--wipe-partitions', 'never'];

export class LayoutError extends Error {
  override name = 'LayoutError';
}

/** `/dev/sdb`,1 → `/dev/sdb1`; names ending in a digit get `p`: `/dev/nvme0n1`,1 → `/dev/nvme0n1p1`, `/dev/loop0p1`, `/dev/mmcblk0p1`, `/dev/md0p1`. */
export function partitionDevice(disk: string, n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new LayoutError(`invalid partition number ${n}`);
  if (disk === '' || disk.endsWith('/')) throw new LayoutError(`invalid disk ${JSON.stringify(disk)}`);
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

export interface WantedPartition {
  /** device partition number (1-4 primary/extended, 5.. logical on dos) */
  number: number;
  /** exact size in sectors; null = up to the end of the disk (or of the extended partition) */
  sizeSectors: number | null;
  type: string;
  role?: 'extended';
  /** where sfdisk (1 MiB alignment) will put it; informational, not compared */
  start: number;
  logical?: boolean;
}

export interface WantedLayout {
  label: 'dos' | 'gpt';
  sectorSize: number;
  diskBytes: number;
  /** all table entries, ordered by number, including the dos extended container */
  partitions: WantedPartition[];
  /** device partition number for each wanted partition, in spec order (dos > 4: 1,2,3,5,6,...) */
  deviceNumbers: number[];
  /** smallest disk that holds the layout (alignment, EBR gaps, GPT backup, ≥1 MiB for a rest partition) */
  minDiskBytes: number;
}

export interface LayoutSpec {
  label: 'dos' | 'gpt';
  /** bytes; null = rest of the disk, only allowed for the last one */
  sizes: (number | null)[];
  diskBytes: number;
  sectorSize: number;
}

const MIB = 1024 * 1024;

function alignUp(x: number, grain: number): number {
  return Math.ceil(x / grain) * grain;
}

export function wantedLayout(spec: LayoutSpec): WantedLayout {
  const { label, sizes, sectorSize, diskBytes } = spec;
  if (label !== 'dos' && label !== 'gpt') throw new LayoutError(`unsupported label ${JSON.stringify(label)}`);
  if (![512, 1024, 2048, 4096].includes(sectorSize)) throw new LayoutError(`unsupported sector size ${sectorSize}`);
  if (sizes.length === 0) throw new LayoutError('no partitions wanted');
  if (label === 'gpt' && sizes.length > 128) throw new LayoutError('gpt holds at most 128 partitions');
  const sectors = sizes.map((b, i) => {
    if (b === null) {
      if (i !== sizes.length - 1) throw new LayoutError(`only the last partition may take the rest of the disk (partition ${i + 1} of ${sizes.length})`);
      return null;
    }
    if (!Number.isSafeInteger(b) || b <= 0) throw new LayoutError(`partition ${i + 1}: invalid size ${b}`);
    if (b % sectorSize !== 0) throw new LayoutError(`partition ${i + 1}: size ${b} is not a multiple of the ${sectorSize}-byte sector`);
    return b / sectorSize;
  });
  const grain = MIB / sectorSize;
  const type = label === 'dos' ? DOS_LINUX : GPT_LINUX_FS;
  const partitions: WantedPartition[] = [];
  const deviceNumbers: number[] = [];
  let pos = grain; // first usable aligned LBA (2048 for 512-byte sectors)
  let rest = false;
  const place = (number: number, size: number | null, extra: Partial<WantedPartition> = {}, gap = 0): void => {
    const start = alignUp(pos + gap, grain);
    partitions.push({ number, sizeSectors: size, type, start, ...extra });
    if (size === null) {
      rest = true;
      pos = start;
    } else pos = start + size;
  };
  if (label === 'gpt' || sectors.length <= 4) {
    sectors.forEach((s, i) => {
      place(i + 1, s);
      deviceNumbers.push(i + 1);
    });
  } else {
    for (let i = 0; i < 3; i++) {
      place(i + 1, sectors[i]!);
      deviceNumbers.push(i + 1);
    }
    // extended container: rest of the disk
    const extStart = alignUp(pos, grain);
    partitions.push({ number: 4, sizeSectors: null, type: DOS_EXTENDED, role: 'extended', start: extStart });
    pos = extStart;
    for (let i = 3; i < sectors.length; i++) {
      // each logical partition is preceded by its EBR; sfdisk starts it at the next 1 MiB boundary
      place(i + 2, sectors[i]!, { logical: true }, 1);
      deviceNumbers.push(i + 2);
    }
  }
  // the dos extended container runs to the end of the disk; it only has to hold the logicals
  let needSectors = pos + (rest ? grain : 0);
  if (label === 'gpt') needSectors += 1 + Math.ceil(16384 / sectorSize); // backup entries + header
  return { label, sectorSize, diskBytes, partitions, deviceNumbers, minDiskBytes: needSectors * sectorSize };
}

/**
 * Script for `sfdisk ${SFDISK_FLAGS.join(' ')} DISK` on stdin. Sizes are exact sector counts (sfdisk keeps them,
 * starts are aligned to 1 MiB by sfdisk itself); `size=+` = rest of the disk; the dos extended container is `type=5`.
 */
export function sfdiskScript(w: WantedLayout): string {
  const lines = [`label: ${w.label}`, 'unit: sectors', ''];
  for (const p of w.partitions) {
    lines.push(`size=${p.sizeSectors === null ? '+' : String(p.sizeSectors)}, type=${p.type}`);
  }
  return lines.join('\n') + '\n';
}

export type LayoutComparison =
  | { status: 'same' }
  | { status: 'blank' }
  | { status: 'conflict'; reason: string; current: string; wanted: string };

const PT_SIGNATURES = new Set(['dos', 'gpt', 'pmbr']);

function mib(sectors: number, sectorSize: number): string {
  const v = (sectors * sectorSize) / MIB;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

const HEAD = ['#', 'start', 'sectors', 'MiB', 'type'];

/** Human-readable table of a current partition table (or "(no partition table)" + signatures). */
export function renderCurrentTable(current: PartitionTable | null, signatures: string[] = []): string {
  if (!current) {
    return `(no partition table${signatures.length ? `; signatures: ${signatures.join(', ')}` : ''})\n`;
  }
  const rows = [HEAD];
  for (const p of current.partitions)
    rows.push([String(partitionNumber(p.node)), String(p.start), String(p.size), mib(p.size, current.sectorSize), p.type]);
  return `label: ${current.label}\n` + table(rows);
}

/** Human-readable table of a wanted layout (start = where sfdisk will put it). */
export function renderWantedTable(w: WantedLayout): string {
  const rows = [HEAD];
  for (const p of w.partitions) {
    rows.push([
      String(p.number),
      String(p.start),
      p.sizeSectors === null ? 'rest' : String(p.sizeSectors),
      p.sizeSectors === null ? 'rest' : mib(p.sizeSectors, w.sectorSize),
      p.role === 'extended' ? `${p.type} (extended)` : p.type,
    ]);
  }
  return `label: ${w.label}\n` + table(rows);
}

function sameType(label: 'dos' | 'gpt', a: string, b: string): boolean {
  const x = a.toLowerCase().replace(/^0x/, '');
  const y = b.toLowerCase().replace(/^0x/, '');
  if (label === 'dos' && DOS_EXTENDED_TYPES.has(x) && DOS_EXTENDED_TYPES.has(y)) return true;
  return x === y;
}

/**
 * Compare the live table with the wanted layout.
 * - same: same label, same partition numbers and types, exact sizes (the rest-of-disk partition and
 *   the extended container: any size ≥ 1 MiB); partitions in ascending, non-overlapping order
 *   (logical ones inside the extended one). Starts are not compared.
 * - blank: no table and no whole-disk signature (partition-table signatures dos/gpt/PMBR are ignored
 *   when a table is present).
 * - conflict: anything else, or a disk smaller than wanted.minDiskBytes.
 */
export function compareLayout(current: PartitionTable | null, wanted: WantedLayout, signatures: string[]): LayoutComparison {
  const sigs = signatures.filter((s) => s !== '');
  const conflict = (reason: string): LayoutComparison => ({
    status: 'conflict',
    reason,
    current: renderCurrentTable(current, sigs),
    wanted: renderWantedTable(wanted),
  });
  if (wanted.diskBytes > 0 && wanted.diskBytes < wanted.minDiskBytes)
    return conflict(`disk is too small: ${wanted.diskBytes} bytes, the layout needs at least ${wanted.minDiskBytes} bytes`);
  if (!current) {
    if (sigs.length === 0) return { status: 'blank' };
    return conflict(`disk has no partition table but holds signature(s): ${sigs.join(', ')}`);
  }
  const foreign = sigs.filter((s) => !PT_SIGNATURES.has(s.toLowerCase()));
  if (foreign.length) return conflict(`disk holds whole-disk signature(s) besides the partition table: ${foreign.join(', ')}`);
  if (current.label !== wanted.label) return conflict(`partition table label is ${current.label}, wanted ${wanted.label}`);
  if (current.sectorSize !== wanted.sectorSize)
    return conflict(`sector size is ${current.sectorSize}, layout computed for ${wanted.sectorSize}`);
  const cur = current.partitions.map((p) => ({ ...p, number: partitionNumber(p.node) })).sort((a, b) => a.number - b.number);
  const curNums = cur.map((p) => p.number).join(',');
  const wantNums = wanted.partitions.map((p) => p.number).join(',');
  if (curNums !== wantNums) return conflict(`partition numbers are [${curNums}], wanted [${wantNums}]`);
  const grain = MIB / current.sectorSize;
  let ext: { start: number; end: number } | undefined;
  let prevEnd = 0; // primaries/GPT
  let prevLogicalEnd = 0;
  for (let i = 0; i < cur.length; i++) {
    const c = cur[i]!;
    const w = wanted.partitions[i]!;
    if (!sameType(current.label, c.type, w.type)) return conflict(`partition ${c.number} has type ${c.type}, wanted ${w.type}`);
    if (w.sizeSectors === null) {
      if (c.size < grain) return conflict(`partition ${c.number} (rest of disk) is only ${c.size} sectors, wanted at least 1 MiB`);
    } else if (c.size !== w.sizeSectors) {
      return conflict(`partition ${c.number} has ${c.size} sectors (${mib(c.size, current.sectorSize)} MiB), wanted ${w.sizeSectors} (${mib(w.sizeSectors, current.sectorSize)} MiB)`);
    }
    if (w.logical) {
      if (!ext || c.start < ext.start || c.start + c.size > ext.end || c.start < prevLogicalEnd)
        return conflict(`logical partition ${c.number} is out of order or outside the extended partition`);
      prevLogicalEnd = c.start + c.size;
    } else {
      if (c.start < prevEnd) return conflict(`partition ${c.number} overlaps or precedes partition ${cur[i - 1]?.number}`);
      prevEnd = c.start + c.size;
      if (w.role === 'extended') {
        ext = { start: c.start, end: c.start + c.size };
        prevLogicalEnd = c.start;
      }
    }
  }
  return { status: 'same' };
}

/** What --force-disks does to one partition of a table that has the wanted label but not the wanted layout. */
export interface RepartitionRow {
  number: number;
  /** keep: same number, type, start and size (its data stays); create: new; replace: the number exists with another
   *  start, size or type (its data is destroyed); remove: not wanted any more (its data is destroyed) */
  action: 'keep' | 'create' | 'replace' | 'remove';
  start: number;
  /** sectors; null = the rest of the disk (or of the extended partition) */
  size: number | null;
  type: string;
  extended?: boolean;
  uuid?: string;
  was?: { start: number; size: number; type: string };
}

export interface Repartition {
  rows: RepartitionRow[];
  /** sfdisk script with explicit starts: kept partitions do not move (and keep their ids) */
  script: string;
  /** numbers of the current partitions whose data is destroyed (replaced or removed) */
  destroyed: number[];
  /** numbers that are new or replaced: wiped after the table is written */
  fresh: number[];
  /** set when a wanted partition would take another number than the one it has now (dos primaries run out) */
  renumbered?: string;
}

const isExtendedType = (t: string) => DOS_EXTENDED_TYPES.has(t.toLowerCase().replace(/^0x/, ''));

/**
 * Plan a new table for a disk whose label and sector size are the wanted ones: partitions that already have the
 * wanted number, type and size, and do not overlap the partitions before them, are kept exactly where they are; only
 * the others are (re)created. Pure.
 */
export function planRepartition(current: PartitionTable, wanted: WantedLayout): Repartition {
  const grain = MIB / current.sectorSize;
  const cur = new Map(current.partitions.map((p) => [partitionNumber(p.node), p]));
  const rows: RepartitionRow[] = [];
  let pos = grain;
  let ext: { start: number; end: number; fresh: boolean } | undefined;
  for (const w of wanted.partitions) {
    const c = cur.get(w.number);
    const was = c ? { start: c.start, size: c.size, type: c.type } : undefined;
    if (w.role === 'extended') {
      const minStart = alignUp(pos, grain);
      const keep = !!c && isExtendedType(c.type) && c.start >= minStart;
      const start = keep ? c!.start : minStart;
      rows.push({ number: w.number, action: keep ? 'keep' : c ? 'replace' : 'create', start, size: keep ? c!.size : null, type: w.type, extended: true, was });
      ext = { start, end: keep ? c!.start + c!.size : Number.MAX_SAFE_INTEGER, fresh: !keep };
      pos = start;
      continue;
    }
    const minStart = alignUp(pos + (w.logical ? 1 : 0), grain);
    const sizeOk = !!c && (w.sizeSectors === null ? c.size >= grain : c.size === w.sizeSectors);
    const inside = !w.logical || (!!ext && !ext.fresh && !!c && c.start + c.size <= ext.end);
    const keep = !!c && sameType(current.label, c.type, w.type) && sizeOk && c.start >= minStart && inside;
    const start = keep ? c!.start : minStart;
    const size = keep ? c!.size : w.sizeSectors;
    rows.push({ number: w.number, action: keep ? 'keep' : c ? 'replace' : 'create', start, size, type: w.type, uuid: keep ? c!.uuid : undefined, was });
    pos = start + (size ?? 0);
  }
  const wantedNumbers = new Set(wanted.partitions.map((p) => p.number));
  for (const [n, c] of cur) if (!wantedNumbers.has(n)) rows.push({ number: n, action: 'remove', start: c.start, size: c.size, type: c.type, was: { start: c.start, size: c.size, type: c.type } });
  rows.sort((a, b) => a.number - b.number);

  // the n-th data partition must keep its number: a dos table that runs out of primaries renumbers the last one
  const curData = [...cur].filter(([, p]) => !isExtendedType(p.type)).map(([n]) => n).sort((a, b) => a - b);
  const moved = curData.map((n, i) => [n, wanted.deviceNumbers[i]] as const).filter(([n, w]) => w !== undefined && n !== w);
  const renumbered = moved.length
    ? moved.map(([n, w]) => `the ${ordinal(curData.indexOf(n) + 1)} partition of the layout is partition ${n} now and would become partition ${w}`).join('; ')
    : undefined;

  const lines = [`label: ${current.label}`, ...(current.id ? [`label-id: ${current.id}`] : []), 'unit: sectors', ''];
  for (const r of rows) {
    if (r.action === 'remove') continue;
    lines.push(`start=${r.start}, size=${r.size === null ? '+' : r.size}, type=${r.type}${r.uuid && current.label === 'gpt' ? `, uuid=${r.uuid}` : ''}`);
  }
  return {
    rows,
    script: lines.join('\n') + '\n',
    destroyed: rows.filter((r) => r.action === 'replace' || r.action === 'remove').map((r) => r.number),
    fresh: rows.filter((r) => (r.action === 'create' || r.action === 'replace') && !r.extended).map((r) => r.number),
    renumbered,
  };
}

function ordinal(n: number): string {
  return n === 1 ? '1st' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`;
}

/** The rows as a table for `plan`: what --force-disks keeps, creates and destroys. */
export function renderRepartition(r: Repartition, sectorSize: number): string {
  const rows = [['#', 'action', 'start', 'sectors', 'MiB', 'type', 'now']];
  for (const x of r.rows) {
    const what = x.action === 'keep' ? 'keep (data stays)' : x.action === 'create' ? 'create' : x.action === 'replace' ? 'REPLACE (data destroyed)' : 'REMOVE (data destroyed)';
    const now = x.was ? `start ${x.was.start}, ${x.was.size} sectors, type ${x.was.type}` : '-';
    rows.push([String(x.number), what, String(x.start), x.size === null ? 'rest' : String(x.size), x.size === null ? 'rest' : mib(x.size, sectorSize), x.extended ? `${x.type} (extended)` : x.type, now]);
  }
  return table(rows);
}
