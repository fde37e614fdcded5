#!/usr/bin/env node
// The clusterform command line: a thin shell over the library (src/api.ts) and the lab (src/lab).
import { Command, Option, type CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as api from '../api.js';
import { loadInventory } from '../inventory/load.js';
import { limitHosts, universeOf } from '../inventory/limit.js';
import { formatIssue, InputError, type InputIssue } from '../util/input.js';
import type { RunResult, EngineEvent } from '../engine/types.js';
import { exitCodeOf, formatRecap, jsonResult, jsonVerify, PlainProgress, useColor, type OutputOptions } from './output.js';
import { labCommand } from './lab.js';
import { formatVerifyRows } from '../verify.js';
import { collect, commaList, intInRange, parseExtraVars, waitLockSeconds } from './options.js';
import { moduleHelp, moduleList } from './modules.js';
import { GRAPH_FORMATS, renderGraph } from './graph.js';
import { bashCompletion, SHELLS, zshCompletion } from './completion.js';

export const EXIT = { OK: 0, FAILED: 1, INVALID: 2 } as const;

interface RunFlags {
  limit?: string; forks: number; json?: boolean; verbose: number; yes?: boolean; acceptNewHostKeys?: boolean;
  waitLock?: number | boolean; forceDisks?: boolean; wipeDisks?: boolean; stats?: boolean; color?: boolean;
  extraVars?: string[]; tags?: string[]; skipTags?: string[]; startAtTask?: string; detailedExitcode?: boolean;
  sshConfig?: string;
}

function addRunOptions(c: Command): Command {
  return c
    .option('-l, --limit <pattern>', 'only these hosts: names, groups, wildcards (web*), exclusions (!node2), intersections (group:&other), comma separated')
    .option('-f, --forks <n>', 'hosts worked on at once (1..1000)', intInRange(1, 1000), 100)
    .option('-F, --ssh-config <file>', 'ssh_config file to read instead of ~/.ssh/config and /etc/ssh/ssh_config')
    .option('-e, --extra-vars <vars>', 'variables for playbook templates: KEY=VALUE, @file.yaml or {…} (repeatable; the last wins)', collect)
    .option('-t, --tags <tags>', 'only tasks with one of these tags (and those tagged always), comma separated', commaList)
    .option('--skip-tags <tags>', 'not the tasks with one of these tags, comma separated', commaList)
    .option('--start-at-task <name>', 'start at the first task of this name (earlier tasks do not run)')
    .option('--json', 'print the result as JSON on stdout (progress goes to stderr)')
    .option('-v, --verbose', 'show diffs and commands (-vv: every remote command and its output)', (_: string, prev: number) => prev + 1, 0)
    .option('-y, --yes', 'answer yes to confirmations')
    .option('--accept-new-host-keys', 'record unknown host keys in known_hosts instead of refusing (changed keys are always refused)')
    .option('--wait-lock [seconds]', 'wait for another run\'s lock on a host instead of failing fast (0..86400; alone: 600)', intInRange(0, 86400))
    .option('--stats', 'print connections, remote commands and time per host')
    .option('--no-color', 'no colours (also: the NO_COLOR environment variable)');
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = (await import('node:readline/promises')).createInterface({ input: process.stdin, output: process.stderr });
  const a = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(a.trim());
}

/** Where progress lines go: stderr when stdout carries JSON. */
const streamOf = (f: RunFlags) => (f.json ? process.stderr : process.stdout);
const writer = (f: RunFlags) => (s: string) => { streamOf(f).write(s + '\n'); };

/** The library options every run command shares, from the parsed flags. */
function commonOptions(f: RunFlags, signal: AbortSignal): api.CommonOptions {
  return {
    limit: f.limit,
    forks: f.forks,
    acceptNewHostKeys: f.acceptNewHostKeys,
    waitLockSec: waitLockSeconds(f.waitLock),
    forceDisks: f.forceDisks,
    wipeDisks: f.wipeDisks,
    extraVars: parseExtraVars(f.extraVars),
    tags: f.tags,
    skipTags: f.skipTags,
    startAtTask: f.startAtTask,
    sshConfigFile: f.sshConfig === undefined ? undefined : resolve(f.sshConfig),
    signal,
    log: (f.verbose ?? 0) >= 2 ? (l) => process.stderr.write(l + '\n') : undefined,
  };
}

/** Run `fn` with Ctrl-C meaning "start no new task" (twice: quit at once). */
async function interruptible<T>(write: (s: string) => void, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints > 1) process.exit(130);
    write('interrupted: no new tasks will start; running ones finish or time out (Ctrl-C again to quit at once)');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  try { return await fn(ac.signal); } finally { process.off('SIGINT', onSigint); }
}

