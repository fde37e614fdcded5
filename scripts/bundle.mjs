// Bundles the compiled CLI (dist/src) into dist/bundle/ (issue #17 start-up): the whole CLI is one CommonJS file,
// clusterform.cjs, so that src/util/compile-cache.ts can keep V8's compiled code of it between runs (Node 20 has no
// code cache for ES modules); what a command does not need is bundled but not run (esbuild's lazy module init).
// boot.cjs (src/cli/boot.ts) installs the cache and loads it; bin/clusterform.js runs boot.cjs. ssh2 and commander
// stay packages of their own (ssh2 finds its optional native crypto binding next to its own files; commander is
// loaded by createRequire); the cache covers them too. dist/bundle/meta.json says which input went where
// (test/unit/bundle.test.ts reads it).
import { build } from 'esbuild';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['ssh2'],
  // ES modules find their files with import.meta.url: in a CommonJS file, it is the file's own URL
  define: { 'import.meta.url': '__cfImportMetaUrl' },
  banner: { js: "const __cfImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  metafile: true,
  logLevel: 'warning',
};
const cli = await build({ ...common, entryPoints: ['dist/src/cli/main.js'], outfile: resolve(outdir, 'clusterform.cjs') });
const boot = await build({ ...common, entryPoints: ['dist/src/cli/boot.js'], outfile: resolve(outdir, 'boot.cjs') });
// the bench's input measurement (bench/input.ts), bundled as the CLI is, so that it loads the code the way `up` does
if (existsSync(resolve(root, 'dist/bench/input.js'))) await build({ ...common, entryPoints: ['dist/bench/input.js'], outfile: resolve(outdir, 'bench-input.cjs'), metafile: false });
writeFileSync(resolve(outdir, 'meta.json'), JSON.stringify({ inputs: { ...cli.metafile.inputs, ...boot.metafile.inputs }, outputs: { ...cli.metafile.outputs, ...boot.metafile.outputs } }));
