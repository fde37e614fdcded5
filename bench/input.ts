// One cold process: load, validate and render every task of site.yaml for a generated N-host inventory (2 HA members,
// a director, every other host an LVS real server), as `up` does before it contacts any host. Prints JSON:
// { hosts, load_ms, render_ms, total_ms, cpu_ms }; total and cpu are the whole process's, from node's own start (so
// they include loading the code). The bench runs it as the CLI runs: bundled (dist/bundle/bench-input.cjs, built by
// scripts/bundle.mjs) and through the compile cache (dist/bundle/boot.cjs's requireCached).
//   node dist/bench/input.js [N]          (default 3000; unbundled, without the cache)
import { builtinPlaybook, defaultRegistry } from '../src/api.js';
import { resolveRunTargets } from '../src/engine/run.js';
import { Renderer } from '../src/engine/render.js';
import { loadInventory } from '../src/inventory/load.js';
import { loadPlaybook } from '../src/playbook/load.js';

export function bigInventory(n: number): string {
  const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const lines = ['cluster: big', 'ssh: { user: root }', 'hosts:'];
  for (let i = 0; i < n; i++) lines.push(`  h${i}: { address: ${address(i + 1)} }`);
  lines.push('ha:', '  members: [h0, h1]', '  shared_disk: /dev/sdb', '  quorum: { size: 10M }', '  services:',
    '    - { name: NFS, address: 10.250.0.1, size: 100M, mountpoint: /mnt/a }');
  lines.push('lvs:', '  directors: [h2]', '  vip: 10.250.0.2', '  virtual_services:', '    - { protocol: tcp, port: 80, scheduler: wlc }', '  real_servers:');
  for (let i = 3; i < n; i++) lines.push(`    - { host: h${i}, weight: 1 }`);
  return lines.join('\n') + '\n';
}

const n = Number(process.env.CF_BENCH_HOSTS ?? process.argv[2] ?? 3000);
const text = bigInventory(n);
const tl = performance.now();
const inv = loadInventory('/bench/big.yaml', text);
const plays = loadPlaybook(builtinPlaybook('site'), defaultRegistry);
const loadMs = performance.now() - tl;
const tr = performance.now();
const t = resolveRunTargets(inv, plays);
new Renderer(inv, plays, t.playHosts).preflight(t.needed); // throws on any input problem
const renderMs = performance.now() - tr;
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ hosts: inv.hosts.length, load_ms: Math.round(loadMs), render_ms: Math.round(renderMs), total_ms: Math.round(performance.now()), cpu_ms: Math.round((cpu.user + cpu.system) / 1000) }) + '\n');
