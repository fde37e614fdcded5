// HostSession with the held shell on: probes and applies as messages to the lock command's shell (here a local sh
// over pipes standing in for the SSH channel), a shell killed by a script fails that request clearly and the next one
// takes the lock again in a new shell.
import { afterEach, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { HostSession, heldShellWanted } from '../../src/engine/host.js';
import { HELD_SHELL_SERVER } from '../../src/transport/held-shell.js';
import type { ExecResult, HeldCommand, Transport, TransportStats } from '../../src/transport/types.js';
import type { HostEntry } from '../../src/inventory/load.js';

const FACTS = 'hostname=h1\nos.id=debian\nkernel=6.1.0\nuid=0\ninit=systemd\npkg=apt-get';

/** Runs the lock command's held part locally (no SSH, no lock file on this machine); exec runs locally too. */
class LocalTransport implements Transport {
  readonly name = 'h1';
  readonly stats: TransportStats = { connections: 0, commands: 0, bytesOut: 0, bytesIn: 0, busyMs: 0 };
  holds: string[] = [];
  execs: string[] = [];
  children: ChildProcess[] = [];
  async connect() { this.stats.connections++; }
  async exec(command: string): Promise<ExecResult> {
    this.stats.commands++;
    this.execs.push(command);
    const r = await promisify(execFile)('sh', ['-c', command]).catch((e) => e);
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: typeof r.code === 'number' ? r.code : 0, durationMs: 0 };
  }
  async hold(command: string): Promise<HeldCommand> {
    this.stats.commands++;
    this.holds.push(command);
    const served = command.includes('@@CF-REQ') ? HELD_SHELL_SERVER : 'cat >/dev/null';
    const child = spawn('sh', ['-c', `printf '%s\\n' '${FACTS}'; echo @@CF-READY\n${served}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin!.on('error', () => {});
    this.children.push(child);
    let buf = '';
    let sink: ((s: string) => void) | null = null;
    child.stdout!.on('data', (d: Buffer) => { if (sink) sink(d.toString('latin1')); else buf += d.toString('latin1'); });
    return {
      until: (marker) => new Promise((resolve) => {
        const check = () => { const i = buf.indexOf(marker + '\n'); if (i < 0) return void setTimeout(check, 5); const out = buf.slice(0, i + marker.length + 1); buf = buf.slice(out.length); resolve(out); };
        check();
      }),
      write: (d) => { child.stdin!.write(d); },
      attach: (onData, onEnd) => { sink = onData; if (buf) onData(buf); child.on('close', () => onEnd()); },
      end: async () => { child.stdin!.end(); },
    };
  }
  async close() { for (const c of this.children) c.kill(); }
}

const entry = (heldShell?: boolean): HostEntry => ({ name: 'h1', address: 'h1', vars: {}, ssh: { commandTimeoutMs: 30_000, heldShell } });
let open: LocalTransport[] = [];
afterEach(async () => { for (const t of open) await t.close(); open = []; });

async function session(heldShell = true) {
  const t = new LocalTransport();
  open.push(t);
  const s = new HostSession(entry(heldShell), t, { heldShell });
  await s.open();
  return { s, t };
}

describe('HostSession with the held shell', () => {
  it('runs probes and applies in the lock command\'s shell: one channel for the whole session', async () => {
    const { s, t } = await session();
    expect(s.facts.hostname).toBe('h1');
    const p = await s.probe([['a', 'echo one'], ['b', 'printf "two\\nlines"']]);
    expect(p.a!.out).toBe('one\n');
    expect(p.b!.out).toBe('two\nlines');
    const r = await s.apply([{ kind: 'sh', script: 'echo applied', desc: 'echo' }]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('applied');
    expect(t.stats.commands).toBe(1);
    expect(t.execs).toEqual([]);
  });

  it('a script that kills its shell fails with a clear error; the next request takes the lock again in a new shell', async () => {
    const { s, t } = await session();
    await expect(s.run('kill -9 $PPID')).rejects.toThrow(/h1: the remote shell ended while running "kill -9 \$PPID"/);
    const r = await s.run('echo back');
    expect(r).toMatchObject({ code: 0, stdout: 'back\n' });
    expect(t.holds).toHaveLength(2);
    expect(t.holds[1]).toContain('flock -n 9');
  });

  it('a timeout kills the request over a new channel and reports timedOut', async () => {
    const { s, t } = await session();
    const r = await s.run('sleep 1000', 300);
    expect(r).toMatchObject({ timedOut: true, code: null });
    expect(t.execs).toHaveLength(1);
    expect(t.execs[0]).toMatch(/kill -KILL -\d+/);
    expect((await s.run('echo next')).stdout).toBe('next\n');
  });

  it('off: one exec channel per request, as before', async () => {
    const { s, t } = await session(false);
    expect((await s.run('echo x')).stdout).toBe('x\n');
    expect(t.execs).toHaveLength(1);
  });
});

describe('heldShellWanted', () => {
  it('off by default, the inventory turns it on, CLUSTERFORM_HELD_SHELL=1/0 overrides both', () => {
    expect(heldShellWanted(entry(), undefined, undefined)).toBe(false);
    expect(heldShellWanted(entry(true), undefined, undefined)).toBe(true);
    expect(heldShellWanted(entry(true), false, undefined)).toBe(false);
    expect(heldShellWanted(entry(), undefined, '1')).toBe(true);
    expect(heldShellWanted(entry(true), true, '0')).toBe(false);
  });
});
