// The transport contract: run a command on a host and get stdout, stderr and exit code back.
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** exit code; null when the command was killed by a signal or timed out */
  code: number | null;
  signal?: string;
  timedOut?: boolean;
  durationMs: number;
}

/**
 * A password asked for on stderr (`sudo -S -p PROMPT`): `answer` is written to stdin only when `prompt` appears on
 * stderr before `ready`, and only once (a second prompt closes stdin: wrong password); nothing is written when the
 * prompt never comes. The command prints the line `ready` on stderr once it runs; only then is `stdin` written, so the
 * password and the data can never be mistaken for each other. Both markers are removed from stderr.
 */
export interface PromptAnswer {
  prompt: string;
  answer: string; // secret
  ready: string;
}

export interface ExecOptions {
  /** data written to the command's stdin, then stdin is closed */
  stdin?: string | Buffer;
  answer?: PromptAnswer;
  /** kill the command and fail after this many ms (default: the transport's command timeout) */
  timeoutMs?: number;
}

export interface TransportStats {
  connections: number;
  commands: number;
  bytesOut: number;
  bytesIn: number;
  busyMs: number;
}

/** A long-running command whose stdin stays open until `end()` (used for the per-host run lock). */
export interface HeldCommand {
  /** resolves with everything printed up to and including the first line equal to `marker`, or rejects */
  until(marker: string, timeoutMs: number): Promise<string>;
  write(data: string): void;
  /** after `until`: what follows the marker and every later stdout chunk go to `onData`; `onEnd` once it has ended (with the connection's error when it was lost) */
  attach(onData: (chunk: string) => void, onEnd: (err?: Error) => void): void;
  end(): Promise<void>;
}

/** How a host was reached: the address, port and user used, the jump hosts (user@host:port, first hop first). */
export interface TransportEndpoint {
  address: string;
  port: number;
  user: string;
  jump: string[];
  /** the IP address the host answered on, when `address` is a name */
  ip?: string;
}

export interface Transport {
  readonly name: string;
  readonly stats: TransportStats;
  connect(): Promise<void>;
  /** run a shell command line (already quoted) */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  hold(command: string, opts?: { answer?: PromptAnswer }): Promise<HeldCommand>;
  close(): Promise<void>;
  /** set by connect() when it recorded a host key it did not know (--accept-new-host-keys) */
  hostKeyNote?: string | null;
  /** set by connect(): what was used to reach the host */
  endpoint?: TransportEndpoint;
  /** called when the connection is lost after connect() */
  onLost?: (err: Error) => void;
}

export class TransportError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'hostkey' | 'auth' | 'timeout' | 'lost' | 'other',
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
