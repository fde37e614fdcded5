// A V8 code cache for the CommonJS files the CLI loads (the bundle, ssh2, commander): compiling them was most of the
// start-up left after bundling (issue #17: loading everything `up` needs took 2.3-2.6x a bare `node -e 0`). Node 22
// has this built in (module.enableCompileCache); on Node 20 it is `vm.Script`'s cachedData, as v8-compile-cache did.
// That package was not used: it keeps its blobs under a predictable name in the shared temp directory without checking
// who owns them, and a planted blob is code run by whoever runs clusterform (root). Here the cache lives in the
// user's own cache directory, and a directory or blob that someone else owns or may write is never read.
//
// A blob is keyed by the file's path, size and modification time (nanoseconds); V8 rejects data made by another V8 or
// for other source, and a rejected or missing blob is written again after the command (`flush`), atomically. V8
// compiles a function when it first runs, and a blob holds what had been compiled when it was made: made after
// `--version`, it would not hold what `up` runs. So each blob lists the commands (`tag`) that ran before it was made,
// and a command not listed yet makes it again, with what this run compiled too.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

export interface CompileCacheStats {
  /** where the blobs are; null: no cache (turned off, or no private directory could be had) */
  dir: string | null;
  /** why there is no cache */
  off?: string;
  /** files compiled from a blob / without one (no blob, or V8 rejected it) */
  hits: number;
  misses: number;
  rejected: number;
  /** blobs written by flush() */
  written: number;
  /** every file compiled through the cache, in order */
  files: string[];
}

/**
 * The cache directory: CLUSTERFORM_COMPILE_CACHE=off (or 0) turns it off, another value is the directory; by default
 * $XDG_CACHE_HOME/clusterform/compile, else ~/.cache/clusterform/compile; one subdirectory per node version and arch.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const v = env.CLUSTERFORM_COMPILE_CACHE;
  if (v === 'off' || v === '0') return null;
  const base = v || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'clusterform', 'compile');
  return join(base, `${process.version}-${process.arch}`);
}

/** Why `path` may not be trusted (a symlink, not ours, writable by others), or null. */
export function untrusted(path: string, kind: 'dir' | 'file'): string | null {
  const s = lstatSync(path);
  if (kind === 'dir' ? !s.isDirectory() : !s.isFile()) return `${path} is not a ${kind === 'dir' ? 'directory' : 'regular file'}`;
  const uid = process.getuid?.();
  if (uid !== undefined && s.uid !== uid) return `${path} belongs to uid ${s.uid}, not ${uid}`;
  if (s.mode & 0o022) return `${path} may be written by others (mode ${(s.mode & 0o777).toString(8)})`;
  return null;
}

/**
 * Make `dir` (mode 0700) and check it: ours and written by nobody else, and every directory above it owned by us or
 * root and writable by nobody else unless sticky (/tmp), as OpenSSH checks the path of a key. Why not, or null.
 */
