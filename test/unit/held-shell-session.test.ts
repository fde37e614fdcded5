// HostSession with the held shell on: probes and applies as messages to the lock command's shell (here a local sh
// over pipes standing in for the SSH channel), a shell killed by a script fails that request clearly and the next one
// takes the lock again in a new shell.
import { afterEach, describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HostSession, heldShellWanted } from '../../src/engine/host.js';
import { lockTail } from '../../src/transport/held-shell.js';
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
  /** PATH of the lock command's shell (a host without some tools) */
  constructor(readonly path?: string) {}
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
    const child = spawn('/bin/sh', ['-c', `printf '%s\\n' '${FACTS}'\n${lockTail(command.includes('@@CF-REQ'))}`], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...(this.path ? { PATH: this.path } : {}) } });
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

async function session(heldShell: boolean | undefined = true, path?: string, log?: (l: string) => void) {
  const t = new LocalTransport(path);
  open.push(t);
  const s = new HostSession(entry(heldShell), t, { heldShell, log });
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

  it('on by default (no inventory setting, no option)', async () => {
    const { s, t } = await session(undefined);
    expect((await s.run('echo x')).stdout).toBe('x\n');
    expect(t.execs).toEqual([]);
    expect(t.stats.commands).toBe(1);
  });

  it('a host without base64 (or mktemp, wc): the run falls back to a channel per request there, and -vv says why', async () => {
    // a PATH with everything the lock command's shell uses but base64
    const dir = mkdtempSync(join(tmpdir(), 'cf-nob64-'));
    try {
      for (const tool of ['cat', 'mktemp', 'wc', 'rm']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(dir, tool));
      const lines: string[] = [];
      const { s, t } = await session(true, dir, (l) => lines.push(l));
      expect(s.facts.hostname).toBe('h1');
      expect((await s.run('echo by-exec')).stdout).toBe('by-exec\n');
      expect((await s.probe([['a', 'echo one']])).a!.out).toBe('one\n');
      expect(t.execs).toHaveLength(2);
      expect(lines.join('\n')).toContain('[h1] no held shell here (it needs base64, mktemp, wc): a channel per request');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('off: one exec channel per request, as before', async () => {
    const { s, t } = await session(false);
    expect((await s.run('echo x')).stdout).toBe('x\n');
    expect(t.execs).toHaveLength(1);
  });
});

describe('heldShellWanted', () => {
  it('on by default, the inventory turns it off, CLUSTERFORM_HELD_SHELL=1/0 overrides both', () => {
    expect(heldShellWanted(entry(), undefined, undefined)).toBe(true);
    expect(heldShellWanted(entry(false), undefined, undefined)).toBe(false);
    expect(heldShellWanted(entry(true), undefined, undefined)).toBe(true);
    expect(heldShellWanted(entry(true), false, undefined)).toBe(false);
    expect(heldShellWanted(entry(), undefined, '1')).toBe(true);
    expect(heldShellWanted(entry(true), true, '0')).toBe(false);
  });
});
