#!/usr/bin/env node
// The clusterform command line: a thin shell over the library (src/api.ts) and the lab (src/lab). This file only
// defines the commands: what they do is loaded when one runs (actions.ts, lab.ts), so that `--help` and usage errors
// load commander only, and a bare `--version` not even that.
import type { Command, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../engine/types.js';
import type { InputIssue } from '../util/input.js';
import type { RunFlags } from './actions.js';
import { labCommand } from './lab.js';
import { collect, commaList, commander, GRAPH_FORMATS, intInRange } from './option-values.js';
import { bashCompletion, SHELLS, zshCompletion } from './completion.js';

import { EXIT } from './exit.js';

export { EXIT };

const actions = () => import('./actions.js');

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
    .option('--stats', 'print connections, remote commands and time per host, and the slowest tasks (--json: every task\'s time)')
    .option('--held-shell', 'run every probe and apply as a message to one long-lived remote shell per host (default: the inventory\'s ssh.held_shell, on)')
    .option('--no-held-shell', 'a new SSH channel for every probe and apply')
    .option('--no-color', 'no colours (also: the NO_COLOR environment variable)');
}

/** The package's own package.json, found upwards from this file (src/cli under vitest, dist/src/cli when built). */
function packageJson(): { version: string } {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, d = dirname(d)) {
    const f = join(d, 'package.json');
    if (existsSync(f) && existsSync(join(d, 'playbooks'))) return JSON.parse(readFileSync(f, 'utf8'));
  }
  throw new Error('cannot find the clusterform package root (playbooks/)');
}

export function packageVersion(): string {
  return packageJson().version;
}

const print = (lines: string[] | string): void => { process.stdout.write(Array.isArray(lines) ? lines.join('\n') + '\n' : lines); };

/** `--held-shell` / `--no-held-shell` win over the inventory: they set what the engine reads (src/engine/host.ts). */
function heldShellFlag(f: RunFlags & { heldShell?: boolean }): void {
  if (f.heldShell !== undefined) process.env.CLUSTERFORM_HELD_SHELL = f.heldShell ? '1' : '0';
}

function addRunCommands(program: Command): void {
  const runAction = (mode: RunResult['mode']) => async (inventory: string, f: RunFlags) => { heldShellFlag(f); process.exitCode = await (await actions()).execute(mode, inventory, undefined, f); };
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
    .action(async (playbook: string, f: RunFlags & { inventory: string; check?: boolean }) => { heldShellFlag(f); process.exitCode = await (await actions()).execute(f.check ? 'plan' : 'run', f.inventory, playbook, f); });
  addRunOptions(program.command('verify').argument('<inventory>', 'inventory YAML').description('read-only checks after a build: every host matches the inventory, names resolve, disks, raw devices, cluster.xml, LVS traffic'))
    .action(async (inventory: string, f: RunFlags) => { process.exitCode = await (await actions()).executeVerify(inventory, f); });
}

function addToolCommands(program: Command): void {
  program.command('modules').argument('[name]', 'a module').description('list the modules playbooks can use, or one module\'s arguments (type, default) and an example')
    .action(async function (this: Command, name?: string) {
      const a = await actions();
      try { print(a.modulesText(name)); }
      catch (e) { if (e instanceof a.InputError) this.error(`error: ${e.issues[0]!.message}`); throw e; }
    });
  program.command('graph').argument('<inventory>', 'inventory YAML').description('the cluster as a diagram: hosts, groups, VIP and directors, real servers with weights, HA members, shared disk partitions')
    .addOption(new (commander().Option)('--format <format>', 'mermaid or Graphviz dot text, or svg (needs Graphviz\'s dot)').choices(GRAPH_FORMATS).default('mermaid'))
    .action(async (inventory: string, f: { format: (typeof GRAPH_FORMATS)[number] }) => print((await actions()).graphText(inventory, f.format)));
  program.command('completion').description('print a shell completion script: source <(clusterform completion bash)')
    .addArgument(new (commander().Command)().createArgument('<shell>', 'bash or zsh').choices(SHELLS))
    .action((shell: (typeof SHELLS)[number]) => print(shell === 'zsh' ? zshCompletion(program) : bashCompletion(program)));
  // for the completion scripts: host and group names of an inventory, nothing on any error
  program.command('__complete-hosts', { hidden: true }).argument('<inventory>')
    .action(async (inventory: string) => {
      const names = (await actions()).completionNames(inventory);
      if (names) print(names);
    });
}

export function buildProgram(): Command {
  const program = new (commander().Command)('clusterform')
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
async function issueLine(i: InputIssue): Promise<string> {
  if (!i.file.startsWith('-')) return (await import('../util/input.js')).formatIssue(i);
  return `${i.file}${i.path ? ' ' + i.path : ''}: ${i.message}`;
}

/** The exit code of a commander error: 0 after --help or --version, else a usage error. */
function commanderExit(e: CommanderError): number {
  return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.OK : EXIT.INVALID;
}

/** An error of the library: an input error (exit `invalid`, no host changed) or anything else (exit 1). */
async function reportError(e: any, invalid: number): Promise<number> {
  const { InputError } = await import('../util/input.js');
  if (e instanceof InputError) {
    const lines = await Promise.all(e.issues.map(async (i) => '  ' + (await issueLine(i))));
    process.stderr.write(`invalid input (no host was changed):\n${lines.join('\n')}\n`);
    return invalid;
  }
  process.stderr.write(`clusterform: ${e?.message ?? e}\n`);
  return EXIT.FAILED;
}

export async function main(argv: string[]): Promise<number> {
  // plan --detailed-exitcode: 2 means "changes", so every error (usage and input ones too) is 1, as Terraform's
  const invalid = argv.includes('--detailed-exitcode') ? EXIT.FAILED : EXIT.INVALID;
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) { // as commander prints it, without loading it
    process.stdout.write(packageVersion() + '\n');
    return EXIT.OK;
  }
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e: any) {
    if (typeof e?.code === 'string' && e.code.startsWith('commander.')) return commanderExit(e) === EXIT.OK ? EXIT.OK : invalid;
    return reportError(e, invalid);
  }
}
