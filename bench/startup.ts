// Start-up cost, interleaved runs of: `node -e 0` (the floor), `clusterform --version`, and the CLI loading everything
// `up` needs (`up` of a missing inventory: every module of a run is loaded, then the inventory cannot be read).
import { spawnSync } from 'node:child_process';

export interface StartupResult { runs: number; node_ms: number; version_ms: number; up_load_ms: number }

const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2; };

function wallMs(args: string[]): number {
  const t = process.hrtime.bigint();
  spawnSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, CI: 'true' } });
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Medians over `runs` rounds; each round runs the three commands one after the other (the same machine load). */
export function measureStartup(cli: string, runs = 21): StartupResult {
  const node: number[] = [], version: number[] = [], up: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push(wallMs(['-e', '0']));
    version.push(wallMs([cli, '--version']));
    up.push(wallMs([cli, 'up', '/nonexistent/clusterform-bench.yaml']));
  }
  const r = (x: number) => Math.round(x * 10) / 10;
  return { runs, node_ms: r(median(node)), version_ms: r(median(version)), up_load_ms: r(median(up)) };
}
