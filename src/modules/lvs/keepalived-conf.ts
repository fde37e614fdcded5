// keepalived.conf for one LVS director, from the inventory's lvs: section: the VRRP instance owning the VIP (and, for
// NAT, the real servers' gateway address in a sync group), unicast peers, and the IPVS table with health checks. Pure.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RawInventory } from '../../inventory/schema.js';
import { effectiveHealth } from '../../inventory/lvs-failover.js';
import { renderTemplate } from '../../util/paths.js';
import { unifiedDiff } from '../../util/diff.js';
import { wantedIpvsTable } from './ipvs.js';

type Lvs = NonNullable<RawInventory['lvs']>;

export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
export const DEFAULT_TEMPLATE = 'keepalived.conf.hbs';
export const VIP_INSTANCE = 'VI_VIP';
export const GW_INSTANCE = 'VI_GW';
/** VRRPv2 PASS authentication: keepalived keeps only the first 8 characters. */
export const AUTH_PASS_MAX = 8;

/** What the template needs to know about this director. */
export interface DirectorFacts {
  /** this director's inventory name */
  name: string;
  /** the interface holding its inventory address (or lvs.interface) */
  interface: string;
  /** NAT with failover: the interface on the real servers' network */
  gatewayInterface?: string;
  /** the VRRP password (from auth_pass_env); undefined: none */
  authPass?: string;
}

const checkFor = (h: ReturnType<typeof effectiveHealth>, port: number) => ({ port, timeout: h.timeout, retry: h.retry, delay_before_retry: h.delay_before_retry });

/** The virtual_server blocks: every service of the wanted IPVS table with its health settings. */
function virtualServers(lvs: Lvs, addresses: Record<string, { address: string }>) {
  return wantedIpvsTable(lvs, addresses).map((s, i) => {
    const vs = lvs.virtual_services[i]!;
    const h = effectiveHealth(lvs.health, vs.health);
    const check = s.protocol === 'udp' ? 'none' : h.check;
    return {
      head: s.protocol === 'fwmark' ? `fwmark ${s.fwmark}` : `${s.address} ${s.port}`,
      delay_loop: h.interval,
      scheduler: s.scheduler,
      method: (vs.forwarding ?? lvs.forwarding ?? 'dr').toUpperCase(),
      // keepalived warns (and -t fails) on a protocol for a fwmark service; for the others it must be written
      protocol: s.protocol === 'fwmark' ? null : s.protocol.toUpperCase(),
      persistence: s.persistence ?? null,
      netmask: s.persistence !== undefined && s.netmask ? s.netmask : null,
      inhibit_on_failure: h.on_failure === 'quiesce',
      real_servers: s.dests.map((d) => ({
        address: d.address,
        port: d.port,
        weight: d.weight,
        http: check === 'http' ? { ...checkFor(h, d.port), path: h.path, status: h.status } : null,
        tcp: check === 'tcp' ? checkFor(h, d.port) : null,
      })),
    };
  });
}

/** The template's context for director `me`. Throws when `me` is not a director. */
export function keepalivedModel(lvs: Lvs, hosts: { name: string; address: string }[], me: DirectorFacts) {
  const addresses = Object.fromEntries(hosts.map((h) => [h.name, { address: h.address }]));
  const idx = lvs.directors.indexOf(me.name);
  if (idx < 0) throw new Error(`${me.name} is not one of lvs.directors`);
  const f = lvs.failover;
  const instances = [];
  let syncGroup = null;
  if (f) {
    const self = addresses[me.name]?.address ?? me.name;
    const peers = lvs.directors.filter((d) => d !== me.name).map((d) => addresses[d]?.address ?? d);
    const base = {
      state: !f.preempt || idx > 0 ? 'BACKUP' : 'MASTER',
      priority: Math.max(1, 200 - 10 * idx),
      advert_int: f.advert_int,
      nopreempt: !f.preempt,
      unicast: f.unicast && peers.length ? { src: self, peers } : null,
      auth_pass: me.authPass ?? null,
    };
    instances.push({ ...base, name: VIP_INSTANCE, interface: me.interface, vrid: f.vrid, addresses: [`${lvs.vip}/${lvs.vip_prefix ?? 32} dev ${me.interface}`] });
    const nat = (lvs.forwarding === 'nat' || lvs.virtual_services.some((v) => v.forwarding === 'nat')) && lvs.nat;
    if (nat) {
      const dev = me.gatewayInterface ?? me.interface;
      instances.push({ ...base, name: GW_INSTANCE, interface: dev, vrid: f.gateway_vrid ?? f.vrid + 1, addresses: [`${nat.gateway}/32 dev ${dev}`] });
      syncGroup = { name: 'VG_LVS', instances: [VIP_INSTANCE, GW_INSTANCE] };
    }
  }
  return {
    router_id: me.name,
    sync_daemon: f?.sync_connections ? { interface: me.interface, instance: VIP_INSTANCE, vrid: f.vrid } : null,
    sync_group: syncGroup,
    instances,
    virtual_servers: virtualServers(lvs, addresses),
  };
}

/** The template to use: lvs.failover.template or keepalived.conf.hbs, from the inventory's templates: when it has it. */
export function keepalivedTemplate(lvs: Lvs, templatesDir?: string): { name: string; overrideDir?: string } {
  const name = lvs.failover?.template ?? DEFAULT_TEMPLATE;
  return templatesDir && existsSync(join(templatesDir, name)) ? { name, overrideDir: templatesDir } : { name };
}

/** keepalived.conf for director `me`. */
export function renderKeepalivedConf(lvs: Lvs, hosts: { name: string; address: string }[], me: DirectorFacts, templatesDir?: string): string {
  const t = keepalivedTemplate(lvs, templatesDir);
  return renderTemplate(t.name, keepalivedModel(lvs, hosts, me), { escape: false, overrideDir: t.overrideDir });
}

/** The config with every VRRP password replaced: for diffs and anything shown. */
export function maskSecrets(conf: string): string {
  return conf.replace(/^(\s*auth_pass\s+)\S.*$/gm, '$1********');
}

/** A unified diff of two configs that never shows a password; a change of password alone is said in words. */
export function maskedDiff(before: string, after: string, path: string): string {
  const d = unifiedDiff(maskSecrets(before), maskSecrets(after), path);
  return d !== '' || before === after ? d : `--- ${path}\n+++ ${path}\n (the VRRP password changed; not shown)\n`;
}

/** What a rendered config must not hold (the template is the user's to change). */
export function forbidden(conf: string): string | undefined {
  if (/^\s*vrrp_strict\b/m.test(conf)) return 'vrrp_strict (it turns authentication off and drops traffic to the VIP: keepalived#474)';
  const count = (re: RegExp) => (conf.match(re) ?? []).length;
  if (count(/^\s*virtual_server\s+(?!fwmark\s)/gm) > count(/^\s*protocol\s+(?:TCP|UDP|SCTP)\s*$/gm)) return 'a virtual_server without protocol (keepalived reads it as UDP)';
  if (count(/^\s*virtual_server\s/gm) > count(/^\s*lvs_method\s+(?:DR|NAT|TUN)\s*$/gm)) return 'a virtual_server without lvs_method DR|NAT|TUN (keepalived reads a bad one as NAT)';
  return undefined;
}
