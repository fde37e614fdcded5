// disk_layout: the shared disk carries the wanted partition table (2 quorum partitions + one per service).
import { z } from 'zod';
import { defineModule, type Action, type ProbeResult, type TaskCtx } from '../engine/types.js';
import { compareLayout, partitionDevice, renderCurrentTable, renderWantedTable, sfdiskScript, SFDISK_FLAGS, type WantedLayout } from '../disk/layout.js';
import { parseSfdiskJson, partitionNumber, type PartitionTable } from '../parsers/sfdisk.js';
import { BLKID_EXIT_AMBIVALENT, BLKID_EXIT_NOTHING_FOUND, blkidSignatures, parseBlkidExport } from '../parsers/blkid.js';
import { cmd, q } from '../util/shell.js';
import { formatSize } from '../util/size.js';
import { errText, haLayout, haOf, IN_USE_SH, parseInUse, resolveSh, sideBySide, verifyPartitionsSh } from './ha-common.js';

const args = z
  .object({
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
  signatures: string[];
  inUse: string[];
}

const NO_TABLE = 'does not contain a recognized partition table';

/** wipefs -n -p lines: `offset,uuid,label,type` → types. */
export function wipefsTypes(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(',').pop()!.trim())
    .filter(Boolean);
}

/** Parse the sections shared by disk_layout and partition_table. */
export function parseDisk(res: ProbeResult, disk: string): DiskState {
  const st: DiskState = { disk, dev: '', bytes: 0, sectorSize: 512, table: null, signatures: [], inUse: [] };
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
  st.inUse = parseInUse(res.inuse?.out ?? '');
  return st;
}

export function diskReads(disk: string): Record<string, string> {
  const r = resolveSh(disk);
  return {
    dev: `${r}\nprintf '%s\\n' "$D"`,
    size: `${r}\nb=$(blockdev --getsize64 "$D" 2>/dev/null) || b=$(( $(cat /sys/class/block/"\${D##*/}"/size) * 512 ))\nss=$(blockdev --getss "$D" 2>/dev/null) || ss=512\necho "$b $ss"`,
    sfdisk: `${r}\nsfdisk --json "$D"`,
    blkid: `${r}\nblkid -p -o export "$D"`,
    wipefs: `${r}\nwipefs -n -p "$D" 2>/dev/null || wipefs --no-act -p "$D"`,
    inuse: `${r}\n${IN_USE_SH}`,
    partitions: 'cat /proc/partitions',
  };
}

function layoutFor(ctx: TaskCtx<unknown>, st: DiskState): WantedLayout {
  return haLayout(haOf(ctx), st.bytes, st.sectorSize);
}

/** The change that writes the wanted table on a disk compareLayout called blank (or after wiping it). */
export function writeTableActions(dev: string, w: WantedLayout, wipeFirst: string[] = []): Action[] {
  const actions: Action[] = [];
  if (wipeFirst.length)
    actions.push({
      kind: 'sh',
      desc: `wipefs -a ${[...wipeFirst, dev].join(' ')}`,
      script: [...wipeFirst.map((p) => `if [ -b ${q(p)} ]; then wipefs -q -a ${q(p)}; fi`), cmd(['wipefs', '-q', '-a', dev])].join('\n'),
    });
  actions.push(
    {
      kind: 'sh',
      desc: `sfdisk ${SFDISK_FLAGS.join(' ')} ${dev} <<< '${sfdiskScript(w).trim().replace(/\n+/g, '; ')}'`,
      script: `printf '%s' ${q(sfdiskScript(w))} | ${cmd(['sfdisk', '-q', ...SFDISK_FLAGS, dev])}`,
    },
    {
      kind: 'sh',
      desc: `partx -u ${dev} (fallback blockdev --rereadpt), then check /proc/partitions`,
      script: `${cmd(['partx', '-u', dev])} 2>/dev/null || ${cmd(['partx', '-a', dev])} 2>/dev/null || ${cmd(['blockdev', '--rereadpt', dev])} || true\n${cmd(['udevadm', 'settle'])} 2>/dev/null || true\n${verifyPartitionsSh(dev, w.partitions.map((p) => p.number))}`,
    },
  );
  return actions;
}

function partitionsOf(st: DiskState): string[] {
  if (!st.table) return [];
  return st.table.partitions
    .filter((p) => !['5', 'f', '85'].includes(p.type.toLowerCase().replace(/^0x/, '')))
    .map((p) => partitionDevice(st.dev, partitionNumber(p.node)));
}

