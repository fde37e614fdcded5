// sbd (format: pacemaker, fencing: sbd): storage-based fencing on the primary quorum partition of the shared disk.
//   sbd_device (a once-task): `sbd create` writes the SBD header with the inventory's watchdog and msgwait timeouts,
//     once: never over another signature (without --force-disks), never while any member holds the disk or runs the
//     cluster (the disk-safety rule of src/modules/support/disks.ts), and never while a member is out of the run.
//   sbd_config (every member): /etc/default/sbd (/etc/sysconfig/sbd on Red Hat) naming the partition by its stable
//     path and the host's hardware watchdog. It refuses a host without /dev/watchdog: clusterform never loads softdog
//     (on a lab namespace host, which shares the kernel of the machine it runs on, a watchdog would reset that machine).
import { z } from 'zod';
import { defineModule, type Action, type Plan, type ProbeResult, type TaskCtx } from '../../engine/types.js';
import { partitionDevice } from '../../disk/layout.js';
import { BLKID_EXIT_NOTHING_FOUND, parseBlkidExport } from '../../parsers/blkid.js';
import { timeoutsOf } from '../../inventory/ha-pacemaker.js';
import { cmd } from '../../util/shell.js';
import { MANAGED, parseFileSections, planFile, readFileSections, type FileState } from '../support/files.js';
import { deviceNumbers, diskObjections, errText, type Ha, haArg, haOf, IN_USE_SH, objectionText, parseInUse, peerDiskReads, resolveSh, stablePartitionPath } from '../support/disks.js';
import { sec } from '../support/sections.js';

/** The SBD partition: the primary quorum partition (the first of the layout). */
export function sbdPartition(ha: Ha): number {
  return deviceNumbers(ha)[0]!;
}
/** Its path, the same on every member (by-id when the inventory names the disk so). */
export function sbdDevice(ha: Ha): string {
  return stablePartitionPath(ha.shared_disk, sbdPartition(ha));
}

// ---- sbd_device ----

export interface SbdHeader { watchdog: number; msgwait: number }

/** `sbd -d DEV dump`: the header's timeouts, or null when there is no SBD header. */
export function parseSbdDump(out: string, rc: number): SbdHeader | null {
  if (rc !== 0 || !/==Header on disk/.test(out)) return null;
  const num = (what: string) => Number(new RegExp(`Timeout \\(${what}\\)\\s*:\\s*(\\d+)`).exec(out)?.[1] ?? NaN);
  return { watchdog: num('watchdog'), msgwait: num('msgwait') };
}

const devArgs = z.object({ ...haArg }).strict();
type DevArgs = z.infer<typeof devArgs>;

interface DevState { dev: string; missing?: string; exists: boolean; header: SbdHeader | null; found: string[]; inUse: string[] }

function parseDev(res: ProbeResult): DevState {
  const st: DevState = { dev: '', exists: false, header: null, found: [], inUse: [] };
  const d = sec(res, 'dev');
  if (d.rc !== 0) { st.missing = (d.err || 'no answer').trim(); return st; }
  const [dev, yes] = d.out.trim().split('\n');
  st.dev = dev!;
  st.exists = yes === 'yes';
  st.header = parseSbdDump(sec(res, 'dump').out, sec(res, 'dump').rc);
  const bl = sec(res, 'blkid');
  if (bl.rc === 0) {
    try { const p = parseBlkidExport(bl.out); if (p.TYPE) st.found.push(p.TYPE); if (p.PTTYPE) st.found.push(`partition table (${p.PTTYPE})`); } catch (e) { st.found.push(`unreadable blkid output: ${errText(e)}`); }
  } else if (bl.rc !== BLKID_EXIT_NOTHING_FOUND && st.exists) st.found.push(`blkid exit ${bl.rc}`);
  st.inUse = parseInUse(sec(res, 'inuse').out);
  return st;
}

