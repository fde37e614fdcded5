// The library behind the CLI: load inventory and playbook, build transports, run the engine.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInventory, type HostEntry, type Inventory } from './inventory/load.js';
import { loadPlaybook } from './playbook/load.js';
import { runPlaybook } from './engine/run.js';
import type { EngineEvent, RunResult } from './engine/types.js';
import { SshTransport } from './transport/ssh.js';
import { Registry } from './engine/registry.js';
import { builtinModules } from './modules/index.js';

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
}

export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(resolve(d, 'package.json')) && existsSync(resolve(d, 'playbooks'))) return d;
    d = dirname(d);
  }
  throw new Error('cannot find the clusterform package root (playbooks/)');
}

export function builtinPlaybook(name: 'site' | 'teardown'): string {
  return resolve(packageRoot(), 'playbooks', `${name}.yaml`);
}

function secretFromEnv(name: string | undefined): string | undefined {
  return name ? process.env[name] : undefined;
}

/** Each host's own sudo password (its become_password_env), or none: a password is never handed to another host. */
export function becomePasswordFor(h: HostEntry): string | undefined {
  return secretFromEnv(h.ssh.becomePasswordEnv);
}

export function sshTransportFor(inv: Inventory, opts: CommonOptions) {
  return (h: HostEntry) =>
    new SshTransport({
      name: h.name,
      host: h.address,
      port: h.ssh.port,
      user: h.ssh.user,
      privateKey: h.ssh.privateKey,
      passphrase: secretFromEnv(h.ssh.passphraseEnv),
      knownHosts: h.ssh.knownHosts,
      acceptNewHostKeys: opts.acceptNewHostKeys === true || h.ssh.strictHostKeyChecking === 'accept-new',
      connectTimeoutMs: h.ssh.connectTimeoutMs,
      commandTimeoutMs: h.ssh.commandTimeoutMs,
      keepaliveMs: 5000,
    });
}

export async function runWith(mode: RunResult['mode'], inventoryPath: string, playbookPath: string, opts: CommonOptions = {}): Promise<RunResult> {
  const inv = loadInventory(inventoryPath);
  const plays = loadPlaybook(playbookPath, opts.registry ?? defaultRegistry);
  return runPlaybook({
    mode,
    inventory: inv,
    plays,
    limit: opts.limit,
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

export const up = (inv: string, o?: CommonOptions) => runWith('up', inv, builtinPlaybook('site'), o);
export const plan = (inv: string, o?: CommonOptions) => runWith('plan', inv, builtinPlaybook('site'), o);
export const down = (inv: string, o?: CommonOptions) => runWith('down', inv, builtinPlaybook('teardown'), o);
/** Your own playbook; `check: true` plans it (a dry run, like `plan` for site.yaml). */
export const run = (playbook: string, inv: string, o?: CommonOptions & { check?: boolean }) => runWith(o?.check ? 'plan' : 'run', inv, playbook, o);
