// clusterform benchmark (not a timed test): builds local labs and measures fresh `up`, no-op `up` and `plan`
// wall time, SSH connections and remote commands per host, controller CPU and peak RSS.
//
//   npm run bench                                   # sizes 6,20,100 + the 5-host vm-director lab, 3 runs each
//   node dist/bench/bench.js --sizes 6,20 --runs 3  # a subset
//   node dist/bench/bench.js --sizes 6 --no-vm      # ns labs only
//   node dist/bench/bench.js --sizes none --vm      # only the vm-director lab
//   --no-ansible: without the Ansible comparison (run on the smallest ns lab when ansible-playbook is installed)
//
// Also measured, without a lab: start-up (`node -e 0` vs `clusterform --version` vs loading everything `up` needs)
// and a 3,000-host inventory loaded, validated and rendered (bench/input.ts, 3 cold processes). Per ns lab and run,
// right after the no-op: the OpenSSH floor (`ssh HOST true` to every measured host at once). Labs run under the
// machine's lab lock (bench/lock.ts), held only while a lab exists.
//
// ns labs ("nsN"): N measured hosts = 2 HA members sharing a 2G lab disk + N-2 LVS-DR real servers, plus one ns
// host as LVS director that every measured command leaves out with --limit (the director's IPVS tasks need a
// kernel with ip_vs: a vm host). The vm lab ("vm5"): node1, node2, rs1, rs2 (ns) + a qemu director, full playbook.
// Per run: (reset with `down --wipe-disks --yes` from the 2nd run on) -> fresh `up` -> no-op `up` -> `plan`.
// Every lab this script creates is removed again at the end (also on failure or Ctrl-C).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCHED_NOTE, GUARD_STOPPED_NOTE } from '../src/engine/batch.js';
import { acquireLabLock } from './lock.js';
import { measureStartup, type StartupResult } from './startup.js';
import { sshFloor } from './floor.js';
import { channelCost, type ChannelCost } from './channel.js';
import { ansibleVersion, newControlDir, runAnsible, writeAnsibleInventory, type AnsibleLab, type AnsibleRun } from './ansible.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..'); // dist/bench -> repo
const CLI = join(ROOT, 'bin/clusterform.js');
const INV_DIR = join(ROOT, 'bench/inventories');
const OUT = join(ROOT, 'bench/results/latest.json');
const TIME = '/usr/bin/time';

// ---------------------------------------------------------------- options
interface Opts { sizes: number[]; runs: number; vm: boolean; keep: boolean; out: string; ansible: boolean; startup: boolean }
function parseArgs(argv: string[]): Opts {
  const o: Opts = { sizes: [6, 20, 100], runs: 3, vm: true, keep: false, out: OUT, ansible: true, startup: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--sizes') { const v = val(); o.sizes = v === 'none' ? [] : v.split(',').map((s) => Number(s.trim())); }
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--vm') o.vm = true;
    else if (a === '--no-vm') o.vm = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '--no-ansible') o.ansible = false;
    else if (a === '--no-startup') o.startup = false;
    else if (a === '--out') o.out = resolve(val());
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node dist/bench/bench.js [--sizes 6,20,100|none] [--runs 3] [--vm|--no-vm] [--no-ansible] [--no-startup] [--keep] [--out FILE]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.sizes.some((n) => !Number.isInteger(n) || n < 3 || n > 1000)) throw new Error('--sizes: integers 3..1000');
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs: integer >= 1');
  return o;
}

// ---------------------------------------------------------------- inventories
interface Lab {
  key: string; name: string; inv: string; n: number; hosts: string[]; limit?: string; vm: boolean; addresses: Record<string, string>;
  /** the lab's SSH key and known_hosts (for the OpenSSH floor and Ansible) */
  key_file: string; known_hosts: string;
  /** what the Ansible playbook needs */
  ansible: Omit<AnsibleLab, 'key' | 'knownHosts' | 'addresses' | 'hosts' | 'name'>;
}

/**
 * Subnet per lab: 10.230.<8k>.0/21 (never used by the tests: 10.213/10.216/10.218/10.219); hosts from .1 of its first
 * /24, 250 per /24 (1,000 real servers reach the fifth), the service addresses and the VIP in its last /24.
 */
