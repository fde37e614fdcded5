// What bin/clusterform.js runs: the compile cache (src/util/compile-cache.ts) first, then the CLI, bundled into one
// CommonJS file next to this one (scripts/bundle.mjs), and the cache's new blobs written once the command is done.
import { createRequire } from 'node:module';
import { installCompileCache } from '../util/compile-cache.js';

/** The command a blob of the cache was made after: the first word that is not an option (`--version` alone: ''). */
export function commandOf(argv: string[]): string {
  return argv.slice(2).find((a) => !a.startsWith('-')) ?? '';
}

export async function boot(argv: string[]): Promise<number> {
  const cache = installCompileCache(undefined, commandOf(argv));
  const { main } = createRequire(import.meta.url)('./clusterform.cjs') as typeof import('./main.js');
  try {
    return await main(argv);
  } finally {
    cache.flush();
  }
}

/** Require the CommonJS file `file` through the compile cache (tag: what runs), then write the cache's new blobs. */
export function requireCached(file: string, tag: string): unknown {
  const cache = installCompileCache(undefined, tag);
  try {
    return createRequire(import.meta.url)(file);
  } finally {
    cache.flush();
  }
}
