// Local lab: every inventory host becomes a real SSH host on this machine (ns hosts: netns + sshd; vm hosts: qemu via vm.ts).
// The lab's one entry: it reads and validates its part of an inventory itself (schema.ts) and imports nothing from
// the core but the shared utilities in src/util.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { labConfigFromInventory } from './config.js';
import { loadLabInventory } from './schema.js';
import { ensureByIdDir, ensureImage, ensureLoop, loopsBackedBy, removeDisks } from './disk.js';
import { clientKeyPath, ensureClientKey, ensureHostKey, hostKeyDir, knownHostsPath, writeKnownHosts } from './keys.js';
import { assertSubnetsFree, createHostsNet, ensureBridgeNs, ensureControllerNeighbours, freshHostNetCommands, ensureHostNet, links, listNetns, netnsExists, NETNS_DIR, runNetnsIsMount } from './net.js';
import { findHostMountNsPid, findSshd, killNamespaces, prepareHostFs, scanProcs, startSshd, waitListening, waitSshReady, type StartedSshd } from './ns.js';
import { claimOwner, ownerConflict, readOwner, releaseOwner } from './owner.js';
import { assertLinuxRoot, ensurePrereqs } from './prereq.js';
import { aptSourceFor, ensureRepo, ensureRepoServers, stopRepoServers } from './repo.js';
import { pool, run, sleep } from './sh.js';
import type { LabConfig, LabHost, LabStatus } from './types.js';
import { startVm, stopVm, vmAlive, ensureVmArtifacts, waitVmSsh, type VmSpec } from './vm.js';

export { labConfigFromInventory } from './config.js';
export { labInventorySchema, labSchema, loadLabInventory } from './schema.js';
export type * from './types.js';
export { clientKeyPath, knownHostsPath } from './keys.js';

type Log = (line: string) => void;

/** The lab of an inventory file; its problems are an InputError with file:line:column, thrown before anything is made. */
export function labConfigFromFile(inventoryPath: string): LabConfig {
  return labConfigFromInventory(loadLabInventory(inventoryPath), inventoryPath);
}

/** Machine-level things the lab created and must undo on down (kept in <stateDir>/state.json). */
interface LabState {
  createdRunNetnsMount?: boolean;
  createdRunNetnsDir?: boolean;
  createdDevDirs?: string[];
}
const statePath = (cfg: LabConfig) => path.join(cfg.stateDir, 'state.json');
function readState(cfg: LabConfig): LabState {
  try {
    return JSON.parse(readFileSync(statePath(cfg), 'utf8')) as LabState;
  } catch {
    return {};
  }
}
async function writeState(cfg: LabConfig, s: LabState): Promise<void> {
  await writeFile(statePath(cfg), JSON.stringify(s, null, 2) + '\n');
}

const vmDir = (h: LabHost) => path.join(h.dir, 'vm');

function vmSpec(cfg: LabConfig, h: LabHost, authorizedKeys: string): VmSpec {
  return {
    lab: cfg.lab,
    name: h.name,
    hostname: h.hostname,
    stateDir: vmDir(h),
    cacheDir: cfg.vmCacheDir,
    netns: cfg.bridgeNs,
    nics: h.nics.map((n) => ({ tap: n.peer, bridge: n.bridge, mac: n.mac, address: n.address, prefix: n.prefix })),
    disks: cfg.disks.filter((d) => d.hosts.includes(h.name)).map((d) => ({ image: d.image, id: d.byId })),
    hostKeyDir: hostKeyDir(h),
    authorizedKeys,
    image: h.image,
    ...(h.image === 'debian' ? { aptSource: aptSourceFor(cfg, h) } : {}),
    ...(h.memoryMb ? { memoryMb: h.memoryMb } : {}),
    ...(h.watchdog ? { watchdog: true } : {}),
  };
}