function makeLab(n: number, vm: boolean, slot: number): Lab {
  const name = vm ? `benchvm${n}` : `bench${n}`;
  const o2 = 8 * slot; // third octet base
  const ip = (i: number) => `10.230.${o2 + Math.floor(i / 250)}.${(i % 250) + 1}`; // i = 0.. ; .1 .. .250 per /24
  const rsCount = vm ? n - 3 : n - 2; // vm lab: the director is one of the N hosts
  const lines: string[] = [];
  const hosts: Record<string, string> = { node1: ip(10), node2: ip(11), director: ip(0) };
  const rs: string[] = [];
  for (let i = 1; i <= rsCount; i++) { const h = `rs${i}`; rs.push(h); hosts[h] = ip(19 + i); } // .21 ..
  const vip = `10.230.${o2 + 7}.200`;
  lines.push(
    `# generated by bench/bench.ts: ${vm ? `${n} hosts with a qemu LVS director (full playbook)` : `${n} measured ns hosts (2 HA + ${rsCount} DR real servers) + an ns director left out with --limit`}`,
    `cluster: ${name}`,
    'ssh:',
    '  user: root',
    `  private_key: .lab/${name}/id_ed25519`,
    `  known_hosts: .lab/${name}/known_hosts`,
    // hundreds of sshds and the controller on the same 2 cores: a key exchange can take longer than the default 10 s
    ...(n > 200 ? ['  connect_timeout: 60'] : []),
    'hosts:',
    ...Object.entries(hosts).map(([h, a]) => `  ${h}: { address: ${a} }`),
    'lab:',
    '  networks:',
    `    public: { subnet: 10.230.${o2}.0/21 }`,
    ...(vm ? ['  hosts:', '    director: { kind: vm }'] : []),
    '  disks:',
    '    shared: { size: 2G, hosts: [node1, node2] }',
    'ha:',
    '  members: [node1, node2]',
    `  shared_disk: /dev/disk/by-id/clusterform-${name}-shared`,
    '  quorum: { size: 10M, primary: /dev/raw/raw1, shadow: /dev/raw/raw2 }',
    '  cluster_managed_services: [nfs, smb]',
    '  services:',
    `    - { name: HA-NFS, address: 10.230.${o2 + 7}.100, size: 1000M, fstype: ext3, mountpoint: /mnt/hanfs, nfs: { export: /mnt/hanfs, clients: "*", options: rw } }`,
    `    - { name: HA-SMB, address: 10.230.${o2 + 7}.101, size: 100M, fstype: ext3, mountpoint: /mnt/hasmb }`,
    'lvs:',
    '  directors: [director]',
    `  vip: ${vip}`,
    '  forwarding: dr',
    '  virtual_services:',
    '    - { protocol: tcp, port: 80, scheduler: rr }',
    '  real_servers:',
    ...rs.map((h) => `    - { host: ${h}, weight: 1 }`),
    '',
  );
  mkdirSync(INV_DIR, { recursive: true });
  const inv = join(INV_DIR, `${name}.yaml`);
  writeFileSync(inv, lines.join('\n'));
  const measured = vm ? Object.keys(hosts) : Object.keys(hosts).filter((h) => h !== 'director');
  const services = [
    { name: 'HA-NFS', address: `10.230.${o2 + 7}.100`, sizeMiB: 1000, mountpoint: '/mnt/hanfs' },
    { name: 'HA-SMB', address: `10.230.${o2 + 7}.101`, sizeMiB: 100, mountpoint: '/mnt/hasmb' },
  ];
  return {
    key: vm ? `vm${n}` : `ns${n}`, name, inv, n, hosts: measured, limit: vm ? undefined : measured.join(','), vm, addresses: hosts,
    key_file: join(INV_DIR, '.lab', name, 'id_ed25519'), known_hosts: join(INV_DIR, '.lab', name, 'known_hosts'),
    ansible: { haMembers: ['node1', 'node2'], realServers: rs, sharedDisk: `/dev/disk/by-id/clusterform-${name}-shared`, vip, services },
  };
}

// ---------------------------------------------------------------- running the CLI
interface Proc { code: number; stdout: string; stderr: string; wallS: number; userS: number; sysS: number; rssMB: number; load1: number }
let current: ReturnType<typeof spawn> | undefined;
let interrupted = false;

/** Runs `node bin/clusterform.js ARGS` under /usr/bin/time; wall time measured here, CPU and peak RSS by time(1). */
function cli(args: string[], timeoutS = 1800): Promise<Proc> {
  const tdir = mkdtempSync(join(tmpdir(), 'cf-bench-'));
  const tfile = join(tdir, 'time');
  const load1 = loadavg()[0]!;
  const t0 = process.hrtime.bigint();
  return new Promise((res, rej) => {
    const p = spawn(TIME, ['-f', '%e %U %S %M', '-o', tfile, process.execPath, CLI, ...args], {
      env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = p;
    let stdout = '', stderr = '';
    p.stdout!.on('data', (d) => { stdout += d; });
    p.stderr!.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => p.kill('SIGTERM'), timeoutS * 1000);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(timer);
      current = undefined;
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      let userS = NaN, sysS = NaN, rssMB = NaN;
      try {
        const last = readFileSync(tfile, 'utf8').trim().split('\n').pop()!.trim().split(/\s+/).map(Number);
        [, userS, sysS] = last as [number, number, number];
        rssMB = last[3]! / 1024;
      } catch { /* time(1) output missing */ }
      rmSync(tdir, { recursive: true, force: true });
      res({ code: code ?? -1, stdout, stderr, wallS, userS, sysS, rssMB, load1 });
    });
  });
}

/** One task on one host: wall time and its read (probe), apply and wait (meetings) parts. */
interface SlowTask { host: string; task: string; module: string; ms: number; read_ms: number; apply_ms: number; wait_ms: number }