async function execute(mode: RunResult['mode'], inventory: string, playbook: string | undefined, f: RunFlags): Promise<number> {
  const verbose = f.verbose ?? 0;
  const out: OutputOptions = { verbose, mode, stats: !!f.stats, color: useColor(streamOf(f), f.color) };
  const write = writer(f);
  if (mode === 'down' && f.wipeDisks && !f.yes) {
    if (!(await confirm('down --wipe-disks clears the shared disk named in the inventory: all its partitions and data. Continue?'))) {
      write('not confirmed: nothing was done (use --yes to confirm non-interactively)');
      return EXIT.FAILED;
    }
  }
  return interruptible(write, (signal) => executeRun(mode, resolve(inventory), playbook, f, out, commonOptions(f, signal)));
}

/** plan --detailed-exitcode, as Terraform's: 0 nothing would change, 2 something would, 1 an error. */
function planExitCode(r: RunResult, detailed: boolean | undefined): number {
  const code = exitCodeOf(r);
  if (!detailed || code !== 0) return code;
  return r.hosts.some((h) => h.changed > 0) ? 2 : 0;
}

async function executeRun(mode: RunResult['mode'], inv: string, playbook: string | undefined, f: RunFlags, out: OutputOptions, opts: api.CommonOptions): Promise<number> {
  const write = writer(f);
  const go = (onEvent: (e: EngineEvent) => void) => {
    opts.onEvent = onEvent;
    if (playbook !== undefined) return api.run(resolve(playbook), inv, { ...opts, check: mode === 'plan' });
    return api.runWith(mode, inv, api.builtinPlaybook(mode === 'down' ? 'teardown' : 'site'), opts);
  };
  const live = !f.json && process.stdout.isTTY && out.verbose < 2 && process.env.CI !== 'true';
  let result: RunResult;
  if (live) {
    const loaded = loadInventory(inv);
    const { liveRun } = await import('./live.js'); // listr2 only for a terminal: loading it touches the cursor
    result = await liveRun(go, out, f.limit ? limitHosts(universeOf(loaded), f.limit) : loaded.hosts.map((h) => h.name));
  } else {
    const progress = new PlainProgress(write, out);
    try { result = await go(progress.onEvent); } finally { progress.close(); }
  }
  formatRecap(result, out).forEach(write);
  if (f.json) process.stdout.write(JSON.stringify(jsonResult(result), null, 2) + '\n');
  return mode === 'plan' ? planExitCode(result, f.detailedExitcode) : exitCodeOf(result);
}

/** verify: the library's rows printed as a PASS/FAIL table per host (or JSON); -v shows each task, --stats the recap. */
async function executeVerify(inventory: string, f: RunFlags): Promise<number> {
  const out: OutputOptions = { verbose: f.verbose ?? 0, mode: 'plan', stats: !!f.stats, color: useColor(streamOf(f), f.color) };
  const write = writer(f);
  return interruptible(write, async (signal) => {
    const opts = commonOptions(f, signal);
    const progress = new PlainProgress((l) => process.stderr.write(l + '\n'), { ...out, color: useColor(process.stderr, f.color) });
    if (out.verbose >= 1) opts.onEvent = progress.onEvent;
    let r: api.VerifyResult;
    try { r = await api.verify(resolve(inventory), opts); } finally { progress.close(); }
    if (f.json) process.stdout.write(JSON.stringify(jsonVerify(r.ok, r.rows, r.run), null, 2) + '\n');
    else formatVerifyRows(r.rows).forEach(write);
    if (f.stats) formatRecap(r.run, out).forEach(write);
    return r.ok ? EXIT.OK : EXIT.FAILED;
  });
}

export function packageVersion(): string {
  return JSON.parse(readFileSync(resolve(api.packageRoot(), 'package.json'), 'utf8')).version;
}

const print = (lines: string[] | string): void => { process.stdout.write(Array.isArray(lines) ? lines.join('\n') + '\n' : lines); };

