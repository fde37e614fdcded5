// Shared helpers of the HA modules: the HA section of the inventory, the wanted layout, shell fragments.
import type { TaskCtx } from '../engine/types.js';
import { BACKUP_DIR } from '../engine/script.js';
import { wantedLayout, partitionDevice, type WantedLayout } from '../disk/layout.js';
import { kernelName } from '../parsers/raw.js';
import type { RawInventory } from '../inventory/schema.js';
import { q } from '../util/shell.js';
import { parseSize } from '../util/size.js';

export type Ha = NonNullable<RawInventory['ha']>;

export function haOf(ctx: TaskCtx<unknown>): Ha {
  const ha = ctx.inventory.raw.ha;
  if (!ha) throw new Error('this module needs an ha: section in the inventory');
  return ha;
}

/** Byte sizes of the wanted partitions in spec order: quorum primary, quorum shadow, one per service. */
export function layoutSizes(ha: Ha): (number | null)[] {
  return [parseSize(ha.quorum.size), parseSize(ha.quorum.size), ...ha.services.map((s) => (s.size ? parseSize(s.size) : null))];
}

export function haLayout(ha: Ha, diskBytes = 0, sectorSize = 512): WantedLayout {
  return wantedLayout({ label: ha.disk_label, sizes: layoutSizes(ha), diskBytes, sectorSize });
}

/** Device partition numbers in spec order (dos > 4 partitions: 1,2,3,5,6…). Independent of the disk size. */
export function deviceNumbers(ha: Ha): number[] {
  return haLayout(ha).deviceNumbers;
}

/** Partition number of service `name` (3rd wanted partition onwards). */
export function servicePartition(ha: Ha, name: string): number {
  const i = ha.services.findIndex((s) => s.name === name);
  if (i < 0) throw new Error(`no ha service named ${JSON.stringify(name)} in the inventory`);
  return deviceNumbers(ha)[2 + i]!;
}

/**
 * A partition path that is the same on every member: `/dev/disk/by-id/X-partN` (udev's naming) for a
 * by-id/by-path disk, else the kernel naming of partitionDevice (`/dev/sdb3`, `/dev/loop0p3`).
 */
export function stablePartitionPath(disk: string, n: number): string {
  return /^\/dev\/disk\/by-(id|path)\//.test(disk) ? `${disk}-part${n}` : partitionDevice(disk, n);
}

/** Shell: `D` = the resolved disk (fails the section with rc 3 when it does not resolve to a block device), `P` = prefix of its partitions. */
export function resolveSh(disk: string): string {
  return `D=$(readlink -f ${q(disk)}) && [ -b "$D" ] || { echo "not a block device: ${disk.replace(/["\\$`]/g, '')}" >&2; exit 3; }\ncase $D in *[0-9]) P="\${D}p";; *) P="$D";; esac`;
}

/** Shell: lines `mount DEV MOUNTPOINT`, `swap DEV`, `holder NAME` for the disk $D and its partitions ($P<n>). Needs resolveSh first. */
export const IN_USE_SH = [
  `mine() { case $1 in "$D"|"$P"[0-9]|"$P"[0-9][0-9]|"$P"[0-9][0-9][0-9]) return 0;; esac; return 1; }`,
  `while read -r s m rest; do case $s in /dev/*) r=$(readlink -f "$s"); if mine "$r"; then echo "mount $r $m"; fi;; esac; done < /proc/mounts`,
  `if [ -r /proc/swaps ]; then tail -n +2 /proc/swaps | while read -r s rest; do r=$(readlink -f "$s"); if mine "$r"; then echo "swap $r"; fi; done; fi`,
  `B=\${D##*/}; for h in /sys/class/block/"$B"/holders/* /sys/class/block/"$B"/"$B"*/holders/*; do [ -e "$h" ] && echo "holder \${h#/sys/class/block/}"; done`,
  'true',
].join('\n');

export function parseInUse(out: string): string[] {
  return out.split('\n').map((l) => l.trim()).filter((l) => /^(mount|swap|holder) /.test(l));
}

/** Names of block devices in /proc/partitions. */
export function procPartitions(text: string): Set<string> {
  const s = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4 && /^\d+$/.test(f[0]!)) s.add(f[3]!);
  }
  return s;
}

/** Shell step: fail unless /proc/partitions lists every partition (rereadpt may return 0 without effect). */
export function verifyPartitionsSh(disk: string, numbers: number[]): string {
  const names = numbers.map((n) => kernelName(partitionDevice(disk, n)));
  return [
    `__miss=''; for __p in ${names.map(q).join(' ')}; do awk -v p="$__p" '$4 == p { f = 1 } END { exit !f }' /proc/partitions || __miss="$__miss $__p"; done`,
    `if [ -n "$__miss" ]; then echo "the kernel does not list partition(s)$__miss of ${disk.replace(/["\\$`]/g, '')} in /proc/partitions after re-reading the table; another holder may keep the old table (check: partx -s ${disk.replace(/["\\$`]/g, '')})" >&2; exit 1; fi`,
  ].join('\n');
}

/** Shell: prints `backup` / `absent` when clusterform keeps a backup (or an "absent" marker) of `path`. */
export function backupSh(path: string): string {
  return `[ -e ${q(BACKUP_DIR + path)} ] && echo backup; [ -e ${q(BACKUP_DIR + path + '.absent')} ] && echo absent; true`;
}

/** Two text blocks side by side. */
export function sideBySide(leftTitle: string, left: string, rightTitle: string, right: string): string {
  const l = [leftTitle, ...left.trimEnd().split('\n')];
  const r = [rightTitle, ...right.trimEnd().split('\n')];
  const w = Math.max(...l.map((x) => x.length)) + 4;
  const n = Math.max(l.length, r.length);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(((l[i] ?? '').padEnd(w) + (r[i] ?? '')).trimEnd());
  return out.join('\n');
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
