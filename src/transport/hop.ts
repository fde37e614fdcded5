// One SSH hop: the handshake with host-key verification (known_hosts, user and global files) and authentication,
// a forwarded channel through a jump host (ssh2 forwardOut, the name resolved by the jump host as with `ssh -J`),
// and the pool that shares one connection per jump host among every host behind it.
import ssh2 from 'ssh2';
import type { Client as SshClient, ClientChannel, ConnectConfig } from 'ssh2';
import { endpointString } from './sshconfig.js';
import { hostKeyAlgorithmsFor, hostKeyName, recordHostKey, verifyHostKey } from './knownhosts.js';
import { TransportError } from './types.js';

const { Client } = ssh2;

/** Everything needed to open one SSH connection; keys are read (and checked) before any host is contacted. */
export interface SshHop {
  hostName: string;
  port: number;
  user: string;
  /** private keys to offer, in order (already read from their files) */
  identities: { path: string; key: Buffer }[];
  passphrase?: string; // secret: never printed
  /** ssh-agent socket to ask for keys (unset with IdentitiesOnly) */
  agent?: string;
  /** user known_hosts files: the first one records new keys */
  knownHosts: string[];
  globalKnownHosts: string[];
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  keepaliveMs: number;
  keepaliveCountMax: number;
  /** the jump host this hop is reached through */
  jump?: SshHop;
}

function authMethods(h: SshHop): any[] {
  const keys = h.identities.map((k) => ({ type: 'publickey', username: h.user, key: k.key, passphrase: h.passphrase }));
  const agent = h.agent ? [{ type: 'agent', username: h.user, agent: h.agent }] : [];
  return [...keys, ...agent];
}

/** The host key check: known, unknown (recorded with accept-new), changed or revoked; a refusal is kept in `refused`. */
function hostVerifier(h: SshHop, onNote: (note: string) => void, refused: (e: TransportError) => void) {
  const files = [...h.knownHosts, ...h.globalKnownHosts];
  const where = `${h.hostName}:${h.port}`;
  return (key: Buffer): boolean => {
    const v = verifyHostKey(files, h.hostName, h.port, key);
    if (v.status === 'match') return true;
    if (v.status === 'unknown' && v.certAuthority) {
      refused(new TransportError(`host key for ${where} (${v.keyType} ${v.fingerprint}) is not known; ${v.certAuthority.file} line ${v.certAuthority.line} lists a @cert-authority for this host, ` +
        `but host certificates are not supported by clusterform: add the host's own key to ${h.knownHosts[0] ?? 'known_hosts'}`, 'hostkey'));
      return false;
    }
    if (v.status === 'unknown') {
      if (h.acceptNewHostKeys && h.knownHosts[0]) {
        recordHostKey(h.knownHosts[0], h.hostName, h.port, key);
        onNote(`accepted new host key ${v.keyType} ${v.fingerprint}, recorded in ${h.knownHosts[0]}`);
        return true;
      }
      refused(new TransportError(`unknown host key for ${where} (${v.keyType} ${v.fingerprint}); not in ${files.join(', ')}. ` +
        'Check the fingerprint on the host, then re-run with --accept-new-host-keys to record it.', 'hostkey'));
      return false;
    }
    if (v.status === 'revoked') {
      refused(new TransportError(`host key for ${where} (${v.fingerprint}) is marked @revoked in known_hosts`, 'hostkey'));
      return false;
    }
    refused(new TransportError(
      `HOST KEY CHANGED for ${where}: the host offered ${v.keyType} ${v.fingerprint}, but ${v.file} knows ` +
        v.known.map((k) => `${k.keyType} ${k.fingerprint} (line ${k.line})`).join(', ') +
        `. This can be a man-in-the-middle attack. If the host was really reinstalled, remove the old key (ssh-keygen -R ${hostKeyName(h.hostName, h.port)} -f ${v.file}) and re-run.`,
      'hostkey'));
    return false;
  };
}

/**
 * Connect `client` to the hop (over `sock` when reached through a jump host) and resolve once authenticated.
 * Errors after that go to `onLost`.
 */
