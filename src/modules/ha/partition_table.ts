// partition_table: this member sees the shared disk's table (every wanted partition in /proc/partitions) and it is the same disk.
import { z } from 'zod';
import { defineModule } from '../../engine/types.js';
import { compareLayout, partitionDevice, renderCurrentTable, type WantedLayout } from '../../disk/layout.js';
import { kernelName } from '../../parsers/raw.js';
import { cmd } from '../../util/shell.js';
import { formatSize } from '../../util/size.js';
import { diskReads, parseDisk, type DiskState } from './disk_layout.js';
import { errText, haArg, haLayout, haOf, procPartitions, verifyPartitionsSh } from '../support/disks.js';

const args = z
  .object({
    ...haArg,
    /** size the disk must have on every member (bytes); default: not checked */
    expect_bytes: z.number().int().positive().optional(),
    /** partition table id (`sfdisk --json` "id", e.g. 0x1234abcd or a GPT GUID); default: not checked */
    expect_id: z.string().regex(/^[0-9A-Za-z-]+$/).optional(),
  })
  .strict();
type Args = z.infer<typeof args>;

type State = DiskState & { kernelParts: Set<string> };

export const partitionTable = defineModule<Args, State>({
  name: 'partition_table',
  doc: 'This member sees the shared disk (same size and table) and the kernel lists every wanted partition.',
  args,
  read(ctx) {
    const r = diskReads(haOf(ctx).shared_disk);
    return { dev: r.dev!, size: r.size!, sfdisk: r.sfdisk!, partitions: r.partitions! };
  },
  parse: (res, ctx) => ({ ...parseDisk(res, haOf(ctx).shared_disk), kernelParts: procPartitions(res.partitions?.out ?? '') }),
  plan(st, ctx) {
    const host = ctx.host.name;
    if (st.missing) return { changes: [], refuse: `shared disk ${st.disk} not found on ${host}: ${st.missing}` };
    if (st.tableError) return { changes: [], refuse: `cannot read the partition table of ${st.dev} on ${host}: ${st.tableError}` };
    const who = `${host} sees ${st.disk} as ${st.dev} (${st.bytes} bytes${st.table?.id ? `, table id ${st.table.id}` : ''})`;
    if (ctx.args.expect_bytes !== undefined && st.bytes !== ctx.args.expect_bytes)
      return { changes: [], refuse: `not the same disk: ${who}, expected ${ctx.args.expect_bytes} bytes (${formatSize(ctx.args.expect_bytes)}). Check ha.shared_disk on this member.` };
    if (ctx.args.expect_id !== undefined && st.table && st.table.id?.toLowerCase() !== ctx.args.expect_id.toLowerCase())
      return { changes: [], refuse: `not the same disk: ${who}, expected table id ${ctx.args.expect_id}` };
    let w: WantedLayout;
    try {
      w = haLayout(haOf(ctx), st.bytes, st.sectorSize);
    } catch (e) {
      return { changes: [], refuse: `invalid HA disk layout: ${errText(e)}` };
    }
    const numbers = w.partitions.map((p) => p.number);
    const cmp = compareLayout(st.table, w, []);
    const reread = {
      kind: 'sh' as const,
      desc: `partx -u ${st.dev} (fallback partx -a), then check /proc/partitions`,
      script: `${cmd(['partx', '-u', st.dev])} 2>/dev/null || true\n${cmd(['partx', '-a', st.dev])} 2>/dev/null || true\n${cmd(['udevadm', 'settle'])} 2>/dev/null || true\n${verifyPartitionsSh(st.dev, numbers)}`,
    };
    if (cmp.status !== 'same') {
      if (ctx.dryRun)
        return {
          changes: [{ summary: `re-read the partition table of ${st.dev} after disk_layout writes it (${cmp.status === 'conflict' ? cmp.reason : 'no table yet'})`, actions: [reread] }],
        };
      return {
        changes: [],
        refuse: `not the disk disk_layout partitioned: ${who}, and its table is not the wanted one (${cmp.status === 'conflict' ? cmp.reason : 'no partition table'}).\n${renderCurrentTable(st.table)}Check that ha.shared_disk names the same shared disk on every member.`,
      };
    }
    const missing = numbers.filter((n) => !st.kernelParts.has(kernelName(partitionDevice(st.dev, n))));
    if (missing.length === 0) return { changes: [], notes: [`${st.dev}: kernel lists partitions ${numbers.join(', ')}`] };
    return {
      changes: [{
        summary: `make the kernel read the new table of ${st.dev}: partition(s) ${missing.join(', ')} missing from /proc/partitions`,
        actions: [reread],
      }],
    };
  },
});
