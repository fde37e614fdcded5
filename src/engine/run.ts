// The engine: plays in order with a barrier between them, hosts of a play in parallel, tasks of a host in order.
import type { z } from 'zod';
import type { HostEntry, Inventory } from '../inventory/load.js';
import { resolveTargets } from '../inventory/load.js';
import type { PlaySpec, TaskSpec } from '../playbook/schema.js';
import { evalWhen, renderDeep, renderValue, RenderError } from '../playbook/render.js';
import { InputError, pathString, type InputIssue } from '../util/input.js';
import type { Transport } from '../transport/types.js';
import { HostSession, LockedError } from './host.js';
import { describeAction } from './script.js';
import { renderContext } from './context.js';
import { parseFacts, type Facts } from '../facts/facts.js';

/** Facts with every key present, for checking templates before any host is contacted. */
const STUB_FACTS: Facts = parseFacts('hostname=host\nos.id=debian\nkernel=0\nuid=0\ninit=systemd\npkg=apt-get');
import type { EngineEvent, HostRecap, ModuleDef, PeerView, ProbeResult, RunFlags, RunResult, TaskCtx, TaskEvent, TaskStatus } from './types.js';

export interface RunOptions {
  mode: RunResult['mode'];
  inventory: Inventory;
  plays: PlaySpec[];
  limit?: string;
  forks?: number;
  flags?: Partial<RunFlags>;
  waitLockSec?: number;
  /** the sudo password for one host (its own become_password_env), if it has one: never shared between hosts */
  becomePasswordFor?: (h: HostEntry) => string | undefined;
  onEvent?: (e: EngineEvent) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
  transport: (h: HostEntry) => Transport;
}

interface TaskInstance {
  key: string;
  spec: TaskSpec;
  name: string;
  module: ModuleDef;
  args: unknown;
  skip: boolean;
}

interface HostState {
  session: HostSession;
  alive: boolean;
  failed: boolean;
  unreachable: boolean;
  recap: HostRecap;
  cache: Map<string, ProbeResult>;
  cacheGen: number;
  changedInPlay: boolean;
  /** why the host is unreachable or was lost */
  why?: string;
}

class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire() { if (this.free > 0) { this.free--; return; } await new Promise<void>((r) => this.waiting.push(r)); }
  release() { const w = this.waiting.shift(); if (w) w(); else this.free++; }
}