/**
 * The tasks of a run on each host from the `--json --stats` profile, slowest apply first. The apply time is the
 * host's own work for the task; the read time of the first task of a play also carries the probe of every later task
 * (one round trip), and waits are other hosts' work: neither makes a step slow.
 */
function slowestTasks(j: any, n = 8): SlowTask[] {
  const rows: SlowTask[] = ((j?.profile?.tasks ?? []) as any[]).flatMap((t) => (t.hosts as any[]).map((h) => ({
    host: h.host, task: t.task, module: t.module, ms: h.total_ms, read_ms: h.read_ms, apply_ms: h.apply_ms, wait_ms: h.wait_ms,
  })));
  return rows.sort((a, b) => b.apply_ms - a.apply_ms || b.ms - a.ms).slice(0, n);
}

interface Sample {
  kind: 'fresh' | 'noop' | 'noop_exec' | 'plan' | 'reset';
  run: number; code: number; wall_s: number; engine_wall_s: number | null; cpu_s: number; user_s: number; sys_s: number; rss_mb: number; load1: number;
  changed: number | null; conns_per_host: { min: number; max: number } | null; cmds_per_host: { min: number; max: number; mean: number } | null;
  hosts: number; problems: string[];
  /** the slowest tasks of the run by their apply time on one host (`--json --stats` profile): where the time goes */
  slowest_tasks: SlowTask[];
  /** on no-op and plan runs: what changed (should be nothing), with the first change summary */
  changed_tasks: string[];
  /** per host (mean): tasks that changed something, round trips that applied them, tasks planned again after a guard */
  batching: Batching | null;
}

interface Batching { changed: number; applies: number; replanned: number }

/**
 * From a run's task events: per host (mean over hosts), the tasks that changed something (a once-task counts on its
 * runner), the round trips that applied them (a change not carried in another task's round trip is one), and the
 * tasks planned again because their state changed during the round trip they were sent with (engine/batch.ts).
 */
export function batchingOf(events: any[], hosts: number): Batching | null {
  if (!hosts) return null;
  const tasks = events.filter((e) => e.type === 'task' && (e.status === 'changed' || e.status === 'failed'));
  const batched = (e: any) => (e.notes ?? []).some((n: string) => n.startsWith(`${BATCHED_NOTE} `));
  const per = (n: number) => round(n / hosts, 2);
  return {
    changed: per(tasks.filter((e) => e.status === 'changed').length),
    applies: per(tasks.filter((e) => !batched(e) && (e.changes?.length ?? 0) > 0).length),
    replanned: per(events.filter((e) => e.type === 'task' && (e.notes ?? []).includes(GUARD_STOPPED_NOTE)).length),
  };
}

