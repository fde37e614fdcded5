// From a host's inventory SSH settings to an SshTarget: the inventory's values first (as OpenSSH's command line
// options), then ~/.ssh/config (or the named file) and the system file, then defaults; every key file read and
// parsed here, before any host is contacted, so that a missing or unreadable key is one clear error.
import { readFileSync, statSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { SshHop } from './hop.js';
import type { SshTarget } from './ssh.js';
import { configFiles, resolveHost, type ConfigFile, type LookupContext, type Obtained, type ResolvedHost } from './sshconfig.js';

/** What the inventory says about reaching one host (undefined: not set there, so the config file or a default decides). */
export interface InventorySsh {
  /** the name given to ssh: the inventory address, or the host's name */
  alias: string;
  user?: string;
  port?: number;
  privateKey?: string;
  knownHosts?: string;
  connectTimeoutMs?: number;
  strictHostKeyChecking?: 'yes' | 'accept-new';
  proxyJump?: string;
  passphrase?: string; // secret
  commandTimeoutMs: number;
}

export interface TargetOptions {
  files: ConfigFile[];
  ctx: LookupContext;
  acceptNewHostKeys: boolean;
  agent?: string;
  /** the keys tried when neither the inventory nor the config names one (those that exist) */
  defaultKeys: string[];
}

export class KeyFileError extends Error {}

/** The lookup context and files for this process: the user's home, ~/.ssh/config and /etc/ssh/ssh_config, or `configFile` alone. */
export function localTargetOptions(configFile: string | undefined, acceptNewHostKeys: boolean): TargetOptions {
  const home = homedir();
  let localUser = 'root';
  try { localUser = userInfo().username; } catch { /* no passwd entry: keep root */ }
  return {
    files: configFiles(home, configFile),
    ctx: { home, localUser, defaultUser: 'root', uid: process.getuid?.() ?? 0, localHost: hostname() },
    acceptNewHostKeys,
    agent: process.env.SSH_AUTH_SOCK || undefined,
    defaultKeys: ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => join(home, '.ssh', k)),
  };
}

/** The inventory's values as the first obtained ones; known_hosts and strictness also for the jump hosts. */
function seeds(s: InventorySsh): { target: Obtained; hop: Obtained } {
  const hop: Obtained = {};
  if (s.knownHosts) hop.userknownhostsfile = [s.knownHosts];
  if (s.strictHostKeyChecking) hop.stricthostkeychecking = [s.strictHostKeyChecking];
  const target: Obtained = { ...hop };
  if (s.user) target.user = [s.user];
  if (s.port) target.port = [String(s.port)];
  if (s.connectTimeoutMs) target.connecttimeout = [String(Math.ceil(s.connectTimeoutMs / 1000))];
  if (s.proxyJump) target.proxyjump = [s.proxyJump];
  return { target, hop };
}

/** A private key file read and parsed (with the passphrase when encrypted); a clear error otherwise. */
function readKey(path: string, passphrase: string | undefined, cache: Map<string, Buffer>): { path: string; key: Buffer } {
  let key = cache.get(path);
  if (!key) {
    try { key = readFileSync(path); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new KeyFileError(`private key ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
    }
    const parsed = ssh2.utils.parseKey(key, passphrase);
    if (parsed instanceof Error) {
      const enc = /encrypted|passphrase/i.test(parsed.message);
      throw new KeyFileError(`private key ${path}: ${enc ? (passphrase === undefined ? 'encrypted: set ssh.passphrase_env to the variable holding its passphrase' : 'wrong passphrase') : parsed.message}`);
    }
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!first?.isPrivateKey()) throw new KeyFileError(`private key ${path}: a public key, not a private key`);
    cache.set(path, key);
  }
  return { path, key };
}

const exists = (p: string) => { try { return statSync(p).isFile(); } catch { return false; } };

function hopFrom(r: ResolvedHost, s: InventorySsh, o: TargetOptions, keys: Map<string, Buffer>, isTarget: boolean): SshHop {
  // the inventory's private_key is the host's only key (not its jump hosts'); else the config's, else the default ones
  const named = isTarget && s.privateKey ? [s.privateKey] : r.identityFiles;
  const files = named.length ? named : o.defaultKeys.filter(exists);
  const onlyNamed = (isTarget && !!s.privateKey) || r.identitiesOnly;
  const identities = named.length
    ? files.map((f) => readKey(f, s.passphrase, keys))
    : files.flatMap((f) => { try { return [readKey(f, s.passphrase, keys)]; } catch { return []; } }); // an unusable default key is skipped, as ssh does
  return {
    hostName: r.hostName,
    port: r.port,
    user: r.user,
    identities,
    passphrase: s.passphrase,
    ...(o.agent && !onlyNamed ? { agent: o.agent } : {}),
    knownHosts: r.userKnownHosts,
    globalKnownHosts: r.globalKnownHosts,
    acceptNewHostKeys: o.acceptNewHostKeys || r.strictHostKeyChecking === 'accept-new',
    connectTimeoutMs: (r.connectTimeoutSec || 10) * 1000,
    keepaliveMs: (r.serverAliveIntervalSec || 5) * 1000,
    keepaliveCountMax: r.serverAliveCountMax || 3,
    ...(r.jump ? { jump: hopFrom(r.jump, s, o, keys, false) } : {}),
  };
}

/**
 * The SshTarget for a host: config lookup, jump chain, keys read. Throws SshConfigError (the config) or
 * KeyFileError (a key) with the reason; nothing is contacted.
 */
export function sshTarget(name: string, s: InventorySsh, o: TargetOptions, keys = new Map<string, Buffer>()): SshTarget {
  const seed = seeds(s);
  const r = resolveHost(s.alias, { files: o.files, ctx: o.ctx, hopSeed: seed.hop }, seed.target);
  return { name, commandTimeoutMs: s.commandTimeoutMs, ...hopFrom(r, s, o, keys, true) };
}