export async function runPlaybook(o: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const inv = o.inventory;
  const flags: RunFlags = { forceDisks: false, ...(o.flags ?? {}) };
  const events: EngineEvent[] = [];
  const emit = (e: EngineEvent) => { events.push(e); o.onEvent?.(e); };
  const forks = Math.max(1, o.forks ?? 100);

  const { hosts: targets, unknown } = resolveTargets(inv, o.limit ?? 'all');
  if (unknown.length) throw new InputError([{ file: '--limit', line: 0, col: 0, path: '', message: `no host or group named ${unknown.map((u) => `"${u}"`).join(', ')}` }]);
  // Which hosts does any play touch? playMembers: all of a play's hosts; playHosts: those --limit leaves in
  const playMembers = o.plays.map((p) => {
    const r = resolveTargets(inv, p.hosts);
    if (r.unknown.length) throw new InputError([{ file: p.where.file, line: p.where.line, col: p.where.col, path: 'hosts', message: `play "${p.name}": no host or group named ${r.unknown.join(', ')}` }]);
    return r.hosts;
  });
  const playHosts = playMembers.map((m) => m.filter((h) => targets.includes(h)));
  const needed = inv.hosts.filter((h) => playHosts.some((l) => l.includes(h.name)));

  const states = new Map<string, HostState>();
  // Rendering: every task for every host, before anything changes; bad arguments stop the run (exit 2)
  const rendered = new Map<string, TaskInstance[][]>(); // host -> play index -> tasks
  const handlersRendered = new Map<string, TaskInstance[][]>();
  const issues: InputIssue[] = [];
  const renderTasks = (list: TaskSpec[], pi: number, kind: string, entry: HostEntry, facts: Facts): TaskInstance[] => {
    const ctx = renderContext(inv, entry, facts);
    const out: TaskInstance[] = [];
    list.forEach((spec, ti) => {
      const issue = (msg: string, sub?: (string | number)[]) => issues.push({ file: spec.where.file, line: spec.where.line, col: spec.where.col, path: pathString(sub ?? spec.where.path), message: `task "${spec.name}" on ${entry.name}: ${msg}` });
      try {
        let items: unknown[] = [undefined];
        if (spec.loop !== undefined) {
          const l = typeof spec.loop === 'string' ? renderValue(spec.loop, ctx) : spec.loop;
          if (!Array.isArray(l)) return issue(`loop: must give a list, got ${typeof l}`);
          items = l;
        }
        items.forEach((item, ii) => {
          const c = item === undefined ? ctx : { ...ctx, item, index: ii };
          const skip = !evalWhen(spec.when, c);
          const mod = spec.module;
          let args: unknown = {};
          if (!skip) {
            const parsed = (mod.args as z.ZodTypeAny).safeParse(renderDeep(spec.args, c));
            if (!parsed.success) {
              for (const zi of parsed.error.issues) issue(`${zi.message}${zi.path.length ? ` (at ${pathString(zi.path)})` : ''}`, [...spec.where.path, ...zi.path]);
              return;
            }
            args = parsed.data;
          }
          const label = item === undefined ? spec.name : `${spec.name} (${typeof item === 'object' && item && 'name' in item ? (item as any).name : typeof item === 'object' && item && 'host' in item ? (item as any).host : String(ii)})`;
          out.push({ key: `${kind}${pi}.${ti}.${ii}`, spec, name: label, module: mod, args, skip });
        });
      } catch (e) {
        if (e instanceof RenderError) issue(e.message);
        else throw e;
      }
    });
    return out;
  };
  /** Every play's tasks and handlers for one host (none for a play whose `when` is false); problems go to `issues`. */
  const renderHost = (entry: HostEntry, facts: Facts) => {
    const tasks: TaskInstance[][] = [];
    const handlers: TaskInstance[][] = [];
    o.plays.forEach((p, pi) => {
      let on = playHosts[pi]!.includes(entry.name);
      try { on &&= evalWhen(p.when, renderContext(inv, entry, facts)); } catch (e) {
        if (!(e instanceof RenderError)) throw e;
        issues.push({ file: p.where.file, line: p.where.line, col: p.where.col, path: 'when', message: `play "${p.name}" on ${entry.name}: ${e.message}` });
        on = false;
      }
      tasks.push(on ? renderTasks(p.tasks, pi, 't', entry, facts) : []);
      handlers.push(on ? renderTasks(p.handlers, pi, 'h', entry, facts) : []);
    });
    return { tasks, handlers };
  };
  /** The issues found so far, each problem once (the same task fails the same way on every host). */
  const takeIssues = (): InputIssue[] => {
    const seen = new Set<string>();
    return issues.splice(0).filter((i) => { const k = i.line + i.path + i.message.replace(/ on \S+:/, ''); return seen.has(k) ? false : (seen.add(k), true); });
  };
  const newRecap = (host: string): HostRecap => ({ host, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: false, warnings: [] });

  // preflight, before any host is contacted: every task renders and its arguments validate (with placeholder facts)
  for (const h of needed) renderHost(h, STUB_FACTS);
  if (issues.length) throw new InputError(takeIssues());

  // connect, lock, facts — all hosts in parallel
  const sem = new Semaphore(forks);
  await Promise.all(needed.map(async (h) => {
    await sem.acquire();
    const t = o.transport(h);
    const session = new HostSession(h, t, { becomePassword: o.becomePasswordFor?.(h), waitLockSec: o.waitLockSec, log: o.log });
    const st: HostState = { session, alive: false, failed: false, unreachable: false, recap: newRecap(h.name), cache: new Map(), cacheGen: 0, changedInPlay: false };
    states.set(h.name, st);
    t.onLost = (err) => { if (st.alive) { st.alive = false; st.why = err.message; st.unreachable = true; st.recap.unreachable = true; emit({ type: 'host', host: h.name, status: 'lost', message: err.message }); } };
    try {
      await session.open();
      st.alive = true;
      emit({ type: 'host', host: h.name, status: 'connected', message: t.hostKeyNote ?? undefined });
    } catch (e) {
      st.unreachable = true;
      st.recap.unreachable = true;
      st.why = (e as Error).message;
      emit({ type: 'host', host: h.name, status: e instanceof LockedError ? 'locked' : 'unreachable', message: (e as Error).message });
      await session.close().catch(() => {});
    } finally { sem.release(); }
  }));

  const closeAll = async () => { await Promise.all([...states.values()].map((s) => s.session.close().catch(() => {}))); };

  for (const st of states.values()) {
    if (!st.alive) continue;
    const r = renderHost(st.session.entry, st.session.facts);
    rendered.set(st.session.name, r.tasks);
    handlersRendered.set(st.session.name, r.handlers);
  }
  if (issues.length) {
    await closeAll();
    throw new InputError(takeIssues());
  }

  // plays
  let globalGen = 0;
  const interrupted = () => o.signal?.aborted === true;
  const ctxFor = (st: HostState, t: TaskInstance): TaskCtx<unknown> => ({ host: st.session.entry, facts: st.session.facts, inventory: inv, args: t.args, flags, dryRun: o.mode === 'plan' });

  /** The read sections of these tasks, named `<task key>/<section>`. */
  const readSections = (st: HostState, batch: TaskInstance[]): [string, string][] => {
    const sections: [string, string][] = [];
    for (const b of batch) for (const [name, snippet] of Object.entries(b.module.read(ctxFor(st, b)))) sections.push([`${b.key}/${name}`, snippet]);
    return sections;
  };
  const storeProbe = (st: HostState, batch: TaskInstance[], res: ProbeResult) => {
    for (const b of batch) {
      const mine: ProbeResult = {};
      for (const [k, v] of Object.entries(res)) if (k.startsWith(b.key + '/')) mine[k.slice(b.key.length + 1)] = v;
      st.cache.set(b.key, mine);
    }
  };

  const ensureState = async (st: HostState, t: TaskInstance, upcoming: TaskInstance[]) => {
    if (st.cacheGen !== globalGen) { st.cache.clear(); st.cacheGen = globalGen; }
    if (st.cache.has(t.key)) return;
    // read this task and every later one not yet read, in one round trip
    const batch = [t, ...upcoming.filter((u) => u !== t && !u.skip && !st.cache.has(u.key))];
    storeProbe(st, batch, await st.session.probe(readSections(st, batch)));
  };

  /** For a once-task on `runner`: the module's peer sections read now on every other member of play `pi`, or why not. */
  const readPeers = (pi: number, runner: HostState) => (t: TaskInstance): Promise<PeerView[]> =>
    Promise.all(playMembers[pi]!.filter((h) => h !== runner.session.name).map(async (h): Promise<PeerView> => {
      const st = states.get(h);
      if (!targets.includes(h) || !st) return { host: h, missing: 'left out by --limit' };
      if (!st.alive) return { host: h, missing: `unreachable${st.why ? ` (${st.why})` : ''}` };
      if (st.failed) return { host: h, missing: 'stopped earlier in this run after a failed task' };
      const mine = rendered.get(h)?.[pi]?.find((x) => x.key === t.key);
      if (!mine || mine.skip || !mine.module.peers) return { host: h, missing: 'the task does not apply to it here' };
      try {
        return { host: h, res: await st.session.probe(Object.entries(mine.module.peers(ctxFor(st, mine)))) };
      } catch (e) {
        return { host: h, missing: `its state could not be read: ${(e as Error).message}` };
      }
    }));

  const runTask = async (st: HostState, t: TaskInstance, upcoming: TaskInstance[], play: string, agree?: (key: string, value: string) => Promise<Map<string, string>>, peers?: (t: TaskInstance) => Promise<PeerView[]>): Promise<TaskStatus> => {
    const t0 = Date.now();
    const ev: TaskEvent = { type: 'task', host: st.session.name, play, task: t.name, module: t.module.name, status: 'ok', changes: [], warnings: [], notes: [], durationMs: 0 };
    const finish = (status: TaskStatus) => {
      ev.status = status;
      ev.durationMs = Date.now() - t0;
      const r = st.recap;
      if (status === 'ok') r.ok++; else if (status === 'changed') r.changed++; else if (status === 'failed') r.failed++; else if (status === 'skipped') r.skipped++;
      r.warnings.push(...ev.warnings.map((w) => `${t.name}: ${w}`));
      emit(ev);
      return status;
    };
    if (t.skip) { ev.notes.push('condition is false'); return finish('skipped'); }
    try {
      await ensureState(st, t, upcoming);
      const ctx = ctxFor(st, t);
      if (t.module.peers && peers) ctx.peers = await peers(t);
      const state = t.module.parse(st.cache.get(t.key)!, ctx);
      const plan = t.module.plan(state, ctx);
      ev.warnings.push(...(plan.warnings ?? []));
      ev.notes.push(...(plan.notes ?? []));
      if (plan.refuse) { ev.error = { message: plan.refuse }; return finish('failed'); }
      if (plan.agree && agree) {
        const order = (h: string) => inv.hosts.findIndex((x) => x.name === h);
        // in inventory order, whoever got here first: the message is the same on every run
        const values = new Map([...(await agree(t.key, plan.agree.value))].sort((a, b) => order(a[0]) - order(b[0])));
        const groups = new Map<string, string[]>();
        for (const [h, v] of values) groups.set(v, [...(groups.get(v) ?? []), h]);
        if (groups.size > 1) {
          ev.error = { message: `the hosts do not agree on ${plan.agree.what}: ${[...groups].map(([v, hs]) => `${hs.join(', ')} → ${v}`).join('; ')}. Nothing was changed.` };
          return finish('failed');
        }
        ev.notes.push(`${plan.agree.what} is the same on ${[...values.keys()].join(', ')}`);
      }
      ev.changes = plan.changes.map((c) => ({ summary: c.summary, diff: c.diff, commands: c.actions.map(describeAction) }));
      if (plan.changes.length === 0) return finish('ok');
      if (o.mode === 'plan') return finish('changed');
      const actions = plan.changes.flatMap((c) => c.actions);
      st.cache.clear(); // what we read is stale from here on, whatever happens
      // apply, then read the state of the tasks after it, in the same round trip
      const after = upcoming.filter((u) => !u.skip);
      const r = await st.session.apply(actions, t.spec.timeout ? t.spec.timeout * 1000 : undefined, readSections(st, after));
      st.changedInPlay = true;
      if (r.probe && st.cacheGen === globalGen) storeProbe(st, after, r.probe);
      if (r.timedOut || r.code !== 0) {
        const step = r.failedStep !== undefined ? actions[r.failedStep] : undefined;
        ev.error = {
          message: r.timedOut ? `timed out after ${t.spec.timeout ?? st.session.entry.ssh.commandTimeoutMs / 1000} s` : `command failed with exit code ${r.code}`,
          command: step ? describeAction(step) : undefined,
          code: r.code,
          stderr: r.stderr.trim().split('\n').slice(-10).join('\n'),
        };
        return finish('failed');
      }
      return finish('changed');
    } catch (e) {
      ev.error = { message: (e as Error).message };
      if (!st.alive) { st.unreachable = true; st.recap.unreachable = true; }
      return finish('failed');
    }
  };

  for (let pi = 0; pi < o.plays.length; pi++) {
    const play = o.plays[pi]!;
    const hostsInPlay = playHosts[pi]!.map((h) => states.get(h)!).filter((s) => s && s.alive && !s.failed);
    emit({ type: 'play', play: play.name, hosts: hostsInPlay.map((s) => s.session.name) });
    if (hostsInPlay.length === 0 || interrupted()) continue;
    const onceResults = new Map<string, { promise: Promise<TaskStatus>; resolve: (s: TaskStatus) => void; host: string }>();
    const onceRunner = hostsInPlay[0]!.session.name;
    const onceFor = (k: string) => {
      let e = onceResults.get(k);
      if (!e) { let resolve!: (s: TaskStatus) => void; const promise = new Promise<TaskStatus>((r) => (resolve = r)); e = { promise, resolve, host: onceRunner }; onceResults.set(k, e); }
      return e;
    };
    // A once-task is a meeting point: it runs on the first host only after every host of the play has reached it,
    // and not at all when one of them stopped on the way (a shared disk is not partitioned while a member is broken).
    const arrived = new Map<string, Set<string>>();
    const left = new Map<string, boolean>(); // host -> left the play early (failed, unreachable, interrupted)
    const meetWaiters: (() => void)[] = [];
    const wake = () => meetWaiters.splice(0).forEach((w) => w());
    const arrive = (k: string, h: string) => { let a = arrived.get(k); if (!a) arrived.set(k, (a = new Set())); a.add(h); wake(); };
    const meeting = async (k: string): Promise<string[]> => {
      const ready = () => hostsInPlay.every((x) => arrived.get(k)?.has(x.session.name) || left.has(x.session.name));
      while (!ready()) await new Promise<void>((r) => meetWaiters.push(r));
      return hostsInPlay.filter((x) => left.get(x.session.name) === true && !arrived.get(k)?.has(x.session.name)).map((x) => x.session.name);
    };
    const agreed = new Map<string, Map<string, string>>();
    const agreeFor = (st: HostState) => async (key: string, value: string) => {
      const k = `agree:${key}`;
      let m = agreed.get(k);
      if (!m) agreed.set(k, (m = new Map()));
      m.set(st.session.name, value);
      arrive(k, st.session.name);
      playSem.release();
      try { await meeting(k); } finally { await playSem.acquire(); }
      return m;
    };
    for (const st of hostsInPlay) st.changedInPlay = false;
    const playSem = new Semaphore(forks);
    await Promise.all(hostsInPlay.map(async (st) => {
      await playSem.acquire();
      const tasks = rendered.get(st.session.name)![pi]!;
      const notified = new Set<string>();
      try {
        for (let i = 0; i < tasks.length; i++) {
          const t = tasks[i]!;
          if (!st.alive || st.failed || interrupted()) break;
          // read-ahead: this play's later tasks and every later play's tasks for this host, in the same round trip;
          // the cache is dropped when this host changes something or another host's change may be visible here
          const later = rendered.get(st.session.name)!.slice(pi + 1).flat();
          const upcoming = [...tasks.slice(i + 1), ...later];
          let status: TaskStatus;
          if (t.spec.once) arrive(t.key, st.session.name);
          if (t.spec.once && st.session.name === onceRunner) {
            playSem.release();
            const missing = await meeting(t.key);
            await playSem.acquire();
            if (missing.length) {
              emit({ type: 'task', host: st.session.name, play: play.name, task: t.name, module: t.module.name, status: 'failed', changes: [], warnings: [], notes: [],
                error: { message: `not run: this task runs once for all of ${hostsInPlay.map((x) => x.session.name).join(', ')}, and ${missing.join(', ')} stopped before reaching it` }, durationMs: 0 });
              st.recap.failed++;
              st.failed = true;
              onceFor(t.key).resolve('failed');
              break;
            }
          }
          if (t.spec.once && st.session.name !== onceRunner) {
            playSem.release();
            const s = await onceFor(t.key).promise;
            await playSem.acquire();
            const ev: TaskEvent = { type: 'task', host: st.session.name, play: play.name, task: t.name, module: t.module.name, status: 'skipped', changes: [], warnings: [], notes: [`runs once, on ${onceRunner}: ${s}`], durationMs: 0 };
            if (s === 'failed') { ev.status = 'failed'; ev.error = { message: `this task runs once, on ${onceRunner}, and failed there` }; st.recap.failed++; st.failed = true; }
            else st.recap.skipped++;
            emit(ev);
            if (s === 'changed' && st.cacheGen === globalGen) st.cache.clear();
            continue;
          }
          status = await runTask(st, t, upcoming, play.name, agreeFor(st), t.spec.once ? readPeers(pi, st) : undefined);
          if (t.spec.once) {
            if (status === 'changed' && o.mode !== 'plan') globalGen++;
            onceFor(t.key).resolve(status);
          }
          if (status === 'changed') t.spec.notify.forEach((n) => notified.add(n));
          if (status === 'failed') st.failed = true;
        }
        if (st.alive && !st.failed && notified.size) {
          const hs = handlersRendered.get(st.session.name)![pi]!.filter((h) => notified.has(h.spec.name));
          for (const h of hs) { if ((await runTask(st, h, [], play.name)) === 'failed') { st.failed = true; break; } }
        }
      } finally {
        left.set(st.session.name, st.failed || !st.alive || interrupted());
        wake();
        // anyone waiting on a once-task this host never reached must not wait forever
        if (st.session.name === onceRunner) for (const t of tasks) if (t.spec.once) onceFor(t.key).resolve(st.failed || !st.alive ? 'failed' : 'skipped');
        playSem.release();
      }
    }));
    if (hostsInPlay.some((s) => s.changedInPlay) && o.mode !== 'plan') globalGen++;
  }

  for (const st of states.values()) {
    st.recap.stats = { ...st.session.transport.stats };
  }
  await closeAll();
  const recap = needed.map((h) => states.get(h.name)!.recap);
  return { mode: o.mode, hosts: recap, events, wallMs: Date.now() - started, interrupted: interrupted() };
}
