// The inventory: hosts, SSH settings, the HA cluster and the LVS farm, validated with zod.
import { isIP } from 'node:net';
import { z } from 'zod';
import { cidrArg } from '../util/validators.js';
import { fencingSchema, haTimeoutsSchema, systemdUnit } from './ha-pacemaker.js';
import { failoverSchema, healthSchema } from './lvs-failover.js';

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'] as const;
const SIZE_RE = /^[1-9][0-9]*(?:[KMGT](?:i?B)?)?$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SVC_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9@._-]*$/;

const name = (what: string) => z.string().regex(NAME_RE, `${what} must start with a letter or digit and contain only letters, digits, '.', '_' and '-' (no spaces or shell characters)`).max(63);
const ip = z.string().refine((s) => isIP(s) !== 0, { message: 'not an IPv4 or IPv6 address' });
const ipv4 = z.string().refine((s) => isIP(s) === 4, { message: 'not an IPv4 address' });
/** How to reach a host: an IP address, a DNS name or an ~/.ssh/config Host alias (no spaces or shell characters). */
const hostAddress = z.string().max(253)
  .refine((s) => isIP(s) !== 0 || !/^[0-9.]+$|:/.test(s), { message: 'not an IPv4 or IPv6 address' })
  .refine((s) => isIP(s) !== 0 || /^[0-9.]+$|:/.test(s) || /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/.test(s), { message: 'not an IP address, a DNS name or an ssh config Host alias' });
/** ProxyJump: [user@]host[:port] hops, comma separated, or none */
const proxyJump = z.string().max(1024).regex(/^(?:ssh:\/\/)?(?:[A-Za-z0-9_.-]+@)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:,(?:ssh:\/\/)?(?:[A-Za-z0-9_.-]+@)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?)*$/, 'jump hosts: [user@]host[:port], comma separated (or none)');
const size = z.string().regex(SIZE_RE, 'not a size: use a positive number with K, M, G or T (e.g. 10M, 1G)');
const absPath = z
  .string()
  .regex(/^\/[^\0\n]*$/, 'must be an absolute path (starting with /)')
  .refine((s) => !s.split('/').includes('..'), { message: "must not contain '..'" })
  .refine((s) => /^[A-Za-z0-9/._+:@,=-]+$/.test(s), { message: 'contains characters that are not allowed in a path here (only letters, digits and / . _ + : @ , = -)' });
const port = z.number().int().min(1).max(65535);
const rawDevice = z.string().regex(/^\/dev\/raw\/raw[1-9][0-9]{0,4}$/, 'must be a raw device /dev/raw/rawN (N from 1; /dev/raw/rawctl is the control device)');
const relOrAbsPath = z.string().min(1).refine((s) => !s.includes('\0') && !s.includes('\n'), { message: 'not a valid path' });

export const sshSchema = z
  .object({
    user: name('ssh.user').optional(),
    port: port.optional(),
    private_key: relOrAbsPath.optional(),
    known_hosts: relOrAbsPath.optional(),
    passphrase_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').optional(),
    become: z.enum(['sudo']).optional(),
    become_password_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').optional(),
    connect_timeout: z.number().int().min(1).max(600).optional(),
    command_timeout: z.number().int().min(1).max(86400).optional(),
    strict_host_key_checking: z.enum(['yes', 'accept-new']).optional(),
    config_file: relOrAbsPath.optional(),
    proxy_jump: proxyJump.optional(),
    held_shell: z.boolean().optional(),
  })
  .strict();

export const hostSchema = z
  .object({
    address: hostAddress.optional(),
    ssh: sshSchema.optional(),
    user: name('user').optional(),
    port: port.optional(),
    private_key: relOrAbsPath.optional(),
    vars: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const haServiceSchema = z
  .object({
    name: z.string().regex(SVC_NAME_RE, 'service name: letters, digits, @ . _ - only').max(63),
    address: ip,
    size: size.optional(),
    fstype: z.enum(['ext3']).default('ext3'),
    mountpoint: absPath,
    nfs: z
      .object({
        export: absPath,
        clients: z.string().regex(/^[A-Za-z0-9*?.\/:_-]+$/, 'NFS clients: a host, network or * (no spaces or shell characters)').default('*'),
        options: z.string().regex(/^[A-Za-z0-9=,_-]+$/, 'NFS options: comma-separated words').default('rw'),
      })
      .strict()
      .optional(),
    /** format: pacemaker: a systemd unit the cluster starts after the file system and the address */
    systemd: systemdUnit.optional(),
  })
  .strict();

export const haSchema = z
  .object({
    members: z.array(z.string()).min(1),
    shared_disk: absPath,
    disk_label: z.enum(['dos', 'gpt']).default('dos'),
    quorum: z.object({ size: size.default('10M'), primary: rawDevice.default('/dev/raw/raw1'), shadow: rawDevice.default('/dev/raw/raw2') }).strict(),
    cluster_managed_services: z.array(z.string().regex(SVC_NAME_RE, 'a service name (letters, digits, @ . _ -)')).default([]),
    services: z.array(haServiceSchema).default([]),
    format: z.enum(['clumanager', 'cman', 'pacemaker']).default('clumanager'),
    /** format: pacemaker: sbd (default), none, or a fence agent per member */
    fencing: fencingSchema.optional(),
    timeouts: haTimeoutsSchema.optional(),
  })
  .strict();

export const virtualServiceSchema = z
  .object({
    protocol: z.enum(['tcp', 'udp', 'fwmark']).default('tcp'),
    port: port.optional(),
    fwmark: z.number().int().min(1).max(0xffffffff).optional(),
    scheduler: z.string(),
    persistence: z.number().int().min(1).max(31536000).optional(),
    netmask: ipv4.optional(),
    forwarding: z.enum(['dr', 'nat', 'tun']).optional(),
    real_port: port.optional(),
    health: healthSchema.optional(),
  })
  .strict();

export const lvsSchema = z
  .object({
    directors: z.array(z.string()).min(1),
    vip: ip,
    vip_prefix: z.number().int().min(1).max(32).optional(),
    interface: name('interface').optional(),
    forwarding: z.enum(['dr', 'nat', 'tun']).default('dr'),
    virtual_services: z.array(virtualServiceSchema).min(1),
    real_servers: z.array(z.object({ host: z.string(), weight: z.number().int().min(0).max(65535).default(1), port: port.optional() }).strict()).min(1),
    nat: z.object({ gateway: ipv4, network: cidrArg.optional() }).strict().optional(),
    verify_from: z.string().optional(),
    failover: failoverSchema.optional(),
    health: healthSchema.optional(),
  })
  .strict();

export const inventorySchema = z
  .object({
    cluster: name('cluster'),
    ssh: sshSchema.default({}),
    hosts: z.record(z.string(), hostSchema),
    groups: z.record(name('group name'), z.array(z.string())).optional(),
    vars: z.record(z.string(), z.unknown()).optional(),
    boot: z.object({ timeout: z.number().int().min(0).max(3600) }).strict().optional(),
    templates: relOrAbsPath.optional(),
    ha: haSchema.optional(),
    lvs: lvsSchema.optional(),
    // accepted and not looked into: `clusterform lab` reads and validates this section itself (src/lab)
    lab: z.unknown().optional(),
  })
  .strict();

export type RawInventory = z.infer<typeof inventorySchema>;
export type HaService = z.infer<typeof haServiceSchema>;
export type VirtualService = z.infer<typeof virtualServiceSchema>;
