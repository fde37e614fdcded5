// disk_layout: the shared disk carries the wanted partition table (2 quorum partitions + one per service).
import { z } from 'zod';
import { defineModule, type Action, type Change, type Plan, type ProbeResult, type TaskCtx } from '../../engine/types.js';
import {
  compareLayout, partitionDevice, planRepartition, renderCurrentTable, renderRepartition, renderWantedTable, sfdiskScript,
  SFDISK_FLAGS, SFDISK_KEEP_FLAGS, type WantedLayout,
} from '../../disk/layout.js';
import { parseSfdiskJson, partitionNumber, type PartitionTable } from '../../parsers/sfdisk.js';
import { BLKID_EXIT_AMBIVALENT, BLKID_EXIT_NOTHING_FOUND, blkidSignatures, parseBlkidExport } from '../../parsers/blkid.js';
import { cmd, q } from '../../util/shell.js';
import { formatSize } from '../../util/size.js';
import {
  digestOf, DISK_SIZE_SH, diskObjections, errText, guardSh, haArg, haLayout, haOf, IN_USE_SH, objectionText, parseInUse, peerDiskReads, resolveSh, sideBySide, type StateCmds, verifyPartitionsSh,
} from '../support/disks.js';

const args = z
  .object({
    ...haArg,
    state: z.enum(['present', 'absent']).default('present'),
    /** with state absent: clear the disk's signatures, but only when the run has --wipe-disks */
    wipe: z.boolean().default(false),
  })
  .strict();
type Args = z.infer<typeof args>;

export interface DiskState {
  disk: string;
  /** resolved device, '' when missing */
  dev: string;
  missing?: string;
  bytes: number;
  sectorSize: number;
  table: PartitionTable | null;
  tableError?: string;
  /** sfdisk read a damaged GPT (e.g. the primary header is gone and it fell back to the backup) */
  tableDamage?: string;
  signatures: string[];
  /** non-zero bytes in the first DATA_MIB MiB of a disk without a partition table (-1: not read) */
  nonZero: number;
  inUse: string[];
  /** hash of the state the plan is based on, re-checked on the host before anything is written */
  digest: string;
}

const NO_TABLE = 'does not contain a recognized partition table';
/** How much of a disk without a partition table must be zero for it to count as blank. */
export const DATA_MIB = 16;

/** wipefs -n -p lines: `offset,uuid,label,type` → types. */
export function wipefsTypes(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(',').pop()!.trim())
    .filter(Boolean);
}

/**
 * The reads a change of the disk depends on, in the order they are hashed. `data` counts the non-zero bytes at the
 * start of a disk without a partition table (a file system at an offset, quorum data): such a disk is not blank.
 */
export const DISK_STATE: StateCmds = [
  ['sfdisk', 'sfdisk --json "$D"'],
  ['blkid', 'blkid -p -o export "$D"'],
  ['wipefs', 'wipefs -n -p "$D" 2>/dev/null || wipefs --no-act -p "$D"'],
  ['data', `if sfdisk -d "$D" >/dev/null 2>&1; then echo table; else printf 'nonzero %s\\n' "$({ dd if="$D" bs=1M count=${DATA_MIB} iflag=direct 2>/dev/null || head -c ${DATA_MIB * 1048576} "$D"; } | tr -d '\\000' | wc -c)"; fi`],
];

/** Parse the sections shared by disk_layout and partition_table. */
export function parseDisk(res: ProbeResult, disk: string): DiskState {
  const st: DiskState = { disk, dev: '', bytes: 0, sectorSize: 512, table: null, signatures: [], nonZero: -1, inUse: [], digest: '' };
  const dev = res.dev;
  if (!dev || dev.rc !== 0) {
    st.missing = (dev?.err || dev?.out || 'no answer').trim();
    return st;
  }
  st.dev = dev.out.trim();
  const [b, ss] = (res.size?.out ?? '').trim().split(/\s+/);
  st.bytes = Number(b) || 0;
  st.sectorSize = Number(ss) || 512;
  const sf = res.sfdisk;
  if (sf) {
    if (sf.rc === 0) {
      try {
        st.table = parseSfdiskJson(sf.out);
      } catch (e) {
        st.tableError = errText(e);
      }
      const damage = sf.err.split('\n').filter((l) => /GPT.*(corrupt|mismatch)|corrupt.*GPT/i.test(l));
      if (damage.length) st.tableDamage = damage.join(' ').trim();
    } else if (!sf.err.includes(NO_TABLE)) st.tableError = `sfdisk --json ${st.dev} failed (exit ${sf.rc}): ${sf.err.trim()}`;
  }
  const sigs = new Set<string>();
  const bl = res.blkid;
  if (bl) {
    if (bl.rc === 0) for (const s of blkidSignatures(parseBlkidExport(bl.out))) sigs.add(s);
    else if (bl.rc === BLKID_EXIT_AMBIVALENT) sigs.add('ambivalent (blkid found several signatures)');
    else if (bl.rc !== BLKID_EXIT_NOTHING_FOUND) sigs.add(`unknown (blkid exit ${bl.rc})`);
  }
  if (res.wipefs?.rc === 0) for (const s of wipefsTypes(res.wipefs.out)) sigs.add(s);
  // a partition table shows up as dos/gpt/PMBR; compareLayout ignores those when a table is present
  if (st.table) for (const s of [...sigs]) if (s.toLowerCase() === 'pmbr') sigs.delete(s);
  st.signatures = [...sigs];
  const nz = /^nonzero (\d+)/.exec(res.data?.out.trim() ?? '');
  st.nonZero = nz ? Number(nz[1]) : -1;
  st.inUse = parseInUse(res.inuse?.out ?? '');
  st.digest = digestOf(res, DISK_STATE);
  return st;
}

