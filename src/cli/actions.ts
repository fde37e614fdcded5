// What the run and tool commands do, loaded only when one of them runs (main.ts defines the commands and loads this
// file from their actions: `--version`, `--help` and usage errors do not load the library, ssh2, zod or handlebars).
import { resolve } from 'node:path';
import * as api from '../api.js';
import { loadInventory } from '../inventory/load.js';
import { limitHosts, universeOf } from '../inventory/limit.js';
import { InputError } from '../util/input.js';
import type { RunResult, EngineEvent } from '../engine/types.js';
import { exitCodeOf, formatRecap, jsonResult, jsonVerify, PlainProgress, useColor, type OutputOptions } from './output.js';
import { formatVerifyRows } from '../verify.js';
import { parseExtraVars, waitLockSeconds } from './options.js';
import { moduleHelp, moduleList } from './modules.js';
import { GRAPH_FORMATS, renderGraph } from './graph.js';

import { EXIT } from './exit.js';
import { writeJsonDocument } from '../util/json-stream.js';

/** --json output: written in pieces (a 1,000-host run's document is tens of MB). */
const toStdout = (s: string) => { process.stdout.write(s); };

export interface RunFlags {
  limit?: string; forks: number; json?: boolean; verbose: number; yes?: boolean; acceptNewHostKeys?: boolean;
  waitLock?: number | boolean; forceDisks?: boolean; wipeDisks?: boolean; stats?: boolean; color?: boolean;
  extraVars?: string[]; tags?: string[]; skipTags?: string[]; startAtTask?: string; detailedExitcode?: boolean;
  sshConfig?: string;
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

export async function execute(mode: RunResult['mode'], inventory: string, playbook: string | undefined, f: RunFlags): Promise<number> {
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
  if (f.json) writeJsonDocument(jsonResult(result, { profile: out.stats }), toStdout);
  return mode === 'plan' ? planExitCode(result, f.detailedExitcode) : exitCodeOf(result);
}

/** verify: the library's rows printed as a PASS/FAIL table per host (or JSON); -v shows each task, --stats the recap. */
export async function executeVerify(inventory: string, f: RunFlags): Promise<number> {
  const out: OutputOptions = { verbose: f.verbose ?? 0, mode: 'plan', stats: !!f.stats, color: useColor(streamOf(f), f.color) };
  const write = writer(f);
  return interruptible(write, async (signal) => {
    const opts = commonOptions(f, signal);
    const progress = new PlainProgress((l) => process.stderr.write(l + '\n'), { ...out, color: useColor(process.stderr, f.color) });
    if (out.verbose >= 1) opts.onEvent = progress.onEvent;
    let r: api.VerifyResult;
    try { r = await api.verify(resolve(inventory), opts); } finally { progress.close(); }
    if (f.json) writeJsonDocument(jsonVerify(r.ok, r.rows, r.run, { profile: out.stats }), toStdout);
    else formatVerifyRows(r.rows).forEach(write);
    if (f.stats) formatRecap(r.run, out).forEach(write);
    return r.ok ? EXIT.OK : EXIT.FAILED;
  });
}

/** `modules [name]`: the list, or one module's help; an unknown name is the InputError's first message. */
export function modulesText(name: string | undefined): string[] | string {
  return name === undefined ? moduleList(api.defaultRegistry) : moduleHelp(api.defaultRegistry, name);
}

export function graphText(inventory: string, format: (typeof GRAPH_FORMATS)[number]): string[] | string {
  return renderGraph(loadInventory(resolve(inventory)), format);
}

/** Host and group names of an inventory for the completion scripts; nothing on any error. */
export function completionNames(inventory: string): string[] | undefined {
  try { const u = universeOf(loadInventory(resolve(inventory))); return [...Object.keys(u.groups), ...u.hosts]; } catch { return undefined; }
}

export { InputError };