async function measure(lab: Lab, kind: Sample['kind'], run: number): Promise<Sample> {
  const args = kind === 'reset' ? ['down', lab.inv, '--wipe-disks', '--yes'] : [kind === 'plan' ? 'plan' : 'up', lab.inv];
  if (kind === 'noop_exec') args.push('--no-held-shell'); // the same no-op with a new exec channel per round trip (the held shell is the default)
  args.push('--json', '--stats');
  if (lab.limit) args.push('--limit', lab.limit);
  const p = await cli(args);
  let j: any = null;
  try { j = JSON.parse(p.stdout); } catch { /* keep null */ }
  const recap: any[] = j?.recap ?? [];
  const changed: unknown = j?.changed ?? j?.would_change; // plan's JSON says would_change
  const problems: string[] = [];
  if (p.code !== 0) problems.push(`exit ${p.code}: ${p.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  for (const h of recap) {
    if (h.failed || h.unreachable) problems.push(`${h.host}: failed=${h.failed} unreachable=${h.unreachable}`);
  }
  for (const e of (j?.events ?? []) as any[]) {
    if (e.type === 'task' && e.status === 'failed') problems.push(`${e.host}: ${e.task} failed: ${String(e.error?.message ?? '').slice(0, 300)}`);
  }
  if ((kind === 'noop' || kind === 'noop_exec' || kind === 'plan') && j && changed !== 0) problems.push(`${kind} after a converged run: changed=${changed}`);
  if (recap.length !== lab.hosts.length) problems.push(`recap has ${recap.length} hosts, expected ${lab.hosts.length}`);
  const conns = recap.map((h) => h.stats?.connections).filter((x): x is number => typeof x === 'number');
  const cmds = recap.map((h) => h.stats?.commands).filter((x): x is number => typeof x === 'number');
  const s: Sample = {
    kind, run, code: p.code, wall_s: round(p.wallS, 3), engine_wall_s: typeof j?.wall_ms === 'number' ? j.wall_ms / 1000 : null,
    cpu_s: round(p.userS + p.sysS, 2), user_s: p.userS, sys_s: p.sysS, rss_mb: round(p.rssMB, 1), load1: p.load1,
    changed: typeof changed === 'number' ? changed : null,
    conns_per_host: conns.length ? { min: Math.min(...conns), max: Math.max(...conns) } : null,
    cmds_per_host: cmds.length ? { min: Math.min(...cmds), max: Math.max(...cmds), mean: round(cmds.reduce((a, b) => a + b, 0) / cmds.length, 2) } : null,
    hosts: recap.length, problems,
    slowest_tasks: slowestTasks(j),
    batching: kind === 'fresh' ? batchingOf(j?.events ?? [], recap.length) : null,
    changed_tasks: kind === 'noop' || kind === 'noop_exec' || kind === 'plan'
      ? ((j?.events ?? []) as any[]).filter((e) => e.type === 'task' && (e.status === 'changed' || e.status === 'would_change'))
        .map((e) => `${e.host}: ${e.task} (${e.changes?.[0]?.summary ?? ''})`).slice(0, 20)
      : [],
  };
  if (s.changed_tasks.length) problems.push(`changed: ${s.changed_tasks.join('; ')}`);
  log(`  ${lab.key} run ${run} ${kind.padEnd(5)} ${s.wall_s.toFixed(2)} s (engine ${s.engine_wall_s ?? '?'} s) cpu ${s.cpu_s} s rss ${s.rss_mb} MB ` +
    `changed=${s.changed} conns/host ${fmtRange(s.conns_per_host)} cmds/host ${fmtRange(s.cmds_per_host)} load ${s.load1.toFixed(2)}` +
    (problems.length ? `\n    PROBLEM: ${problems.join('\n    PROBLEM: ')}` : ''));
  return s;
}

// ---------------------------------------------------------------- stats and output
const round = (x: number, d: number) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
function mmm(xs: number[]): { min: number; median: number; max: number } | null {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return null;
  const median = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return { min: round(v[0]!, 3), median: round(median, 3), max: round(v[v.length - 1]!, 3) };
}
function fmtRange(r: { min: number; max: number } | null): string { return r ? (r.min === r.max ? `${r.min}` : `${r.min}–${r.max}`) : '?'; }
function fmtMMM(m: { min: number; median: number; max: number } | null): string { return m ? `${m.min.toFixed(2)} / ${m.median.toFixed(2)} / ${m.max.toFixed(2)}` : '–'; }
function log(s: string) { process.stderr.write(s + '\n'); }

interface LabResult {
  lab: string; name: string; hosts_measured: number; lab_hosts: number; director: 'ns (left out with --limit)' | 'vm (measured)';
  lab_up_s: number | null; lab_ssh_ready_ms: number | null; lab_down_s: number | null;
  fresh_s: ReturnType<typeof mmm>; noop_s: ReturnType<typeof mmm>; noop_exec_s: ReturnType<typeof mmm>; plan_s: ReturnType<typeof mmm>; reset_s: ReturnType<typeof mmm>;
  conns_per_host: { min: number; max: number } | null;
  cmds_per_host: Record<'fresh' | 'noop' | 'noop_exec' | 'plan', { min: number; max: number; mean: number } | null>;
  cpu_s: Record<'fresh' | 'noop' | 'plan', ReturnType<typeof mmm>>;
  peak_rss_mb: number | null; load1: { min: number; max: number } | null;
  /** OpenSSH floor: `ssh HOST true` to every measured host at once, right after each no-op */
  floor_s: ReturnType<typeof mmm>;
  /** run 1: a round trip with a new exec channel vs a message through one held shell (median ms, every host at once) */
  channel: ChannelCost | null;
  /** the same work with Ansible on this lab (fresh: no ControlPersist master yet; no-op: right after, masters kept) */
  ansible: { version: string; fresh_s: ReturnType<typeof mmm>; noop_s: ReturnType<typeof mmm>; runs: AnsibleRun[] } | null;
  samples: Sample[]; problems: string[];
}

interface Extra { channel?: ChannelCost; floor: number[]; ansible: { version: string; fresh: AnsibleRun[]; noop: AnsibleRun[] } | null; problems: string[] }

function summarize(lab: Lab, samples: Sample[], labUp: Proc | null, labDownS: number | null, x: Extra): LabResult {
  const of = (k: Sample['kind']) => samples.filter((s) => s.kind === k && s.problems.length === 0);
  const cmdAgg = (k: Sample['kind']) => {
    const xs = of(k).map((s) => s.cmds_per_host).filter((x): x is NonNullable<typeof x> => !!x);
    return xs.length ? { min: Math.min(...xs.map((x) => x.min)), max: Math.max(...xs.map((x) => x.max)), mean: round(xs.reduce((a, x) => a + x.mean, 0) / xs.length, 2) } : null;
  };
  const measured = samples.filter((s) => s.kind !== 'reset');
  const conns = measured.map((s) => s.conns_per_host).filter((x): x is NonNullable<typeof x> => !!x);
  const ready = labUp ? /SSH-ready in (\d+) ms/.exec(labUp.stdout + labUp.stderr) : null;
  const loads = samples.map((s) => s.load1);
  return {
    lab: lab.key, name: lab.name, hosts_measured: lab.hosts.length, lab_hosts: lab.vm ? lab.hosts.length : lab.hosts.length + 1,
    director: lab.vm ? 'vm (measured)' : 'ns (left out with --limit)',
    lab_up_s: labUp ? round(labUp.wallS, 2) : null, lab_ssh_ready_ms: ready ? Number(ready[1]) : null, lab_down_s: labDownS,
    fresh_s: mmm(of('fresh').map((s) => s.wall_s)), noop_s: mmm(of('noop').map((s) => s.wall_s)), noop_exec_s: mmm(of('noop_exec').map((s) => s.wall_s)), plan_s: mmm(of('plan').map((s) => s.wall_s)),
    reset_s: mmm(of('reset').map((s) => s.wall_s)),
    conns_per_host: conns.length ? { min: Math.min(...conns.map((c) => c.min)), max: Math.max(...conns.map((c) => c.max)) } : null,
    cmds_per_host: { fresh: cmdAgg('fresh'), noop: cmdAgg('noop'), noop_exec: cmdAgg('noop_exec'), plan: cmdAgg('plan') },
    cpu_s: { fresh: mmm(of('fresh').map((s) => s.cpu_s)), noop: mmm(of('noop').map((s) => s.cpu_s)), plan: mmm(of('plan').map((s) => s.cpu_s)) },
    peak_rss_mb: measured.length ? Math.max(...measured.map((s) => s.rss_mb).filter(Number.isFinite)) : null,
    load1: loads.length ? { min: round(Math.min(...loads), 2), max: round(Math.max(...loads), 2) } : null,
    floor_s: mmm(x.floor),
    channel: x.channel ?? null,
    ansible: x.ansible && {
      version: x.ansible.version,
      fresh_s: mmm(x.ansible.fresh.filter((r) => !r.problems.length).map((r) => r.wall_s)),
      noop_s: mmm(x.ansible.noop.filter((r) => !r.problems.length).map((r) => r.wall_s)),
      runs: [...x.ansible.fresh, ...x.ansible.noop],
    },
    samples, problems: [...samples.flatMap((s) => s.problems.map((p) => `run ${s.run} ${s.kind}: ${p}`)), ...x.problems],
  };
}

function table(rs: LabResult[]): string {
  const head = ['lab', 'hosts', 'fresh up s (min/med/max)', 'no-op up s (min/med/max)', 'plan s (min/med/max)', 'OpenSSH floor s (med)', 'Ansible fresh / no-op s (med)', 'conns/host', 'cmds/host no-op', 'cmds/host fresh', 'CPU s fresh / no-op (med)', 'peak RSS MB', 'lab SSH-ready s', 'load1'];
  const rows = rs.map((r) => [
    r.lab, String(r.hosts_measured), fmtMMM(r.fresh_s), fmtMMM(r.noop_s), fmtMMM(r.plan_s), r.floor_s ? r.floor_s.median.toFixed(2) : '–',
    r.ansible ? `${r.ansible.fresh_s?.median.toFixed(2) ?? '?'} / ${r.ansible.noop_s?.median.toFixed(2) ?? '?'}` : '–', fmtRange(r.conns_per_host),
    fmtRange(r.cmds_per_host.noop), r.cmds_per_host.fresh ? `${fmtRange(r.cmds_per_host.fresh)} (avg ${r.cmds_per_host.fresh.mean})` : '?',
    `${r.cpu_s.fresh?.median ?? '?'} / ${r.cpu_s.noop?.median ?? '?'}`, r.peak_rss_mb === null ? '?' : r.peak_rss_mb.toFixed(0),
    r.lab_ssh_ready_ms === null ? '?' : (r.lab_ssh_ready_ms / 1000).toFixed(1), r.load1 ? `${r.load1.min.toFixed(1)}–${r.load1.max.toFixed(1)}` : '?',
  ]);
  return mdTable(head, rows);
}

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

interface InputResult { hosts: number; load_ms: number; render_ms: number; total_ms: number; cpu_ms: number }
interface Target { target: string; measured: string; against: string; ratio: string; met: boolean | null }

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? a / b : null);
const fmtX = (r: number | null) => (r === null ? '–' : `${r.toFixed(2)}×`);
const sec = (v: number | null | undefined) => (v === null || v === undefined ? '?' : `${v.toFixed(2)} s`);

/** The issue's targets (#17), each with the measured value, what it is compared to, and pass/miss (medians). */
function targets(rs: LabResult[], input: InputResult | null, start: StartupResult | null, ansible: string | undefined): Target[] {
  const out: Target[] = [];
  const add = (target: string, measured: string, against: string, r: number | null, met: boolean | null) => out.push({ target, measured, against, ratio: fmtX(r), met });
  if (input) add('input: 3,000-host inventory loads, validates, renders every task (a new process, from node\'s own start) <= 1 s', `${input.total_ms} ms (cpu ${input.cpu_ms} ms)`, '1 s', null, input.total_ms <= 1000);
  if (start) {
    const v = ratio(start.version_ms, start.node_ms), u = ratio(start.up_load_ms, start.node_ms);
    add('start-up: clusterform --version <= 1.5x node -e 0', `${start.version_ms} ms`, `node -e 0: ${start.node_ms} ms`, v, v === null ? null : v <= 1.5);
    add('start-up: loading the CLI for up <= 2x node -e 0 (compile cache warm)', `${start.up_load_ms} ms`, `node -e 0: ${start.node_ms} ms`, u, u === null ? null : u <= 2);
    const c = ratio(start.up_load_cold_ms, start.node_ms);
    add('start-up: loading the CLI for up, first run (no compile cache)', `${start.up_load_cold_ms} ms`, `node -e 0: ${start.node_ms} ms`, c, null);
  }
  const ns = rs.filter((r) => r.lab.startsWith('ns')).sort((a, b) => a.hosts_measured - b.hosts_measured);
  for (const r of ns) {
    const q = ratio(r.noop_s?.median, r.floor_s?.median);
    add(`no-op up at the floor, ${r.hosts_measured} hosts: <= 1.3x OpenSSH floor`, sec(r.noop_s?.median), `ssh HOST true x${r.hosts_measured}: ${sec(r.floor_s?.median)}`, q, q === null ? null : q <= 1.3);
    const h = ratio(r.noop_exec_s?.median, r.floor_s?.median);
    add(`(for comparison) no-op up with --no-held-shell, ${r.hosts_measured} hosts (channels/host ${fmtRange(r.cmds_per_host.noop_exec)})`, sec(r.noop_exec_s?.median), `ssh HOST true x${r.hosts_measured}: ${sec(r.floor_s?.median)}`, h, null);
  }
  for (const r of rs) {
    const c = r.conns_per_host;
    add(`one SSH connection per host (${r.lab})`, fmtRange(c), '1', null, c ? c.min === 1 && c.max === 1 : null);
    const n = r.cmds_per_host.noop;
    add(`one held remote shell per host: exec channels per host in a no-op (${r.lab})`, fmtRange(n), '1', null, n ? n.max <= 1 : null);
  }
  for (const r of ns) {
    if (!r.channel || !r.cmds_per_host.noop) continue;
    add(`held shell (${r.lab}): one round trip, new exec channel vs message through the held shell`, `message ${r.channel.message_ms} ms`,
      `exec channel ${r.channel.exec_ms} ms`, ratio(r.channel.exec_ms, r.channel.message_ms), null);
  }
  const a = ns.find((r) => r.ansible);
  if (a?.ansible) {
    const f = ratio(a.ansible.fresh_s?.median, a.fresh_s?.median), n = ratio(a.ansible.noop_s?.median, a.noop_s?.median);
    add(`against Ansible, fresh (${a.lab}): >= 15x faster`, sec(a.fresh_s?.median), `${a.ansible.version}: ${sec(a.ansible.fresh_s?.median)}`, f, f === null ? null : f >= 15);
    add(`against Ansible, no-op (${a.lab}): >= 25x faster`, sec(a.noop_s?.median), `${a.ansible.version}: ${sec(a.ansible.noop_s?.median)}`, n, n === null ? null : n >= 25);
  } else add('against Ansible', 'not run', ansible ?? 'ansible-playbook is not installed', null, null);
  add('pyinfra', 'not run', 'no Debian package (apt-cache: no pyinfra / python3-pyinfra in bookworm); not on npm', null, null);
  for (const r of ns) {
    const b = r.samples.find((x) => x.kind === 'fresh' && x.batching)?.batching;
    if (b) add(`fresh build: a host's changes in few round trips (${r.lab}, per host)`, `${b.changed} changes in ${b.applies} apply round trips; ${b.replanned} planned again after a guard`,
      `${b.changed} round trips (one per change, without batching)`, b.applies ? b.changed / b.applies : null, null);
  }
  for (const r of ns) {
    const slow = r.samples.filter((x) => x.kind === 'fresh').flatMap((x) => x.slowest_tasks).sort((p, q) => q.apply_ms - p.apply_ms).slice(0, 3);
    const mods = [...new Set(slow.map((t) => t.module))];
    add(`fresh build: only partitioning and mkfs are slow steps (${r.lab}, 3 slowest applies)`, slow.map((t) => `${t.module} apply ${(t.apply_ms / 1000).toFixed(2)} s (task ${(t.ms / 1000).toFixed(2)} s)`).join(', ') || '?', 'disk_layout, filesystem', null,
      slow.length ? mods.every((m) => m === 'disk_layout' || m === 'filesystem' || m === 'partition_table') : null);
  }
  const big = ns[ns.length - 1], hundred = ns.find((r) => r.hosts_measured === 100);
  if (hundred) add('scale: controller peak RSS <= 400 MB (100 hosts)', `${hundred.peak_rss_mb?.toFixed(0) ?? '?'} MB`, '400 MB', null, hundred.peak_rss_mb === null ? null : hundred.peak_rss_mb <= 400);
  if (big && hundred && big !== hundred) {
    for (const k of ['fresh_s', 'noop_s'] as const) {
      const per100 = (hundred[k]?.median ?? NaN) / hundred.hosts_measured, perBig = (big[k]?.median ?? NaN) / big.hosts_measured;
      add(`scale: ${k === 'fresh_s' ? 'fresh' : 'no-op'} time per host at ${big.hosts_measured} hosts <= at 100`, `${(perBig * 1000).toFixed(1)} ms/host`, `${(per100 * 1000).toFixed(1)} ms/host`, perBig / per100, perBig <= per100);
    }
    add(`scale: controller peak RSS <= 400 MB (${big.hosts_measured} hosts)`, `${big.peak_rss_mb?.toFixed(0) ?? '?'} MB`, '400 MB', null, big.peak_rss_mb === null ? null : big.peak_rss_mb <= 400);
  } else add('scale: 1,000 hosts', 'not run', 'run with --sizes 100,1000', null, null);
  return out;
}

