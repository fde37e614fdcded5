// The compile cache (src/util/compile-cache.ts), in fresh node processes as the CLI uses it: blobs written once and
// used after, rewritten when the file changes or a new command runs, never read from a place someone else may write,
// and modules compiled through it behave as Node's own loader makes them (require, this, __dirname, stacks).
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheDir, readBlob, writeBlob } from '../../src/util/compile-cache.js';
import { isRoot, ROOT } from '../helpers.js';

const MOD = resolve(ROOT, 'dist/src/util/compile-cache.js');
let root = '';
afterEach(() => { if (root) rmSync(root, { recursive: true, force: true }); root = ''; });

/** A temp dir with a CommonJS app: app/main.cjs requires app/lib.cjs and reports what it saw. */
function app(): { dir: string; cache: string; main: string; lib: string } {
  root = mkdtempSync(join(tmpdir(), 'cf-cc-'));
  const dir = join(root, 'app');
  mkdirSync(dir);
  const main = join(dir, 'main.cjs'), lib = join(dir, 'lib.cjs');
  writeFileSync(main, [
    '#!/usr/bin/env node',
    "const lib = require('./lib.cjs');",
    'module.exports = {',
    '  thisIsExports: this === module.exports, dirname: __dirname, filename: __filename,',
    "  resolved: require.resolve('./lib.cjs'), paths: Array.isArray(require.resolve.paths('x')), hasCache: typeof require.cache === 'object',",
    '  lib: lib.value(), stack: lib.fail(),',
    '};',
  ].join('\n'));
  writeFileSync(lib, "exports.value = () => 'lib ok';\nexports.fail = () => {\n  try { throw new Error('boom'); } catch (e) { return e.stack.split('\\n')[1]; }\n};\n");
  return { dir, cache: join(root, 'cache'), main, lib };
}

/** In a fresh node: install the cache (`dir`, `tag`), require `main`, flush; what main exported and the stats. */
function run(dir: string | null, main: string, tag = 'up') {
  const script = `
const { installCompileCache } = await import(${JSON.stringify(MOD)});
const { createRequire } = await import('node:module');
const c = installCompileCache(${JSON.stringify(dir)}, ${JSON.stringify(tag)});
const out = createRequire(import.meta.url)(${JSON.stringify(main)});
c.flush();
process.stdout.write(JSON.stringify({ out, stats: c.stats }));
`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { out: Record<string, unknown>; stats: { dir: string | null; off?: string; hits: number; misses: number; rejected: number; written: number; files: string[] } };
}

const blobs = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();

