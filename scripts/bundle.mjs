// Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/: one ES module per entry and per lazily loaded
// part (listr2 for a terminal, the lab, ...), so that a command loads a few files instead of ~300 (issue #17: start-up
// of `up` was 4.2× a bare `node -e 0`, most of it resolving and reading modules). ssh2 stays a package of its own: it
// finds its optional native crypto binding relative to its own files. dist/bundle/meta.json says which input went
// where (test/unit/bundle.test.ts reads it).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, 'dist/bundle');
rmSync(outdir, { recursive: true, force: true });
const r = await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/main.js'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['ssh2'],
  // CommonJS packages inside the bundle call require(): give every chunk a real one
  banner: { js: "import { createRequire as __cfCreateRequire } from 'node:module'; const require = __cfCreateRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(resolve(outdir, 'meta.json'), JSON.stringify(r.metafile));
