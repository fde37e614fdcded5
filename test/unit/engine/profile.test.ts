// The per-task time profile (--stats): every task the engine reports carries its wall time split into read, apply
// and waiting; profileOf groups a run's events by task. No upper bounds on real durations: only structure, phases
// within the total, and that a phase known to take at least N ms (a fake command's latency or sleep) got them.
import { describe, expect, it } from 'vitest';
import { FakeLab } from '../../support/fake-transport.js';
import { profileOf, slowestTasks, TaskClock, type RunProfile, type TaskProfile } from '../../../src/engine/profile.js';
import type { TaskEvent, TaskTiming } from '../../../src/engine/types.js';
import { run, taskEvents } from './fixtures.js';

const LATENCY = 40;
// timers may fire a little early and times are rounded down: a phase that waited LATENCY ms shows at least this
const AT_LEAST = LATENCY - 5;

/** Whole non-negative ms, with the phases adding up to no more than the total. */
function expectConsistent(ev: TaskEvent): TaskTiming {
  const t = ev.timing!;
  expect(t, `${ev.host} ${ev.task}`).toBeDefined();
  for (const v of [ev.durationMs, t.readMs, t.applyMs, t.waitMs]) {
    expect(Number.isInteger(v)).toBe(true);
    expect(v).toBeGreaterThanOrEqual(0);
  }
  expect(t.readMs + t.applyMs + t.waitMs).toBeLessThanOrEqual(ev.durationMs);
  return t;
}

const eventOf = (events: TaskEvent[], host: string, task: string) => events.find((e) => e.host === host && e.task === task)!;

