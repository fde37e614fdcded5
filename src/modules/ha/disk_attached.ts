// disk_attached: every member has the shared disk, big enough for the layout — checked on all members before the
// one member that partitions it does anything (read-only; it never changes the disk).
import { z } from 'zod';
import { defineModule } from '../../engine/types.js';
import { formatSize } from '../../util/size.js';
import { diskReads, parseDisk, type DiskState } from './disk_layout.js';
import { haArg, haLayout, haOf, resolveSh } from '../support/disks.js';

const args = z.object({ ...haArg }).strict();

/** What identifies a disk across hosts: its size, the serial / WWN / loop backing file the kernel reports, and the
 *  checksum of its first MiB (the partition table area: the same shared disk shows the same bytes everywhere). */
const IDENT_SH = [
  'B=/sys/class/block/${D##*/}',
  'for f in "$B/size" "$B/device/wwid" "$B/wwid" "$B/serial" "$B/device/serial" "$B/loop/backing_file"; do [ -r "$f" ] && printf \'%s=%s\\n\' "${f#$B/}" "$(cat "$f")"; done',
  // O_DIRECT: a member's page cache may still hold what the disk said before another member wrote it
  'printf \'head=%s\\n\' "$({ dd if="$D" bs=1M count=1 iflag=direct 2>/dev/null || head -c 1048576 "$D"; } | sha256sum | cut -d\' \' -f1)"',
].join('\n');

type State = DiskState & { ident: string };

export const diskAttached = defineModule<z.infer<typeof args>, State>({
  name: 'disk_attached',
  doc: 'The shared disk is attached to this member and big enough for the layout (a read-only check).',
  args,
  read: (ctx) => {
    const disk = haOf(ctx).shared_disk;
    const r = diskReads(disk);
    return { dev: r.dev!, size: r.size!, ident: `${resolveSh(disk)}\n${IDENT_SH}` };
  },
  parse: (res, ctx) => ({ ...parseDisk(res, haOf(ctx).shared_disk), ident: (res.ident?.out ?? '').trim().split('\n').join(', ') }),
  plan(st, ctx) {
    const host = ctx.host.name;
    if (st.missing) return { changes: [], refuse: `shared disk ${st.disk} not found on ${host}: ${st.missing}. Attach the disk or fix ha.shared_disk; nothing was written on any member.` };
    const w = haLayout(haOf(ctx), st.bytes, st.sectorSize);
    if (st.bytes > 0 && st.bytes < w.minDiskBytes)
      return { changes: [], refuse: `shared disk ${st.dev} on ${host} is too small: ${formatSize(st.bytes)}, the layout needs at least ${formatSize(w.minDiskBytes)}; nothing was written.` };
    // every member must see the same disk under this path: compared across the members by the engine
    return { changes: [], notes: [`${st.disk} → ${st.dev}, ${formatSize(st.bytes)}`], agree: { what: `the identity of ${st.disk}`, value: st.ident } };
  },
});