function vmPid(h: LabHost): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(vmDir(h), 'qemu.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function writeAddresses(cfg: LabConfig): Promise<void> {
  const doc = {
    '# note': 'addresses chosen by the lab (not given in the inventory); kept stable across runs',
    controller: cfg.chosen.controller,
    hosts: cfg.chosen.hosts,
  };
  const text = YAML.stringify({ controller: doc.controller, hosts: doc.hosts });
  const file = path.join(cfg.stateDir, 'addresses.yaml');
  const old = existsSync(file) ? await readFile(file, 'utf8') : '';
  if (old !== text) await writeFile(file, text);
}

/** Create or repair the lab; idempotent. Returns once every host answers with an SSH banner. */
export async function labUp(cfg: LabConfig, opts: { log?: Log } = {}): Promise<LabStatus> {
  const log: Log = opts.log ?? (() => {});
  ensurePrereqs(cfg);
  const t0 = Date.now();
  const conflict = ownerConflict({ lab: cfg.lab, stateDir: cfg.stateDir, running: netnsExists(cfg.bridgeNs), owner: readOwner(cfg.lab), ownState: existsSync(statePath(cfg)) });
  if (conflict) throw new Error(conflict);
  await mkdir(cfg.stateDir, { recursive: true, mode: 0o700 });
  const state = readState(cfg);
  if (!existsSync(NETNS_DIR)) state.createdRunNetnsDir = true;
  if (!runNetnsIsMount()) state.createdRunNetnsMount = true;
  await writeState(cfg, state);
  await writeAddresses(cfg);

  await assertSubnetsFree(cfg);
  const clientPub = await ensureClientKey(cfg);
  await ensureBridgeNs(cfg, log);
  await ensureControllerNeighbours(cfg);
  await claimOwner(cfg);

  // disks
  const nsHostNames = new Set(cfg.hosts.filter((h) => h.kind === 'ns').map((h) => h.name));
  for (const d of cfg.disks) {
    await ensureImage(d);
    if (d.hosts.some((h) => nsHostNames.has(h))) {
      const created = await ensureByIdDir();
      if (created.length) {
        state.createdDevDirs = [...new Set([...(state.createdDevDirs ?? []), ...created])];
        await writeState(cfg, state);
      }
      await ensureLoop(d, log);
    }
  }

  // host keys (all kinds) and known_hosts
  const pubs = new Map<string, string>();
  await pool(cfg.hosts, cfg.concurrency, async (h) => {
    await mkdir(h.dir, { recursive: true });
    pubs.set(h.name, await ensureHostKey(h, cfg.lab));
  });
  await writeKnownHosts(cfg, pubs);
  log(`lab: host keys ready (${Date.now() - t0} ms)`);

  // ns hosts
  const brLinks = await links(cfg.bridgeNs);
  const procs = scanProcs();
  const started = new Map<string, StartedSshd>();
  const nsHosts = cfg.hosts.filter((h) => h.kind === 'ns');
  const present = listNetns();
  const fresh = nsHosts.filter((h) => !present.has(h.netns));
  await createHostsNet(cfg, fresh, brLinks);
  const freshNames = new Set(fresh.map((h) => h.name));
  await pool(nsHosts, cfg.concurrency, async (h) => {
    const isFresh = freshNames.has(h.name);
    // a fresh host's inside is configured by its startup script (saves a process per host)
    const changed = isFresh ? true : await ensureHostNet(cfg, h, brLinks);
    await prepareHostFs(h, clientPub);
    if (isFresh || findSshd(h, procs) === undefined) {
      log(`lab: starting sshd on ${h.name} (${h.primaryAddress})`);
      const join = isFresh ? undefined : findHostMountNsPid(h, procs);
      started.set(h.name, startSshd(h, isFresh ? freshHostNetCommands(h, cfg.networks) : [], join));
    } else if (changed) {
      log(`lab: repaired network of ${h.name}`);
    }
  });

  if (started.size) log(`lab: ${started.size} sshd started (${Date.now() - t0} ms)`);

  // vm hosts
  const vmHosts = cfg.hosts.filter((h) => h.kind === 'vm');
  if (vmHosts.length > 0) {
    await ensureVmArtifacts(cfg.vmCacheDir, log, [...new Set(vmHosts.map((h) => h.image ?? 'fast'))]);
    if (vmHosts.some((h) => h.image === 'debian')) {
      await ensureRepo(cfg, log);
      await ensureRepoServers(cfg, log);
    }
    await pool(vmHosts, cfg.concurrency, async (h) => {
      if (vmAlive(vmDir(h))) return;
      const spec = vmSpec(cfg, h, clientPub);
      await mkdir(spec.stateDir, { recursive: true });
      await stopVm(spec).catch(() => {}); // clear stale taps of a dead VM
      log(`lab: starting vm ${h.name} (${h.primaryAddress})`);
      await startVm(spec);
    });
  }

  // wait for SSH everywhere
  const failures: string[] = [];
  await Promise.all(
    cfg.hosts.map(async (h) => {
      const s = started.get(h.name);
      try {
        if (h.kind === 'vm') return await waitVm(cfg, h, t0, log);
        if (s) await waitListening(s.pid, cfg.readyTimeoutMs.ns, s.exited);
        await waitSshReady(h.primaryAddress, cfg.readyTimeoutMs.ns, s?.exited);
      } catch (e) {
        let tail = '';
        const logFile = s?.logFile ?? (h.kind === 'vm' ? undefined : path.join(h.dir, 'sshd.log'));
        if (logFile && existsSync(logFile)) tail = '\n  ' + readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n  ');
        failures.push(`${h.name}: ${(e as Error).message}${tail}`);
      }
    }),
  );
  if (failures.length) throw new Error(`lab ${cfg.lab}: hosts not SSH-ready:\n${failures.join('\n')}`);
  log(`lab: ${cfg.hosts.length} hosts SSH-ready in ${Date.now() - t0} ms (${started.size} sshd started)`);
  const status = await labStatus(cfg);
  // record the pids (informational; liveness is always re-checked against /proc and the host's netns)
  await Promise.all(
    status.hosts.filter((h) => h.kind === 'ns' && h.pid).map((h) => writeFile(path.join(cfg.stateDir, 'hosts', h.name, 'sshd.pid'), `${h.pid}\n`)),
  );
  return status;
}

