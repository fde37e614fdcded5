// The LVS farm's director failover (VRRP with keepalived) and real-server health checks: the `lvs.failover:` and
// `lvs.health:` sections (and a virtual service's own `health:`), their cross-checks, and the health settings a
// virtual service ends up with.
import { z } from 'zod';

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name');

/** VRRP version 2 (the one with authentication): adverts every 1..255 whole seconds. */
function checkAdvertInt(n: number, ctx: z.RefinementCtx): void {
  if (!Number.isInteger(n)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'advert_int: whole seconds with VRRP version 2 (sub-second adverts need VRRPv3, which has no authentication)' });
  else if (n < 1) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'advert_int: at least 1 second with VRRP version 2' });
  else if (n > 255) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'advert_int: at most 255 seconds' });
}

export const failoverSchema = z
  .object({
    /** 1..255, no default: it must not clash with another VRRP group on the LAN */
    vrid: z.number().int().min(1, 'vrid: 1..255').max(255, 'vrid: 1..255'),
    /** VRRPv2 (with authentication): whole seconds, 1..255 */
    advert_int: z.number().superRefine(checkAdvertInt).default(1),
    /** false: a recovered master does not take the VIP back (state BACKUP + nopreempt on every director) */
    preempt: z.boolean().default(false),
    /** the VRRP password, from this environment variable (never printed); none: no authentication */
    auth_pass_env: envName.optional(),
    /** IPVS connection synchronisation between the directors (lvs_sync_daemon) */
    sync_connections: z.boolean().default(false),
    /** unicast (default: multicast is often filtered) or multicast VRRP adverts */
    unicast: z.boolean().default(true),
    /** NAT: the VRRP id of the real servers' gateway address (default: vrid + 1) */
    gateway_vrid: z.number().int().min(1).max(255).optional(),
    /** the keepalived.conf template (default: keepalived.conf.hbs from templates: or the built-in one) */
    template: z.string().regex(/^[A-Za-z0-9._-]+\.hbs$/, 'a template file name (name.hbs) in templates:').optional(),
  })
  .strict();

export const HEALTH_CHECKS = ['http', 'tcp', 'none'] as const;

/** Every field optional: lvs.health gives the farm's defaults, a virtual service's health: overrides some of them. */
export const healthSchema = z
  .object({
    check: z.enum(HEALTH_CHECKS).optional(),
    path: z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%\/?-]*$/, 'an URL path starting with / (no spaces or quotes)').max(1024).optional(),
    status: z.number().int().min(100).max(599).optional(),
    interval: z.number().int().min(1).max(86400).optional(),
    timeout: z.number().int().min(1).max(3600).optional(),
    retry: z.number().int().min(0).max(100).optional(),
    delay_before_retry: z.number().int().min(0).max(3600).optional(),
    on_failure: z.enum(['remove', 'quiesce']).optional(),
  })
  .strict();

export type Failover = z.infer<typeof failoverSchema>;
export type HealthSpec = z.infer<typeof healthSchema>;
export type Health = Required<Omit<HealthSpec, 'path'>> & { path: string };

export const HEALTH_DEFAULTS: Health = { check: 'tcp', path: '/', status: 200, interval: 2, timeout: 2, retry: 1, delay_before_retry: 1, on_failure: 'remove' };

/** A virtual service's health settings: the defaults, then lvs.health, then its own health:. Pure. */
export function effectiveHealth(farm: HealthSpec | undefined, own: HealthSpec | undefined): Health {
  const drop = (h: HealthSpec | undefined) => Object.fromEntries(Object.entries(h ?? {}).filter(([, v]) => v !== undefined));
  return { ...HEALTH_DEFAULTS, ...drop(farm), ...drop(own) } as Health;
}

/** Worst-case seconds from a real server's failure to its removal (keepalived's checker). */
export function detectionBound(h: Health): number {
  return h.interval + (h.retry + 1) * h.timeout + h.retry * h.delay_before_retry;
}

/** keepalived owns the farm (VIP and IPVS table with failover, the table with health checks only). */
export const keepalivedOwns = (lvs: { failover?: unknown; health?: unknown; virtual_services: { health?: unknown }[] }): boolean =>
  !!lvs.failover || !!lvs.health || lvs.virtual_services.some((v) => !!v.health);

type Issue = (path: (string | number)[], message: string, key?: string) => void;
const isObj = (o: unknown): o is Record<string, any> => !!o && typeof o === 'object' && !Array.isArray(o);

/**
 * Cross-checks of lvs.failover and lvs.health (the raw YAML value, whatever else is wrong with it): two directors
 * without failover:, a path with a tcp check, a NAT gateway VRRP id equal to vrid.
 */
export function checkFailover(lvs: Record<string, any>, issue: Issue): void {
  const directors = Array.isArray(lvs.directors) ? lvs.directors : [];
  if (directors.length >= 2 && lvs.failover === undefined)
    issue(['lvs'], `${directors.length} directors need failover: { vrid: 1..255 } (VRRP with keepalived decides which one holds the VIP)`, 'directors');
  const f = lvs.failover;
  if (isObj(f) && typeof f.vrid === 'number') {
    const gw = f.gateway_vrid ?? f.vrid + 1;
    const nat = lvs.forwarding === 'nat' || (Array.isArray(lvs.virtual_services) && lvs.virtual_services.some((v: any) => v?.forwarding === 'nat'));
    if (nat && gw === f.vrid) issue(['lvs', 'failover', 'gateway_vrid'], 'gateway_vrid must differ from vrid (two VRRP instances)');
    if (nat && gw > 255) issue(['lvs', 'failover'], `the NAT gateway address needs its own VRRP id: vrid + 1 = ${gw} is out of range, set gateway_vrid: (1..255)`, 'vrid');
  }
  checkHealth(lvs.health, ['lvs', 'health'], undefined, issue);
  if (Array.isArray(lvs.virtual_services)) lvs.virtual_services.forEach((v: any, i: number) => {
    if (isObj(v)) checkHealth(v.health, ['lvs', 'virtual_services', i, 'health'], isObj(lvs.health) ? lvs.health : undefined, issue, v.protocol);
  });
}

function checkHealth(h: unknown, at: (string | number)[], farm: Record<string, any> | undefined, issue: Issue, protocol?: string): void {
  if (!isObj(h)) return;
  const check = h.check ?? farm?.check ?? HEALTH_DEFAULTS.check;
  if (h.path !== undefined && check !== 'http') issue([...at, 'path'], `path: only applies to check: http (this check is ${check})`);
  if (h.status !== undefined && check !== 'http') issue([...at, 'status'], `status: only applies to check: http (this check is ${check})`);
  if (protocol === 'udp' && check !== 'none') issue([...at, 'check'], `a udp service cannot have a ${check} check (use check: none)`);
}
