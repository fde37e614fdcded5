// An in-memory Transport for engine unit tests. It answers the scripts the engine really sends (HostSession's
// lock+facts command, probe scripts, apply scripts) by taking them apart and running the snippets and action steps
// in a tiny command language against a key/value "host":
//
//   get KEY            prints the value (exit 1 when unset)     set KEY VALUE   sets it
//   echo TEXT          prints TEXT                               sleep MS        waits
//   fail RC [MESSAGE]  prints MESSAGE on stderr, exits RC        hang            never ends (until the timeout)
//   lose               the connection drops (onLost, the command rejects)
//
// A host's `faults` make chosen command lines fail on it alone.
//
// Keys starting with `shared/` live in the lab, visible to every host (a shared disk). Every command is logged per
// host, and the number of commands in flight across all hosts is tracked (forks).
import { createHash } from 'node:crypto';
import { parseProbe, probeOutput } from '../../src/engine/script.js';
import { q } from '../../src/util/shell.js';
import type { HostEntry } from '../../src/inventory/load.js';
import { TransportError, type ExecOptions, type ExecResult, type HeldCommand, type Transport, type TransportStats } from '../../src/transport/types.js';

export interface FakeHostOptions {
  /** connect() fails with this message */
  unreachable?: string;
  /** the run lock is held by another run, described like this */
  lockedBy?: string;
  /** every remote command takes this long */
  latencyMs?: number;
  /** the facts the lock command prints (key=value lines); default: a Debian host named after the host */
  facts?: string;
  /** command lines starting with one of these keys fail (exit 1) with the value on stderr: a broken host */
  faults?: Record<string, string>;
}

export interface FakeCommand {
  kind: 'hold' | 'probe' | 'apply' | 'guard' | 'stop';
  /** probe section names (also those read after an apply) */
  sections: string[];
  /** apply steps, as sent */
  steps: string[];
  timeoutMs?: number;
}

interface Run { out: string; err: string; rc: number }

export class FakeHost {
  readonly kv = new Map<string, string>();
  readonly log: FakeCommand[] = [];
  transports = 0;
  /** the batch stop file (HostSession.stopBatch) exists; a new run lock starts without it */
  stopFile = false;
  constructor(readonly name: string, public opts: FakeHostOptions = {}) {}
  get probes() { return this.log.filter((c) => c.kind === 'probe'); }
  get applies() { return this.log.filter((c) => c.kind === 'apply'); }
}

/** The batch stop file's path the fake lock command says (@@CF-STOP). */
export const FAKE_STOP = '/run/clusterform/stop.4242';

class Lost extends Error {}
class Hung extends Error {}

export class FakeLab {
  readonly shared = new Map<string, string>();
  readonly hosts = new Map<string, FakeHost>();
  /** remote commands in flight right now, and the most at once (the held lock command is not counted) */
  active = 0;
  maxActive = 0;
  /** called before each command line of a snippet or step runs, e.g. to abort the run at a given step */
  onCommand?: (host: string, line: string) => void;

  host(name: string, opts?: FakeHostOptions): FakeHost {
    let h = this.hosts.get(name);
    if (!h) this.hosts.set(name, (h = new FakeHost(name)));
    if (opts) h.opts = { ...h.opts, ...opts };
    return h;
  }

  /** The `transport` option of runPlaybook. */
  readonly transport = (e: HostEntry): Transport => {
    const h = this.host(e.name);
    h.transports++;
    return new FakeTransport(this, h);
  };

  /** Run one line of the command language on `host`. */
  async line(host: FakeHost, line: string): Promise<Run> {
    this.onCommand?.(host.name, line);
    const fault = Object.entries(host.opts.faults ?? {}).find(([k]) => line.trim().startsWith(k));
    if (fault) return { out: '', err: fault[1], rc: 1 };
    const [verb, ...rest] = line.trim().split(/\s+/);
    const store = (k: string) => (k.startsWith('shared/') ? this.shared : host.kv);
    switch (verb) {
      case 'get': { const v = store(rest[0]!).get(rest[0]!); return v === undefined ? { out: '', err: '', rc: 1 } : { out: v, err: '', rc: 0 }; }
      case 'set': store(rest[0]!).set(rest[0]!, rest.slice(1).join(' ')); return { out: '', err: '', rc: 0 };
      case 'echo': return { out: rest.join(' '), err: '', rc: 0 };
      case 'sleep': await delay(Number(rest[0])); return { out: '', err: '', rc: 0 };
      case 'fail': return { out: '', err: rest.slice(1).join(' '), rc: Number(rest[0]) };
      case 'hang': throw new Hung();
      case 'lose': throw new Lost();
      case '': case undefined: return { out: '', err: '', rc: 0 };
      default: return { out: '', err: `${verb}: command not found`, rc: 127 };
    }
  }

