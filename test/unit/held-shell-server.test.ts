// The held shell's server loop run for real, locally over pipes (no SSH), under every POSIX sh on this machine.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { HELD_SHELL_SERVER, HeldShell, killCommand, type ShellPipe } from '../../src/transport/held-shell.js';

const shells = [['sh'], ['dash'], ['busybox', 'sh'], ['bash', '--posix']].filter(([cmd]) => spawnSync(cmd!, ['-c', 'true']).status === 0);

/** The server loop as a local child: its stdin and stdout are the held channel. */
function localShell(shell: string[]): { held: HeldShell; child: ReturnType<typeof spawn> } {
  const child = spawn(shell[0]!, [...shell.slice(1), '-c', `echo @@CF-READY\n${HELD_SHELL_SERVER}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  let ready = false;
  const pipe: ShellPipe = {
    write: (d) => { child.stdin!.write(d); },
    attach: (onData, onEnd) => {
      child.stdout!.on('data', (d: Buffer) => {
        let s = d.toString('latin1');
        if (!ready) { ready = true; s = s.replace('@@CF-READY\n', ''); if (!s) return; }
        onData(s);
      });
      child.on('close', () => onEnd());
    },
  };
  child.stdin!.on('error', () => {}); // a shell that was killed
  const kill = async (pid: number) => execFileSync('sh', ['-c', killCommand(pid)]);
  return { held: new HeldShell(pipe, kill, 'local'), child };
}

const T = { timeoutMs: 30_000 };
/** Is the process gone (or a zombie left to an init that does not reap)? */
const gone = (pid: number) => {
  const r = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  return r.status !== 0 || r.stdout.trim().startsWith('Z');
};

describe.each(shells.map((s) => [s.join(' '), s]))('the held shell server under %s', (_name, shell) => {
  it('passes stdin to the command, and a command that reads more than given gets EOF without eating the next request', async () => {
    const { held, child } = localShell(shell as string[]);
    const a = await held.run('cat; echo "[end]"', 'cat', { stdin: 'hello\nworld', ...T });
    expect(a).toMatchObject({ stdout: 'hello\nworld[end]\n', code: 0, timedOut: false });
    const b = await held.run('read x || echo "eof $x"', 'read', T);
    expect(b.stdout).toBe('eof \n');
    const c = await held.run('echo after', 'echo', T);
    expect(c.stdout).toBe('after\n');
    child.kill();
  });

  it('carries all 256 byte values both ways, on stdout and stderr', async () => {
    const { held, child } = localShell(shell as string[]);
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const a = await held.request('cat; cat "$0" >/dev/null; printf "\\377\\000\\001" >&2', 'binary', { stdin: bytes, ...T });
    expect(a.stdout.equals(bytes)).toBe(true);
    expect([...a.stderr]).toEqual([0xff, 0, 1]);
    expect(a.code).toBe(0);
    child.kill();
  });

  it('returns a huge output (20 MiB) whole', async () => {
    const { held, child } = localShell(shell as string[]);
    const a = await held.request('head -c 20971520 /dev/zero | tr "\\000" x; echo tail >&2', 'huge', T);
    expect(a.stdout.length).toBe(20 * 1024 * 1024);
    expect(a.stdout.every((b) => b === 0x78)).toBe(true);
    expect(a.stderr.toString()).toBe('tail\n');
    child.kill();
  }, 60_000);

  it('gives exit codes and keeps serving: exit 7, then 20 requests queued at once answered in order', async () => {
    const { held, child } = localShell(shell as string[]);
    expect((await held.run('echo out; echo err >&2; exit 7', 'exit 7', T))).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => held.run(`echo ${i}`, `echo ${i}`, T)));
    expect(rs.map((r) => r.stdout)).toEqual(Array.from({ length: 20 }, (_, i) => `${i}\n`));
    expect(held.alive).toBe(true);
    child.kill();
  });

  it('a command that kills its own shell fails with a clear error, and so does every later request', async () => {
    const { held } = localShell(shell as string[]);
    await expect(held.run('kill -9 $PPID; sleep 1', '"kill -9 $PPID"', T)).rejects.toThrow(/the remote shell ended while running "kill -9 \$PPID"/);
    expect(held.alive).toBe(false);
    await expect(held.run('echo again', 'again', T)).rejects.toThrow(/remote shell ended/);
  });

  it('a timeout kills the script and its children and answers timedOut; the shell keeps serving', async () => {
    const { held, child } = localShell(shell as string[]);
    const a = await held.run('sleep 1000 & echo $!; sleep 1000', 'sleep', { timeoutMs: 500 });
    expect(a).toMatchObject({ timedOut: true, code: null });
    const childPid = Number(a.stdout.trim());
    expect(childPid).toBeGreaterThan(1);
    for (let i = 0; i < 50 && !gone(childPid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(gone(childPid)).toBe(true);
    expect((await held.run('echo still', 'echo', T)).stdout).toBe('still\n');
    child.kill();
  });

  it('an empty script and an empty stdin', async () => {
    const { held, child } = localShell(shell as string[]);
    expect(await held.run('', 'nothing', { stdin: '', ...T })).toMatchObject({ code: 0, stdout: '', stderr: '' });
    child.kill();
  });
});

it('finds at least sh and dash on this machine', () => {
  expect(shells.length).toBeGreaterThanOrEqual(2);
});
