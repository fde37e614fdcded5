// OpenSSH client configuration (ssh_config(5)): the file format is read by the `ssh-config` npm package; the lookup
// rules are OpenSSH's and live here: files in order (inventory values, then the user's file, then the system file),
// the first obtained value of each keyword wins (IdentityFile accumulates), `Host` pattern lists with * ? and !,
// `Match all|host|originalhost|user|localuser`, `Include` (globs, relative to ~/.ssh or /etc/ssh, scoped to the
// enclosing block), `%` tokens, `ProxyJump` chains and the `ssh -W %h:%p` form of `ProxyCommand`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import SSHConfig, { type Line } from 'ssh-config';
import { matchPattern, matchPatternList } from './pattern.js';

export class SshConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SshConfigError';
  }
}

/** The keywords clusterform uses; every other keyword in a file is read past (it does not change how hosts are reached here). */
const KEYWORDS = [
  'hostname', 'user', 'port', 'identityfile', 'identitiesonly', 'proxyjump', 'proxycommand', 'stricthostkeychecking',
  'userknownhostsfile', 'globalknownhostsfile', 'connecttimeout', 'serveraliveinterval', 'serveralivecountmax',
] as const;
export type Keyword = (typeof KEYWORDS)[number];
const KNOWN = new Set<string>(KEYWORDS);
/** Keywords whose every occurrence adds a value instead of the first one winning. */
const ACCUMULATE = new Set<string>(['identityfile']);

/** Values obtained so far, by keyword: each a list of words (IdentityFile: one word per occurrence). */
export type Obtained = Partial<Record<Keyword, string[]>>;

export interface ConfigFile {
  path: string;
  /** where a relative Include is looked for: ~/.ssh for the user's file, /etc/ssh for the system file */
  includeBase: string;
}

export interface LookupContext {
  /** the local home directory (for ~ and %d) */
  home: string;
  localUser: string;
  /** the remote user when neither the inventory nor a file names one */
  defaultUser: string;
  uid?: number;
  localHost?: string;
}

const MAX_INCLUDE_DEPTH = 16;

const words = (l: Line & { value?: unknown }): string[] => {
  const v = (l as any).value;
  return Array.isArray(v) ? v.map((x: { val: string }) => x.val) : typeof v === 'string' ? [v] : [];
};

function readConfig(path: string): SSHConfig {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    throw new SshConfigError(`cannot read ssh config ${path}: ${(e as Error).message}`);
  }
  try { return SSHConfig.parse(text); } catch (e) { throw new SshConfigError(`${path}: ${(e as Error).message}`); }
}