function targetTable(ts: Target[]): string {
  return mdTable(['target', 'measured', 'compared to', 'ratio', ''], ts.map((t) => [t.target, t.measured, t.against, t.ratio, t.met === null ? '–' : t.met ? 'pass' : 'MISS']));
}

// ---------------------------------------------------------------- main
/** Ansible's fresh and no-op runs on the lab (cleared of clusterform's work first, its own work undone after). */
async function ansibleRun(lab: Lab, run: number, version: string, x: NonNullable<Extra['ansible']>, problems: string[]): Promise<void> {
  const inventory = writeAnsibleInventory({ ...lab.ansible, name: lab.name, hosts: lab.hosts, addresses: lab.addresses, key: lab.key_file, knownHosts: lab.known_hosts });
  const dir = join(ROOT, 'bench/ansible');
  const cfg = join(dir, 'ansible.cfg');
  await measure(lab, 'reset', run); // bare hosts (clusterform's down --wipe-disks), as for clusterform's fresh build
  const cp = newControlDir();
  const forks = lab.hosts.length;
  const fresh = await runAnsible(join(dir, 'site.yml'), inventory, forks, cp, cfg);
  const noop = await runAnsible(join(dir, 'site.yml'), inventory, forks, cp, cfg);
  if (fresh.changed === 0 && !fresh.problems.length) fresh.problems.push('fresh run changed nothing');
  if (noop.changed !== 0) noop.problems.push(`no-op changed ${noop.changed} tasks`);
  x.fresh.push(fresh); x.noop.push(noop);
  const reset = await runAnsible(join(dir, 'reset.yml'), inventory, forks, cp, cfg);
  for (const [k, r] of [['fresh', fresh], ['noop', noop], ['reset', reset]] as const) if (r.problems.length) problems.push(`run ${run} ansible ${k}: ${r.problems.join('; ')}`);
  log(`  ${lab.key} run ${run} ansible (${version}): fresh ${fresh.wall_s.toFixed(2)} s (changed ${fresh.changed}), no-op ${noop.wall_s.toFixed(2)} s (changed ${noop.changed})`);
}

