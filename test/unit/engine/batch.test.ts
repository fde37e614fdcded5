// Consecutive changes of one host in one round trip (src/engine/batch.ts): over the fake transport, which tasks ride
// in the first changed task's round trip and what is reported; under a real sh, that a guard passes exactly when its
// reads answer as they did when the task was planned.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GUARD_EXIT, guardAction, planFollowers } from '../../../src/engine/batch.js';
import type { TaskInstance } from '../../../src/engine/render.js';
import type { Action, Plan } from '../../../src/engine/types.js';
import { procPath, sysctl } from '../../../src/modules/core/sysctl.js';
import { actionScript, parseProbe, probeScript } from '../../../src/engine/script.js';
import { FakeLab } from '../../support/fake-transport.js';
import { run, statuses, taskEvents } from './fixtures.js';

const three = `
- name: one
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
    - { name: c, kv: { key: c, value: "1" } }
`;

describe('batched changes (fake transport)', () => {
  it('independent changes: one round trip for all, reported in order; the second run reads once and applies nothing', async () => {
    const lab = new FakeLab();
    const r = await run(three, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 'b=changed', 'c=changed']);
    expect(lab.host('n1').applies).toHaveLength(1);
    expect(lab.host('n1').log.filter((c) => c.kind === 'guard')).toHaveLength(2);
    const ev = taskEvents(r.events, 'n1');
    expect(ev[1]!.changes.map((c) => c.summary)).toEqual(['b: (unset) → 1']);
    expect(ev[2]!.notes).toContain('applied in the same round trip as "a"');
    expect(['a', 'b', 'c'].map((k) => lab.host('n1').kv.get(k))).toEqual(['1', '1', '1']);
    const again = await run(three, { lab });
    expect(statuses(again.events, 'n1')).toEqual(['a=ok', 'b=ok', 'c=ok']);
    expect(lab.host('n1').applies).toHaveLength(1); // none more
  });

  it('a follower whose step fails: the earlier ones changed, it failed with its command, nothing after it ran', async () => {
    const lab = new FakeLab();
    lab.host('n1', { faults: { 'set b': 'disk full' } });
    const r = await run(three, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 'b=failed']);
    const b = taskEvents(r.events, 'n1')[1]!;
    expect(b.error).toMatchObject({ message: 'command failed with exit code 1', command: 'set b 1', stderr: 'disk full' });
    expect(lab.host('n1').kv.get('c')).toBeUndefined();
  });

  it('the first task\'s step fails: it failed, and no follower is reported or run', async () => {
    const lab = new FakeLab();
    lab.host('n1', { faults: { 'set a': 'broken' } });
    const r = await run(three, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=failed']);
    expect(lab.host('n1').kv.get('b')).toBeUndefined();
  });

  it('skipped tasks between are reported in their place; a once-task, a refusal or a task with its own timeout ends the batch', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: s, when: false, kv: { key: s, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
    - { name: o, once: true, kv: { key: shared/o, value: "1" } }
    - { name: c, kv: { key: c, value: "1" } }
    - { name: d, kv: { key: d, value: "1", refuse: "no" } }
    - { name: e, kv: { key: e, value: "1" } }
    - { name: t, timeout: 30, kv: { key: t, value: "1" } }
    - { name: f, kv: { key: f, value: "1" } }
`, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 's=skipped', 'b=changed', 'o=changed', 'c=changed', 'd=failed']);
    // a+b, o, c (d refuses, so c goes alone)
    expect(lab.host('n1').applies.map((a) => a.steps.filter((s) => !s.includes('__cfg=')))).toEqual([['set a 1', 'set b 1'], ['set shared/o 1'], ['set c 1']]);
  });

  it('a task with its own timeout is not batched, nor is anything after it carried in its round trip', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: t, timeout: 30, kv: { key: t, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
`, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 't=changed', 'b=changed']);
    expect(lab.host('n1').applies.map((a) => a.steps)).toEqual([['set a 1'], ['set t 1'], ['set b 1']]);
    expect(lab.host('n1').applies[1]!.timeoutMs).toBe(30_000);
  });

  it('a host without sha256sum (the guards could not hash): one round trip per change, as before', async () => {
    const lab = new FakeLab();
    lab.host('n1', { facts: 'hostname=n1\nos.id=debian\nkernel=6.1.0\nuid=0\ninit=systemd\npkg=apt-get' });
    const r = await run(three, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 'b=changed', 'c=changed']);
    expect(lab.host('n1').applies.map((a) => a.steps)).toEqual([['set a 1'], ['set b 1'], ['set c 1']]);
  });

  it('plan mode applies nothing and batches nothing', async () => {
    const lab = new FakeLab();
    const r = await run(three, { lab, mode: 'plan' });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 'b=changed', 'c=changed']);
    expect(lab.host('n1').applies).toHaveLength(0);
  });
});

