// The built CLI is one CommonJS bundle (scripts/bundle.mjs, issue #17 start-up) run through the compile cache
// (src/util/compile-cache.ts): bin/clusterform.js → dist/bundle/boot.cjs → dist/bundle/clusterform.cjs. From
// esbuild's metafile: every source module is in the bundle, ssh2 and commander are not (ssh2 finds its native crypto
// binding next to its own files). Run: which CommonJS files each command compiles (the bundle's lazy module init
// keeps ssh2 and commander out of `--version`), and that a second run of the real CLI takes everything from the cache.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../helpers.js';

type Meta = { outputs: Record<string, { inputs: Record<string, unknown>; imports: { path: string; kind: string; external?: boolean }[] }> };
const META = resolve(ROOT, 'dist/bundle/meta.json');
const BUNDLE = resolve(ROOT, 'dist/bundle/clusterform.cjs');
const tmp = mkdtempSync(join(tmpdir(), 'cf-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** In a fresh node, as boot.cjs does: the cache installed, the bundle's main(argv); the CommonJS files it compiled. */
function compiled(args: string[]): { code: number; files: string[] } {
  const script = `
const { installCompileCache } = await import(${JSON.stringify(resolve(ROOT, 'dist/src/util/compile-cache.js'))});
const { createRequire } = await import('node:module');
const c = installCompileCache(${JSON.stringify(join(tmp, 'probe-cache'))}, 'x');
const { main } = createRequire(import.meta.url)(${JSON.stringify(BUNDLE)});
const code = await main(['node', 'clusterform', ...${JSON.stringify(args)}]);
process.stderr.write('\\nFILES ' + JSON.stringify({ code, files: c.stats.files }) + '\\n');
process.exit(0);
`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, CI: 'true' }, timeout: 60_000 });
  const m = /\nFILES (.*)\n/.exec(r.stderr);
  if (!m) throw new Error(`no report: ${r.stderr}`);
  const j = JSON.parse(m[1]!) as { code: number; files: string[] };
  return { code: j.code, files: j.files.map((f) => (f.startsWith(ROOT) ? f.slice(ROOT.length + 1) : f)) };
}
const packagesOf = (files: string[]) => [...new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean))].sort();

describe('the bundled CLI (dist/bundle)', () => {
  const meta = JSON.parse(readFileSync(META, 'utf8')) as Meta;
  it('bin/clusterform.js runs boot.cjs, which loads the one bundle', () => {
    expect(readFileSync(resolve(ROOT, 'bin/clusterform.js'), 'utf8')).toContain("('../dist/bundle/boot.cjs')");
    expect(readFileSync(resolve(ROOT, 'dist/bundle/boot.cjs'), 'utf8')).toContain('("./clusterform.cjs")');
    expect(Object.keys(meta.outputs).sort()).toEqual(['dist/bundle/boot.cjs', 'dist/bundle/clusterform.cjs']);
  });
  it('the bundle has every source module of the CLI, the engine and the lab; ssh2 and commander stay outside', () => {
    const ins = Object.keys(meta.outputs['dist/bundle/clusterform.cjs']!.inputs);
    for (const m of ['dist/src/cli/main.js', 'dist/src/cli/actions.js', 'dist/src/engine/run.js', 'dist/src/lab/index.js', 'dist/src/cli/live.js']) expect(ins).toContain(m);
    expect(ins.filter((i) => /node_modules\/(ssh2|commander)\//.test(i))).toEqual([]);
    expect(meta.outputs['dist/bundle/clusterform.cjs']!.imports.some((i) => i.path === 'ssh2' && i.external)).toBe(true);
  });
  it('--version compiles the bundle alone; --help adds commander; up adds ssh2', () => {
    const v = compiled(['--version']);
    expect(v.code).toBe(0);
    expect(v.files).toEqual(['dist/bundle/clusterform.cjs']);
    expect(packagesOf(compiled(['up', '--help']).files)).toEqual(['commander']);
    const up = compiled(['up', resolve(ROOT, 'no-such-inventory.yaml')]);
    expect(up.code).toBe(2);
    expect(packagesOf(up.files)).toEqual(expect.arrayContaining(['commander', 'ssh2'])); // and ssh2's own (asn1, tweetnacl, ...)
    expect(up.files[0]).toBe('dist/bundle/clusterform.cjs');
  });
  it('the real CLI: the first run writes the cache, the second reads every blob and writes none', () => {
    const cache = join(tmp, 'cli-cache');
    const env = { ...process.env, CI: 'true', CLUSTERFORM_COMPILE_CACHE: cache };
    const up = () => spawnSync(process.execPath, [CLI, 'up', resolve(ROOT, 'no-such-inventory.yaml')], { encoding: 'utf8', env });
    expect(up().status).toBe(2);
    const dir = join(cache, readdirSync(cache)[0]!);
    const blobs = () => Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs]));
    const first = blobs();
    expect(Object.keys(first).length).toBeGreaterThan(10); // the bundle, commander's and ssh2's files
    const second = up();
    expect(second.status).toBe(2);
    expect(second.stderr).toContain('cannot read');
    expect(blobs()).toEqual(first);
  });
});