async function benchLab(lab: Lab, runs: number, keep: boolean, ansible: string | undefined): Promise<LabResult> {
  log(`\n== ${lab.key}: ${lab.inv} (${lab.hosts.length} measured hosts${lab.limit ? ', director left out with --limit' : ''})`);
  const samples: Sample[] = [];
  const x: Extra = { floor: [], ansible: ansible ? { version: ansible, fresh: [], noop: [] } : null, problems: [] };
  let labUp: Proc | null = null, labDownS: number | null = null;
  const release = await acquireLabLock(log);
  try {
    labUp = await cli(['lab', 'up', lab.inv], 3600);
    const ready = /SSH-ready in (\d+) ms/.exec(labUp.stdout + labUp.stderr)?.[0];
    log(`  lab up: ${labUp.wallS.toFixed(1)} s (${ready ?? 'no SSH-ready line'}) load ${labUp.load1.toFixed(2)}`);
    if (labUp.code !== 0) throw new Error(`lab up ${lab.inv} failed (exit ${labUp.code}):\n${(labUp.stdout + labUp.stderr).slice(-3000)}`);
    for (let run = 1; run <= runs && !interrupted; run++) {
      if (run > 1) samples.push(await measure(lab, 'reset', run));
      for (const k of ['fresh', 'noop', 'noop_exec', 'plan'] as const) {
        if (interrupted) break;
        samples.push(await measure(lab, k, run));
        if (k === 'noop' && !lab.vm) await floorRun(lab, run, x);
      }
      if (x.ansible && !interrupted) await ansibleRun(lab, run, x.ansible.version, x.ansible, x.problems);
    }
  } finally {
    if (!keep) {
      const d = await cli(['lab', 'down', lab.inv], 1800);
      labDownS = round(d.wallS, 2);
      log(`  lab down: ${d.wallS.toFixed(1)} s${d.code ? ` (exit ${d.code}: ${(d.stdout + d.stderr).slice(-1000)})` : ''}`);
    }
    release();
  }
  return summarize(lab, samples, labUp, labDownS, x);
}

