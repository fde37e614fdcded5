// Lab SSH keys: the controller's client key, per-host ed25519 host keys, known_hosts.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './sh.js';
import type { LabConfig, LabHost } from './types.js';

export const clientKeyPath = (cfg: LabConfig) => path.join(cfg.stateDir, 'id_ed25519');
export const knownHostsPath = (cfg: LabConfig) => path.join(cfg.stateDir, 'known_hosts');
/** Directory holding ssh_host_ed25519_key(.pub) of a host (also the VmSpec.hostKeyDir). */
export const hostKeyDir = (h: LabHost) => path.join(h.dir, 'hostkey');

async function ensureKey(file: string, comment: string): Promise<void> {
  if (existsSync(file) && existsSync(`${file}.pub`)) return;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

export async function ensureClientKey(cfg: LabConfig): Promise<string> {
  await ensureKey(clientKeyPath(cfg), `clusterform-lab-${cfg.lab}`);
  return (await readFile(`${clientKeyPath(cfg)}.pub`, 'utf8')).trim();
}

export async function ensureHostKey(h: LabHost, lab: string): Promise<string> {
  const f = path.join(hostKeyDir(h), 'ssh_host_ed25519_key');
  await ensureKey(f, `root@${h.hostname}.${lab}`);
  return (await readFile(`${f}.pub`, 'utf8')).trim();
}

/** Writes known_hosts: one line per address of every host. */
export async function writeKnownHosts(cfg: LabConfig, hostPubKeys: Map<string, string>): Promise<void> {
  const lines: string[] = [];
  for (const h of cfg.hosts) {
    const pub = hostPubKeys.get(h.name);
    if (!pub) continue;
    const [type, b64] = pub.split(/\s+/);
    for (const nic of h.nics) lines.push(`${nic.address} ${type} ${b64}`);
  }
  const file = knownHostsPath(cfg);
  const content = lines.join('\n') + '\n';
  const old = existsSync(file) ? await readFile(file, 'utf8') : '';
  if (old !== content) await writeFile(file, content, { mode: 0o644 });
}
