#!/usr/bin/env node
// The clusterform command line: a thin shell over the library (src/api.ts) and the lab (src/lab).
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import * as api from '../api.js';
import { loadInventory, resolveTargets } from '../inventory/load.js';
import { InputError } from '../util/input.js';
import type { RunResult, EngineEvent } from '../engine/types.js';
import { exitCodeOf, formatEvent, formatRecap, jsonResult, type OutputOptions } from './output.js';
import { liveRun } from './live.js';
import { labCommand } from './lab.js';
import { verifyCommand } from './verify.js';

export const EXIT = { OK: 0, FAILED: 1, INVALID: 2 } as const;

interface RunFlags {
  limit?: string; forks: string; json?: boolean; verbose: number; yes?: boolean; acceptNewHostKeys?: boolean;
  waitLock?: string | boolean; forceDisks?: boolean; wipeDisks?: boolean; stats?: boolean; color?: boolean;
}

function addRunOptions(c: Command): Command {
  return c
    .option('-l, --limit <hosts>', 'only these hosts or groups (comma separated)')
    .option('-f, --forks <n>', 'hosts worked on at once', '100')
    .option('--json', 'print the result as JSON on stdout (progress goes to stderr)')
    .option('-v, --verbose', 'show diffs and commands (-vv: every remote command and its output)', (_: string, prev: number) => prev + 1, 0)
    .option('-y, --yes', 'answer yes to confirmations')
    .option('--accept-new-host-keys', 'record unknown host keys in known_hosts instead of refusing (changed keys are always refused)')
    .option('--wait-lock [seconds]', 'wait for another run\'s lock on a host instead of failing fast (default 600 s)')
    .option('--stats', 'print connections, remote commands and time per host')
    .option('--no-color', 'no colours');
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = (await import('node:readline/promises')).createInterface({ input: process.stdin, output: process.stderr });
  const a = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(a.trim());
}

async function execute(mode: RunResult['mode'], inventory: string, playbook: string | undefined, f: RunFlags): Promise<number> {
  const verbose = f.verbose ?? 0;
  const out: OutputOptions = { verbose, mode, stats: !!f.stats, color: f.color !== false && !f.json && !!process.stderr.isTTY };
  const write = f.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => process.stdout.write(s + '\n');
  if (mode === 'down' && f.wipeDisks && !f.yes) {
    if (!(await confirm('down --wipe-disks clears the shared disk named in the inventory: all its partitions and data. Continue?'))) {
      write('not confirmed: nothing was done (use --yes to confirm non-interactively)');
      return EXIT.FAILED;
    }
  }
  const ac = new AbortController();
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints > 1) process.exit(130);
    write('interrupted: no new tasks will start; running ones finish or time out (Ctrl-C again to quit at once)');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  const opts: api.CommonOptions = {
    limit: f.limit,
    forks: Number(f.forks) || 100,
    acceptNewHostKeys: f.acceptNewHostKeys,
    waitLockSec: f.waitLock === undefined || f.waitLock === false ? 0 : f.waitLock === true ? 600 : Number(f.waitLock),
    forceDisks: f.forceDisks,
    wipeDisks: f.wipeDisks,
    signal: ac.signal,
    log: verbose >= 2 ? (l) => process.stderr.write(l + '\n') : undefined,
  };
  const inv = resolve(inventory);
  const go = (onEvent: (e: EngineEvent) => void) => {
    opts.onEvent = onEvent;
    if (playbook !== undefined) return api.run(resolve(playbook), inv, { ...opts, check: mode === 'plan' });
    return api.runWith(mode, inv, api.builtinPlaybook(mode === 'down' ? 'teardown' : 'site'), opts);
  };
  try {
    const live = !f.json && process.stdout.isTTY && verbose < 2 && process.env.CI !== 'true';
    const targets = live ? resolveTargets(loadInventory(inv), f.limit ?? 'all').hosts : [];
    const result = live ? await liveRun(go, out, targets) : await go((e) => formatEvent(e, out).forEach(write));
    formatRecap(result, out).forEach(write);
    if (f.json) process.stdout.write(JSON.stringify(jsonResult(result), null, 2) + '\n');
    return exitCodeOf(result);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function buildProgram(): Command {
  const program = new Command('clusterform')
    .description('Build RHCS-style HA clusters and LVS web farms over SSH, idempotently.')
    .showHelpAfterError()
    .exitOverride();
  const runAction = (mode: RunResult['mode']) => async (inventory: string, f: RunFlags) => { process.exitCode = await execute(mode, inventory, undefined, f); };
  addRunOptions(program.command('up').argument('<inventory>', 'inventory YAML').description('build or converge the cluster; a second run changes nothing'))
    .option('--force-disks', 'allow repartitioning or reformatting a shared disk that holds something else (DATA LOSS)')
    .action(runAction('up'));
  addRunOptions(program.command('plan').argument('<inventory>', 'inventory YAML').description('show every change `up` would make, with diffs; touches nothing'))
    .option('--force-disks', 'plan as if --force-disks were given to up')
    .action(runAction('plan'));
  addRunOptions(program.command('down').argument('<inventory>', 'inventory YAML').description('undo what `up` made; disks keep their partitions and data'))
    .option('--wipe-disks', 'also clear the shared disk named in the inventory (asks for confirmation unless --yes)')
    .action(runAction('down'));
  addRunOptions(program.command('run').argument('<playbook>', 'playbook YAML').requiredOption('-i, --inventory <file>', 'inventory YAML').description('run your own playbook with the same modules'))
    .option('--check', 'dry run, like plan')
    .option('--force-disks', 'allow destructive disk changes')
    .action(async (playbook: string, f: RunFlags & { inventory: string; check?: boolean }) => { process.exitCode = await execute(f.check ? 'plan' : 'run', f.inventory, playbook, f); });
  program.addCommand(verifyCommand(addRunOptions));
  program.addCommand(labCommand());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e: any) {
    if (e?.code === 'commander.helpDisplayed' || e?.code === 'commander.version' || e?.code === 'commander.help') return 0;
    if (e?.code?.startsWith?.('commander.')) return EXIT.INVALID;
    if (e instanceof InputError) {
      process.stderr.write(`invalid input (no host was changed):\n${e.issues.map((i) => '  ' + `${i.file}:${i.line}:${i.col} ${i.path ? i.path + ': ' : ''}${i.message}`).join('\n')}\n`);
      return EXIT.INVALID;
    }
    process.stderr.write(`clusterform: ${e?.message ?? e}\n`);
    return EXIT.FAILED;
  }
}