describe('task timing', () => {
  const book = `
- name: one
  hosts: all
  tasks:
    - { name: first, kv: { key: a, value: "1" } }
    - { name: second, kv: { key: b, value: "1" }, notify: done }
    - { name: not here, when: "{{eq host.name 'n2'}}", kv: { key: c, value: "1" } }
    - { name: shared, once: true, kv: { key: shared/t, value: "1", then: ["sleep ${LATENCY}"] } }
    - { name: same disk, agree_kv: { key: disk } }
  handlers:
    - { name: done, kv: { key: d, value: "1" } }
`;

  it('every task the engine reports carries its timing, whole ms, with read + apply + wait within the total', async () => {
    const lab = new FakeLab();
    for (const h of ['n1', 'n2', 'n3']) lab.host(h, { latencyMs: 5 });
    const r = await run(book, { lab });
    const events = taskEvents(r.events);
    expect(events.map((e) => `${e.host} ${e.task} ${e.status}`).sort()).toEqual([
      'n1 done changed', 'n1 first changed', 'n1 not here skipped', 'n1 same disk ok', 'n1 second changed', 'n1 shared changed',
      'n2 done changed', 'n2 first changed', 'n2 not here changed', 'n2 same disk ok', 'n2 second changed', 'n2 shared skipped',
      'n3 done changed', 'n3 first changed', 'n3 not here skipped', 'n3 same disk ok', 'n3 second changed', 'n3 shared skipped',
    ]);
    for (const ev of events) expectConsistent(ev);
    // nothing waits outside a meeting: ordinary tasks and handlers have no waiting time at all
    for (const ev of events.filter((e) => !['shared', 'same disk'].includes(e.task))) expect(ev.timing!.waitMs).toBe(0);
  });

  it('the time of a round trip goes to its phase: the first probe to read, a change (with the tasks batched into it) to apply', async () => {
    const lab = new FakeLab();
    lab.host('n1', { latencyMs: LATENCY });
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: first, kv: { key: a, value: "1" } }
    - { name: second, kv: { key: b, value: "1", then: ["sleep ${2 * LATENCY}"] } }
`, { lab });
    const events = taskEvents(r.events, 'n1');
    const first = expectConsistent(eventOf(events, 'n1', 'first'));
    const second = expectConsistent(eventOf(events, 'n1', 'second'));
    expect(first.readMs).toBeGreaterThanOrEqual(AT_LEAST); // the one probe, which read `second` too
    // `second` rode in first's round trip (batched): the round trip's time, its sleep included, is first's
    expect(first.applyMs).toBeGreaterThanOrEqual(AT_LEAST + 2 * LATENCY);
    expect(second).toEqual({ readMs: 0, applyMs: 0, waitMs: 0 });
    expect(eventOf(events, 'n1', 'second').notes).toContain('applied in the same round trip as "first"');
    expect(lab.host('n1').probes).toHaveLength(1);
    expect(lab.host('n1').applies).toHaveLength(1);
  });

  it('a once-task: the runner spends its time applying, the other members waiting for its result', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: disk
  hosts: all
  tasks:
    - { name: mkfs, once: true, kv: { key: shared/fs, value: ext3, then: ["sleep ${2 * LATENCY}"] } }
`, { lab });
    const events = taskEvents(r.events);
    const runner = expectConsistent(eventOf(events, 'n1', 'mkfs'));
    expect(runner.applyMs).toBeGreaterThanOrEqual(2 * AT_LEAST);
    for (const h of ['n2', 'n3']) {
      const ev = eventOf(events, h, 'mkfs');
      const t = expectConsistent(ev);
      expect(ev.status).toBe('skipped');
      expect(t).toMatchObject({ readMs: 0, applyMs: 0 });
      expect(t.waitMs).toBeGreaterThanOrEqual(runner.applyMs - 1);
      expect(ev.durationMs).toBeGreaterThanOrEqual(t.waitMs);
    }
  });

  it('a once-task not run (a member stopped before it) still reports how long the runner waited at the meeting', async () => {
    const lab = new FakeLab();
    lab.host('n2', { latencyMs: LATENCY, faults: { 'set ready': 'read-only file system' } });
    const r = await run(`
- name: disk
  hosts: all
  tasks:
    - { name: prepare, kv: { key: ready, value: "yes" } }
    - { name: partition, once: true, kv: { key: shared/table, value: dos } }
`, { lab });
    const ev = eventOf(taskEvents(r.events), 'n1', 'partition');
    expect(ev.status).toBe('failed');
    const t = expectConsistent(ev);
    expect(t).toMatchObject({ readMs: 0, applyMs: 0 });
    expect(t.waitMs).toBeGreaterThanOrEqual(AT_LEAST); // n2's slow probe and failed apply
  });

  it('an agree-task: the hosts that got there first wait for the slow one', async () => {
    const lab = new FakeLab();
    lab.host('n1', { latencyMs: 2 * LATENCY }).kv.set('disk', 'wwn-1');
    for (const h of ['n2', 'n3']) lab.host(h).kv.set('disk', 'wwn-1');
    const r = await run(`
- name: disk
  hosts: all
  tasks:
    - { name: same disk, agree_kv: { key: disk } }
`, { lab });
    const events = taskEvents(r.events);
    const slow = expectConsistent(eventOf(events, 'n1', 'same disk'));
    expect(slow.readMs).toBeGreaterThanOrEqual(2 * AT_LEAST);
    for (const h of ['n2', 'n3']) expect(expectConsistent(eventOf(events, h, 'same disk')).waitMs).toBeGreaterThanOrEqual(AT_LEAST);
  });

  it('TaskClock: phases rounded down never add up to more than the rounded total', async () => {
    const clock = new TaskClock();
    for (let i = 0; i < 5; i++) await clock.time(i % 2 ? 'readMs' : 'applyMs', () => new Promise((r) => setTimeout(r, 3)));
    await expect(clock.time('waitMs', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const { durationMs, timing } = clock.stamp();
    expect(timing.readMs + timing.applyMs + timing.waitMs).toBeLessThanOrEqual(durationMs);
    expect(timing.applyMs).toBeGreaterThanOrEqual(6); // three sleeps of 3 ms, rounded down
  });
});