function privateDir(dir: string): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const own = untrusted(dir, 'dir');
    if (own) return own;
    const uid = process.getuid?.();
    for (let p = dirname(dir); ; p = dirname(p)) {
      const s = statSync(p);
      if (uid !== undefined && s.uid !== uid && s.uid !== 0) return `${p} belongs to uid ${s.uid}`;
      if (s.mode & 0o022 && !(s.mode & 0o1000)) return `${p} may be written by others (mode ${(s.mode & 0o7777).toString(8)})`;
      if (dirname(p) === p) return null;
    }
  } catch (e) {
    return (e as Error).message;
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

/** The blob's file name: the file's path hash (to find its old blobs), then size and mtime. */
function blobName(filename: string): { prefix: string; name: string } {
  const s = lstatSync(filename, { bigint: true });
  const prefix = sha(filename);
  return { prefix, name: `${prefix}-${sha(`${s.size}:${s.mtimeNs}`)}.bin` };
}

type ModuleInternals = { prototype: { _compile(this: ModuleLike, content: string, filename: string, ...rest: unknown[]): unknown }; _resolveFilename(r: string, m: ModuleLike, isMain: boolean, o?: unknown): string; _extensions: unknown; _cache: unknown };
type ModuleLike = { exports: unknown; require(id: string): unknown };

const MAGIC = 'CFCC1 ';

/** A blob file: `CFCC1 {"tags":[...]}\n` then V8's data. */
export function readBlob(buf: Buffer): { tags: string[]; data: Buffer } | null {
  const nl = buf.indexOf(10);
  if (nl < 0 || buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return null;
  try {
    const head = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as { tags?: unknown };
    if (!Array.isArray(head.tags) || !head.tags.every((t) => typeof t === 'string')) return null;
    return { tags: head.tags, data: buf.subarray(nl + 1) };
  } catch {
    return null;
  }
}

export function writeBlob(tags: string[], data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify({ tags })}\n`), data]);
}

/**
 * Compile CommonJS files through the cache in `dir` from now on (null: no cache). `tag` names what runs (the
 * command). Call `flush` once the command is done: it writes the blobs that were missing, rejected, or made before
 * a command with this tag had run.
 */
export function installCompileCache(dir: string | null = cacheDir(), tag = ''): { stats: CompileCacheStats; flush(): void } {
  const stats: CompileCacheStats = { dir: null, hits: 0, misses: 0, rejected: 0, written: 0, files: [] };
  const off = dir === null ? 'turned off (CLUSTERFORM_COMPILE_CACHE)' : privateDir(dir);
  if (dir === null || off !== null) return { stats: { ...stats, off: off ?? undefined }, flush: () => {} };
  stats.dir = dir;
  const pending: { blob: { prefix: string; name: string }; tags: string[]; script: vm.Script }[] = [];
  const M = Module as unknown as ModuleInternals;
  const original = M.prototype._compile;
  M.prototype._compile = function compile(this: ModuleLike, content: string, filename: string, ...rest: unknown[]) {
    // an ES module loaded by require (Node >= 20.19 passes its format), or anything but a .js/.cjs file: as Node does
    if ((rest[0] !== undefined && rest[0] !== 'commonjs') || !/\.c?js$/.test(filename)) return original.call(this, content, filename, ...rest);
    let blob: { prefix: string; name: string } | undefined;
    let found: { tags: string[]; data: Buffer } | null = null;
    try {
      blob = blobName(filename);
      const p = join(dir, blob.name);
      if (untrusted(p, 'file') === null) found = readBlob(readFileSync(p));
    } catch { /* no blob yet */ }
    const script = new vm.Script(Module.wrap(content.startsWith('#!') ? `//${content}` : content), {
      filename, cachedData: found?.data, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    stats.files.push(filename);
    const accepted = found !== null && !script.cachedDataRejected;
    if (accepted) stats.hits++;
    else if (found) stats.rejected++;
    else stats.misses++;
    if (blob && (!accepted || !found!.tags.includes(tag))) pending.push({ blob, tags: accepted ? [...found!.tags, tag] : [tag], script });
    const mod = this;
    const require = Object.assign((id: string) => mod.require(id), {
      resolve: Object.assign((request: string, options?: unknown) => M._resolveFilename(request, mod, false, options), {
        paths: (request: string) => (Module as unknown as { _resolveLookupPaths(r: string, m: ModuleLike): string[] | null })._resolveLookupPaths(request, mod),
      }),
      main: requireMain(), extensions: M._extensions, cache: M._cache,
    });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...a: unknown[]) => unknown;
    return wrapper.call(mod.exports, mod.exports, require, mod, filename, dirname(filename));
  };
  const flush = () => {
    if (pending.length === 0) return;
    let present: string[] = [];
    try { present = readdirSync(dir); } catch { /* removed meanwhile: the writes below fail alike */ }
    for (const { blob, tags, script } of pending.splice(0)) {
      try {
        for (const old of present) if (old.startsWith(`${blob.prefix}-`) && old !== blob.name) rmSync(join(dir, old), { force: true });
        const tmp = join(dir, `.${blob.name}.${process.pid}.tmp`);
        writeFileSync(tmp, writeBlob(tags, script.createCachedData()), { mode: 0o600 });
        renameSync(tmp, join(dir, blob.name));
        stats.written++;
      } catch { /* a cache that cannot be written is only slower */ }
    }
  };
  return { stats, flush };
}

/** `require.main` as Node gives it (the entry module, if it is CommonJS). */
function requireMain(): unknown {
  return (process as unknown as { mainModule?: unknown }).mainModule;
}