function addRunCommands(program: Command): void {
  const runAction = (mode: RunResult['mode']) => async (inventory: string, f: RunFlags) => { process.exitCode = await execute(mode, inventory, undefined, f); };
  addRunOptions(program.command('up').argument('<inventory>', 'inventory YAML').description('build or converge the cluster; a second run changes nothing'))
    .option('--force-disks', 'allow repartitioning or reformatting a shared disk that holds something else (DATA LOSS)')
    .action(runAction('up'));
  addRunOptions(program.command('plan').argument('<inventory>', 'inventory YAML').description('show every change `up` would make, with diffs; touches nothing'))
    .option('--force-disks', 'plan as if --force-disks were given to up')
    .option('--detailed-exitcode', 'exit 0 when nothing would change, 2 when something would, 1 on any error (as Terraform)')
    .action(runAction('plan'));
  addRunOptions(program.command('down').argument('<inventory>', 'inventory YAML').description('undo what `up` made; disks keep their partitions and data'))
    .option('--wipe-disks', 'also clear the shared disk named in the inventory (asks for confirmation unless --yes)')
    .action(runAction('down'));
  addRunOptions(program.command('run').argument('<playbook>', 'playbook YAML').requiredOption('-i, --inventory <file>', 'inventory YAML').description('run your own playbook with the same modules'))
    .option('--check', 'dry run, like plan')
    .option('--force-disks', 'allow destructive disk changes')
    .action(async (playbook: string, f: RunFlags & { inventory: string; check?: boolean }) => { process.exitCode = await execute(f.check ? 'plan' : 'run', f.inventory, playbook, f); });
  addRunOptions(program.command('verify').argument('<inventory>', 'inventory YAML').description('read-only checks after a build: every host matches the inventory, names resolve, disks, raw devices, cluster.xml, LVS traffic'))
    .action(async (inventory: string, f: RunFlags) => { process.exitCode = await executeVerify(inventory, f); });
}

function addToolCommands(program: Command): void {
  program.command('modules').argument('[name]', 'a module').description('list the modules playbooks can use, or one module\'s arguments (type, default) and an example')
    .action(function (this: Command, name?: string) {
      try { print(name === undefined ? moduleList(api.defaultRegistry) : moduleHelp(api.defaultRegistry, name)); }
      catch (e) { if (e instanceof InputError) this.error(`error: ${e.issues[0]!.message}`); throw e; }
    });
  program.command('graph').argument('<inventory>', 'inventory YAML').description('the cluster as a diagram: hosts, groups, VIP and directors, real servers with weights, HA members, shared disk partitions')
    .addOption(new Option('--format <format>', 'mermaid or Graphviz dot text, or svg (needs Graphviz\'s dot)').choices(GRAPH_FORMATS).default('mermaid'))
    .action((inventory: string, f: { format: (typeof GRAPH_FORMATS)[number] }) => print(renderGraph(loadInventory(resolve(inventory)), f.format)));
  program.command('completion').description('print a shell completion script: source <(clusterform completion bash)')
    .addArgument(new Command().createArgument('<shell>', 'bash or zsh').choices(SHELLS))
    .action((shell: (typeof SHELLS)[number]) => print(shell === 'zsh' ? zshCompletion(program) : bashCompletion(program)));
  // for the completion scripts: host and group names of an inventory, nothing on any error
  program.command('__complete-hosts', { hidden: true }).argument('<inventory>')
    .action((inventory: string) => {
      try { const u = universeOf(loadInventory(resolve(inventory))); print([...Object.keys(u.groups), ...u.hosts]); } catch { /* no completions */ }
    });
}

export function buildProgram(): Command {
  const program = new Command('clusterform')
    .description('Build RHCS-style HA clusters and LVS web farms over SSH, idempotently.')
    .version(packageVersion(), '-V, --version', 'print the version');
  addRunCommands(program);
  addToolCommands(program);
  program.addCommand(labCommand());
  forEachCommand(program, (c) => c.showHelpAfterError().exitOverride());
  return program;
}

function forEachCommand(c: Command, fn: (c: Command) => void): void {
  fn(c);
  for (const s of c.commands) forEachCommand(s, fn);
}

/** An issue as one line: `file:line:col field: message`, or `--option: message` for a command-line option's value. */
function issueLine(i: InputIssue): string {
  if (!i.file.startsWith('-')) return formatIssue(i);
  return `${i.file}${i.path ? ' ' + i.path : ''}: ${i.message}`;
}

/** The exit code of a commander error: 0 after --help or --version, else a usage error. */
function commanderExit(e: CommanderError): number {
  return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.OK : EXIT.INVALID;
}

export async function main(argv: string[]): Promise<number> {
  // plan --detailed-exitcode: 2 means "changes", so every error (usage and input ones too) is 1, as Terraform's
  const invalid = argv.includes('--detailed-exitcode') ? EXIT.FAILED : EXIT.INVALID;
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e: any) {
    if (typeof e?.code === 'string' && e.code.startsWith('commander.')) return commanderExit(e) === EXIT.OK ? EXIT.OK : invalid;
    if (e instanceof InputError) {
      process.stderr.write(`invalid input (no host was changed):\n${e.issues.map((i) => '  ' + issueLine(i)).join('\n')}\n`);
      return invalid;
    }
    process.stderr.write(`clusterform: ${e?.message ?? e}\n`);
    return EXIT.FAILED;
  }
}
