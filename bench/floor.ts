// The OpenSSH floor: `ssh HOST true` to every host at once (one connection, key exchange, auth and one exec each),
// with the lab's key and known_hosts and no ssh_config, ControlMaster or agent.
import { spawn } from 'node:child_process';

export interface SshHost { address: string; key: string; knownHosts: string; user?: string }

function sshTrue(h: SshHost): Promise<number> {
  return new Promise((res) => {
    const p = spawn('ssh', ['-F', '/dev/null', '-i', h.key, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${h.knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ConnectTimeout=30', `${h.user ?? 'root'}@${h.address}`, 'true'], { stdio: 'ignore' });
    p.on('error', () => res(-1));
    p.on('close', (code) => res(code ?? -1));
  });
}

/** Seconds until every `ssh HOST true` exited; throws when one failed (the floor must be a real login). */
export async function sshFloor(hosts: SshHost[]): Promise<number> {
  const t = process.hrtime.bigint();
  const codes = await Promise.all(hosts.map(sshTrue));
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const bad = codes.map((c, i) => (c === 0 ? '' : `${hosts[i]!.address}: exit ${c}`)).filter(Boolean);
  if (bad.length) throw new Error(`ssh floor: ${bad.join(', ')}`);
  return s;
}
