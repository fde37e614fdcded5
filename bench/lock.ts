// The machine-wide lab lock (/tmp/cf-lab.lock, flock(1)): only one lab runs on this machine at once. Held by a
// `flock` child that prints a line once it has the lock and keeps it until its stdin closes.
import { spawn } from 'node:child_process';

export const LAB_LOCK = '/tmp/cf-lab.lock';

/** Waits for the lock (others' lab tests may hold it for minutes); resolves to the function that releases it. */
export function acquireLabLock(log: (s: string) => void, path = LAB_LOCK): Promise<() => void> {
  if (process.env.CF_LAB_LOCK_HELD === '1') return Promise.resolve(() => {}); // the caller runs us under flock already
  return new Promise((res, rej) => {
    const p = spawn('flock', [path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const t = setTimeout(() => log(`waiting for the lab lock ${path} (another lab is running)…`), 2000);
    p.on('error', rej);
    p.stdout!.once('data', () => { clearTimeout(t); res(() => p.stdin!.end()); });
    p.on('exit', (code) => { clearTimeout(t); rej(new Error(`flock ${path} exited (${code}) before taking the lock`)); });
  });
}
