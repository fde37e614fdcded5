// The library behind the CLI: load inventory and playbook, build transports, run the engine.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInventory, type HostEntry, type Inventory } from './inventory/load.js';
import type { PlaySpec } from './playbook/schema.js';
import { verifyRows, type CheckRow } from './verify.js';
import { loadPlaybook } from './playbook/load.js';
import { runPlaybook } from './engine/run.js';
import type { EngineEvent, RunResult } from './engine/types.js';
import { isIP } from 'node:net';
import { SshTransport, type SshTarget } from './transport/ssh.js';
import { JumpPool } from './transport/hop.js';
import { addressOf } from './transport/resolve.js';
import { KeyFileError, localTargetOptions, sshTarget, type InventorySsh, type TargetOptions } from './transport/targets.js';
import { SshConfigError } from './transport/sshconfig.js';
import { Registry } from './engine/registry.js';
import { builtinModules } from './modules/index.js';
import { limitHosts, universeOf } from './inventory/limit.js';
import { selectTasks } from './playbook/select.js';
import { extraVarProblem } from './engine/context.js';
import { InputError, type InputIssue } from './util/input.js';

/** The modules every run uses unless the caller passes its own Registry (e.g. with extra modules). */
export const defaultRegistry = new Registry(builtinModules);

export interface CommonOptions {
  limit?: string;
  forks?: number;
  acceptNewHostKeys?: boolean;
  waitLockSec?: number;
  forceDisks?: boolean;
  wipeDisks?: boolean;
  onEvent?: (e: EngineEvent) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** the modules playbooks may name (default: every built-in module) */
  registry?: Registry;
  /** variables for playbook templates, as `{{name}}` and `{{vars.name}}` (over each host's vars) */
  extraVars?: Record<string, unknown>;
  /** only tasks with one of these tags (and `always`); `all`: every task */
  tags?: string[];
  /** not the tasks with one of these tags */
  skipTags?: string[];
  /** start at the first task of this name (earlier tasks do not run) */
  startAtTask?: string;
  /** ssh_config file read instead of ~/.ssh/config and /etc/ssh/ssh_config (the CLI's -F; wins over ssh.config_file) */
  sshConfigFile?: string;
}

export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(resolve(d, 'package.json')) && existsSync(resolve(d, 'playbooks'))) return d;
    d = dirname(d);
  }
  throw new Error('cannot find the clusterform package root (playbooks/)');
}

export function builtinPlaybook(name: 'site' | 'teardown' | 'verify'): string {
  return resolve(packageRoot(), 'playbooks', `${name}.yaml`);
}

function secretFromEnv(name: string | undefined): string | undefined {
  return name ? process.env[name] : undefined;
}

/** Each host's own sudo password (its become_password_env), or none: a password is never handed to another host. */
export function becomePasswordFor(h: HostEntry): string | undefined {
  return secretFromEnv(h.ssh.becomePasswordEnv);
}

/** The SSH target of every host the run may contact, or one InputError naming every problem (config, key files). */
function sshTargetsFor(inv: Inventory, opts: CommonOptions): Map<string, SshTarget> {
  const names = new Set(opts.limit === undefined ? inv.hosts.map((h) => h.name) : limitHosts(universeOf(inv), opts.limit));
  const byFile = new Map<string, TargetOptions>();
  const optionsFor = (file: string | undefined) => {
    const k = file ?? '';
    if (!byFile.has(k)) byFile.set(k, localTargetOptions(file, opts.acceptNewHostKeys === true));
    return byFile.get(k)!;
  };
  const keys = new Map<string, Buffer>();
  const targets = new Map<string, SshTarget>();
  const problems = new Map<string, string[]>(); // message -> the hosts it concerns (one line for a key every host uses)
  for (const h of inv.hosts.filter((x) => names.has(x.name))) {
    try {
      targets.set(h.name, sshTarget(h.name, inventorySsh(h), optionsFor(opts.sshConfigFile ?? h.ssh.configFile), keys));
    } catch (e) {
      if (!(e instanceof SshConfigError || e instanceof KeyFileError)) throw e;
      problems.set(e.message, [...(problems.get(e.message) ?? []), h.name]);
    }
  }
  const issues: InputIssue[] = [...problems].map(([message, hosts]) => ({ file: inv.file, line: 0, col: 0, path: `hosts ${hosts.join(', ')}`, message }));
  if (issues.length) throw new InputError(issues);
  return targets;
}

/**
 * Every host given by name gets an IP address, also those the run does not contact or cannot reach (the /etc/hosts
 * block lists every host): the address its name resolves to, here or on its jump host. A host that connects replaces
 * it with the address it answered on; a name that cannot be resolved (or whose keys cannot be read) stays a name.
 */
async function resolveNames(inv: Inventory, targets: Map<string, SshTarget>, opts: CommonOptions, pool: JumpPool): Promise<void> {
  await Promise.all(inv.hosts.filter((h) => isIP(h.address) === 0).map(async (h) => {
    let target = targets.get(h.name);
    if (!target) { try { target = sshTarget(h.name, inventorySsh(h), localTargetOptions(opts.sshConfigFile ?? h.ssh.configFile, false)); } catch { return; } }
    const ip = await addressOf(target, pool);
    if (ip && isIP(h.address) === 0) h.address = ip;
  }));
}

