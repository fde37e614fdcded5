// Lab SSH keys: the controller's client key, per-host ed25519 host keys, known_hosts.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabConfig, LabHost } from './types.js';

export const clientKeyPath = (cfg: LabConfig) => path.join(cfg.stateDir, 'id_ed25519');
export const knownHostsPath = (cfg: LabConfig) => path.join(cfg.stateDir, 'known_hosts');
/** Directory holding ssh_host_ed25519_key(.pub) of a host (also the VmSpec.hostKeyDir). */
export const hostKeyDir = (h: LabHost) => path.join(h.dir, 'hostkey');

function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

/**
 * An unencrypted ed25519 key pair in OpenSSH format, generated in-process (no ssh-keygen spawn: 100 hosts
 * need 100 host keys). Same format `ssh-keygen -t ed25519 -N ''` writes.
 */
export function generateEd25519(comment: string): { privateKey: string; publicKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const nkeys = Buffer.alloc(4);
  nkeys.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    nkeys,
    sshString(pubBlob),
    sshString(priv),
  ]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return {
    privateKey: ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n'),
    publicKey: `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}\n`,
  };
}

async function ensureKey(file: string, comment: string): Promise<void> {
  if (existsSync(file) && existsSync(`${file}.pub`)) return;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  const k = generateEd25519(comment);
  await writeFile(`${file}.pub`, k.publicKey, { mode: 0o644 });
  await writeFile(file, k.privateKey, { mode: 0o600 });
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
