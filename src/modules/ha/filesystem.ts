// filesystem: an ext3 file system on a service's partition of the shared disk (never over something else).
import { z } from 'zod';
import { defineModule, type Action } from '../../engine/types.js';
import { partitionDevice } from '../../disk/layout.js';
import { BLKID_EXIT_AMBIVALENT, BLKID_EXIT_NOTHING_FOUND, parseBlkidExport } from '../../parsers/blkid.js';
import { cmd } from '../../util/shell.js';
import { digestOf, diskObjections, errText, guardSh, haArg, haOf, IN_USE_SH, objectionText, parseInUse, peerDiskReads, resolveSh, servicePartition, type StateCmds } from '../support/disks.js';

/** What mkfs depends on: the signatures blkid finds on partition n (re-checked on the host right before mkfs). */
const partState = (n: number): StateCmds => [['blkid', `[ -b "\${P}${n}" ] || exit 0\nblkid -p -o export "\${P}${n}"`]];
/** The partition and the whole disk: what must not be held anywhere while mkfs runs on partition n. */
const devsOf = (n: number) => (d: string) => [partitionDevice(d, n), d];

const args = z
  .object({
    ...haArg,
    /** the ha.services entry whose partition gets the file system */
    service: z.string().min(1),
    label: z.string().regex(/^[A-Za-z0-9._-]{1,16}$/, 'ext3 label: up to 16 letters, digits, . _ -').optional(),
  })
  .strict();
type Args = z.infer<typeof args>;

interface State {
  dev: string;
  part: string;
  missing?: string;
  exists: boolean;
  /** what blkid found: TYPE / PTTYPE, [] = nothing */
  found: string[];
  labelNow?: string;
  error?: string;
  /** every in-use line on this host (the plan keeps those about this partition and the whole disk) */
  inUse: string[];
  digest: string;
}

export const filesystem = defineModule<Args, State>({
  name: 'filesystem',
  doc: "An ext3 file system on a service's partition of the shared disk; refuses to replace anything else.",
  args,
  read(ctx) {
    const ha = haOf(ctx);
    const n = servicePartition(ha, ctx.args.service);
    const r = resolveSh(ha.shared_disk);
    return {
      dev: `${r}\nprintf '%s\\n' "$D"\nif [ -b "\${P}${n}" ]; then echo yes; else echo no; fi`,
      blkid: `${r}\n${partState(n)[0]![1]}`,
      inuse: `${r}\n${IN_USE_SH}`,
    };
  },
  parse(res, ctx) {
    const ha = haOf(ctx);
    const n = servicePartition(ha, ctx.args.service);
    const st: State = { dev: '', part: '', exists: false, found: [], inUse: [], digest: digestOf(res, partState(n)) };
    if (!res.dev || res.dev.rc !== 0) {
      st.missing = (res.dev?.err || 'no answer').trim();
      return st;
    }
    const [dev, yes] = res.dev.out.trim().split('\n');
    st.dev = dev!;
    st.part = partitionDevice(st.dev, n);
    st.exists = yes === 'yes';
    const bl = res.blkid;
    if (st.exists && bl) {
      if (bl.rc === 0) {
        try {
          const p = parseBlkidExport(bl.out);
          if (p.TYPE) st.found.push(p.TYPE);
          if (p.PTTYPE) st.found.push(`partition table (${p.PTTYPE})`);
          if (p.LABEL) st.labelNow = p.LABEL;
        } catch (e) {
          st.error = errText(e);
        }
      } else if (bl.rc === BLKID_EXIT_AMBIVALENT) st.found.push('several signatures (blkid: ambivalent result)');
      else if (bl.rc !== BLKID_EXIT_NOTHING_FOUND) st.error = `blkid -p ${st.part} failed (exit ${bl.rc}): ${bl.err.trim()}`;
    }
    st.inUse = parseInUse(res.inuse?.out ?? '');
    return st;
  },
  peers: (ctx) => peerDiskReads(haOf(ctx).shared_disk),
  peersObjectOnly: true,
  plan(st, ctx) {
    const host = ctx.host.name;
    if (st.missing) return { changes: [], refuse: `shared disk not found on ${host}: ${st.missing}` };
    if (st.error) return { changes: [], refuse: st.error };
    const n = servicePartition(haOf(ctx), ctx.args.service);
    const guard: Action = {
      kind: 'sh',
      desc: `re-check on the host: ${st.part} holds what was read (sha256 ${st.digest.slice(0, 12)}…) and nothing holds it or ${st.dev}`,
      script: guardSh(haOf(ctx).shared_disk, partState(n), st.digest, {
        sh: `{ ${IN_USE_SH}\n} | awk -v a="\${P}${n}" -v b="$D" '$2 == a || $2 == b || $2 == "-"'`,
        what: st.part,
      }),
    };
    const mkfs: Action = {
      kind: 'sh',
      desc: `mkfs -t ext3 -q${ctx.args.label ? ` -L ${ctx.args.label}` : ''} ${st.part}`,
      script: cmd(['mkfs', '-t', 'ext3', '-q', ...(ctx.args.label ? ['-L', ctx.args.label] : []), st.part]),
    };
    if (!st.exists) {
      if (ctx.dryRun) return { changes: [{ summary: `create ext3 on ${st.part} (after partitioning: the partition does not exist yet)`, actions: [mkfs] }] };
      return { changes: [], refuse: `partition ${st.part} for service ${ctx.args.service} does not exist on ${host}; disk_layout/partition_table must run first` };
    }
    if (st.found.length === 1 && st.found[0] === 'ext3') {
      const notes = [`${st.part}: ext3 present, left as is`];
      if (ctx.args.label && st.labelNow !== ctx.args.label) notes.push(`label is ${JSON.stringify(st.labelNow ?? '')}, wanted ${ctx.args.label} (not changed)`);
      return { changes: [], notes };
    }
    const objections = diskObjections(ctx, st.inUse, devsOf(n), st.dev);
    if (objections.length) return { changes: [], refuse: objectionText(`create a file system on ${st.part} (it holds ${st.found.join(', ') || 'no file system'})`, objections) };
    if (st.found.length === 0) return { changes: [{ summary: `create ext3 on ${st.part} (service ${ctx.args.service})`, actions: [guard, mkfs] }] };
    if (!ctx.flags.forceDisks)
      return { changes: [], refuse: `${st.part} (service ${ctx.args.service}) holds ${st.found.join(', ')}, wanted ext3: refusing to overwrite it. If its data may be destroyed, run again with --force-disks.` };
    return {
      changes: [{ summary: `--force-disks: replace ${st.found.join(', ')} on ${st.part} by ext3`, actions: [guard, { kind: 'sh', desc: `wipefs -a ${st.part}`, script: cmd(['wipefs', '-q', '-a', st.part]) }, mkfs] }],
      warnings: [`--force-disks: ${st.found.join(', ')} on ${st.part} destroyed`],
    };
  },
});