/** What the inventory says about reaching a host (its address is the name given to ssh). */
function inventorySsh(h: HostEntry): InventorySsh {
  const s = h.ssh;
  return {
    alias: h.address,
    user: s.user,
    port: s.port,
    privateKey: s.privateKey,
    knownHosts: s.knownHosts,
    connectTimeoutMs: s.connectTimeoutMs,
    strictHostKeyChecking: s.strictHostKeyChecking,
    proxyJump: s.proxyJump,
    passphrase: secretFromEnv(s.passphraseEnv),
    commandTimeoutMs: s.commandTimeoutMs,
  };
}

/**
 * The transport factory of a run: at the first call (after the engine's own input checks, before any host is
 * contacted) the targets of every host are resolved and their key files read, so that a config or key problem is one
 * InputError; one jump host connection is shared by the hosts behind it. A host whose address is a name gets, once
 * connected, the IP it answered on as its address (what /etc/hosts and the LVS tables need); a host given by name that
 * the run does not contact gets the address its name resolves to (here, or on its jump host); two hosts answering on
 * the same IP and port are a warning.
 */
export function sshTransportFor(inv: Inventory, opts: CommonOptions) {
  let targets: Map<string, SshTarget> | InputError | undefined;
  const pool = new JumpPool();
  const reached = new Map<string, string>();
  let namesResolved: Promise<void> | undefined;
  return (h: HostEntry) => {
    if (targets === undefined) { try { targets = sshTargetsFor(inv, opts); } catch (e) { if (!(e instanceof InputError)) throw e; targets = e; } }
    if (targets instanceof InputError) throw targets;
    const target = targets.get(h.name) ?? sshTarget(h.name, inventorySsh(h), localTargetOptions(opts.sshConfigFile ?? h.ssh.configFile, opts.acceptNewHostKeys === true));
    const t = new SshTransport(target, pool);
    const byName = isIP(h.address) === 0;
    t.onConnected = async (e) => {
      if (e.ip && byName) h.address = e.ip;
      const k = `${e.ip ?? e.address}:${e.port}`;
      const other = reached.get(k);
      if (other !== undefined) t.hostKeyNote = [t.hostKeyNote, `warning: ${k} is also host "${other}"`].filter(Boolean).join('; ');
      else reached.set(k, h.name);
      await (namesResolved ??= resolveNames(inv, targets as Map<string, SshTarget>, opts, pool));
    };
    return t;
  };
}

export async function runWith(mode: RunResult['mode'], inventoryPath: string, playbookPath: string, opts: CommonOptions = {}): Promise<RunResult> {
  const inv = loadInventory(inventoryPath);
  return runPlays(mode, inv, loadPlaybook(playbookPath, opts.registry ?? defaultRegistry), opts);
}

/** Run loaded plays on the inventory's hosts over SSH, with every common option. */
function runPlays(mode: RunResult['mode'], inv: Inventory, plays: PlaySpec[], opts: CommonOptions): Promise<RunResult> {
  return runPlaybook({
    mode,
    inventory: withExtraVars(inv, opts.extraVars),
    plays: selectTasks(plays, opts),
    limit: opts.limit === undefined ? undefined : limitHosts(universeOf(inv), opts.limit).join(','),
    forks: opts.forks,
    flags: { forceDisks: opts.forceDisks === true, wipeDisks: opts.wipeDisks === true },
    waitLockSec: opts.waitLockSec,
    becomePasswordFor,
    onEvent: opts.onEvent,
    log: opts.log,
    signal: opts.signal,
    transport: sshTransportFor(inv, opts),
  });
}

/** The inventory with the run's extra variables; a name that is not a variable or is a built-in one is an input error. */
export function withExtraVars(inv: Inventory, vars: Record<string, unknown> | undefined): Inventory {
  if (!vars) return inv;
  const problems = Object.keys(vars).map(extraVarProblem).filter((p): p is string => p !== undefined);
  if (problems.length) throw new InputError(problems.map((message) => ({ file: '--extra-vars', line: 0, col: 0, path: '', message })));
  return { ...inv, extraVars: { ...vars } };
}

export const up = (inv: string, o?: CommonOptions) => runWith('up', inv, builtinPlaybook('site'), o);
export const plan = (inv: string, o?: CommonOptions) => runWith('plan', inv, builtinPlaybook('site'), o);
export const down = (inv: string, o?: CommonOptions) => runWith('down', inv, builtinPlaybook('teardown'), o);
/** Your own playbook; `check: true` plans it (a dry run, like `plan` for site.yaml). */
export const run = (playbook: string, inv: string, o?: CommonOptions & { check?: boolean }) => runWith(o?.check ? 'plan' : 'run', inv, playbook, o);

export interface VerifyResult {
  ok: boolean;
  rows: CheckRow[];
  /** the read-only run the rows come from (recap, stats, events) */
  run: RunResult;
}

/**
 * Read-only checks after a build: site.yaml in plan mode (any change is drift from the inventory) followed by the
 * checks of verify.yaml; touches nothing. Every common option applies (limit, forks, lock wait, sudo passwords, …).
 */
export async function verify(inventoryPath: string, opts: CommonOptions = {}): Promise<VerifyResult> {
  const inv = loadInventory(inventoryPath);
  const registry = opts.registry ?? defaultRegistry;
  const plays = [...loadPlaybook(builtinPlaybook('site'), registry), ...loadPlaybook(builtinPlaybook('verify'), registry)];
  const run = await runPlays('plan', inv, plays, opts);
  const rows = verifyRows(run, inv.hosts.map((h) => h.name));
  return { ok: rows.every((r) => r.pass), rows, run };
}