export function diskReads(disk: string): Record<string, string> {
  const r = resolveSh(disk);
  const reads: Record<string, string> = {
    dev: `${r}\nprintf '%s\\n' "$D"`,
    size: `${r}\n${DISK_SIZE_SH}`,
    inuse: `${r}\n${IN_USE_SH}`,
    partitions: 'cat /proc/partitions',
  };
  for (const [name, c] of DISK_STATE) reads[name] = `${r}\n${c}`;
  return reads;
}

function layoutFor(ctx: TaskCtx<unknown>, st: DiskState): WantedLayout {
  return haLayout(haOf(ctx), st.bytes, st.sectorSize);
}

/** First step of every change: the disk is still what the plan saw, and nothing holds it on this host. */
function guard(ctx: TaskCtx<unknown>, st: DiskState): Action {
  return {
    kind: 'sh',
    desc: `re-check on the host: ${st.dev}'s table, signatures and first ${DATA_MIB} MiB are as read (sha256 ${st.digest.slice(0, 12)}…) and nothing holds it`,
    script: guardSh(haOf(ctx).shared_disk, DISK_STATE, st.digest, { sh: IN_USE_SH, what: st.dev }),
  };
}

const wipeSh = (parts: string[]) => parts.map((p) => `if [ -b ${q(p)} ]; then wipefs -q -a ${q(p)}; fi`).join('\n');

/** Re-read the table on this host and check that the kernel lists every partition. */
function rereadAction(dev: string, numbers: number[]): Action {
  return {
    kind: 'sh',
    desc: `partx -u ${dev} (fallback blockdev --rereadpt), then check /proc/partitions`,
    script: `${cmd(['partx', '-u', dev])} 2>/dev/null || ${cmd(['partx', '-a', dev])} 2>/dev/null || ${cmd(['blockdev', '--rereadpt', dev])} || true\n${cmd(['udevadm', 'settle'])} 2>/dev/null || true\n${verifyPartitionsSh(dev, numbers)}`,
  };
}

/** The change that writes the wanted table on a blank disk, or (--force-disks) over a foreign one, wiping `wipeFirst`. */
export function writeTableActions(dev: string, w: WantedLayout, wipeFirst: string[] = []): Action[] {
  const actions: Action[] = [];
  if (wipeFirst.length) actions.push({ kind: 'sh', desc: `wipefs -a ${[...wipeFirst, dev].join(' ')}`, script: `${wipeSh(wipeFirst)}\n${cmd(['wipefs', '-q', '-a', dev])}` });
  actions.push(
    {
      kind: 'sh',
      desc: `sfdisk ${SFDISK_FLAGS.join(' ')} ${dev} <<< '${sfdiskScript(w).trim().replace(/\n+/g, '; ')}'`,
      script: `printf '%s' ${q(sfdiskScript(w))} | ${cmd(['sfdisk', '-q', ...SFDISK_FLAGS, dev])}`,
    },
    rereadAction(dev, w.partitions.map((p) => p.number)),
  );
  return actions;
}

function partitionsOf(st: DiskState): string[] {
  if (!st.table) return [];
  return st.table.partitions
    .filter((p) => !['5', 'f', '85'].includes(p.type.toLowerCase().replace(/^0x/, '')))
    .map((p) => partitionDevice(st.dev, partitionNumber(p.node)));
}