describe('profileOf', () => {
  it('groups a real run by task: every task that ran, every host once, sums and the slowest host', async () => {
    const lab = new FakeLab();
    lab.host('n3', { latencyMs: LATENCY });
    const r = await run(`
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
- name: two
  hosts: web
  tasks:
    - { name: a, kv: { key: a2, value: "1" } }
`, { lab });
    const p = profileOf(r);
    expect(p.wallMs).toBe(r.wallMs);
    expect(p.tasks.map((t) => `${t.play}/${t.task}: ${t.hosts.map((h) => h.host).sort().join(',')}`)).toEqual([
      'one/a: n1,n2,n3', 'one/b: n1,n2,n3', 'two/a: n2,n3',
    ]);
    for (const t of p.tasks) expectSums(t);
    expect(p.tasks[0]!.maxHost).toBe('n3'); // the slow host
    expect(p.tasks[0]!.module).toBe('kv');
    expect(p.tasks[0]!.hosts.every((h) => h.status === 'changed')).toBe(true);
    // the tasks of a host follow one another: together they take no longer than the run
    for (const h of ['n1', 'n2', 'n3']) {
      const spent = p.tasks.flatMap((t) => t.hosts).filter((x) => x.host === h).reduce((a, x) => a + x.totalMs, 0);
      expect(spent).toBeLessThanOrEqual(p.wallMs);
    }
  });

  it('two tasks of the same name in one play stay apart, each with its hosts once', () => {
    const ev = (host: string, task: string, durationMs: number): TaskEvent => ({ type: 'task', host, play: 'p', task, module: 'kv', kind: 'change', status: 'ok', changes: [], warnings: [], notes: [], durationMs, timing: { readMs: 1, applyMs: 0, waitMs: 0 } });
    const p = profileOf({ wallMs: 100, events: [ev('n1', 'x', 5), ev('n2', 'x', 6), ev('n1', 'x', 7), ev('n1', 'y', 1), ev('n2', 'x', 8)] });
    expect(p.tasks.map((t) => [t.task, t.hosts.map((h) => `${h.host}=${h.totalMs}`)])).toEqual([
      ['x', ['n1=5', 'n2=6']], ['x', ['n1=7', 'n2=8']], ['y', ['n1=1']],
    ]);
    expect(p.tasks[1]).toMatchObject({ totalMs: 15, maxMs: 8, maxHost: 'n2', readMs: 2 });
  });

  it('an event without timing (built outside a run) counts as no phase time', () => {
    const p = profileOf({ wallMs: 1, events: [{ type: 'task', host: 'n1', play: 'p', task: 'x', module: 'kv', kind: 'change', status: 'ok', changes: [], warnings: [], notes: [], durationMs: 3 }] });
    expect(p.tasks[0]).toMatchObject({ totalMs: 3, maxMs: 3, maxHost: 'n1', readMs: 0, applyMs: 0, waitMs: 0 });
  });
});

describe('slowestTasks', () => {
  const task = (name: string, times: number[]): TaskProfile => ({
    play: 'p', task: name, module: 'kv', readMs: 0, applyMs: 0, waitMs: 0,
    hosts: times.map((t, i) => ({ host: `n${i + 1}`, status: 'ok', totalMs: t, readMs: 0, applyMs: 0, waitMs: 0 })),
    totalMs: times.reduce((a, b) => a + b, 0), maxMs: Math.max(...times), maxHost: `n${times.indexOf(Math.max(...times)) + 1}`,
  });

  it('by the slowest host, then by the total, then in run order; at most n', () => {
    const p: RunProfile = { wallMs: 0, tasks: [task('a', [5, 5]), task('b', [9]), task('c', [5, 1]), task('d', [1, 9, 2]), task('e', [5, 5])] };
    expect(slowestTasks(p, 10).map((t) => t.task)).toEqual(['d', 'b', 'a', 'e', 'c']);
    expect(slowestTasks(p, 2).map((t) => t.task)).toEqual(['d', 'b']);
    expect(p.tasks.map((t) => t.task)).toEqual(['a', 'b', 'c', 'd', 'e']); // the profile itself stays in run order
  });

  it('the top 10 by default', () => {
    const p: RunProfile = { wallMs: 0, tasks: Array.from({ length: 25 }, (_, i) => task(`t${i}`, [i])) };
    expect(slowestTasks(p).map((t) => t.task)).toEqual(Array.from({ length: 10 }, (_, i) => `t${24 - i}`));
  });
});

function expectSums(t: TaskProfile): void {
  const sum = (f: (h: TaskProfile['hosts'][number]) => number) => t.hosts.reduce((a, h) => a + f(h), 0);
  expect(t.totalMs).toBe(sum((h) => h.totalMs));
  expect(t.readMs).toBe(sum((h) => h.readMs));
  expect(t.applyMs).toBe(sum((h) => h.applyMs));
  expect(t.waitMs).toBe(sum((h) => h.waitMs));
  expect(t.maxMs).toBe(Math.max(...t.hosts.map((h) => h.totalMs)));
  expect(t.hosts.find((h) => h.host === t.maxHost)!.totalMs).toBe(t.maxMs);
  expect(new Set(t.hosts.map((h) => h.host)).size).toBe(t.hosts.length);
  expect(t.readMs + t.applyMs + t.waitMs).toBeLessThanOrEqual(t.totalMs);
}