const vmTimeout = (cfg: LabConfig, h: LabHost) => (h.image === 'debian' ? cfg.readyTimeoutMs.debianVm : cfg.readyTimeoutMs.vm);

/** Waits for a VM's SSH (watching its console) and logs the seconds since t0. */
async function waitVm(cfg: LabConfig, h: LabHost, t0: number, log: Log): Promise<number> {
  await waitVmSsh(vmDir(h), h.name, h.primaryAddress, vmTimeout(cfg, h));
  const s = (Date.now() - t0) / 1000;
  log(`lab: vm ${h.name} answers SSH after ${s.toFixed(1)} s`);
  return s;
}

function labHost(cfg: LabConfig, name: string): LabHost {
  const h = cfg.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`lab ${cfg.lab}: no host ${name} (hosts: ${cfg.hosts.map((x) => x.name).join(', ')})`);
  return h;
}

/**
 * Guest reboot of a vm host (`systemctl reboot` over SSH, or `reboot` on the fast image, whose qemu then exits and is
 * started again); resolves with the seconds until SSH answers again. ns hosts share this machine's kernel: refused.
 */
export async function labReboot(cfg: LabConfig, name: string, opts: { log?: Log } = {}): Promise<number> {
  const log: Log = opts.log ?? (() => {});
  const h = labHost(cfg, name);
  if (h.kind !== 'vm') throw new Error(`lab ${cfg.lab}: ${name} is an ns host: it shares this machine's kernel and cannot be rebooted (use: clusterform lab kill ${name}, then lab up)`);
  if (!vmAlive(vmDir(h))) throw new Error(`lab ${cfg.lab}: vm ${name} is not running (run: clusterform lab up)`);
  const t0 = Date.now();
  const mark = consoleSize(h);
  await sshRoot(cfg, h, h.image === 'debian' ? 'systemctl reboot' : 'reboot -f');
  if (h.image === 'debian') await waitConsole(h, mark, /Linux version/, vmTimeout(cfg, h));
  else {
    // qemu of the fast image runs with -no-reboot: it exits, and the lab starts it again
    while (vmAlive(vmDir(h)) && Date.now() - t0 < 30_000) await sleep(100);
    await labUp(cfg, { log });
  }
  return waitVm(cfg, h, t0, log);
}