/** `~` and `~/…` as the user's home. */
export function tilde(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/** The files a glob names (`*`, `?` in any path component), sorted as glob(3) sorts them; none when nothing matches. */
export function expandGlob(pattern: string): string[] {
  const parts = pattern.split('/');
  let paths = [pattern.startsWith('/') ? '/' : '.'];
  for (const part of parts) {
    if (part === '') continue;
    if (!/[*?]/.test(part)) { paths = paths.map((p) => join(p, part)); continue; }
    paths = paths.flatMap((p) => {
      try { return readdirSync(p).filter((n) => !n.startsWith('.') && matchPattern(part, n)).sort().map((n) => join(p, n)); } catch { return []; }
    });
  }
  return paths.filter((p) => { try { return statSync(p).isFile(); } catch { return false; } });
}

interface Query {
  /** the host as given (OpenSSH's "original host"): the inventory address, or the host's name */
  original: string;
  ctx: LookupContext;
  obtained: Obtained;
}

/** The host name so far for `Match host`: HostName once obtained (with %h), else the original. */
const currentHost = (q: Query) => (q.obtained.hostname ? expandTokens(q.obtained.hostname[0]!, { h: q.original }, 'HostName') : q.original);

function matchLine(l: Line, q: Query, where: string): boolean {
  const w = words(l);
  for (let i = 0; i < w.length; i++) {
    const raw = w[i]!.toLowerCase();
    const neg = raw.startsWith('!');
    const kw = neg ? raw.slice(1) : raw;
    if (kw === 'all') { if (neg) return false; continue; }
    const arg = w[++i];
    if (arg === undefined) throw new SshConfigError(`${where}: Match ${kw} needs an argument`);
    const list = arg.split(',');
    let r: boolean;
    if (kw === 'host') r = matchPatternList(list, currentHost(q));
    else if (kw === 'originalhost') r = matchPatternList(list, q.original);
    else if (kw === 'user') r = matchPatternList(list, q.obtained.user?.[0] ?? q.ctx.defaultUser);
    else if (kw === 'localuser') r = matchPatternList(list, q.ctx.localUser);
    else throw new SshConfigError(`${where}: "Match ${kw}" is not supported by clusterform (supported: all, host, originalhost, user, localuser)`);
    if (neg ? r : !r) return false; // every criterion must hold: stop at the first that does not (as OpenSSH skips exec then)
  }
  return true;
}

function setValue(q: Query, kw: string, value: string[]): void {
  if (!KNOWN.has(kw)) return;
  const k = kw as Keyword;
  if (ACCUMULATE.has(k)) { (q.obtained[k] ??= []).push(...value); return; }
  if (q.obtained[k] !== undefined) return; // first obtained value wins
  // ProxyJump and ProxyCommand are one setting: whichever comes first wins
  if ((k === 'proxyjump' && q.obtained.proxycommand) || (k === 'proxycommand' && q.obtained.proxyjump)) return;
  q.obtained[k] = value;
}

/** The lines of one file (or a block of it), with `active` for the lines before the first Host/Match. */
function applyLines(lines: Line[], q: Query, file: ConfigFile, active: boolean, neverMatch: boolean, depth: number): void {
  for (const l of lines) {
    if (l.type !== SSHConfig.DIRECTIVE) continue;
    const kw = l.param.toLowerCase();
    const where = `${file.path} (${l.param} ${words(l).join(' ')})`;
    if (kw === 'host' || kw === 'match') {
      const on = !neverMatch && (kw === 'host' ? matchPatternList(words(l), q.original) : matchLine(l, q, where));
      applyLines((l as any).config ?? [], q, file, on, neverMatch, depth);
      continue;
    }
    if (kw === 'include') { include(words(l), q, file, active, neverMatch, depth, where); continue; }
    if (active) setValue(q, kw, words(l));
  }
}

/** Include: each glob (relative ones below includeBase) read in order; the included file cannot change the enclosing block. */
function include(patterns: string[], q: Query, file: ConfigFile, active: boolean, neverMatch: boolean, depth: number, where: string): void {
  if (depth >= MAX_INCLUDE_DEPTH) throw new SshConfigError(`${where}: Include nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?)`);
  for (const p of patterns) {
    const t = tilde(p, q.ctx.home);
    const abs = isAbsolute(t) ? t : resolve(file.includeBase, t);
    for (const f of expandGlob(abs)) {
      const sub: ConfigFile = { path: f, includeBase: file.includeBase };
      applyLines([...readConfig(f)], q, sub, active, neverMatch || !active, depth + 1);
    }
  }
}

/**
 * The values ssh_config gives `host` (as typed: OpenSSH's original host), in OpenSSH's order: `seed` first (the
 * inventory's values, as OpenSSH's command line options), then each file; the first value obtained wins.
 */
export function lookup(host: string, files: ConfigFile[], ctx: LookupContext, seed: Obtained = {}): Obtained {
  const q: Query = { original: host, ctx, obtained: structuredClone(seed) };
  for (const f of files) applyLines([...readConfig(f.path)], q, f, true, false, 0);
  return q.obtained;
}

/** OpenSSH's % tokens: every `%x` must be one of `tokens` (or `%%`), else the value is refused as OpenSSH does. */
export function expandTokens(value: string, tokens: Record<string, string>, what: string): string {
  return value.replace(/%(.)?/g, (m, c: string | undefined) => {
    if (c === '%') return '%';
    if (c !== undefined && Object.hasOwn(tokens, c)) return tokens[c]!;
    throw new SshConfigError(`${what} ${value}: unknown token ${m} (allowed here: ${Object.keys(tokens).map((t) => '%' + t).join(' ')} %%)`);
  });
}

export interface Hop {
  user?: string;
  host: string;
  port?: number;
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`; an IPv6 address in brackets. */
export function parseHop(spec: string): Hop {
  const s = spec.startsWith('ssh://') ? spec.slice(6) : spec;
  const at = s.lastIndexOf('@');
  const user = at >= 0 ? s.slice(0, at) : undefined;
  const rest = at >= 0 ? s.slice(at + 1) : s;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest);
  if (!m || (user !== undefined && user === '')) throw new SshConfigError(`ProxyJump ${spec}: not [user@]host[:port]`);
  const port = m[2] !== undefined ? Number(m[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw new SshConfigError(`ProxyJump ${spec}: port out of range`);
  return { ...(user ? { user } : {}), host: m[1]!, ...(port ? { port } : {}) };
}

/** The hops of a ProxyJump value (comma separated, first hop first); `none`: no jump. */
export function parseProxyJump(value: string): Hop[] {
  if (value.toLowerCase() === 'none') return [];
  return value.split(',').map((h) => parseHop(h.trim()));
}

/**
 * ProxyCommand: only `ssh [-q] [-T] [-l user] [-p port] -W %h:%p [user@]jumphost` (what ProxyJump replaced) is
 * taken, as one jump hop; `none` is no proxy; anything else is refused: clusterform does not run local commands.
 */
export function proxyCommandHop(raw: string[], tokens: { h: string; p: string; r: string; n: string }): Hop | undefined {
  if (raw.length === 1 && raw[0]!.toLowerCase() === 'none') return undefined;
  const text = raw.join(' ');
  const argv = raw.length === 1 ? raw[0]!.split(/\s+/) : raw;
  const x = (a: string) => expandTokens(a, tokens, 'ProxyCommand');
  const refuse = (why: string): never => { throw new SshConfigError(`ProxyCommand ${text}: not supported (${why}); only "ssh -W %h:%p [user@]jumphost" is, or use ProxyJump`); };
  if (argv[0] !== 'ssh' && !argv[0]?.endsWith('/ssh')) refuse('not an ssh command');
  let user: string | undefined, port: number | undefined, forward: string | undefined;
  const rest: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-q' || a === '-T' || a === '-N' || a === '-x' || a === '-a') continue;
    if (a === '-W') forward = argv[++i];
    else if (a === '-l') user = x(argv[++i] ?? '');
    else if (a === '-p') port = Number(x(argv[++i] ?? ''));
    else if (a.startsWith('-')) refuse(`option ${a}`);
    else rest.push(a);
  }
  if (forward === undefined) refuse('no -W host:port');
  if (x(forward!) !== `${tokens.h}:${tokens.p}`) refuse(`-W ${forward} is not the target %h:%p`);
  if (rest.length !== 1) refuse('one jump host expected');
  if (port !== undefined && !(port >= 1 && port <= 65535)) refuse('bad -p port');
  const hop = parseHop(x(rest[0]!));
  return { ...hop, ...(user && !hop.user ? { user } : {}), ...(port && !hop.port ? { port } : {}) };
}

/** How to reach one host (or jump host): everything resolved, tokens expanded, defaults applied. */
export interface ResolvedHost {
  /** the name the lookup started from (inventory address or host name, or a jump host as written) */
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  userKnownHosts: string[];
  globalKnownHosts: string[];
  strictHostKeyChecking: 'yes' | 'accept-new';
  connectTimeoutSec?: number;
  serverAliveIntervalSec?: number;
  serverAliveCountMax?: number;
  /** the host this one is reached through (its own jump chain in turn), or none */
  jump?: ResolvedHost;
}

const yesNo = (v: string | undefined, what: string): boolean | undefined => {
  if (v === undefined) return undefined;
  if (/^(yes|true)$/i.test(v)) return true;
  if (/^(no|false)$/i.test(v)) return false;
  throw new SshConfigError(`${what} ${v}: expected yes or no`);
};

const posInt = (v: string | undefined, what: string, max = 2 ** 31): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 0 || Number(v) > max) throw new SshConfigError(`${what} ${v}: not a number`);
  return Number(v);
};

/** OpenSSH's StrictHostKeyChecking mapped to clusterform's: a changed key is always refused; ask cannot ask here. */
function strictness(v: string | undefined): 'yes' | 'accept-new' {
  if (v === undefined || /^(yes|ask)$/i.test(v)) return 'yes';
  if (/^(accept-new|no|off)$/i.test(v)) return 'accept-new';
  throw new SshConfigError(`StrictHostKeyChecking ${v}: expected yes, accept-new, no, off or ask`);
}

export interface ResolveOptions {
  files: ConfigFile[];
  ctx: LookupContext;
  /** hops more than this: a ProxyJump loop */
  maxHops?: number;
  /** values every jump host starts from (given first, so they win over the files) */
  hopSeed?: Obtained;
}

const DEFAULT_USER_KNOWN_HOSTS = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
const DEFAULT_GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

/**
 * Resolve `host` as `ssh host` would: config lookup (seeded with the caller's values), tokens, defaults, and the
 * jump chain: for ProxyJump a,b the last hop (b) is reached through a, and a through its own configuration.
 */
export function resolveHost(host: string, o: ResolveOptions, seed: Obtained = {}, depth = 0): ResolvedHost {
  if (depth > (o.maxHops ?? 8)) throw new SshConfigError(`ProxyJump: more than ${o.maxHops ?? 8} hops to reach ${host} (a loop?)`);
  const v = lookup(host, o.files, o.ctx, seed);
  const one = (k: Keyword) => v[k]?.[0];
  const hostName = v.hostname ? expandTokens(one('hostname')!, { h: host }, 'HostName') : host;
  const port = posInt(one('port'), 'Port', 65535) ?? 22;
  if (port < 1) throw new SshConfigError('Port 0: out of range');
  const user = one('user') ?? o.ctx.defaultUser;
  const tok = { d: o.ctx.home, u: o.ctx.localUser, h: hostName, r: user, p: String(port), n: host, l: o.ctx.localHost ?? 'localhost', i: String(o.ctx.uid ?? 0) };
  const path = (p: string, what: string) => tilde(expandTokens(p, tok, what), o.ctx.home);
  const resolved: ResolvedHost = {
    alias: host,
    hostName,
    port,
    user,
    identityFiles: (v.identityfile ?? []).filter((f) => f.toLowerCase() !== 'none').map((f) => path(f, 'IdentityFile')),
    identitiesOnly: yesNo(one('identitiesonly'), 'IdentitiesOnly') ?? false,
    userKnownHosts: (v.userknownhostsfile ?? DEFAULT_USER_KNOWN_HOSTS).filter((f) => f.toLowerCase() !== 'none').map((f) => path(f, 'UserKnownHostsFile')),
    globalKnownHosts: (v.globalknownhostsfile ?? DEFAULT_GLOBAL_KNOWN_HOSTS).filter((f) => f.toLowerCase() !== 'none').map((f) => path(f, 'GlobalKnownHostsFile')),
    strictHostKeyChecking: strictness(one('stricthostkeychecking')),
    connectTimeoutSec: posInt(one('connecttimeout'), 'ConnectTimeout'),
    serverAliveIntervalSec: posInt(one('serveraliveinterval'), 'ServerAliveInterval'),
    serverAliveCountMax: posInt(one('serveralivecountmax'), 'ServerAliveCountMax'),
  };
  const hops = jumpHops(v, { h: hostName, p: String(port), r: user, n: host });
  if (hops.length) resolved.jump = resolveHop(hops, o, depth);
  return resolved;
}

/** The hops of ProxyJump or of a `ssh -W` ProxyCommand (first hop first). */
function jumpHops(v: Obtained, t: { h: string; p: string; r: string; n: string }): Hop[] {
  if (v.proxyjump) return parseProxyJump(expandTokens(v.proxyjump.join(','), t, 'ProxyJump'));
  if (v.proxycommand) {
    const hop = proxyCommandHop(v.proxycommand, t);
    return hop ? [hop] : [];
  }
  return [];
}

/** The last hop, reached through the hops before it (given on its "command line", so they override its own ProxyJump). */
function resolveHop(hops: Hop[], o: ResolveOptions, depth: number): ResolvedHost {
  const last = hops[hops.length - 1]!;
  const seed: Obtained = { ...(o.hopSeed ?? {}) };
  if (last.user) seed.user = [last.user];
  if (last.port) seed.port = [String(last.port)];
  if (hops.length > 1) seed.proxyjump = [hops.slice(0, -1).map(hopString).join(',')];
  return resolveHost(last.host, o, seed, depth + 1);
}

const hopString = (h: Hop) => `${h.user ? h.user + '@' : ''}${h.host.includes(':') ? `[${h.host}]` : h.host}${h.port ? ':' + h.port : ''}`;

/** `user@host:port` of a resolved host, as shown in messages and used as the key of a shared jump connection. */
export function endpointString(r: Pick<ResolvedHost, 'user' | 'hostName' | 'port'>): string {
  return `${r.user}@${r.hostName.includes(':') ? `[${r.hostName}]` : r.hostName}:${r.port}`;
}

/** The jump chain of a resolved host, first hop first. */
export function jumpChain(r: ResolvedHost): ResolvedHost[] {
  const out: ResolvedHost[] = [];
  for (let j = r.jump; j; j = j.jump) out.unshift(j);
  return out;
}

/** The config files OpenSSH reads: the named one alone (-F / ssh.config_file), else the user's and the system's. */
export function configFiles(home: string, named?: string, system = '/etc/ssh/ssh_config'): ConfigFile[] {
  const userBase = join(home, '.ssh');
  if (named !== undefined) return named.toLowerCase() === 'none' ? [] : [{ path: named, includeBase: userBase }];
  const exists = (p: string) => { try { return statSync(p).isFile(); } catch { return false; } };
  return [
    ...(exists(join(userBase, 'config')) ? [{ path: join(userBase, 'config'), includeBase: userBase }] : []),
    ...(exists(system) ? [{ path: system, includeBase: dirname(system) }] : []),
  ];
}
