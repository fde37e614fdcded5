// Start-up cost, interleaved runs of: `node -e 0` (the floor), `clusterform --version`, and the CLI loading everything
// `up` needs (`up` of a missing inventory: every module of a run is loaded, then the inventory cannot be read). The
// CLI runs with its compile cache (src/util/compile-cache.ts) in a directory of the bench's own, warmed by one run of
// each command first, as on a user's machine after the first run; `up` loading is also measured cold
// (CLUSTERFORM_COMPILE_CACHE=off: a first run, or a cache directory that cannot be used).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StartupResult { runs: number; node_ms: number; version_ms: number; up_load_ms: number; up_load_cold_ms: number }

const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2; };

function wallMs(args: string[], cache: string): number {
  const t = process.hrtime.bigint();
  spawnSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, CI: 'true', CLUSTERFORM_COMPILE_CACHE: cache } });
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Medians over `runs` rounds; each round runs the four commands one after the other (the same machine load). */
export function measureStartup(cli: string, runs = 21): StartupResult {
  const dir = mkdtempSync(join(tmpdir(), 'cf-bench-cache-'));
  const version = [cli, '--version'], up = [cli, 'up', '/nonexistent/clusterform-bench.yaml'];
  try {
    wallMs(version, dir);
    wallMs(up, dir);
    const n: number[] = [], v: number[] = [], u: number[] = [], c: number[] = [];
    for (let i = 0; i < runs; i++) {
      n.push(wallMs(['-e', '0'], dir));
      v.push(wallMs(version, dir));
      u.push(wallMs(up, dir));
      c.push(wallMs(up, 'off'));
    }
    const r = (x: number) => Math.round(x * 10) / 10;
    return { runs, node_ms: r(median(n)), version_ms: r(median(v)), up_load_ms: r(median(u)), up_load_cold_ms: r(median(c)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