/** Power cut: kills the VM's qemu (ns host: every process of the host); `lab up` powers it on again. */
export async function labKill(cfg: LabConfig, name: string): Promise<void> {
  const h = labHost(cfg, name);
  if (h.kind === 'ns') {
    await killNamespaces([h.netns], 0);
    return;
  }
  const pid = vmPid(h);
  if (pid === undefined || !vmAlive(vmDir(h))) return;
  process.kill(pid, 'SIGKILL');
  const t0 = Date.now();
  while (vmAlive(vmDir(h)) && Date.now() - t0 < 10_000) await sleep(50);
  if (vmAlive(vmDir(h))) throw new Error(`lab ${cfg.lab}: qemu of ${name} (pid ${pid}) survived SIGKILL`);
}

const consolePath = (h: LabHost) => path.join(vmDir(h), 'console.log');
function consoleSize(h: LabHost): number {
  try {
    return statSync(consolePath(h)).size;
  } catch {
    return 0;
  }
}

/** Waits until the VM's console shows `re` after byte offset `from` (e.g. the kernel's banner after a reboot). */
async function waitConsole(h: LabHost, from: number, re: RegExp, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const text = readFileSync(consolePath(h)).subarray(from).toString('utf8');
    if (re.test(text)) return;
    await sleep(250);
  }
  throw new Error(`vm ${h.name}: no ${re} on the console within ${timeoutMs / 1000} s`);
}