/** Zero the start of the disk too: `up` calls a disk blank only when its first DATA_MIB MiB are zero. */
function wipeDiskActions(st: DiskState): Action[] {
  const parts = partitionsOf(st);
  return [
    { kind: 'sh', desc: `wipefs -a ${[...parts, st.dev].join(' ')}`, script: `${wipeSh(parts)}\n${cmd(['wipefs', '-q', '-a', st.dev])}` },
    { kind: 'sh', desc: `zero the first ${DATA_MIB} MiB of ${st.dev}`, script: `${cmd(['dd', 'if=/dev/zero', `of=${st.dev}`, 'bs=1M', `count=${DATA_MIB}`, 'conv=fsync', 'status=none'])} 2>/dev/null || ${cmd(['dd', 'if=/dev/zero', `of=${st.dev}`, 'bs=1M', `count=${DATA_MIB}`, 'conv=fsync'])}` },
    { kind: 'sh', desc: `partx -d ${st.dev}`, script: `${cmd(['partx', '-d', st.dev])} 2>/dev/null || ${cmd(['blockdev', '--rereadpt', st.dev])} 2>/dev/null || true` },
  ];
}

/** What the disk is, seen from the layout: the same, blank, or something else (and why). */
function judge(st: DiskState, w: WantedLayout): ReturnType<typeof compareLayout> {
  if (st.tableDamage)
    return { status: 'conflict', reason: `the partition table is damaged (sfdisk: ${st.tableDamage})`, current: renderCurrentTable(st.table, st.signatures), wanted: renderWantedTable(w) };
  const cmp = compareLayout(st.table, w, st.signatures);
  if (cmp.status === 'blank' && st.nonZero > 0)
    return { status: 'conflict', reason: `no partition table or signature, but ${st.nonZero} non-zero bytes in its first ${DATA_MIB} MiB (data at an offset, e.g. a file system whose table was lost, or quorum data)`, current: renderCurrentTable(null, []), wanted: renderWantedTable(w) };
  return cmp;
}

/** --force-disks on a disk with the wanted label: only the partitions that change are wiped and rewritten. */
function forceKeeping(ctx: TaskCtx<Args>, st: DiskState, w: WantedLayout, reason: string): Plan {
  const r = planRepartition(st.table!, w);
  if (r.renumbered)
    return {
      changes: [],
      refuse: `refusing to repartition ${st.dev} even with --force-disks: ${r.renumbered}, so a service would find another service's data or lose its own. ` +
        `A dos table has four primary slots; its 5th partition needs an extended one in slot 4. Move the data off ${st.dev}, clear it (wipefs -a) and run up again, or use disk_label: gpt on a new disk.`,
    };
  const keep = r.rows.filter((x) => x.action === 'keep').map((x) => x.number);
  const destroyedParts = r.destroyed.map((n) => partitionDevice(st.dev, n)).filter((p) => partitionsOf(st).includes(p));
  const fresh = r.fresh.map((n) => partitionDevice(st.dev, n));
  const change: Change = {
    summary: `--force-disks: rewrite ${st.dev}'s ${w.label} table (${reason}): keep ${keep.length ? keep.join(', ') : 'nothing'}; ` +
      `destroy ${r.destroyed.length ? r.destroyed.join(', ') : 'nothing'}; create ${r.fresh.filter((n) => !r.destroyed.includes(n)).join(', ') || 'nothing'}`,
    diff: renderRepartition(r, st.sectorSize),
    actions: [
      guard(ctx, st),
      ...(destroyedParts.length ? [{ kind: 'sh' as const, desc: `wipefs -a ${destroyedParts.join(' ')}`, script: wipeSh(destroyedParts) }] : []),
      {
        kind: 'sh',
        desc: `sfdisk ${SFDISK_KEEP_FLAGS.join(' ')} ${st.dev} <<< '${r.script.trim().replace(/\n+/g, '; ')}'`,
        script: `printf '%s' ${q(r.script)} | ${cmd(['sfdisk', '-q', ...SFDISK_KEEP_FLAGS, st.dev])}`,
      },
      rereadAction(st.dev, w.partitions.map((p) => p.number)),
      ...(fresh.length ? [{ kind: 'sh' as const, desc: `wipefs -a ${fresh.join(' ')} (new or replaced partitions only)`, script: wipeSh(fresh) }] : []),
    ],
  };
  return { changes: [change], warnings: r.destroyed.length ? [`--force-disks: the data of partition(s) ${r.destroyed.join(', ')} of ${st.dev} is destroyed; ${keep.join(', ') || 'none'} kept`] : [] };
}