function devPlan(st: DevState, ctx: TaskCtx<DevArgs>): Plan {
  const ha = haOf(ctx);
  const n = sbdPartition(ha);
  const want = timeoutsOf(ha);
  if (st.missing) return { changes: [], refuse: `shared disk not found on ${ctx.host.name}: ${st.missing}` };
  const part = partitionDevice(st.dev, n);
  const create: Action = { kind: 'sh', desc: `sbd -d ${part} -1 ${want.watchdog} -4 ${want.msgwait} create`, script: cmd(['sbd', '-d', part, '-1', String(want.watchdog), '-4', String(want.msgwait), 'create']) };
  if (!st.exists) {
    if (ctx.dryRun) return { changes: [{ summary: `create the SBD header on ${part} (after partitioning)`, actions: [create] }] };
    return { changes: [], refuse: `the SBD partition ${part} does not exist on ${ctx.host.name}; disk_layout/partition_table must run first` };
  }
  const same = st.header && st.header.watchdog === want.watchdog && st.header.msgwait === want.msgwait;
  if (same) return { changes: [], notes: [`SBD header on ${part}: watchdog ${want.watchdog} s, msgwait ${want.msgwait} s`] };
  const objections = diskObjections(ctx, st.inUse, (d) => [partitionDevice(d, n), d], st.dev);
  if (st.header) {
    const msg = `the SBD header on ${part} has watchdog ${st.header.watchdog} s, msgwait ${st.header.msgwait} s; the inventory says ${want.watchdog} s, ${want.msgwait} s`;
    if (objections.length) return { changes: [], warnings: [`${msg}: it is re-created only while the cluster is stopped on every member (clusterform down, then up)`] };
    return { changes: [{ summary: `re-create the SBD header on ${part} (${msg})`, actions: [create] }] };
  }
  if (objections.length) return { changes: [], refuse: objectionText(`create the SBD header on ${part}`, objections) };
  if (st.found.length && !ctx.flags.forceDisks) return { changes: [], refuse: `${part} (the SBD partition) holds ${st.found.join(', ')}: refusing to overwrite it. If its data may be destroyed, run again with --force-disks.` };
  return { changes: [{ summary: `create the SBD header on ${part} (watchdog ${want.watchdog} s, msgwait ${want.msgwait} s)`, actions: [create] }] };
}

export const sbdDeviceModule = defineModule<DevArgs, DevState>({
  name: 'sbd_device',
  doc: 'fencing: sbd: the SBD header on the primary quorum partition, written once (never over data, never while a member holds the disk).',
  args: devArgs,
  read(ctx) {
    const ha = haOf(ctx);
    const n = sbdPartition(ha);
    const r = resolveSh(ha.shared_disk);
    return {
      dev: `${r}\nprintf '%s\\n' "$D"\nif [ -b "\${P}${n}" ]; then echo yes; else echo no; fi`,
      dump: `${r}\n[ -b "\${P}${n}" ] || exit 1\nsbd -d "\${P}${n}" dump`,
      blkid: `${r}\n[ -b "\${P}${n}" ] || exit 2\nblkid -p -o export "\${P}${n}"`,
      inuse: `${r}\n${IN_USE_SH}`,
    };
  },
  parse: parseDev,
  peers: (ctx) => peerDiskReads(haOf(ctx).shared_disk),
  peersObjectOnly: true,
  plan: devPlan,
});

// ---- sbd_config ----

const cfgArgs = z.object({ ...haArg, state: z.enum(['present', 'absent']).default('present') }).strict();
type CfgArgs = z.infer<typeof cfgArgs>;

interface CfgState { file: FileState; watchdog: boolean }

export const sbdConfigPath = (family: string): string => (family === 'redhat' ? '/etc/sysconfig/sbd' : '/etc/default/sbd');

/** The sbd daemon's settings: the device by its stable path, the hardware watchdog, pacemaker integration. */
export function sbdConfigText(ha: Ha): string {
  return [
    MANAGED,
    `SBD_DEVICE=${sbdDevice(ha)}`,
    'SBD_PACEMAKER=yes',
    'SBD_STARTMODE=always',
    'SBD_DELAY_START=no',
    'SBD_WATCHDOG_DEV=/dev/watchdog',
    `SBD_WATCHDOG_TIMEOUT=${timeoutsOf(ha).watchdog}`,
    'SBD_TIMEOUT_ACTION=flush,reboot',
    'SBD_MOVE_TO_ROOT_CGROUP=auto',
    'SBD_OPTS=',
    '',
  ].join('\n');
}

function cfgPlan(st: CfgState, ctx: TaskCtx<CfgArgs>): Plan {
  const path = sbdConfigPath(ctx.facts.os.family);
  if (ctx.args.state === 'absent') {
    if (!st.file.exists || !st.file.content.startsWith(MANAGED)) return { changes: [] };
    return { changes: [{ summary: `restore ${path}`, actions: [{ kind: 'remove', path, restoreBackup: true }] }] };
  }
  if (!st.watchdog) return { changes: [], refuse: `${ctx.host.name} has no /dev/watchdog: sbd needs the host's hardware watchdog (load its driver, e.g. i6300esb or iTCO_wdt). clusterform never loads softdog.` };
  const ch = planFile(path, st.file, sbdConfigText(haOf(ctx)), { mode: '0644', backup: true });
  return { changes: ch ? [ch] : [], notes: ch ? ['sbd reads it when the cluster starts on this member'] : [`${path} up to date`] };
}

export const sbdConfig = defineModule<CfgArgs, CfgState>({
  name: 'sbd_config',
  doc: "fencing: sbd: /etc/default/sbd (or /etc/sysconfig/sbd): the SBD partition and the host's hardware watchdog; refuses a host without one.",
  args: cfgArgs,
  read: (ctx) => ({ ...readFileSections(sbdConfigPath(ctx.facts.os.family)), watchdog: `if [ -c /dev/watchdog ]; then echo yes; else echo no; fi` }),
  parse: (res) => ({ file: parseFileSections(res), watchdog: sec(res, 'watchdog').out.trim() === 'yes' }),
  plan: cfgPlan,
});
