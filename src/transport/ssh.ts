// One ssh2 connection per host (through its jump hosts when it has some): exec with timeouts, a held command for the
// run lock, host-key verification of every hop.
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { isIP } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { endpointString } from './sshconfig.js';
import { forwardTo, handshake, type JumpPool, type Lease, type SshHop } from './hop.js';
import { promptResponder } from './prompt.js';
import { TransportError, type ExecOptions, type PromptAnswer, type ExecResult, type HeldCommand, type Transport, type TransportEndpoint, type TransportStats } from './types.js';

const { Client } = ssh2;

export type { SshHop } from './hop.js';

export interface SshTarget extends SshHop {
  name: string;
  commandTimeoutMs: number;
}

export class SshTransport implements Transport {
  readonly stats: TransportStats = { connections: 0, commands: 0, bytesOut: 0, bytesIn: 0, busyMs: 0 };
  private client = new Client();
  private connected = false;
  private lost: Error | null = null;
  private lease: Lease | null = null;
  onLost?: (err: Error) => void;
  hostKeyNote: string | null = null;
  endpoint?: TransportEndpoint;
  /** awaited once connected, with what was used to reach the host */
  onConnected?: (e: TransportEndpoint) => void | Promise<void>;

  /** `pool` holds the jump host connections shared by every host behind them (required when the target has a jump). */
  constructor(readonly target: SshTarget, private readonly pool?: JumpPool) {}

  get name() { return this.target.name; }

  async connect(): Promise<void> {
    const t = this.target;
    let sock;
    if (t.jump) {
      if (!this.pool) throw new TransportError(`${t.name}: a jump host needs a connection pool`, 'other');
      this.lease = await this.pool.acquire(t.jump);
      try { sock = await forwardTo(this.lease.client, t.jump, t.hostName, t.port); } catch (e) { this.releaseJump(); throw e; }
    }
    try {
      await handshake(this.client, t, sock, (note) => { this.hostKeyNote = note; }, (err) => this.markLost(err));
    } catch (e) {
      this.releaseJump();
      throw e;
    }
    this.connected = true;
    this.stats.connections++;
    const jumpNotes = this.pool?.notes.splice(0) ?? []; // a jump host's recorded key is told with the first host behind it
    if (jumpNotes.length) this.hostKeyNote = [...jumpNotes, ...(this.hostKeyNote ? [this.hostKeyNote] : [])].join('; ');
    this.endpoint = await this.describe();
    await this.onConnected?.(this.endpoint);
  }

  /** What was used to reach the host, and the address it answered on (from sshd's SSH_CONNECTION when given a name). */
  private async describe(): Promise<TransportEndpoint> {
    const t = this.target;
    const jump: string[] = [];
    for (let j = t.jump; j; j = j.jump) jump.unshift(endpointString(j));
    let ip = isIP(t.hostName) ? t.hostName : undefined;
    if (!ip) {
      const r = await this.exec('printf \'%s\\n\' "$SSH_CONNECTION"', { timeoutMs: t.connectTimeoutMs });
      const f = r.stdout.trim().split(/\s+/);
      if (r.code === 0 && f.length === 4 && isIP(f[2]!)) ip = f[2]!;
    }
    return { address: t.hostName, port: t.port, user: t.user, jump, ...(ip ? { ip } : {}) };
  }

  private releaseJump() {
    this.lease?.release();
    this.lease = null;
  }

  private markLost(err: Error) {
    if (!this.connected || this.lost) return;
    this.lost = new TransportError(`connection to ${this.target.hostName}:${this.target.port} lost: ${err.message}`, 'lost');
    this.onLost?.(this.lost);
  }

  private channel(command: string): Promise<ClientChannel> {
    if (this.lost) return Promise.reject(this.lost);
    if (!this.connected) return Promise.reject(new TransportError('not connected', 'other'));
    return new Promise((resolve, reject) => {
      this.stats.commands++;
      this.client.exec(command, (err, stream) => {
        if (err) return reject(this.lost ?? new TransportError(`cannot start command on ${this.target.hostName}: ${err.message}`, 'lost'));
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
    let taken = 0; // what until() returned
    let closed = false;
    let closeCode: number | null = null;
    let sink: ((chunk: string) => void) | null = null; // once attached: stdout goes there, stderr is kept apart
    let errTail = '';
    const waiters: (() => void)[] = [];
    // stdin stays open for the run: a password when sudo asks for it, then the held shell's requests
    const input = opts.answer ? this.stdinFor(stream, { answer: opts.answer, keepOpen: true }) : undefined;
    stream.on('data', (d: Buffer) => {
      this.stats.bytesIn += d.length;
      if (sink) return sink(d.toString('latin1'));
      buf += d.toString('utf8');
      waiters.splice(0).forEach((w) => w());
    });
    stream.stderr.on('data', (d: Buffer) => {
      const text = (input ? input.filter(d) : d).toString('utf8');
      if (sink) errTail = (errTail + text).slice(-2000); else buf += text;
    });
    let onEnd: ((err?: Error) => void) | null = null;
    const done = new Promise<void>((res) => stream.on('close', (code: number | null) => {
      closed = true; closeCode = code;
      waiters.splice(0).forEach((w) => w());
      onEnd?.(this.lost ?? (errTail.trim() ? new Error(errTail.trim()) : undefined));
      res();
    }));
    return {
      until: (marker, timeoutMs) => new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new TransportError(`no answer within ${timeoutMs} ms`, 'timeout')), timeoutMs);
        const check = () => {
          const i = buf.indexOf(marker + '\n');
          if (i >= 0) { clearTimeout(timer); taken = i + marker.length + 1; return resolve(buf.slice(0, taken)); }
          if (closed) { clearTimeout(timer); const e: any = new Error(buf.trim() || `command ended with code ${closeCode}`); e.output = buf; e.code = closeCode; return reject(e); }
          waiters.push(check);
        };
        check();
      }),
      write: (data: string) => { if (!closed) { this.stats.bytesOut += Buffer.byteLength(data); stream.write(data); } },
      attach: (onData, end) => {
        const rest = buf.slice(taken);
        buf = '';
        sink = onData;
        onEnd = end;
        if (rest) onData(rest);
        if (closed) end(this.lost ?? undefined);
      },
      end: async () => {
        if (!closed) { stream.end(); await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]); }
      },
    };
  }

  async close(): Promise<void> {
    this.connected = false;
    this.client.end();
    this.releaseJump();
  }
}
