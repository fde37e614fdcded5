// The module contract (read → parse → plan → apply) and the events the engine reports.
import type { z } from 'zod';
import type { Facts } from '../facts/facts.js';
import type { Inventory, HostEntry } from '../inventory/load.js';

/** What one read section printed. */
export interface SectionResult { out: string; err: string; rc: number }
export type ProbeResult = Record<string, SectionResult>;

/** One step of applying a change. Everything becomes one shell script per task, run in one exec. */
export type Action =
  | { kind: 'sh'; script: string; desc: string }
  | { kind: 'write'; path: string; content: string; mode?: string; owner?: string; backup?: boolean; mkdir?: boolean }
  | { kind: 'remove'; path: string; restoreBackup?: boolean };

export interface Change {
  /** one line saying what changes, e.g. "add virtual service tcp 10.0.0.1:80" */
  summary: string;
  /** unified diff for file content changes */
  diff?: string;
  actions: Action[];
}

export interface Plan {
  changes: Change[];
  /** shown in the recap; not a failure (e.g. "raw binding skipped: kernel has no raw driver") */
  warnings?: string[];
  /** informational lines shown with the task (e.g. foreign virtual services left alone) */
  notes?: string[];
  /** a refusal: the task fails without touching anything */
  refuse?: string;
  /**
   * A value every host of the play must agree on (e.g. the identity of a shared disk): the engine waits until every
   * host has planned this task, and fails it on all of them when the values differ.
   */
  agree?: { what: string; value: string };
  /** what a check module found (modules of kind 'check' only): verify reports it */
  check?: CheckResult;
}

/** The result of a read-only check: pass or fail with a reason; a digest verify compares across hosts (e.g. a file's sha256). */
export interface CheckResult {
  pass: boolean;
  reason: string;
  digest?: string;
  /** shown in the recap; not a failure */
  warnings?: string[];
}

export interface TaskCtx<A> {
  host: HostEntry;
  facts: Facts;
  inventory: Inventory;
  args: A;
  /** --force-disks and friends */
  flags: RunFlags;
  /** true in `plan` */
  dryRun: boolean;
  /**
   * For a once-task whose module has `peers`: what every other member of the play reported at the moment the task
   * runs (read then, not earlier), or why a member could not be read (left out by --limit, unreachable, failed).
   */
  peers?: PeerView[];
}

/** One other member of a play, as a once-task sees it. */
export interface PeerView {
  host: string;
  /** the module's `peers` sections as read on that host; absent when `missing` says why */
  res?: ProbeResult;
  missing?: string;
}

export interface RunFlags {
  forceDisks: boolean;
  [k: string]: unknown;
}

export interface ModuleDef<A = any, S = any> {
  name: string;
  /** change (default): brings the host to the wanted state; check: read-only, its plan carries a CheckResult */
  kind?: 'change' | 'check';
  /** one sentence: what it manages */
  doc: string;
  args: z.ZodType<A, z.ZodTypeDef, unknown>;
  /** read-only shell snippets, one per section; batched with every other task's into one round trip */
  read(ctx: TaskCtx<A>): Record<string, string>;
  /** pure: sections → state */
  parse(res: ProbeResult, ctx: TaskCtx<A>): S;
  /** pure: state + wanted → changes ([] = ok) */
  plan(state: S, ctx: TaskCtx<A>): Plan;
  /**
   * Read-only snippets run on every other member of the play when this module runs as a once-task (e.g. what each
   * member holds open on a shared disk). The results reach `plan` as `ctx.peers`; members of the play left out by
   * --limit, unreachable or failed are listed there too, so the module can refuse to change what they share.
   */
  peers?(ctx: TaskCtx<A>): Record<string, string>;
  /**
   * The peers can only object to a change (what another member holds): plan first without them, and read them (then
   * plan again) only when that plan changes or refuses something. A no-op then reads no other member.
   */
  peersObjectOnly?: boolean;
}

export function defineModule<A, S>(m: ModuleDef<A, S>): ModuleDef<A, S> {
  return m;
}

/** A read-only check: like a module, but `check` returns a CheckResult instead of a plan. */
export interface CheckDef<A, S> extends Omit<ModuleDef<A, S>, 'plan' | 'kind'> {
  check(state: S, ctx: TaskCtx<A>): CheckResult;
}

/** A check module: it never changes anything; a failing check fails its task with the reason. */
export function defineCheck<A, S>(d: CheckDef<A, S>): ModuleDef<A, S> {
  const { check, ...rest } = d;
  return {
    ...rest,
    kind: 'check',
    plan(state, ctx) {
      const r = check(state, ctx);
      const warnings = r.warnings ?? [];
      return r.pass ? { changes: [], notes: [r.reason], warnings, check: r } : { changes: [], refuse: r.reason, warnings, check: r };
    },
  };
}

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

export interface TaskEvent {
  type: 'task';
  host: string;
  play: string;
  task: string;
  module: string;
  status: TaskStatus;
  changes: { summary: string; diff?: string; commands?: string[] }[];
  warnings: string[];
  notes: string[];
  error?: { message: string; command?: string; code?: number | null; stderr?: string };
  /** the module's kind, and for a check its result */
  kind: 'change' | 'check';
  check?: CheckResult;
  /** the task's wall time on this host, from its start (a once-task: from reaching the meeting) to its report */
  durationMs: number;
  /** where that time went; set on every task the engine reports (see src/engine/profile.ts) */
  timing?: TaskTiming;
}

/**
 * A task's wall time on one host, by phase, in whole ms (rounded down, so readMs + applyMs + waitMs ≤ durationMs;
 * the rest is parsing, planning and bookkeeping on the controller).
 */
export interface TaskTiming {
  /** the probe round trip(s) the task waited for: its own state, read together with the host's later tasks not read
   * yet (0 when read ahead by an earlier task), and for a once-task the other members' state */
  readMs: number;
  /** the round trip that applied its changes (it also reads the later tasks again) */
  applyMs: number;
  /** waiting for the other hosts of the play: a once-task's meeting or result, an agree-task's values */
  waitMs: number;
}

export interface HostEvent {
  type: 'host';
  host: string;
  status: 'connected' | 'unreachable' | 'lost' | 'locked';
  message?: string;
  /** connected: the address, port and user used, the jump hosts (user@host:port, first first), the IP it answered on */
  endpoint?: { address: string; port: number; user: string; jump: string[]; ip?: string };
}

export interface PlayEvent { type: 'play'; play: string; hosts: string[] }

/** A task starting on a host: progress for the caller's onEvent only (RunResult.events keeps finished tasks). */
export interface TaskStartEvent { type: 'start'; host: string; play: string; task: string; module: string }

export type EngineEvent = TaskEvent | HostEvent | PlayEvent | TaskStartEvent;

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: boolean;
  warnings: string[];
  stats?: { connections: number; commands: number; busyMs: number; bytesIn: number; bytesOut: number };
}

export interface RunResult {
  mode: 'up' | 'plan' | 'down' | 'run';
  hosts: HostRecap[];
  events: EngineEvent[];
  wallMs: number;
  interrupted: boolean;
}