function planPresent(st: DiskState, ctx: TaskCtx<Args>): Plan {
  const host = ctx.host.name;
  let w: WantedLayout;
  try {
    w = layoutFor(ctx, st);
  } catch (e) {
    return { changes: [], refuse: `invalid HA disk layout: ${errText(e)}` };
  }
  if (st.bytes > 0 && st.bytes < w.minDiskBytes)
    return { changes: [], refuse: `shared disk ${st.dev} on ${host} is too small: ${st.bytes} bytes (${formatSize(st.bytes)}), the layout needs at least ${w.minDiskBytes} bytes (${formatSize(w.minDiskBytes)}). Use a bigger disk or smaller sizes in ha.quorum/ha.services.` };
  const cmp = judge(st, w);
  if (cmp.status === 'same') return { changes: [], notes: [`${st.dev}: partition table as wanted (${w.partitions.length} entries)`] };
  const objections = diskObjections(ctx, st.inUse, null, st.dev);
  if (objections.length) return { changes: [], refuse: objectionText(`write the partition table of ${st.dev}`, objections) };
  const sfdiskLine = `write a ${w.label} partition table on ${st.dev}: ${w.deviceNumbers.length} partitions (quorum ${w.deviceNumbers.slice(0, 2).join(', ')}, services ${w.deviceNumbers.slice(2).join(', ') || 'none'})`;
  if (cmp.status === 'blank') return { changes: [{ summary: sfdiskLine, diff: renderWantedTable(w), actions: [guard(ctx, st), ...writeTableActions(st.dev, w)] }] };
  const both = sideBySide(`current (${st.dev}):`, cmp.current, 'wanted:', cmp.wanted);
  if (!ctx.flags.forceDisks)
    return {
      changes: [],
      refuse: `refusing to repartition ${st.dev} on ${host}: ${cmp.reason}. The disk may hold data.\n${both}\nIf this is the right disk and its data may be destroyed, run again with --force-disks (or clear it yourself: wipefs -a).`,
    };
  if (st.table && !st.tableDamage && st.table.label === w.label && st.table.sectorSize === w.sectorSize && !st.signatures.some((s) => !['dos', 'gpt', 'pmbr'].includes(s.toLowerCase())))
    return forceKeeping(ctx, st, w, cmp.reason);
  return {
    changes: [{
      summary: `--force-disks: wipe ${st.dev} (${cmp.reason}) and ${sfdiskLine}`,
      diff: both + '\n',
      actions: [guard(ctx, st), ...writeTableActions(st.dev, w, partitionsOf(st))],
    }],
    warnings: [`--force-disks: every partition, signature and the table on ${st.dev} are destroyed (${st.signatures.join(', ') || renderCurrentTable(st.table).split('\n')[0]})`],
  };
}

/** down --wipe-disks: only a disk `up` would call its own (the inventory's layout) is wiped; a blank one is left. */
function planAbsent(st: DiskState, ctx: TaskCtx<Args>): Plan {
  if (!ctx.args.wipe || ctx.flags.wipeDisks !== true) return { changes: [], notes: [`partitions and data kept on ${st.dev} (pass --wipe-disks to clear the disk)`] };
  let w: WantedLayout;
  try {
    w = layoutFor(ctx, st);
  } catch (e) {
    return { changes: [], refuse: `invalid HA disk layout: ${errText(e)}` };
  }
  const cmp = judge(st, w);
  if (cmp.status === 'blank') return { changes: [], notes: [`${st.dev} is already blank`] };
  if (cmp.status === 'conflict')
    return { changes: [], refuse: `refusing to wipe ${st.dev}: it does not hold this inventory's layout (${cmp.reason}), so it is not clusterform's to wipe.\n${sideBySide(`current (${st.dev}):`, cmp.current, 'this inventory:', cmp.wanted)}` };
  const objections = diskObjections(ctx, st.inUse, null, st.dev);
  if (objections.length) return { changes: [], refuse: objectionText(`wipe ${st.dev}`, objections) };
  return {
    changes: [{
      summary: `wipe ${st.dev}: signatures of ${partitionsOf(st).length} partition(s), the partition table and the first ${DATA_MIB} MiB`,
      actions: [guard(ctx, st), ...wipeDiskActions(st)],
    }],
  };
}

export const diskLayout = defineModule<Args, DiskState>({
  name: 'disk_layout',
  doc: 'The shared disk holds the HA partition layout: two quorum partitions and one per service (run it once).',
  args,
  read: (ctx) => diskReads(haOf(ctx).shared_disk),
  parse: (res, ctx) => parseDisk(res, haOf(ctx).shared_disk),
  peers: (ctx) => peerDiskReads(haOf(ctx).shared_disk),
  peersObjectOnly: true,
  plan(st, ctx) {
    if (st.missing) return { changes: [], refuse: `shared disk ${st.disk} not found on ${ctx.host.name}: ${st.missing}. Attach the disk or fix ha.shared_disk.` };
    if (st.tableError) return { changes: [], refuse: `cannot read the partition table of ${st.dev}: ${st.tableError}` };
    return ctx.args.state === 'absent' ? planAbsent(st, ctx) : planPresent(st, ctx);
  },
});
