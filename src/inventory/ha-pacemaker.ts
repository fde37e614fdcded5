// The pacemaker parts of the inventory's ha: section: fencing, the cluster's timeouts, and what a service runs
// (nfs: in schema.ts, systemd: here). Kept apart from schema.ts so that the ha: section grows without touching the rest.
import { z } from 'zod';

const ENV_RE = /^[A-Z_][A-Z0-9_]*$/;
/** A value that reaches a fence agent's parameter: no shell or XML metacharacters are needed by any agent we know. */
const paramValue = z.union([
  z.string().max(255).regex(/^[A-Za-z0-9 ._:@\/,=+-]*$/, 'a fence parameter: letters, digits, spaces and . _ : @ / , = + - only'),
  z.number(),
  z.boolean(),
]);

/** One member's fence device: a fence agent (fence_ipmilan, fence_virsh…) with its parameters; the password from the environment. */
export const fenceAgentSchema = z
  .object({
    agent: z.string().regex(/^fence_[a-z0-9_]+$/, 'a fence agent: fence_ followed by lowercase letters, digits or _ (e.g. fence_ipmilan)'),
    params: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a fence parameter name: lowercase letters, digits, _ and -'), paramValue).default({}),
    password_env: z.string().regex(ENV_RE, 'an environment variable name').optional(),
  })
  .strict();

/**
 * sbd: storage-based fencing on the quorum partition with each member's watchdog (the default with pacemaker);
 * none: no fencing (allowed, loudly: a split brain can corrupt the shared disk); or a fence agent per member.
 */
export const fencingSchema = z.union([z.literal('sbd'), z.literal('none'), z.record(z.string(), fenceAgentSchema)]);

/** Cluster timeouts (pacemaker): corosync's token in ms, sbd's watchdog and msgwait in seconds. */
export const haTimeoutsSchema = z
  .object({
    /** corosync totem token timeout (ms): how long a silent member takes to be declared lost */
    token: z.number().int().min(1000).max(120000).default(3000),
    /** sbd watchdog timeout (s), written into the SBD header */
    watchdog: z.number().int().min(5).max(300).default(5),
    /** sbd msgwait (s): how long a poison pill takes to be sure; at least twice the watchdog timeout */
    msgwait: z.number().int().min(10).max(600).default(10),
  })
  .strict();

/** A systemd unit the cluster starts for a service (e.g. smbd, or nginx.service). */
export const systemdUnit = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9@._:-]*$/, 'a systemd unit name (letters, digits, @ . _ : -)').max(128);

export type FenceAgent = z.infer<typeof fenceAgentSchema>;
export type Fencing = z.infer<typeof fencingSchema>;
export type HaTimeouts = z.infer<typeof haTimeoutsSchema>;

/** The timeouts with defaults filled in. */
export function timeoutsOf(ha: { timeouts?: Partial<HaTimeouts> }): HaTimeouts {
  return haTimeoutsSchema.parse(ha.timeouts ?? {});
}

/** The fencing of a pacemaker cluster: sbd unless the inventory says otherwise. */
export function fencingOf(ha: { fencing?: Fencing }): Fencing {
  return ha.fencing ?? 'sbd';
}

type Issue = (path: (string | number)[], message: string, key?: string) => void;
const isObj = (o: unknown): o is Record<string, any> => !!o && typeof o === 'object' && !Array.isArray(o);

/**
 * Cross-checks of the pacemaker fields (load.ts runs them on whatever parsed): fencing, timeouts and systemd: need
 * format: pacemaker; a fence agent for every member and none for a non-member; msgwait at least twice the watchdog;
 * a service runs nfs: or systemd:, not both.
 */
export function checkPacemaker(ha: Record<string, any>, issue: Issue): void {
  const pacemaker = ha.format === 'pacemaker';
  const services: unknown[] = Array.isArray(ha.services) ? ha.services : [];
  if (!pacemaker) {
    for (const f of ['fencing', 'timeouts'] as const) if (ha[f] !== undefined) issue(['ha', f], `${f}: applies to format: pacemaker only (format is ${ha.format ?? 'clumanager'})`);
    services.forEach((s: any, i) => { if (isObj(s) && s.systemd !== undefined) issue(['ha', 'services', i, 'systemd'], 'systemd: services need format: pacemaker (cluster.xml and cluster.conf know NFS only)'); });
  }
  services.forEach((s: any, i) => { if (isObj(s) && s.nfs !== undefined && s.systemd !== undefined) issue(['ha', 'services', i, 'systemd'], 'a service runs nfs: or systemd:, not both'); });
  if (isObj(ha.fencing)) checkAgents(ha.fencing, Array.isArray(ha.members) ? ha.members : [], issue);
  const t = ha.timeouts;
  if (isObj(t) && typeof t.msgwait === 'number' && t.msgwait < 2 * (typeof t.watchdog === 'number' ? t.watchdog : 5))
    issue(['ha', 'timeouts', 'msgwait'], `msgwait (${t.msgwait} s) must be at least twice the watchdog timeout (${t.watchdog ?? 5} s)`);
}

function checkAgents(fencing: Record<string, unknown>, members: unknown[], issue: Issue): void {
  for (const m of Object.keys(fencing)) if (!members.includes(m)) issue(['ha', 'fencing'], `"${m}" is not one of ha.members: a fence device is given per member`, m);
  for (const m of members) if (typeof m === 'string' && !Object.hasOwn(fencing, m)) issue(['ha', 'fencing'], `member "${m}" has no fence device (give one per member, or fencing: sbd)`);
}
