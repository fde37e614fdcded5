/**
 * Parsers for blkid. Pure.
 * Exit codes (util-linux 2.38): 0 = something found; 2 = nothing found (blank device, or no
 * filesystem/partition-table signature) with empty stdout; 4 = usage error; 8 = ambivalent probe
 * (several signatures, `blkid -p` refuses to choose) — treat 8 as a conflict, never as blank.
 */

export const BLKID_EXIT_NOTHING_FOUND = 2;
export const BLKID_EXIT_AMBIVALENT = 8;

/** Undo blkid's `-o export` shell-style escaping: `ha\ nfs\"x` → `ha nfs"x`. */
function unescapeExport(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

/**
 * Parse `blkid -p -o export DEV` (or `blkid -o export`): `KEY=value` lines. Empty output → {}.
 * For several devices (blank-line separated) use parseBlkidExportMulti.
 */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.replace(/\r$/, '');
    if (t.trim() === '') continue;
    const i = t.indexOf('=');
    if (i <= 0) throw new Error(`blkid: unrecognized export line ${JSON.stringify(line)}`);
    out[t.slice(0, i)] = unescapeExport(t.slice(i + 1));
  }
  return out;
}

/** Several devices in one `blkid -o export` output (records separated by blank lines). */
export function parseBlkidExportMulti(text: string): Record<string, string>[] {
  return text
    .split(/\n\s*\n/)
    .filter((b) => b.trim() !== '')
    .map(parseBlkidExport);
}

/**
 * Parse one line of the default `blkid` format:
 * `/dev/vda3: UUID="…" SEC_TYPE="ext2" BLOCK_SIZE="1024" TYPE="ext3" PARTUUID="9d91988b-03"`.
 * Returns null for blank lines.
 */
export function parseBlkidLine(line: string): { device: string; tags: Record<string, string> } | null {
  const t = line.replace(/\r?\n$/, '').replace(/\r$/, '');
  if (t.trim() === '') return null;
  const m = /^(.*?):(?:\s+|$)(.*)$/.exec(t);
  if (!m) throw new Error(`blkid: unrecognized line ${JSON.stringify(line)}`);
  const tags: Record<string, string> = {};
  const re = /([A-Za-z0-9_]+)="((?:[^"\\]|\\.)*)"\s*/y;
  const rest = m[2]!;
  let pos = 0;
  while (pos < rest.length) {
    re.lastIndex = pos;
    const tm = re.exec(rest);
    if (!tm) throw new Error(`blkid: cannot parse tags at ${JSON.stringify(rest.slice(pos))}`);
    tags[tm[1]!] = tm[2]!.replace(/\\(.)/g, '$1');
    pos = re.lastIndex;
  }
  return { device: m[1]!, tags };
}

/** Signature types found by a whole-disk low-level probe: TYPE (filesystem/raid…) and PTTYPE (partition table). */
export function blkidSignatures(probe: Record<string, string>): string[] {
  const out: string[] = [];
  if (probe.PTTYPE) out.push(probe.PTTYPE);
  if (probe.TYPE) out.push(probe.TYPE);
  return out;
}