describe('guardAction under a real sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cf-guard-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'state');
  const stop = join(dir, 'stop it');
  const sections: [string, string][] = [
    ['content', `cat '${f}'`],
    ['missing', `cat '${dir}/nope'`], // fails, with stderr
    ['empty', 'true'],
    ['noeol', `printf 'x'`],
  ];
  /** The sections read now, as a probe does: what a plan would be made from. */
  const readNow = () => parseProbe(execFileSync('sh', ['-c', probeScript(sections, 'abc')], { encoding: 'utf8' }), 'abc');
  /** The guard run as an apply step runs it (set -u, inside `( set -e … )`): its exit code. */
  const guard = (res: ReturnType<typeof readNow>) =>
    spawnSync('sh', ['-c', `set -u\n( set -e\n${actionScript(guardAction('t', sections, res, stop))}\n) </dev/null`], { encoding: 'utf8' }).status;

  it('passes when every read answers as planned (output, stderr, exit codes, no last newline)', () => {
    writeFileSync(f, 'one\ntwo\n');
    const res = readNow();
    expect(res.missing!.rc).not.toBe(0);
    expect(guard(res)).toBe(0);
  });
  it('stops with GUARD_EXIT when the stop file exists (the run was interrupted), even though the reads answer as planned', () => {
    writeFileSync(f, 'one\ntwo\n');
    const res = readNow();
    writeFileSync(stop, '');
    try {
      expect(guard(res)).toBe(GUARD_EXIT);
    } finally {
      rmSync(stop);
    }
    expect(guard(res)).toBe(0);
  });
  it('stops with GUARD_EXIT when a read answers differently', () => {
    writeFileSync(f, 'one\ntwo\n');
    const res = readNow();
    writeFileSync(f, 'one\ntwo\nthree\n');
    expect(guard(res)).toBe(GUARD_EXIT);
    writeFileSync(f, 'one\ntwo'); // only the last newline gone
    expect(guard(res)).toBe(GUARD_EXIT);
  });
});

describe('planFollowers: a file written earlier in the round trip', () => {
  // three sysctl tasks persisting to one file (the LVS real servers' ARP hiding): each plans from the file as the
  // tasks before it leave it, and its guard, run under a real sh after those writes, agrees
  const dir = mkdtempSync(join(tmpdir(), 'cf-follow-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sysctl.conf');
  const names = ['net.ipv4.conf.lo.arp_ignore', 'net.ipv4.conf.lo.arp_announce', 'net.ipv4.conf.all.arp_ignore'];
  const live = (n: string) => readFileSync(procPath(n), 'utf8').trim();
  const task = (name: string, i: number): TaskInstance => ({
    key: `t0.${i}.0`, name, module: sysctl as never, skip: false, spec: { notify: [] } as never,
    args: sysctl.args.parse({ name, value: String(Number(live(name)) === 1 ? 2 : 1), file }),
  });
  const tasks = names.map(task);
  const ctx = (t: TaskInstance) => ({ args: t.args, dryRun: false, flags: {} }) as never;
  // what the probe read before the round trip: the live values, no file, no record
  const reads = new Map(tasks.map((t) => [t.key, parseProbe(execFileSync('sh', ['-c', probeScript(Object.entries(sysctl.read(ctx(t))), 'n')], { encoding: 'utf8' }), 'n')]));
  const st = { cache: { current: true, get: (k: string) => reads.get(k) }, ctx } as never;

  it('plans each follower from the file as written before it, and the guards pass on the host after those writes', () => {
    const first = sysctl.plan(sysctl.parse(reads.get(tasks[0]!.key)!, ctx(tasks[0]!)), ctx(tasks[0]!));
    const followers = planFollowers(st, tasks.slice(1), join(dir, 'stop'), first.changes.flatMap((c) => c.actions));
    expect(followers.map((f) => f.t.name)).toEqual(names.slice(1));
    const writes = (p: Plan) => p.changes.flatMap((c) => c.actions).filter((a) => a.kind === 'write').map((a) => (a as { content: string }).content);
    const [w0] = writes(first);
    const [w1] = writes((followers[0] as { plan: Plan }).plan);
    const [w2] = writes((followers[1] as { plan: Plan }).plan);
    expect(w1!.startsWith(w0!)).toBe(true); // the first line kept
    expect(w2!.split('\n').filter((l) => l.includes(' = '))).toHaveLength(3);
    // the host after the first task's write (live values untouched: only the file): the second task's guard passes,
    // the third's does not (its file is the one after the second's write); after the second's write it passes
    const guardRc = (g: Action) => spawnSync('sh', ['-c', `set -u\n( set -e\n${actionScript(g)}\n) </dev/null`]).status;
    writeFileSync(file, w0!);
    expect(guardRc((followers[0] as { guard: Action }).guard)).toBe(0);
    expect(guardRc((followers[1] as { guard: Action }).guard)).toBe(GUARD_EXIT);
    writeFileSync(file, w1!);
    expect(guardRc((followers[1] as { guard: Action }).guard)).toBe(0);
  });
});