export const diskLayout = defineModule<Args, DiskState>({
  name: 'disk_layout',
  doc: 'The shared disk holds the HA partition layout: two quorum partitions and one per service (run it once).',
  args,
  read: (ctx) => diskReads(haOf(ctx).shared_disk),
  parse: (res, ctx) => parseDisk(res, haOf(ctx).shared_disk),
  plan(st, ctx) {
    const host = ctx.host.name;
    if (st.missing) return { changes: [], refuse: `shared disk ${st.disk} not found on ${host}: ${st.missing}. Attach the disk or fix ha.shared_disk.` };
    if (st.tableError) return { changes: [], refuse: `cannot read the partition table of ${st.dev}: ${st.tableError}` };
    const busy = st.inUse.length ? `${st.dev} is in use on ${host} (${st.inUse.join('; ')})` : '';

    if (ctx.args.state === 'absent') {
      if (!ctx.args.wipe || ctx.flags.wipeDisks !== true) return { changes: [], notes: [`partitions and data kept on ${st.dev} (pass --wipe-disks to clear the disk)`] };
      if (!st.table && st.signatures.length === 0) return { changes: [], notes: [`${st.dev} is already blank`] };
      if (busy) return { changes: [], refuse: `${busy}: refusing to wipe it. Stop the cluster and unmount first.` };
      const parts = partitionsOf(st);
      return {
        changes: [{
          summary: `wipe ${st.dev}: signatures of ${parts.length} partition(s) and the partition table`,
          actions: [
            { kind: 'sh', desc: `wipefs -a ${[...parts, st.dev].join(' ')}`, script: [...parts.map((p) => `if [ -b ${q(p)} ]; then wipefs -q -a ${q(p)}; fi`), cmd(['wipefs', '-q', '-a', st.dev])].join('\n') },
            { kind: 'sh', desc: `partx -d ${st.dev}`, script: `${cmd(['partx', '-d', st.dev])} 2>/dev/null || ${cmd(['blockdev', '--rereadpt', st.dev])} 2>/dev/null || true` },
          ],
        }],
      };
    }

    let w: WantedLayout;
    try {
      w = layoutFor(ctx, st);
    } catch (e) {
      return { changes: [], refuse: `invalid HA disk layout: ${errText(e)}` };
    }
    if (st.bytes > 0 && st.bytes < w.minDiskBytes)
      return { changes: [], refuse: `shared disk ${st.dev} on ${host} is too small: ${st.bytes} bytes (${formatSize(st.bytes)}), the layout needs at least ${w.minDiskBytes} bytes (${formatSize(w.minDiskBytes)}). Use a bigger disk or smaller sizes in ha.quorum/ha.services.` };
    const cmp = compareLayout(st.table, w, st.signatures);
    if (cmp.status === 'same') return { changes: [], notes: [`${st.dev}: partition table as wanted (${w.partitions.length} entries)`] };
    if (busy) return { changes: [], refuse: `${busy}; its partition table is not the wanted one and it cannot be changed while in use (not even with --force-disks).` };
    const sfdiskLine = `write a ${w.label} partition table on ${st.dev}: ${w.deviceNumbers.length} partitions (quorum ${w.deviceNumbers.slice(0, 2).join(', ')}, services ${w.deviceNumbers.slice(2).join(', ') || 'none'})`;
    if (cmp.status === 'blank') return { changes: [{ summary: sfdiskLine, diff: renderWantedTable(w), actions: writeTableActions(st.dev, w) }] };
    const both = sideBySide(`current (${st.dev}):`, cmp.current, 'wanted:', cmp.wanted);
    if (!ctx.flags.forceDisks)
      return {
        changes: [],
        refuse: `refusing to repartition ${st.dev} on ${host}: ${cmp.reason}. The disk may hold data.\n${both}\nIf this is the right disk and its data may be destroyed, run again with --force-disks (or clear it yourself: wipefs -a).`,
      };
    return {
      changes: [{
        summary: `--force-disks: wipe ${st.dev} (${cmp.reason}) and ${sfdiskLine}`,
        diff: both + '\n',
        actions: writeTableActions(st.dev, w, partitionsOf(st)),
      }],
      warnings: [`--force-disks: existing signatures and table on ${st.dev} are destroyed (${st.signatures.join(', ') || renderCurrentTable(st.table).split('\n')[0]})`],
    };
  },
});