/** The OpenSSH floor once, right after a no-op (the same hosts, the same machine load). */
async function floorRun(lab: Lab, run: number, x: Extra): Promise<void> {
  try {
    const s = await sshFloor(lab.hosts.map((h) => ({ address: lab.addresses[h]!, key: lab.key_file, knownHosts: lab.known_hosts })));
    x.floor.push(s);
    log(`  ${lab.key} run ${run} floor ${s.toFixed(2)} s (ssh HOST true to ${lab.hosts.length} hosts at once)`);
  } catch (e: any) {
    x.problems.push(`run ${run} floor: ${e?.message ?? e}`);
  }
  if (run !== 1) return;
  try {
    x.channel = await channelCost(lab.hosts.map((h) => ({ name: h, address: lab.addresses[h]!, key: lab.key_file, knownHosts: lab.known_hosts })));
    log(`  ${lab.key} channel: handshake ${x.channel.handshake_ms} ms, exec channel round trip ${x.channel.exec_ms} ms, held-shell message ${x.channel.message_ms} ms`);
  } catch (e: any) {
    x.problems.push(`run ${run} channel cost: ${e?.message ?? e}`);
  }
}

/**
 * No lab: bench/input.ts in 3 cold processes (load, validate and render a 3,000-host inventory); the median run. It
 * runs bundled and through the compile cache as the CLI does (a cache directory of its own, warmed by one run first).
 */
