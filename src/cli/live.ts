// The live progress view on a terminal: a listr2 tree with one line per host showing its current task.
import { Listr } from 'listr2';
import type { EngineEvent, RunResult } from '../engine/types.js';
import { formatTask, type OutputOptions } from './output.js';

interface HostLine { title: string; setTitle?: (s: string) => void; finish: (err?: Error) => void; done: Promise<Error | undefined> }

export async function liveRun(go: (onEvent: (e: EngineEvent) => void) => Promise<RunResult>, o: OutputOptions, hosts: string[]): Promise<RunResult> {
  const lines = new Map<string, HostLine>();
  for (const h of hosts) {
    let finish!: (err?: Error) => void;
    const done = new Promise<Error | undefined>((r) => (finish = r));
    lines.set(h, { title: `${h.padEnd(12)} connecting`, finish, done });
  }
  const setTitle = (h: string, s: string) => {
    const l = lines.get(h);
    if (!l) return;
    l.title = `${h.padEnd(12)} ${s}`;
    l.setTitle?.(l.title);
  };
  // every host is a task from the start: listr2 renders the list it was given
  const root = new Listr(
    hosts.map((h) => ({
      title: lines.get(h)!.title,
      task: async (_ctx: unknown, task: { title: string }) => {
        const l = lines.get(h)!;
        l.setTitle = (s: string) => { task.title = s; };
        task.title = l.title;
        const err = await l.done;
        if (err) throw err;
      },
    })),
    { concurrent: true, exitOnError: false, rendererOptions: { collapseErrors: false } as any },
  );
  const listrDone = root.run().catch(() => {});
  const failed = new Set<string>();
  const details: string[] = [];
  const onEvent = (e: EngineEvent) => {
    if (e.type === 'host') {
      if (e.status === 'connected') { setTitle(e.host, 'connected'); if (e.message) details.push(`  ${e.host.padEnd(12)} ${e.message}`); }
      else { failed.add(e.host); setTitle(e.host, `${e.status}: ${e.message ?? ''}`); lines.get(e.host)?.finish(new Error(`${e.host} ${e.status}`)); }
      return;
    }
    if (e.type === 'play') { for (const h of e.hosts) setTitle(h, `▸ ${e.play}`); return; }
    if (e.type === 'start') { setTitle(e.host, `${e.task} …`); return; }
    setTitle(e.host, `${e.task} … ${e.status === 'changed' && o.mode === 'plan' ? 'would change' : e.status}`);
    if (e.status === 'failed') failed.add(e.host);
    if (e.status === 'changed' || e.status === 'failed' || e.warnings.length || (o.verbose && e.status === 'ok')) details.push(...formatTask(e, o));
  };
  let result: RunResult;
  try {
    result = await go(onEvent);
  } finally {
    for (const [h, l] of lines) {
      if (!failed.has(h)) setTitle(h, 'done');
      l.finish(failed.has(h) ? new Error(`${h}: failed`) : undefined);
    }
    await listrDone;
  }
  if (details.length) process.stdout.write('\n' + details.join('\n') + '\n');
  return result;
}
