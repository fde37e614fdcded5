// known_hosts: parse OpenSSH's format (plain and hashed names, [host]:port), verify a host key, record a new one.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  patterns: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: string; // base64 blob
  marker?: string;
  line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/\s+/);
    let marker: string | undefined;
    if (f[0]!.startsWith('@')) marker = f.shift();
    if (f.length < 3) return;
    const [names, keyType, key] = f as [string, string, string];
    const e: KnownHostEntry = { patterns: [], keyType, key, marker, line: i + 1 };
    if (names.startsWith('|1|')) {
      const [, , salt, hash] = names.split('|');
      e.hashed = { salt: Buffer.from(salt ?? '', 'base64'), hash: Buffer.from(hash ?? '', 'base64') };
    } else e.patterns = names.split(',');
    out.push(e);
  });
  return out;
}

export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(name);
}

function entryMatches(e: KnownHostEntry, name: string): boolean {
  if (e.hashed) {
    const h = createHmac('sha1', e.hashed.salt).update(name).digest();
    return h.equals(e.hashed.hash);
  }
  let ok = false;
  for (const p of e.patterns) {
    if (p.startsWith('!')) { if (globMatch(p.slice(1), name)) return false; }
    else if (globMatch(p, name)) ok = true;
  }
  return ok;
}

export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

export type HostKeyVerdict =
  | { status: 'match' }
  | { status: 'unknown'; fingerprint: string; keyType: string }
  | { status: 'changed'; fingerprint: string; keyType: string; known: { fingerprint: string; line: number }[]; file: string }
  | { status: 'revoked'; fingerprint: string };

export function verifyHostKey(file: string, host: string, port: number, blob: Buffer): HostKeyVerdict {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const name = hostKeyName(host, port);
  const entries = parseKnownHosts(text).filter((e) => entryMatches(e, name));
  const b64 = blob.toString('base64');
  const type = keyTypeOf(blob);
  const fp = fingerprint(blob);
  if (entries.some((e) => e.marker === '@revoked' && e.key === b64)) return { status: 'revoked', fingerprint: fp };
  const plain = entries.filter((e) => !e.marker);
  if (plain.some((e) => e.key === b64)) return { status: 'match' };
  // OpenSSH treats a host as changed when it has a known key of the same type that differs.
  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length > 0 || plain.length > 0) {
    const list = (sameType.length ? sameType : plain).map((e) => ({ fingerprint: fingerprint(Buffer.from(e.key, 'base64')), line: e.line }));
    return { status: 'changed', fingerprint: fp, keyType: type, known: list, file };
  }
  return { status: 'unknown', fingerprint: fp, keyType: type };
}

export function recordHostKey(file: string, host: string, port: number, blob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  const cur = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const sep = cur && !cur.endsWith('\n') ? '\n' : '';
  appendFileSync(file, `${sep}${hostKeyName(host, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