function measureInput(n = 3000, runs = 3): InputResult | null {
  const cache = mkdtempSync(join(tmpdir(), 'cf-bench-input-'));
  const script = `require(${JSON.stringify(join(ROOT, 'dist/bundle/boot.cjs'))}).requireCached(${JSON.stringify(join(ROOT, 'dist/bundle/bench-input.cjs'))}, 'input')`;
  const once = () => spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, CF_BENCH_HOSTS: String(n), CLUSTERFORM_COMPILE_CACHE: cache } });
  try {
    const xs: InputResult[] = [];
    for (let i = 0; i <= runs; i++) {
      const r = once();
      if (r.status !== 0) { log(`input: ${r.stderr.slice(-2000)}`); return null; }
      if (i > 0) xs.push(JSON.parse(r.stdout)); // the first run warms the cache
    }
    xs.sort((a, b) => a.total_ms - b.total_ms);
    return xs[Math.floor(xs.length / 2)]!;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing: apt-get install time`);
  if (!existsSync(join(ROOT, 'dist/src/cli/main.js'))) throw new Error('dist/ is missing: npm run build');
  const input = measureInput();
  log(`input: ${input ? `${input.hosts.toLocaleString('en')}-host inventory loaded ${input.load_ms} ms + rendered ${input.render_ms} ms; process ${input.total_ms} ms, cpu ${input.cpu_ms} ms` : 'failed'}`);
  const start = o.startup ? measureStartup(CLI) : null;
  if (start) log(`start-up (median of ${start.runs}): node -e 0 ${start.node_ms} ms, --version ${start.version_ms} ms, up loading ${start.up_load_ms} ms (cold ${start.up_load_cold_ms} ms)`);
  const ansible = o.ansible ? ansibleVersion() : undefined;
  const onSig = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('bench: interrupted, finishing the current command, then removing the labs (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  const labs: Lab[] = o.sizes.map((n, i) => makeLab(n, false, i));
  if (o.vm) labs.push(makeLab(5, true, 63));
  const smallest = Math.min(...o.sizes);
  const started = new Date().toISOString();
  const results: LabResult[] = [];
  let error: string | undefined;
  for (const lab of labs) {
    if (interrupted) break;
    try {
      results.push(await benchLab(lab, o.runs, o.keep, !lab.vm && lab.n === smallest ? ansible : undefined));
    } catch (e: any) {
      error = `${lab.key}: ${e?.message ?? e}`;
      log(`bench: ${error}`);
    }
  }
  const tgt = targets(results, input, start, o.ansible ? ansible : 'not asked (--no-ansible)');
  const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, mem_gb: round(totalmem() / 2 ** 30, 1), node: process.version, kernel: readFileSync('/proc/version', 'utf8').split(' ')[2] };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify({ started, finished: new Date().toISOString(), machine, options: o, error, interrupted, targets: tgt, input, startup: start, results }, null, 2) + '\n');
  const md = [
    targetTable(tgt), '',
    table(results),
    ...results.filter((r) => r.problems.length).map((r) => `\n${r.lab} problems:\n  ${r.problems.join('\n  ')}`),
    `\nmachine: ${machine.cpus} cores ${machine.cpu_model}, ${machine.mem_gb} GB, node ${machine.node}, kernel ${machine.kernel}; load1 ${loadavg()[0]!.toFixed(1)} at the end (shared with other work: ratios are measured side by side in the same run); written ${o.out}`,
  ].join('\n');
  process.stdout.write(md + '\n');
  if (error || interrupted || results.some((r) => r.problems.length)) process.exitCode = 1;
}

main().catch((e) => { log(`bench: ${e?.stack ?? e}`); process.exitCode = 1; });