/** Runs a command as root on a lab host with the lab's key; the connection dropping (a reboot) is not an error. */
async function sshRoot(cfg: LabConfig, h: LabHost, command: string): Promise<void> {
  const r = await run('ssh', [
    '-i', clientKeyPath(cfg), '-o', `UserKnownHostsFile=${knownHostsPath(cfg)}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', `root@${h.primaryAddress}`, command,
  ], { allowFail: true, timeoutMs: 30_000 });
  if (r.code !== 0 && r.code !== 255) throw new Error(`lab: ${command} on ${h.name} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/** Read-only view of the lab. */
export async function labStatus(cfg: LabConfig): Promise<LabStatus> {
  const procs = scanProcs();
  const root = await links();
  const loops = await loopsBackedBy((f) => f.startsWith(cfg.stateDir + path.sep));
  return {
    lab: cfg.lab,
    stateDir: cfg.stateDir,
    hosts: cfg.hosts.map((h) => {
      const addresses = Object.fromEntries(h.nics.map((n) => [n.network, n.address]));
      if (h.kind === 'vm') {
        const running = vmAlive(vmDir(h));
        return { name: h.name, kind: h.kind, addresses, running, ...(running ? { pid: vmPid(h) } : {}) };
      }
      const pid = findSshd(h, procs);
      return { name: h.name, kind: h.kind, addresses, running: pid !== undefined, ...(pid !== undefined ? { pid } : {}) };
    }),
    networks: cfg.networks.map((n) => ({
      name: n.name,
      subnet: n.subnet,
      bridge: n.bridge,
      controller: n.controller,
      up: netnsExists(cfg.bridgeNs) && !!root.get(n.controllerIf)?.addrs.includes(`${n.controller}/${n.prefix}`),
    })),
    disks: cfg.disks.map((d) => ({
      name: d.name,
      sizeBytes: d.sizeBytes,
      image: d.image,
      byIdPath: d.byIdPath,
      hosts: d.hosts,
      ...(loops.find((l) => l.file === d.image) ? { device: loops.find((l) => l.file === d.image)!.dev } : {}),
    })),
    controller: Object.fromEntries(cfg.networks.map((n) => [n.name, n.controller])),
  };
}

function mountsUnder(dir: string): string[] {
  const unesc = (s: string) => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => unesc(l.split(' ')[4] ?? ''))
      .filter((m) => m === dir || m.startsWith(dir + path.sep));
  } catch {
    return [];
  }
}

/** Remove every trace of the lab (processes, namespaces, links, loop devices, by-id links, stateDir). Idempotent. */
export async function labDown(cfg: LabConfig, opts: { log?: Log } = {}): Promise<void> {
  const log: Log = opts.log ?? (() => {});
  assertLinuxRoot();
  const state = readState(cfg);
  const errors: string[] = [];
  const vmHosts = cfg.hosts.filter((h) => h.kind === 'vm');
  await stopRepoServers(cfg).catch((e: Error) => errors.push(`package source: ${e.message}`));
  for (const h of vmHosts) {
    try {
      await stopVm({ stateDir: vmDir(h), netns: cfg.bridgeNs, nics: h.nics.map((n) => ({ tap: n.peer })) });
    } catch (e) {
      errors.push(`stop vm ${h.name}: ${(e as Error).message}`);
    }
  }
  const owner = readOwner(cfg.lab);
  if (owner && owner !== cfg.stateDir && netnsExists(cfg.bridgeNs)) log(`lab: ${cfg.lab} was started from ${owner}; taking it down`);
  const present = listNetns();
  const nsNames = [...cfg.hosts.filter((h) => h.kind === 'ns').map((h) => h.netns), cfg.bridgeNs].filter((n) => present.has(n));
  const killed = await killNamespaces(nsNames);
  if (killed) log(`lab: killed ${killed} processes`);
  const root = await links();
  const ctl = cfg.networks.filter((n) => root.has(n.controllerIf)).map((n) => `link del ${n.controllerIf}`);
  if (ctl.length) await run('ip', ['-batch', '-'], { input: ctl.join('\n') + '\n', allowFail: true });
  if (nsNames.length) {
    log(`lab: deleting ${nsNames.length} namespaces`);
    const r = await run('ip', ['-force', '-batch', '-'], { input: nsNames.map((n) => `netns del ${n}`).join('\n') + '\n', allowFail: true });
    if (r.code !== 0) for (const n of nsNames) if (netnsExists(n)) errors.push(`netns del ${n}: ${r.stderr.trim()}`);
  }
  try {
    await removeDisks(cfg, state.createdDevDirs ?? []);
  } catch (e) {
    errors.push(`disks: ${(e as Error).message}`);
  }
  for (const m of mountsUnder(cfg.stateDir).reverse()) await run('umount', ['-l', m], { allowFail: true });
  if (state.createdRunNetnsMount && runNetnsIsMount() && listNetns().size === 0) {
    await run('umount', [NETNS_DIR], { allowFail: true });
    if (state.createdRunNetnsDir) await rmdir(NETNS_DIR).catch(() => {});
  }
  await rm(cfg.stateDir, { recursive: true, force: true });
  if (!netnsExists(cfg.bridgeNs)) await releaseOwner(cfg.lab);
  // remove <dir>/.lab if we left it empty
  const labRoot = path.dirname(cfg.stateDir);
  try {
    if (path.basename(labRoot) === '.lab' && readdirSync(labRoot).length === 0) await rmdir(labRoot);
  } catch {
    /* gone */
  }
  if (errors.length) throw new Error(`lab ${cfg.lab}: down incomplete:\n${errors.join('\n')}`);
}
