// The live progress view on a terminal: a listr2 tree with one line per host showing its current task.
import { Listr } from 'listr2';
import type { EngineEvent, RunResult } from '../engine/types.js';
import { formatTask, type OutputOptions } from './output.js';

export async function liveRun(go: (onEvent: (e: EngineEvent) => void) => Promise<RunResult>, o: OutputOptions): Promise<RunResult> {
  const hostTasks = new Map<string, { setTitle: (s: string) => void; done: (err?: Error) => void }>();
  const pending = new Map<string, string>();
  const failed = new Set<string>();
  const details: string[] = [];
  let root!: Listr;
  const addHost = (host: string) => {
    if (hostTasks.has(host)) return;
    let resolveDone!: (err?: Error) => void;
    const done = new Promise<Error | undefined>((r) => (resolveDone = r));
    const entry = { setTitle: (s: string): void => { pending.set(host, s); }, done: (err?: Error) => resolveDone(err) };
    hostTasks.set(host, entry);
    root.add({
      title: host,
      task: async (_ctx, task) => {
        entry.setTitle = (s: string) => { task.title = `${host.padEnd(12)} ${s}`; };
        const p = pending.get(host);
        if (p) entry.setTitle(p);
        const err = await done;
        if (err) throw err;
      },
    });
  };
  root = new Listr([], { concurrent: true, exitOnError: false, renderer: 'default', rendererOptions: { collapseErrors: false } as any });
  const listrDone = root.run().catch(() => {});
  const onEvent = (e: EngineEvent) => {
    if (e.type === 'host') {
      addHost(e.host);
      if (e.status !== 'connected') { failed.add(e.host); hostTasks.get(e.host)!.done(new Error(`${e.host} ${e.status}: ${e.message ?? ''}`)); }
      return;
    }
    if (e.type === 'play') {
      for (const h of e.hosts) { addHost(h); hostTasks.get(h)!.setTitle(`▸ ${e.play}`); }
      return;
    }
    addHost(e.host);
    hostTasks.get(e.host)!.setTitle(`${e.task} … ${e.status === 'changed' && o.mode === 'plan' ? 'would change' : e.status}`);
    if (e.status === 'failed') failed.add(e.host);
    if (e.status === 'changed' || e.status === 'failed' || e.warnings.length || (o.verbose && e.status === 'ok')) details.push(...formatTask(e, o));
  };
  let result: RunResult;
  try {
    result = await go(onEvent);
  } finally {
    for (const [h, t] of hostTasks) t.done(failed.has(h) ? new Error(`${h}: failed`) : undefined);
    await listrDone;
  }
  for (const [h, t] of hostTasks) if (!failed.has(h)) t.setTitle('done');
  if (details.length) process.stdout.write('\n' + details.join('\n') + '\n');
  return result;
}
