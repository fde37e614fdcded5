// known_hosts: parse OpenSSH's format, find the lines for a host (plain, wildcard, negated and hashed names, [host]:port),
// verify a host key the way OpenSSH does (@revoked wins, @cert-authority is not a host key), pick the host key algorithms
// to offer so that the server shows a key we know, record a new key.
// Hand-written: no maintained npm package parses and matches known_hosts (checked: none in the registry lists).
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { matchPatternList } from './pattern.js';

export type KnownHostMarker = '@revoked' | '@cert-authority';

export interface KnownHostEntry {
  patterns: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  /** the key's own type (read from the key blob, as OpenSSH does) */
  keyType: string;
  key: Buffer;
  marker?: KnownHostMarker;
  line: number;
  /** the file the line is in (when read from a file) */
  file?: string;
}

const MARKERS = new Set(['@revoked', '@cert-authority']);

function parseLine(raw: string, line: number, file?: string): KnownHostEntry | undefined {
  const f = raw.trim().split(/\s+/);
  if (f[0] === '' || f[0]!.startsWith('#')) return undefined;
  let marker: KnownHostMarker | undefined;
  if (f[0]!.startsWith('@')) {
    if (!MARKERS.has(f[0]!)) return undefined; // OpenSSH skips lines with an unknown marker
    marker = f.shift() as KnownHostMarker;
  }
  if (f.length < 3) return undefined;
  const [names, , b64] = f as [string, string, string];
  const key = Buffer.from(b64, 'base64');
  if (key.length < 8) return undefined;
  const e: KnownHostEntry = { patterns: [], keyType: keyTypeOf(key), key, marker, line, ...(file ? { file } : {}) };
  if (names.startsWith('|1|')) {
    const [, , salt, hash] = names.split('|');
    e.hashed = { salt: Buffer.from(salt ?? '', 'base64'), hash: Buffer.from(hash ?? '', 'base64') };
  } else e.patterns = names.split(',').filter(Boolean);
  return e;
}

export function parseKnownHosts(text: string, file?: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const e = parseLine(raw, i + 1, file);
    if (e) out.push(e);
  });
  return out;
}

/** The name OpenSSH looks up: `host`, or `[host]:port` for a port other than 22; lower case. */
export function hostKeyName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** A line matches when a positive pattern matches and no negated (`!`) pattern does; a hashed line by its HMAC. */
function entryMatches(e: KnownHostEntry, name: string): boolean {
  if (e.hashed) return createHmac('sha1', e.hashed.salt).update(name).digest().equals(e.hashed.hash);
  return matchPatternList(e.patterns, name);
}

/** The lines of a known_hosts text that apply to host:port. */
export function entriesFor(text: string, host: string, port: number, file?: string): KnownHostEntry[] {
  const name = hostKeyName(host, port);
  return parseKnownHosts(text, file).filter((e) => entryMatches(e, name));
}

function readKnownHosts(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/**
 * The lines for host:port in several files, as OpenSSH reads UserKnownHostsFile and GlobalKnownHostsFile: every
 * file counts (a missing one is empty), so a key in the global /etc/ssh/ssh_known_hosts is known too.
 */
export function entriesIn(files: string | string[], host: string, port: number): KnownHostEntry[] {
  return (Array.isArray(files) ? files : [files]).flatMap((f) => entriesFor(readKnownHosts(f), host, port, f));
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
  | { status: 'unknown'; fingerprint: string; keyType: string; certAuthority?: { file: string; line: number } }
  | { status: 'changed'; fingerprint: string; keyType: string; known: { keyType: string; fingerprint: string; line: number }[]; file: string }
  | { status: 'revoked'; fingerprint: string };

/** The verdict on `blob` from the known_hosts lines that apply to this host. */
export function judgeHostKey(entries: KnownHostEntry[], blob: Buffer, file: string): HostKeyVerdict {
  const type = keyTypeOf(blob);
  const fp = fingerprint(blob);
  if (entries.some((e) => e.marker === '@revoked' && e.key.equals(blob))) return { status: 'revoked', fingerprint: fp };
  const hostKeys = entries.filter((e) => e.marker === undefined); // @cert-authority keys sign host keys, they are not one
  if (hostKeys.some((e) => e.key.equals(blob))) return { status: 'match' };
  if (hostKeys.length === 0) {
    // a host certificate signed by a listed CA would be accepted by OpenSSH; clusterform does not take certificates
    const ca = entries.find((e) => e.marker === '@cert-authority');
    return { status: 'unknown', fingerprint: fp, keyType: type, ...(ca ? { certAuthority: { file: ca.file ?? file, line: ca.line } } : {}) };
  }
  // a different key of the same type, or (when the server has none of the known types) only other types: refuse
  const sameType = hostKeys.filter((e) => e.keyType === type);
  const shown = sameType.length ? sameType : hostKeys;
  const known = shown.map((e) => ({ keyType: e.keyType, fingerprint: fingerprint(e.key), line: e.line }));
  return { status: 'changed', fingerprint: fp, keyType: type, known, file: shown[0]!.file ?? file };
}

/** The verdict on a host's key from known_hosts files (the first one is named when a key is unknown). */
export function verifyHostKey(files: string | string[], host: string, port: number, blob: Buffer): HostKeyVerdict {
  const list = Array.isArray(files) ? files : [files];
  return judgeHostKey(entriesIn(list, host, port), blob, list[0] ?? '');
}

/** Host key algorithms per known_hosts key type, and the order offered when nothing is known (ssh2's default). */
const ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};
const DEFAULT_ORDER = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss'];

/**
 * The host key algorithms to offer, as OpenSSH does: those of the key types known for this host first (so that a
 * server with several host keys shows one we know), then the others (a server without any known type is then
 * refused as changed, not silently accepted). Undefined when nothing is known: the library's default.
 */
export function hostKeyAlgorithms(entries: KnownHostEntry[]): string[] | undefined {
  const known = new Set(entries.filter((e) => e.marker === undefined).flatMap((e) => ALGORITHMS[e.keyType] ?? []));
  if (known.size === 0) return undefined;
  const first = DEFAULT_ORDER.filter((a) => known.has(a));
  return [...first, ...DEFAULT_ORDER.filter((a) => !known.has(a) && a !== 'ssh-dss')];
}

export function hostKeyAlgorithmsFor(files: string | string[], host: string, port: number): string[] | undefined {
  return hostKeyAlgorithms(entriesIn(files, host, port));
}

export function recordHostKey(file: string, host: string, port: number, blob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  const cur = readKnownHosts(file);
  const sep = cur && !cur.endsWith('\n') ? '\n' : '';
  appendFileSync(file, `${sep}${hostKeyName(host, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
