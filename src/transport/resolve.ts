// The IP address behind a host name, resolved where OpenSSH would resolve it: on this machine for a direct
// connection, on the last jump host for one through jump hosts (sshd resolves the name of a forwarded connection).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Client as SshClient } from 'ssh2';
import { cmd } from '../util/shell.js';
import type { JumpPool } from './hop.js';
import type { SshTarget } from './ssh.js';

/** The first address `getent ahosts NAME` prints on the jump host (its resolver, as sshd uses it), or undefined. */
function lookupOn(client: SshClient, name: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    client.exec(cmd(['getent', 'ahosts', name]), (err, stream) => {
      if (err) { clearTimeout(timer); return resolve(undefined); }
      let out = '';
      stream.on('data', (d: Buffer) => { out += d.toString('utf8'); });
      stream.stderr.on('data', () => {});
      stream.on('close', () => {
        clearTimeout(timer);
        const first = out.split('\n')[0]?.split(/\s+/)[0] ?? '';
        resolve(isIP(first) ? first : undefined);
      });
    });
  });
}

/** The IP address the target's name stands for, or undefined when it cannot be resolved (nothing is thrown). */
export async function addressOf(target: SshTarget, pool: JumpPool): Promise<string | undefined> {
  if (isIP(target.hostName)) return target.hostName;
  if (!target.jump) return lookup(target.hostName).then((r) => r.address, () => undefined);
  const lease = await pool.acquire(target.jump).catch(() => undefined);
  if (!lease) return undefined;
  try { return await lookupOn(lease.client, target.hostName, target.connectTimeoutMs); } finally { lease.release(); }
}
