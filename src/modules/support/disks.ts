// Shared helpers of the HA modules: the HA section of the inventory, the wanted layout, shell fragments.
import { createHash } from 'node:crypto';
import type { ProbeResult, TaskCtx } from '../../engine/types.js';
import { BACKUP_DIR } from '../../engine/script.js';
import { wantedLayout, partitionDevice, type WantedLayout } from '../../disk/layout.js';
import { kernelName } from '../../parsers/raw.js';
import { haSchema } from '../../inventory/schema.js';
import type { z } from 'zod';
import { q } from '../../util/shell.js';
import { parseSize } from '../../util/size.js';

export type Ha = z.infer<typeof haSchema>;

/** The argument every HA module takes: the cluster's ha: settings (playbooks pass `ha: "{{ha}}"`). */
export const haArg = { ha: haSchema };

/** The ha settings a module was given as its `ha` argument. */
export function haOf(ctx: TaskCtx<unknown>): Ha {
  return (ctx.args as { ha: Ha }).ha;
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
  return hasStableNames(disk) ? `${disk}-part${n}` : partitionDevice(disk, n);
}

/** True when the inventory names the shared disk by a udev by-id/by-path link, so its partitions have stable names. */
export function hasStableNames(disk: string): boolean {
  return /^\/dev\/disk\/by-(id|path)\//.test(disk);
}

/** Shell: `N yes|no` for each partition number: whether its stable link (`DISK-partN`) exists on this host. */
export function stableLinksSh(disk: string, numbers: number[]): string {
  if (!hasStableNames(disk)) return 'true';
  return numbers.map((n) => `if [ -e ${q(`${disk}-part${n}`)} ]; then echo '${n} yes'; else echo '${n} no'; fi`).join('\n');
}

/**
 * What the plan says about the names the configuration uses for the partitions: a kernel name (`/dev/sdb1`) can
 * change between boots; a stable link that this host does not have (no udev) cannot be opened here.
 */
export function stableNameWarnings(disk: string, numbers: number[], linksOut: string | undefined, what: string): string[] {
  if (!hasStableNames(disk))
    return [`${what} names partitions by kernel name (${partitionDevice(disk, numbers[0]!)}…), which can change between boots: name the shared disk by /dev/disk/by-id/… or /dev/disk/by-path/… in ha.shared_disk (ls -l /dev/disk/by-id) to make them stable`];
  const missing = (linksOut ?? '').split('\n').filter((l) => / no$/.test(l)).map((l) => `${disk}-part${l.split(' ')[0]}`);
  return missing.length ? [`${what} names ${missing.join(', ')}, which this host does not have (no udev by-id links for the partitions yet?)`] : [];
}

/**
 * Shell: `D` = the resolved disk, `P` = prefix of its partitions. Fails the section with rc 3 when the path does not
 * resolve to a block device, and with rc 4 when it is a partition: the shared disk must be a whole disk.
 */
