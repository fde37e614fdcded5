// One ssh2 connection per host: exec with timeouts, a held command for the run lock, host-key verification.
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { hostKeyAlgorithmsFor, hostKeyName, recordHostKey, verifyHostKey } from './knownhosts.js';
import { promptResponder } from './prompt.js';
import { TransportError, type ExecOptions, type PromptAnswer, type ExecResult, type HeldCommand, type Transport, type TransportStats } from './types.js';

const { Client } = ssh2;

export interface SshTarget {
  name: string;
  host: string;
  port: number;
  user: string;
  privateKey?: string; // path
  passphrase?: string; // secret: never printed
  knownHosts: string; // path
  acceptNewHostKeys: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  keepaliveMs: number;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export class SshTransport implements Transport {
  readonly stats: TransportStats = { connections: 0, commands: 0, bytesOut: 0, bytesIn: 0, busyMs: 0 };
  private client = new Client();
  private connected = false;
  private lost: Error | null = null;
  onLost?: (err: Error) => void;
  hostKeyNote: string | null = null;

  constructor(readonly target: SshTarget) {}

  get name() { return this.target.name; }

  private authMethods(): any[] {
    const t = this.target;
    const methods: any[] = [];
    const keyFile = (p: string) => {
      try { return readFileSync(p); } catch (e) { throw new TransportError(`cannot read private key ${p}: ${(e as Error).message}`, 'auth'); }
    };
    if (t.privateKey) {
      methods.push({ type: 'publickey', username: t.user, key: keyFile(t.privateKey), passphrase: t.passphrase });
      return methods;
    }
    if (process.env.SSH_AUTH_SOCK) methods.push({ type: 'agent', username: t.user, agent: process.env.SSH_AUTH_SOCK });
    for (const k of DEFAULT_KEYS) {
      const p = join(homedir(), '.ssh', k);
      if (existsSync(p)) methods.push({ type: 'publickey', username: t.user, key: keyFile(p), passphrase: t.passphrase });
    }
    if (methods.length === 0) throw new TransportError('no SSH credentials: set ssh.private_key, run an ssh-agent, or create ~/.ssh/id_ed25519', 'auth');
    return methods;
  }

  connect(): Promise<void> {
    const t = this.target;
    let hostKeyError: TransportError | null = null;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => { if (!settled) { settled = true; reject(err); } };
      let methods: any[];
      try { methods = this.authMethods(); } catch (e) { return reject(e); }
      // offer the key types known_hosts has for this host first, as OpenSSH does, so that a known key is shown
      const serverHostKey = hostKeyAlgorithmsFor(t.knownHosts, t.host, t.port);
      const cfg: ConnectConfig = {
        ...(serverHostKey ? { algorithms: { serverHostKey: serverHostKey as any } } : {}),
        host: t.host,
        port: t.port,
        username: t.user,
        readyTimeout: t.connectTimeoutMs,
        keepaliveInterval: t.keepaliveMs,
        keepaliveCountMax: 3,
        authHandler: methods,
        hostVerifier: (key: Buffer) => {
          const v = verifyHostKey(t.knownHosts, t.host, t.port, key);
          if (v.status === 'match') return true;
          if (v.status === 'unknown') {
            if (t.acceptNewHostKeys) {
              recordHostKey(t.knownHosts, t.host, t.port, key);
              this.hostKeyNote = `accepted new host key ${v.keyType} ${v.fingerprint}, recorded in ${t.knownHosts}`;
              return true;
            }
            hostKeyError = new TransportError(
              `unknown host key for ${t.host}:${t.port} (${v.keyType} ${v.fingerprint}); not in ${t.knownHosts}. ` +
                `Check the fingerprint on the host, then re-run with --accept-new-host-keys to record it.`, 'hostkey');
            return false;
          }
          if (v.status === 'revoked') {
            hostKeyError = new TransportError(`host key for ${t.host}:${t.port} (${v.fingerprint}) is marked @revoked in ${t.knownHosts}`, 'hostkey');
            return false;
          }
          hostKeyError = new TransportError(
            `HOST KEY CHANGED for ${t.host}:${t.port}: the host offered ${v.keyType} ${v.fingerprint}, but ${v.file} knows ` +
              v.known.map((k) => `${k.keyType} ${k.fingerprint} (line ${k.line})`).join(', ') +
              `. This can be a man-in-the-middle attack. If the host was really reinstalled, remove the old key (ssh-keygen -R ${hostKeyName(t.host, t.port)} -f ${v.file}) and re-run.`,
            'hostkey');
          return false;
        },
      };
      this.client.on('ready', () => {
        this.connected = true;
        this.stats.connections++;
        settled = true;
        resolve();
      });
      this.client.on('error', (err: Error & { level?: string }) => {
        if (hostKeyError) return fail(hostKeyError);
        if (!settled) {
          const kind = err.level === 'client-authentication' ? 'auth' : /timed out/i.test(err.message) ? 'timeout' : 'unreachable';
          const msg = kind === 'auth' ? `authentication failed for ${t.user}@${t.host}:${t.port} (all configured keys were refused)` : `cannot connect to ${t.host}:${t.port}: ${err.message}`;
          return fail(new TransportError(msg, kind));
        }
        this.markLost(err);
      });
      this.client.on('close', () => {
        if (hostKeyError) return fail(hostKeyError);
        if (!settled) return fail(new TransportError(`connection to ${t.host}:${t.port} closed during handshake`, 'unreachable'));
        this.markLost(new Error('connection closed'));
      });
      this.client.connect(cfg);
    });
  }

  private markLost(err: Error) {
    if (!this.connected || this.lost) return;
    this.lost = new TransportError(`connection to ${this.target.host} lost: ${err.message}`, 'lost');
    this.onLost?.(this.lost);
  }

  private channel(command: string): Promise<ClientChannel> {
    if (this.lost) return Promise.reject(this.lost);
    if (!this.connected) return Promise.reject(new TransportError('not connected', 'other'));
    return new Promise((resolve, reject) => {
      this.stats.commands++;
      this.client.exec(command, (err, stream) => {
        if (err) return reject(this.lost ?? new TransportError(`cannot start command on ${this.target.host}: ${err.message}`, 'lost'));
        resolve(stream);
      });
    });
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    const stream = await this.channel(command);
    const timeoutMs = opts.timeoutMs ?? this.target.commandTimeoutMs;
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const errb: Buffer[] = [];
      let timedOut = false;
      let settled = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try { stream.signal('KILL'); } catch { /* old servers */ }
        stream.close();
        // do not wait for the server to confirm the close: a hung command must not hang the run
        settled = true;
        const durationMs = Date.now() - started;
        this.stats.busyMs += durationMs;
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errb).toString('utf8'), code: null, timedOut: true, durationMs });
      }, timeoutMs);
      const onLost = () => { clearTimeout(timer); reject(this.lost); };
      stream.on('data', (d: Buffer) => { out.push(d); this.stats.bytesIn += d.length; });
      const input = this.stdinFor(stream, opts);
      stream.stderr.on('data', (d: Buffer) => { errb.push(input.filter(d)); this.stats.bytesIn += d.length; });
      stream.on('close', (code: number | null, signal?: string) => {
        clearTimeout(timer);
        if (settled) return;
        errb.push(input.flush());
        const durationMs = Date.now() - started;
        this.stats.busyMs += durationMs;
        if (this.lost && !timedOut && code == null) return onLost();
        resolve({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(errb).toString('utf8'),
          code: timedOut ? null : code ?? null,
          signal: signal ?? undefined,
          timedOut,
          durationMs,
        });
      });
      input.start();
    });
  }

  /**
   * The stdin side of a command: the data at once, or (with a prompt to answer) the password only when asked and the
   * data only once the command says it runs. `filter` takes each stderr chunk and returns it without the markers.
   */
  private stdinFor(stream: ClientChannel, opts: { stdin?: string | Buffer; answer?: PromptAnswer; keepOpen?: boolean }) {
    let ended = false;
    const write = (data: string | Buffer) => { if (!ended) { this.stats.bytesOut += Buffer.byteLength(data); stream.write(data); } };
    const end = () => { if (!ended) { ended = true; stream.end(); } };
    const sendData = () => { if (opts.stdin !== undefined) write(opts.stdin); end(); };
    if (!opts.answer) return { start: sendData, filter: (d: Buffer) => d, flush: () => Buffer.alloc(0) };
    const decoder = new StringDecoder('utf8');
    const responder = promptResponder(opts.answer, { write, end, ready: opts.keepOpen ? () => {} : sendData });
    return {
      start: () => {},
      filter: (d: Buffer) => Buffer.from(responder.push(decoder.write(d)), 'utf8'),
      flush: () => Buffer.from(responder.push(decoder.end()) + responder.flush(), 'utf8'),
    };
  }

  async hold(command: string, opts: { answer?: PromptAnswer } = {}): Promise<HeldCommand> {
    const stream = await this.channel(command);
    let buf = '';
    let closed = false;
    let closeCode: number | null = null;
    const waiters: (() => void)[] = [];
    // stdin stays open for the run (no data): only a password, when sudo asks for it
    const input = opts.answer ? this.stdinFor(stream, { answer: opts.answer, keepOpen: true }) : undefined;
    stream.on('data', (d: Buffer) => { buf += d.toString('utf8'); waiters.splice(0).forEach((w) => w()); });
    stream.stderr.on('data', (d: Buffer) => { buf += (input ? input.filter(d) : d).toString('utf8'); });
    const done = new Promise<void>((res) => stream.on('close', (code: number | null) => { closed = true; closeCode = code; waiters.splice(0).forEach((w) => w()); res(); }));
    return {
      until: (marker, timeoutMs) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new TransportError(`no answer within ${timeoutMs} ms`, 'timeout')), timeoutMs);
        const check = () => {
          const i = buf.indexOf(marker + '\n');
          if (i >= 0) { clearTimeout(timer); return resolve(buf.slice(0, i + marker.length + 1)); }
          if (closed) { clearTimeout(timer); const e: any = new Error(buf.trim() || `command ended with code ${closeCode}`); e.output = buf; e.code = closeCode; return reject(e); }
          waiters.push(check);
        };
        check();
      }),
      write: (data: string) => { if (!closed) stream.write(data); },
      end: async () => {
        if (!closed) { stream.end(); await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]); }
      },
    };
  }

  async close(): Promise<void> {
    this.connected = false;
    this.client.end();
  }
}
