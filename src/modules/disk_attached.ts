// disk_attached: every member has the shared disk, big enough for the layout — checked on all members before the
// one member that partitions it does anything (read-only; it never changes the disk).
import { z } from 'zod';
import { defineModule } from '../engine/types.js';
import { formatSize } from '../util/size.js';
import { diskReads, parseDisk, type DiskState } from './disk_layout.js';
import { haLayout, haOf } from './ha-common.js';

const args = z.object({}).strict();

export const diskAttached = defineModule<z.infer<typeof args>, DiskState>({
  name: 'disk_attached',
  doc: 'The shared disk is attached to this member and big enough for the layout (a read-only check).',
  args,
  read: (ctx) => {
    const r = diskReads(haOf(ctx).shared_disk);
    return { dev: r.dev!, size: r.size! };
  },
  parse: (res, ctx) => parseDisk(res, haOf(ctx).shared_disk),
  plan(st, ctx) {
    const host = ctx.host.name;
    if (st.missing) return { changes: [], refuse: `shared disk ${st.disk} not found on ${host}: ${st.missing}. Attach the disk or fix ha.shared_disk; nothing was written on any member.` };
    const w = haLayout(haOf(ctx), st.bytes, st.sectorSize);
    if (st.bytes > 0 && st.bytes < w.minDiskBytes)
      return { changes: [], refuse: `shared disk ${st.dev} on ${host} is too small: ${formatSize(st.bytes)}, the layout needs at least ${formatSize(w.minDiskBytes)}; nothing was written.` };
    return { changes: [], notes: [`${st.disk} → ${st.dev}, ${formatSize(st.bytes)}`] };
  },
});