describe('compile cache', () => {
  it('first run: compiled and written; second run: every file from its blob, nothing written', () => {
    const a = app();
    const first = run(a.cache, a.main);
    expect(first.stats).toMatchObject({ dir: a.cache, hits: 0, misses: 2, rejected: 0, written: 2, files: [a.main, a.lib] });
    expect(blobs(a.cache)).toHaveLength(2);
    const second = run(a.cache, a.main);
    expect(second.stats).toMatchObject({ hits: 2, misses: 0, written: 0 });
    expect(second.out).toEqual(first.out);
  });

  it('modules behave as under Node\'s loader: this, __dirname, require.resolve, the shebang, line numbers in stacks', () => {
    const a = app();
    for (const r of [run(a.cache, a.main), run(a.cache, a.main)]) {
      expect(r.out).toEqual({
        thisIsExports: true, dirname: a.dir, filename: a.main, resolved: a.lib, paths: true, hasCache: true,
        lib: 'lib ok', stack: expect.stringContaining(`${a.lib}:3:`),
      });
    }
  });

  it('a changed file gets a new blob and its old one is removed', () => {
    const a = app();
    run(a.cache, a.main);
    const before = blobs(a.cache);
    writeFileSync(a.lib, "exports.value = () => 'lib v2';\nexports.fail = () => 'x';\n");
    utimesSync(a.lib, new Date(), new Date(Date.now() + 5000));
    const r = run(a.cache, a.main);
    expect(r.out.lib).toBe('lib v2');
    expect(r.stats).toMatchObject({ hits: 1, misses: 1, written: 1 });
    const after = blobs(a.cache);
    expect(after).toHaveLength(2);
    expect(after.filter((b) => !before.includes(b))).toHaveLength(1);
  });

  it('a command not seen yet rewrites the blobs with what it compiled; then nothing more is written', () => {
    const a = app();
    run(a.cache, a.main, '--version');
    const r = run(a.cache, a.main, 'up');
    expect(r.stats).toMatchObject({ hits: 2, written: 2 });
    for (const b of blobs(a.cache)) expect(readBlob(readFileSync(join(a.cache, b)))!.tags).toEqual(['--version', 'up']);
    expect(run(a.cache, a.main, 'up').stats.written).toBe(0);
  });

  it('a blob V8 rejects (planted or damaged) is not used: the module still runs, and the blob is made again', () => {
    const a = app();
    run(a.cache, a.main);
    for (const b of blobs(a.cache)) writeFileSync(join(a.cache, b), writeBlob(['up'], Buffer.alloc(4096, 0x41)), { mode: 0o600 });
    const r = run(a.cache, a.main);
    expect(r.stats).toMatchObject({ hits: 0, rejected: 2, written: 2 });
    expect(r.out.lib).toBe('lib ok');
    expect(run(a.cache, a.main).stats.hits).toBe(2);
  });

  it('never reads a directory or blob someone else may write, or a symlinked directory', () => {
    const a = app();
    run(a.cache, a.main);
    chmodSync(a.cache, 0o777);
    const open = run(a.cache, a.main);
    expect(open.stats.dir).toBeNull();
    expect(open.stats.off).toContain('may be written by others');
    expect(open.out.lib).toBe('lib ok');
    chmodSync(a.cache, 0o700);
    for (const b of blobs(a.cache)) chmodSync(join(a.cache, b), 0o666);
    expect(run(a.cache, a.main).stats).toMatchObject({ hits: 0, misses: 2 });
    const link = join(root, 'link');
    symlinkSync(a.cache, link);
    expect(run(link, a.main).stats.off).toContain('not a directory');
    const parent = join(root, 'shared');
    mkdirSync(parent, { mode: 0o777 });
    chmodSync(parent, 0o777); // not sticky: another user could swap the cache directory
    expect(run(join(parent, 'cache'), a.main).stats.off).toContain('may be written by others');
  });

  it.skipIf(!isRoot)('as root: a blob owned by another user is not read', () => {
    const a = app();
    run(a.cache, a.main);
    for (const b of blobs(a.cache)) chownSync(join(a.cache, b), 65534, 65534);
    expect(run(a.cache, a.main).stats).toMatchObject({ hits: 0, misses: 2 });
  });

  it('CLUSTERFORM_COMPILE_CACHE: off / 0 turn it off, a path is the directory; by default the user\'s cache directory', () => {
    expect(cacheDir({ CLUSTERFORM_COMPILE_CACHE: 'off' })).toBeNull();
    expect(cacheDir({ CLUSTERFORM_COMPILE_CACHE: '0' })).toBeNull();
    expect(cacheDir({ CLUSTERFORM_COMPILE_CACHE: '/x/y' })).toBe(`/x/y/${process.version}-${process.arch}`);
    expect(cacheDir({ XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe(`/c/clusterform/compile/${process.version}-${process.arch}`);
    expect(cacheDir({ HOME: '/h' })).toBe(`/h/.cache/clusterform/compile/${process.version}-${process.arch}`);
    const a = app();
    expect(run(null, a.main).stats).toMatchObject({ dir: null, hits: 0, misses: 0, written: 0 });
  });

  it('blob header: what is not one is not read', () => {
    expect(readBlob(writeBlob(['a', 'b'], Buffer.from([1, 2, 3])))).toEqual({ tags: ['a', 'b'], data: Buffer.from([1, 2, 3]) });
    expect(readBlob(Buffer.from([1, 2, 3]))).toBeNull();
    expect(readBlob(Buffer.from('CFCC1 {"tags":[1]}\nxx'))).toBeNull();
    expect(readBlob(Buffer.from('CFCC1 not json\nxx'))).toBeNull();
  });
});