  /** Lines in order; stops at the first that fails (like `set -e`). */
  async snippet(host: FakeHost, text: string): Promise<Run> {
    const r: Run = { out: '', err: '', rc: 0 };
    for (const l of text.split('\n').filter((x) => x.trim())) {
      const x = await this.line(host, l);
      r.out += x.out; r.err += x.err; r.rc = x.rc;
      if (x.rc !== 0) break;
    }
    return r;
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The script inside HostSession.wrap's `sh -c '…'` / `sudo -n sh -c '…'` (q() quoting undone). */
export function unwrap(command: string): string {
  const m = /^(?:sudo -n )?sh -c ([\s\S]*)$/.exec(command);
  if (!m) throw new Error(`fake transport: not a wrapped script: ${command.slice(0, 80)}`);
  const w = m[1]!;
  return w.startsWith("'") ? w.slice(1, -1).replaceAll(`'\\''`, "'") : w;
}

/** A probe script's nonce and its sections (name, snippet), as probeScript() writes them. */
export function probeSections(script: string): { nonce: string; sections: [string, string][] } {
  const re = /printf '%s\\n' '?@@CF:([0-9a-f]+):S:([^'\n]+?)'?\n\( ([\s\S]*?)\n\) 2>"\$__cfe"/g;
  let nonce = '';
  const sections: [string, string][] = [];
  for (const m of script.matchAll(re)) { nonce = m[1]!; sections.push([m[2]!, m[3]!]); }
  return { nonce, sections };
}

/** An apply script's steps, as applyScript() writes them, and the probe script read after them, if any. */
export function applySteps(script: string): { steps: string[]; after?: string } {
  const i = script.indexOf('\nset +u\n');
  const body = i >= 0 ? script.slice(0, i) : script;
  const steps = [...body.matchAll(/\( set -e\n([\s\S]*?)\n\) <\/dev\/null\n__rc=\$\?;/g)].map((m) => m[1]!);
  return { steps, after: i >= 0 ? script.slice(i + 8) : undefined };
}


export class FakeTransport implements Transport {
  readonly name: string;
  readonly stats: TransportStats = { connections: 0, commands: 0, bytesOut: 0, bytesIn: 0, busyMs: 0 };
  hostKeyNote: string | null = null;
  onLost?: (err: Error) => void;
  private lost: TransportError | null = null;
  private connected = false;

  constructor(private readonly lab: FakeLab, readonly host: FakeHost) { this.name = host.name; }

  async connect(): Promise<void> {
    if (this.host.opts.unreachable) throw new TransportError(this.host.opts.unreachable, 'unreachable');
    this.connected = true;
    this.stats.connections++;
  }

  async hold(command: string): Promise<HeldCommand> {
    this.check();
    this.stats.commands++;
    const script = unwrap(command);
    if (!script.includes('@@CF-READY')) throw new Error('fake transport: hold() is only used for the lock command');
    this.host.log.push({ kind: 'hold', sections: [], steps: [] });
    const { lockedBy, facts } = this.host.opts;
    return {
      until: async (marker) => {
        if (lockedBy !== undefined) throw Object.assign(new Error('locked'), { output: `@@CF-LOCKED ${lockedBy}\n`, code: 3 });
        this.host.stopFile = false;
        return `${facts ?? `hostname=${this.name}\nos.id=debian\nkernel=6.1.0\nuid=0\ninit=systemd\npkg=apt-get\ntool.sha256sum=1\n@@CF-STOP ${FAKE_STOP}`}\n${marker}\n`;
      },
      write: () => {},
      attach: () => {},
      end: async () => {},
    };
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.check();
    this.stats.commands++;
    const started = Date.now();
    this.lab.active++;
    this.lab.maxActive = Math.max(this.lab.maxActive, this.lab.active);
    try {
      if (this.host.opts.latencyMs) await delay(this.host.opts.latencyMs);
      const wrapped = unwrap(command);
      const script = wrapped.includes('cat > "$__cfs"') ? String(opts.stdin) : wrapped;
      return { ...(await this.run(script, opts)), durationMs: Date.now() - started };
    } catch (e) {
      // a hung command: the transport kills it at its timeout (recorded in the log) and says so
      if (e instanceof Hung) return { stdout: '', stderr: '', code: null, timedOut: true, durationMs: Date.now() - started };
      if (!(e instanceof Lost)) throw e;
      this.lost = new TransportError(`connection to ${this.name} lost: connection reset`, 'lost');
      this.onLost?.(this.lost);
      throw this.lost;
    } finally {
      this.lab.active--;
      this.stats.busyMs += Date.now() - started;
    }
  }