export function handshake(client: SshClient, h: SshHop, sock: ClientChannel | undefined, onNote: (note: string) => void, onLost: (err: Error) => void): Promise<void> {
  const where = `${h.hostName}:${h.port}`;
  let hostKeyError: TransportError | null = null;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => { if (!settled) { settled = true; reject(err); } };
    const methods = authMethods(h);
    if (methods.length === 0) return reject(new TransportError(`no SSH credentials for ${h.user}@${where}: name a key (ssh.private_key or IdentityFile), run an ssh-agent, or create ~/.ssh/id_ed25519`, 'auth'));
    // offer the key types known_hosts has for this host first, as OpenSSH does, so that a known key is shown
    const serverHostKey = hostKeyAlgorithmsFor([...h.knownHosts, ...h.globalKnownHosts], h.hostName, h.port);
    const cfg: ConnectConfig = {
      ...(serverHostKey ? { algorithms: { serverHostKey: serverHostKey as any } } : {}),
      ...(sock ? { sock } : { host: h.hostName, port: h.port }),
      username: h.user,
      readyTimeout: h.connectTimeoutMs,
      keepaliveInterval: h.keepaliveMs,
      keepaliveCountMax: h.keepaliveCountMax,
      authHandler: methods,
      hostVerifier: hostVerifier(h, onNote, (e) => { hostKeyError = e; }),
    };
    client.on('ready', () => { settled = true; resolve(); });
    client.on('error', (err: Error & { level?: string }) => {
      if (hostKeyError) return fail(hostKeyError);
      if (settled) return onLost(err);
      const kind = err.level === 'client-authentication' ? 'auth' : /timed out/i.test(err.message) ? 'timeout' : 'unreachable';
      fail(new TransportError(kind === 'auth' ? `authentication failed for ${h.user}@${where} (all configured keys were refused)` : `cannot connect to ${where}: ${err.message}`, kind));
    });
    client.on('close', () => {
      if (hostKeyError) return fail(hostKeyError);
      if (!settled) return fail(new TransportError(`connection to ${where} closed during handshake`, 'unreachable'));
      onLost(new Error('connection closed'));
    });
    client.connect(cfg);
  });
}

/** A channel from the jump host to host:port (the jump host resolves the name, as sshd does for `ssh -J`). */
export function forwardTo(client: SshClient, via: SshHop, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) return reject(new TransportError(`jump host ${endpointString(via)} cannot reach ${host}:${port}: ${err.message}`, 'unreachable'));
      resolve(stream);
    });
  });
}

export interface Lease {
  client: SshClient;
  release(): void;
}

interface PoolEntry {
  ready: Promise<{ client: SshClient; parent?: Lease }>;
  users: number;
}

/** The key of a jump host connection: its user@host:port and those of the hops before it. */
const chainKey = (h: SshHop): string => (h.jump ? chainKey(h.jump) + ' > ' : '') + endpointString(h);

/**
 * One connection per jump host (keyed by user@host:port and the hops before it) shared by every host behind it,
 * opened on first use and closed when the last host behind it is done. A lost jump connection is dropped from
 * the pool (the hosts behind it lose their connections with it).
 */
export class JumpPool {
  private entries = new Map<string, PoolEntry>();
  /** jump host connections opened (for --stats and tests) */
  connections = 0;
  /** notes from jump hosts (a recorded host key) */
  readonly notes: string[] = [];

  async acquire(hop: SshHop): Promise<Lease> {
    const k = chainKey(hop);
    let e = this.entries.get(k);
    if (!e) {
      const entry: PoolEntry = { users: 0, ready: this.open(hop, k) };
      entry.ready.catch(() => { if (this.entries.get(k) === entry) this.entries.delete(k); });
      this.entries.set(k, entry);
      e = entry;
    }
    const entry = e;
    entry.users++;
    let got;
    try { got = await entry.ready; } catch (err) { entry.users--; throw err; }
    let released = false;
    return {
      client: got.client,
      release: () => {
        if (released) return;
        released = true;
        if (--entry.users > 0) return;
        if (this.entries.get(k) === entry) this.entries.delete(k);
        got.client.end();
        got.parent?.release();
      },
    };
  }

  private async open(hop: SshHop, k: string): Promise<{ client: SshClient; parent?: Lease }> {
    const parent = hop.jump ? await this.acquire(hop.jump) : undefined;
    const client = new Client();
    try {
      const sock = parent && hop.jump ? await forwardTo(parent.client, hop.jump, hop.hostName, hop.port) : undefined;
      await handshake(client, hop, sock, (n) => this.notes.push(`jump host ${endpointString(hop)}: ${n}`), () => { this.entries.delete(k); });
    } catch (err) {
      parent?.release();
      const e = err as TransportError;
      throw new TransportError(`jump host ${endpointString(hop)}: ${e.message}`, e.kind ?? 'unreachable');
    }
    this.connections++;
    return { client, parent };
  }
}
