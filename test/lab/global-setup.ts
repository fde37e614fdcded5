// vitest globalSetup (lab project): build the example lab (inventory/lab.yaml) once per run and remove it at the end,
// also when tests fail. A lab that was already running before the tests is left running.
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const inventory = resolve(root, 'inventory/lab.yaml');
const cli = resolve(root, 'bin/clusterform.js');
let created = false;

export async function setup(): Promise<void> {
  if (process.getuid?.() !== 0 || process.env.CLUSTERFORM_SKIP_LAB === '1') return;
  const status = spawnSync('node', [cli, 'lab', 'status', inventory], { encoding: 'utf8' });
  const wasRunning = status.status === 0 && /running/.test(status.stdout);
  const t = Date.now();
  execFileSync('node', [cli, 'lab', 'up', inventory], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 });
  created = !wasRunning;
  process.stderr.write(`global lab ready in ${((Date.now() - t) / 1000).toFixed(1)} s${wasRunning ? ' (was already running: it stays up afterwards)' : ''}\n`);
}

export async function teardown(): Promise<void> {
  if (!created) return;
  try { execFileSync('node', [cli, 'lab', 'down', inventory], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 }); }
  catch (e) { process.stderr.write(`lab down failed: ${(e as Error).message}\n`); }
}