  private check() {
    if (this.lost) throw this.lost;
    if (!this.connected) throw new TransportError('not connected', 'other');
  }

  private async run(script: string, opts: ExecOptions): Promise<Omit<ExecResult, 'durationMs'>> {
    if (script.startsWith('set -u\n')) return this.apply(script, opts);
    if (script === `: > ${q(FAKE_STOP)}`) {
      this.host.stopFile = true;
      this.host.log.push({ kind: 'stop', sections: [], steps: [] });
      return { stdout: '', stderr: '', code: 0 };
    }
    const { nonce, sections } = probeSections(script);
    if (!nonce) throw new Error(`fake transport: neither a probe nor an apply script: ${script.slice(0, 80)}`);
    this.host.log.push({ kind: 'probe', sections: sections.map(([n]) => n), steps: [], timeoutMs: opts.timeoutMs });
    return { stdout: await this.answer(nonce, sections), stderr: '', code: 0 };
  }

  private async answer(nonce: string, sections: [string, string][]): Promise<string> {
    const results: [string, Run][] = [];
    for (const [name, snippet] of sections) results.push([name, await this.lab.snippet(this.host, snippet)]);
    const out = probeOutput(nonce, results);
    if (Object.keys(parseProbe(out, nonce)).length !== sections.length) throw new Error('fake transport: probe output does not parse');
    return out;
  }

  private async apply(script: string, opts: ExecOptions): Promise<Omit<ExecResult, 'durationMs'>> {
    const { steps, after } = applySteps(script);
    const probe = after ? probeSections(after) : undefined;
    this.host.log.push({ kind: 'apply', sections: probe?.sections.map(([n]) => n) ?? [], steps, timeoutMs: opts.timeoutMs });
    let stderr = '';
    for (const [i, step] of steps.entries()) {
      const r = step.startsWith('set +e +u\n[ ! -e ') ? await this.guard(step) : await this.lab.snippet(this.host, step);
      stderr += r.err ? r.err + '\n' : '';
      if (r.rc !== 0) return { stdout: '', stderr: `${stderr}@@CF-FAILED-STEP ${i} ${r.rc}\n`, code: r.rc };
    }
    return { stdout: probe ? await this.answer(probe.nonce, probe.sections) : '', stderr, code: 0 };
  }

  /** A batch guard (src/engine/batch.ts): its reads run now; rc 0 when their probe output hashes as expected, else 75. */
  private async guard(step: string): Promise<Run> {
    const want = /\[ "\$\{__cfg%% \*\}" = '([0-9a-f]{64})' \]/.exec(step)?.[1];
    const sections = [...step.matchAll(/printf '%s\\n' '?@@CF:guard:S:([^'\n]+?)'?\n\( ([\s\S]*?)\n\) 2>"\$__cfe"/g)].map((m) => [m[1]!, m[2]!] as [string, string]);
    if (!want || sections.length === 0 || !step.includes(`[ ! -e ${q(FAKE_STOP)} ] || exit 75`)) throw new Error(`fake transport: not a guard: ${step.slice(0, 120)}`);
    this.host.log.push({ kind: 'guard', sections: sections.map(([n]) => n), steps: [] });
    if (this.host.stopFile) return { out: '', err: '', rc: 75 };
    const results: [string, Run][] = [];
    for (const [name, snippet] of sections) results.push([name, await this.lab.snippet(this.host, snippet)]);
    const got = createHash('sha256').update(probeOutput('guard', results), 'utf8').digest('hex');
    return got === want ? { out: '', err: '', rc: 0 } : { out: '', err: '', rc: 75 };
  }

  async close(): Promise<void> { this.connected = false; }
}