export function resolveSh(disk: string): string {
  const shown = disk.replace(/["\\$`]/g, '');
  return [
    `D=$(readlink -f ${q(disk)}) && [ -b "$D" ] || { echo "not a block device: ${shown}" >&2; exit 3; }`,
    `if [ -e "/sys/class/block/\${D##*/}/partition" ]; then echo "${shown} is a partition ($D), not a whole disk: name the whole shared disk in ha.shared_disk" >&2; exit 4; fi`,
    'case $D in *[0-9]) P="${D}p";; *) P="$D";; esac',
  ].join('\n');
}

/** Shell (after resolveSh): `BYTES SECTOR_SIZE` of the disk $D. */
export const DISK_SIZE_SH = 'b=$(blockdev --getsize64 "$D" 2>/dev/null) || b=$(( $(cat /sys/class/block/"${D##*/}"/size) * 512 ))\nss=$(blockdev --getss "$D" 2>/dev/null) || ss=512\necho "$b $ss"';

/** Daemons that use a shared disk by themselves: while one runs, the disk is the cluster's, not clusterform's. */
export const CLUSTER_DAEMONS = ['pacemakerd', 'sbd', 'clumembd', 'cluquorumd', 'clusvcmgrd', 'rgmanager', 'ccsd'];
/** Short-lived read-only probes (clusterform's own and udev's): an O_RDONLY open by one of these is not a holder. */
const PROBES = 'blkid|sfdisk|wipefs|partx|blockdev|dd|lsblk|udevadm|systemd-udevd|udev-worker|"(udev-worker)"|find|sha256sum|head|cmp';

/**
 * Shell (after resolveSh, with `mine`): `open DEV pid N (COMM)` for every process with the disk or a partition open, but
 * read-only probes. Every process's open files in one find (no process per fd); the access mode is the low bits of fdinfo's
 * octal flags. A process can exit between the find and the reads: a gone comm or a gone fd is no holder (the last CI saw a
 * udev blkid reported as a writer because its fdinfo vanished); an fd still open whose flags cannot be read counts as a writer.
 * `proc` is /proc on a host; tests give a fake tree.
 */
export function openScanSh(proc: string): string {
  const pr = q(proc);
  return `find ${pr}/[0-9]*/fd -maxdepth 1 -type l -lname '/dev/*' -printf '%p %l\\n' 2>/dev/null | while read -r f t; do mine "$t" || continue; ` +
    `pid=\${f#${pr}/}; pid=\${pid%%/*}; c=$(cat ${pr}/"$pid"/comm 2>/dev/null) || continue; ` +
    `fl=$(sed -n 's/^flags:[[:space:]]*//p' ${pr}/"$pid"/fdinfo/"\${f##*/}" 2>/dev/null); ` +
    `if [ -z "$fl" ]; then [ -L "$f" ] || continue; fl=2; fi; ` +
    `if [ $(( 0$fl & 3 )) -eq 0 ]; then case $c in ${PROBES}) continue;; esac; fi; echo "open $t pid $pid ($c)"; done`;
}

/**
 * Shell: `daemon - NAME running` for each of `names` that runs, in the order given. One pgrep for all of them (a
 * pgrep per name cost ~8 ms each, 56 ms of every HA member's no-op read); procps pgrep -x matches the whole name
 * against the alternation.
 */
export function daemonsSh(names: string[]): string {
  return `pgrep -l -x ${q(names.join('|'))} 2>/dev/null | awk -v want=${q(names.join(' '))} '{ run[$2] = 1 } ` +
    `END { n = split(want, d, " "); for (i = 1; i <= n; i++) if (d[i] in run) print "daemon - " d[i] " running" }'`;
}

/**
 * Shell: what holds the disk $D or one of its partitions ($P<n>) on this host, one line each:
 * `mount DEV MOUNTPOINT`, `swap DEV`, `holder DEV NAME` (device-mapper, md, LVM: /sys/block/X/holders),
 * `open DEV pid N (COMM)` (any process with it open, but read-only probes such as blkid), `raw DEV RAWDEV`
 * (a raw binding), `daemon - NAME` (a cluster daemon runs). Needs resolveSh first.
 */
export const IN_USE_SH = [
  `mine() { case $1 in "$D"|"$P"[0-9]|"$P"[0-9][0-9]|"$P"[0-9][0-9][0-9]) return 0;; esac; return 1; }`,
  `while read -r s m rest; do case $s in /dev/*) r=$(readlink -f "$s"); if mine "$r"; then echo "mount $r $m"; fi;; esac; done < /proc/mounts`,
  `if [ -r /proc/swaps ]; then tail -n +2 /proc/swaps | while read -r s rest; do r=$(readlink -f "$s"); if mine "$r"; then echo "swap $r"; fi; done; fi`,
  `B=\${D##*/}; for h in /sys/class/block/"$B"/holders/* /sys/class/block/"$B"/"$B"*/holders/*; do [ -e "$h" ] || continue; d=\${h%/holders/*}; echo "holder /dev/\${d##*/} \${h##*/}"; done`,
  openScanSh('/proc'),
  `if command -v raw >/dev/null 2>&1; then raw -qa 2>/dev/null | sed -n 's|^\\(/dev/raw/raw[0-9]*\\):.*major \\([0-9]*\\), minor \\([0-9]*\\).*|\\1 \\2:\\3|p' | while read -r rw mm; do ` +
    `for p in "$D" "$P"[0-9]*; do [ -b "$p" ] || continue; set -- $(stat -L -c '%t %T' "$p"); [ "$(printf '%d:%d' "0x$1" "0x$2")" = "$mm" ] && echo "raw $p $rw"; done; done; fi`,
  daemonsSh(CLUSTER_DAEMONS),
  'true',
].join('\n');

export function parseInUse(out: string): string[] {
  return out.split('\n').map((l) => l.trim()).filter((l) => /^(mount|swap|holder|open|raw|daemon) /.test(l));
}

/** The in-use lines about one of `devs` (kernel paths), plus those about the whole host (a running cluster daemon). */
export function inUseOf(lines: string[], devs: string[] | null): string[] {
  return devs === null ? lines : lines.filter((l) => { const d = l.split(' ')[1]!; return d === '-' || devs.includes(d); });
}

/** Readable form of an in-use line: `mount /dev/x /mnt` → `/dev/x mounted on /mnt`. */
export function describeUse(l: string): string {
  const [kind, dev, ...rest] = l.split(' ');
  const r = rest.join(' ');
  switch (kind) {
    case 'mount': return `${dev} mounted on ${r}`;
    case 'swap': return `${dev} used as swap`;
    case 'holder': return `${dev} held by ${r} (device-mapper/md/LVM)`;
    case 'open': return `${dev} open by ${r}`;
    case 'raw': return `${dev} bound to ${r}`;
    default: return r;
  }
}

/** Peer sections for the disk modules: the member's own resolved disk and what holds it there. */
export function peerDiskReads(disk: string): Record<string, string> {
  const r = resolveSh(disk);
  return { dev: `${r}\nprintf '%s\\n' "$D"`, inuse: `${r}\n${IN_USE_SH}` };
}

/**
 * Why the other members forbid changing the shared disk: a member the run cannot see (left out by --limit,
 * unreachable, failed: it may have the disk mounted), or one that holds `devsOf(its disk)`.
 */
export function peerObjections(ctx: TaskCtx<unknown>, devsOf: ((dev: string) => string[]) | null): string[] {
  const out: string[] = [];
  for (const p of ctx.peers ?? []) {
    if (p.missing) { out.push(`${p.host} is not in this run: ${p.missing}`); continue; }
    const dev = p.res?.dev;
    if (!dev || dev.rc !== 0) { out.push(`${p.host} cannot show the shared disk: ${(dev?.err || dev?.out || 'no answer').trim()}`); continue; }
    const d = dev.out.trim();
    for (const l of inUseOf(parseInUse(p.res?.inuse?.out ?? ''), devsOf && devsOf(d))) out.push(`${p.host}: ${describeUse(l)}`);
  }
  return out;
}

/**
 * Every member, this one included: what holds the disk (`devsOf(member's device)`: the kernel paths that matter,
 * null: the disk and every partition), or who is missing. [] = the disk may be changed.
 */
export function diskObjections(ctx: TaskCtx<unknown>, ownInUse: string[], devsOf: ((dev: string) => string[]) | null, ownDev: string): string[] {
  return [...inUseOf(ownInUse, devsOf && devsOf(ownDev)).map((l) => `${ctx.host.name}: ${describeUse(l)}`), ...peerObjections(ctx, devsOf)];
}

/** The refusal text for objections: every member must be present and hold nothing, --force-disks or not. */
export function objectionText(what: string, objections: string[]): string {
  return `refusing to ${what}: the shared disk must be free on every member of ha.members, with every member in this run (--force-disks does not override this):\n${objections.map((o) => `  - ${o}`).join('\n')}`;
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

/**
 * State that a destructive step re-checks on the host at the moment of change: named read commands (run after
 * resolveSh). `digestOf` hashes what the plan read; `guardSh` recomputes the same hash on the host and aborts the
 * step when it differs, or when anything holds the disk there now.
 */
export type StateCmds = [name: string, command: string][];

const digestLine = (name: string, rc: number | string) => `\n@${name} rc=${rc}\n`;

export function digestOf(res: ProbeResult, cmds: StateCmds): string {
  const h = createHash('sha256');
  for (const [name] of cmds) h.update((res[name]?.out ?? '') + digestLine(name, res[name]?.rc ?? 'missing'));
  return h.digest('hex');
}

export function guardSh(disk: string, cmds: StateCmds, digest: string, inUse: { sh: string; what: string }): string {
  const shown = disk.replace(/["\\$`']/g, '');
  return [
    resolveSh(disk),
    // the apply step runs under set -e: the reads must all run, failing or not, exactly as the probe ran them
    `__cfd=$( set +e; { ${cmds.map(([name, c]) => `( ${c}\n) 2>/dev/null </dev/null; printf '${digestLine(name, '%s').replace(/\n/g, '\\n')}' $?;`).join(' ')} } | sha256sum | cut -d' ' -f1)`,
    `if [ "$__cfd" != ${q(digest)} ]; then echo "${shown} changed since clusterform read it (another run or another member?): nothing was written. Run again to see the new state." >&2; exit 1; fi`,
    `__cfu=$( set +e; ${inUse.sh}\n)`,
    `if [ -n "$__cfu" ]; then printf '%s\\n' "${inUse.what} is in use now, nothing was written:" "$__cfu" >&2; exit 1; fi`,
  ].join('\n');
}
