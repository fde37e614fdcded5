// runPlaybook end to end against the in-memory fake transport: the real HostSession scripts, taken apart and
// answered by fake hosts. No network, no root, milliseconds.
import { describe, expect, it } from 'vitest';
import { GUARD_STOPPED_NOTE } from '../../../src/engine/batch.js';
import { FakeLab } from '../../support/fake-transport.js';
import { InputError } from '../../../src/util/input.js';
import type { HostEvent } from '../../../src/engine/types.js';
import { recapOf, run, statuses, taskEvents } from './fixtures.js';

const hostEvents = (r: { events: { type: string }[] }) => r.events.filter((e): e is HostEvent => e.type === 'host');

describe('order', () => {
  it('runs a host\'s tasks in order, and a play only after every host finished the one before', async () => {
    const lab = new FakeLab();
    lab.host('n1', { latencyMs: 5 }); // the slow one: n2 and n3 would race ahead without the play barrier
    const r = await run(`
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
- name: two
  hosts: all
  tasks:
    - { name: c, kv: { key: c, value: "1" } }
`, { lab });
    for (const h of ['n1', 'n2', 'n3']) expect(statuses(r.events, h)).toEqual(['a=changed', 'b=changed', 'c=changed']);
    const kinds = r.events.filter((e) => e.type !== 'host').map((e) => (e.type === 'play' ? `play ${e.play}` : e.task));
    const lastOfOne = kinds.lastIndexOf('b');
    expect(kinds.indexOf('play two')).toBeGreaterThan(lastOfOne);
    expect(kinds.indexOf('c')).toBeGreaterThan(kinds.indexOf('play two'));
  });

  it('a play runs on its own hosts only, and a play whose `when` is false for a host has no tasks there', async () => {
    const r = await run(`
- name: web
  hosts: web
  tasks:
    - { name: w, kv: { key: w, value: "1" } }
- name: not-n2
  hosts: all
  when: "{{ne host.name 'n2'}}"
  tasks:
    - { name: x, kv: { key: x, value: "1" } }
`);
    expect(statuses(r.events, 'n1')).toEqual(['x=changed']);
    expect(statuses(r.events, 'n2')).toEqual(['w=changed']);
    expect(statuses(r.events, 'n3')).toEqual(['w=changed', 'x=changed']);
  });
});

describe('reading ahead', () => {
  const noop = `
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
- name: two
  hosts: all
  tasks:
    - { name: c, kv: { key: c, value: "1" } }
`;

  it('a run that changes nothing sends exactly 2 commands per host: the lock+facts command and one probe of every task', async () => {
    const lab = new FakeLab();
    for (const h of ['n1', 'n2', 'n3']) for (const k of ['a', 'b', 'c']) lab.host(h).kv.set(k, '1');
    const r = await run(noop, { lab });
    for (const h of ['n1', 'n2', 'n3']) {
      expect(statuses(r.events, h)).toEqual(['a=ok', 'b=ok', 'c=ok']);
      expect(recapOf(r, h).stats!.commands).toBe(2);
      expect(lab.host(h).log.map((c) => c.kind)).toEqual(['hold', 'probe']);
      expect(lab.host(h).probes[0]!.sections).toEqual(['t0.0.0/cur', 't0.1.0/cur', 't1.0.0/cur']);
    }
  });

  it('after a change the next task is read again (in the apply\'s own round trip) and sees the change', async () => {
    const lab = new FakeLab();
    let setsOfB = 0;
    lab.onCommand = (_h, line) => { if (line === 'set b 1') setsOfB++; };
    // b wants what a's extra step writes: with a stale read b would change it again
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1", then: [set b 1] } }
    - { name: b, kv: { key: b, value: "1" } }
`, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 'b=ok']);
    // b was planned from the read before a (set b 1) and sent with it behind a guard: the guard saw b changed and
    // stopped the round trip before b's own step; b was read again and found as wanted
    expect(lab.host('n1').log.map((c) => c.kind)).toEqual(['hold', 'probe', 'apply', 'guard', 'probe']);
    const steps = lab.host('n1').applies[0]!.steps;
    expect([steps[0], steps[1], steps[3]]).toEqual(['set a 1', 'set b 1', 'set b 1']); // a, a's then, b's own (not run)
    expect(steps[2]).toContain('__cfg='); // b's guard
    expect(setsOfB).toBe(1);
    expect(lab.host('n1').probes[1]!.sections).toEqual(['t0.1.0/cur']);
    expect(taskEvents(r.events, 'n1')[1]!.notes).toContain(GUARD_STOPPED_NOTE);
    expect(taskEvents(r.events, 'n1')[0]!.notes).not.toContain(GUARD_STOPPED_NOTE);
  });

  it('after another host\'s once-task changed something, every host reads its later tasks again', async () => {
    const lab = new FakeLab();
    for (const h of ['n1', 'n2', 'n3']) lab.host(h).kv.set('prepared', '1');
    const r = await run(`
- name: one
  hosts: all
  tasks:
    - { name: prepare, kv: { key: prepared, value: "1" } }
    - { name: format, once: true, kv: { key: shared/disk, value: ext3 } }
    - { name: check, kv: { key: shared/disk, value: ext3 } }
`, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['prepare=ok', 'format=changed', 'check=ok']);
    for (const h of ['n2', 'n3']) {
      // the first read (before the once-task) saw no file system; the second one sees n1's. In the first, `format` and
      // `check` read the same snippet: it runs once (under the first name) and both get its answer
      expect(statuses(r.events, h)).toEqual(['prepare=ok', 'format=skipped', 'check=ok']);
      expect(lab.host(h).probes.map((p) => p.sections)).toEqual([['t0.0.0/cur', 't0.1.0/cur'], ['t0.2.0/cur']]);
      expect(lab.host(h).applies).toHaveLength(0);
    }
  });
});

describe('once-tasks', () => {
  const play = `
- name: disk
  hosts: all
  tasks:
    - { name: prepare, kv: { key: ready, value: "yes" } }
    - { name: partition, once: true, kv: { key: shared/table, value: dos } }
    - { name: after, kv: { key: after, value: "yes" } }
`;

  it('is not run when a member stopped before reaching it, and the message names that member', async () => {
    const lab = new FakeLab();
    lab.host('n2', { faults: { 'set ready': 'read-only file system' } });
    const r = await run(play, { lab });
    expect(statuses(r.events, 'n2')).toEqual(['prepare=failed']);
    const [ev] = taskEvents(r.events, 'n1').filter((e) => e.task === 'partition');
    expect(ev!.status).toBe('failed');
    expect(ev!.error!.message).toBe('not run: this task runs once for all of n1, n2, n3, and n2 stopped before reaching it');
    expect(lab.shared.has('shared/table')).toBe(false);
    expect(statuses(r.events, 'n3')).toEqual(['prepare=changed', 'partition=failed']);
    expect(taskEvents(r.events, 'n3')[1]!.error!.message).toBe('this task runs once, on n1, and failed there');
    expect(recapOf(r, 'n1').failed).toBe(1);
  });

  it('runs when a member fails only after it; the others see it as skipped with the runner\'s result', async () => {
    const lab = new FakeLab();
    lab.host('n2', { faults: { 'set after': 'no space left' } });
    const r = await run(play, { lab });
    expect(lab.shared.get('shared/table')).toBe('dos');
    expect(statuses(r.events, 'n1')).toEqual(['prepare=changed', 'partition=changed', 'after=changed']);
    expect(statuses(r.events, 'n2')).toEqual(['prepare=changed', 'partition=skipped', 'after=failed']);
    expect(taskEvents(r.events, 'n2')[1]!.notes).toEqual(['runs once, on n1: changed']);
  });

  it('when the runner stops before reaching it, the others do not wait forever: they fail it', async () => {
    const lab = new FakeLab();
    lab.host('n1', { faults: { 'set ready': 'read-only file system' } });
    const r = await run(play, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['prepare=failed']);
    for (const h of ['n2', 'n3']) {
      expect(statuses(r.events, h)).toEqual(['prepare=changed', 'partition=failed']);
      expect(taskEvents(r.events, h)[1]!.error!.message).toBe('this task runs once, on n1, and failed there');
    }
    expect(lab.shared.has('shared/table')).toBe(false);
  });

  it('when the runner fails it, every other member fails it too', async () => {
    const lab = new FakeLab();
    lab.host('n1', { faults: { 'set shared/table': 'device busy' } });
    const r = await run(play, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['prepare=changed', 'partition=failed']);
    for (const h of ['n2', 'n3']) expect(statuses(r.events, h)).toEqual(['prepare=changed', 'partition=failed']);
  });
});

describe('agree', () => {
  const play = `
- name: disk
  hosts: all
  tasks:
    - { name: same disk, agree_kv: { key: disk } }
    - { name: next, kv: { key: next, value: "1" } }
`;

  it('equal values: the task is ok on every host and says so', async () => {
    const lab = new FakeLab();
    for (const h of ['n1', 'n2', 'n3']) lab.host(h).kv.set('disk', 'wwn-1');
    const r = await run(play, { lab });
    for (const h of ['n1', 'n2', 'n3']) {
      expect(statuses(r.events, h)).toEqual(['same disk=ok', 'next=changed']);
      expect(taskEvents(r.events, h)[0]!.notes).toEqual(['the disk id is the same on n1, n2, n3']);
    }
  });

  it('different values: the task fails on every host with the hosts listed in inventory order, whoever came first', async () => {
    const lab = new FakeLab();
    lab.host('n1', { latencyMs: 10 }).kv.set('disk', 'wwn-1'); // n1 arrives last
    lab.host('n2').kv.set('disk', 'wwn-2');
    lab.host('n3').kv.set('disk', 'wwn-1');
    const r = await run(play, { lab });
    for (const h of ['n1', 'n2', 'n3']) {
      expect(statuses(r.events, h)).toEqual(['same disk=failed']);
      expect(taskEvents(r.events, h)[0]!.error!.message).toBe('the hosts do not agree on the disk id: n1, n3 → wwn-1; n2 → wwn-2. Nothing was changed.');
    }
  });
});

describe('peers', () => {
  const peers = (hosts = 'all') => `
- name: disk
  hosts: ${hosts}
  tasks:
    - { name: open, kv: { key: open, value: "yes" } }
    - { name: look, once: true, peers_kv: { key: open } }
`;
  const notes = (r: Awaited<ReturnType<typeof run>>) => taskEvents(r.events, 'n1').find((e) => e.task === 'look')!.notes;

  it('a once-task reads the other members at the moment it runs (after their earlier tasks changed them)', async () => {
    const r = await run(peers());
    expect(notes(r)).toEqual(['n2: yes', 'n3: yes']);
  });

  it('a member left out by --limit is reported missing', async () => {
    const r = await run(peers(), { limit: 'n1,n2' });
    expect(notes(r)).toEqual(['n2: yes', 'n3: missing (left out by --limit)']);
    expect(r.lab.host('n3').transports).toBe(0);
  });

  it('an unreachable member is reported missing with the reason', async () => {
    const lab = new FakeLab();
    lab.host('n3', { unreachable: 'no route to host' });
    const r = await run(peers(), { lab });
    expect(notes(r)).toEqual(['n2: yes', 'n3: missing (unreachable (no route to host))']);
  });

  it('a member lost earlier in the run is reported missing with the lost connection', async () => {
    const lab = new FakeLab();
    lab.host('n3', { faults: {} });
    const r = await run(`
- name: first
  hosts: n3
  tasks:
    - { name: early, kv: { key: early, value: "1", then: [lose] } }
${peers().replace('- name: disk', '- name: second')}`, { lab });
    expect(notes(r)).toEqual(['n2: yes', 'n3: missing (unreachable (connection to n3 lost: connection reset))']);
  });

  it('a member that failed in an earlier play is reported missing', async () => {
    const lab = new FakeLab();
    lab.host('n2', { faults: { 'set early': 'broken' } });
    const r = await run(`
- name: first
  hosts: all
  tasks:
    - { name: early, kv: { key: early, value: "1" } }
${peers().replace('- name: disk', '- name: second')}`, { lab });
    expect(notes(r)).toEqual(['n2: missing (stopped earlier in this run after a failed task)', 'n3: yes']);
  });
});

describe('peers that can only object (peersObjectOnly)', () => {
  const guarded = `
- name: disk
  hosts: all
  tasks:
    - { name: write, once: true, guarded_kv: { key: table, value: "v2" } }
`;
  /** the round trips that read host h's `open` (a peer read) */
  const peerReads = (r: Awaited<ReturnType<typeof run>>, h: string) => r.lab.host(h).probes.filter((p) => p.sections.includes('open')).length;

  it('nothing to change: no other member is read (a no-op costs no round trip to them)', async () => {
    const lab = new FakeLab();
    for (const h of ['n1', 'n2', 'n3']) lab.host(h).kv.set('table', 'v2');
    lab.host('n2').kv.set('open', 'yes'); // would object, but there is nothing to object to
    const r = await run(guarded, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['write=ok']);
    expect(['n2', 'n3'].map((h) => peerReads(r, h))).toEqual([0, 0]);
  });

  it('a change: every other member is read first, and one that holds it refuses the change', async () => {
    const lab = new FakeLab();
    lab.host('n3').kv.set('open', 'yes');
    const r = await run(guarded, { lab });
    const ev = taskEvents(r.events, 'n1').find((e) => e.task === 'write')!;
    expect(ev.status).toBe('failed');
    expect(ev.error!.message).toBe('held by n3');
    expect(['n2', 'n3'].map((h) => peerReads(r, h))).toEqual([1, 1]);
    expect(lab.host('n1').kv.get('table')).toBeUndefined();
  });

  it('a change nobody objects to is applied once, after reading the others', async () => {
    const r = await run(guarded);
    expect(statuses(r.events, 'n1')).toEqual(['write=changed']);
    expect(['n2', 'n3'].map((h) => peerReads(r, h))).toEqual([1, 1]);
    expect(r.lab.host('n1').kv.get('table')).toBe('v2');
  });

  it('a member left out by --limit still blocks a change, and still costs nothing on a no-op', async () => {
    const lab = new FakeLab();
    const refused = await run(guarded, { lab, limit: 'n1,n2' });
    expect(taskEvents(refused.events, 'n1')[0]!.error!.message).toBe('held by n3');
    for (const h of ['n1', 'n2', 'n3']) lab.host(h).kv.set('table', 'v2');
    const noop = await run(guarded, { lab, limit: 'n1,n2' });
    expect(statuses(noop.events, 'n1')).toEqual(['write=ok']);
  });
});

describe('handlers', () => {
  it('run once at the end of the play, only when a notifying task changed something', async () => {
    const lab = new FakeLab();
    lab.host('n1').kv.set('b', '1');
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1" }, notify: restart }
    - { name: b, kv: { key: b, value: "1" }, notify: reload }
    - { name: c, kv: { key: c, value: "1" }, notify: restart }
  handlers:
    - { name: restart, kv: { key: restarted, value: "1" } }
    - { name: reload, kv: { key: reloaded, value: "1" } }
- name: two
  hosts: n1
  tasks:
    - { name: d, kv: { key: d, value: "1" } }
`, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 'b=ok', 'c=changed', 'restart=changed', 'd=changed']);
    expect(lab.host('n1').kv.has('reloaded')).toBe(false);
  });

  it('do not run on a host whose task failed', async () => {
    const lab = new FakeLab();
    lab.host('n1', { faults: { 'set b': 'broken' } });
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1" }, notify: restart }
    - { name: b, kv: { key: b, value: "1" } }
  handlers:
    - { name: restart, kv: { key: restarted, value: "1" } }
`, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 'b=failed']);
    expect(lab.host('n1').kv.has('restarted')).toBe(false);
  });
});

describe('when and loop', () => {
  it('a task whose `when` is false is skipped and never read', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: never, when: "{{eq host.name 'n2'}}", kv: { key: a, value: "1" } }
    - { name: always, kv: { key: b, value: "1" } }
`, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['never=skipped', 'always=changed']);
    expect(taskEvents(r.events, 'n1')[0]!.notes).toEqual(['condition is false']);
    expect(lab.host('n1').probes[0]!.sections).toEqual(['t0.1.0/cur']);
    expect(recapOf(r, 'n1').skipped).toBe(1);
  });

  it('a loop makes one task per item, labelled by the item\'s name, read under its own key', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - name: svc
      loop: [{ name: nfs }, { name: smb }]
      kv: { key: "svc-{{item.name}}", value: "i{{index}}" }
`, { lab });
    expect(statuses(r.events, 'n1')).toEqual(['svc (nfs)=changed', 'svc (smb)=changed']);
    expect(lab.host('n1').probes[0]!.sections).toEqual(['t0.0.0/cur', 't0.0.1/cur']);
    expect([...lab.host('n1').kv]).toEqual([['svc-nfs', 'i0'], ['svc-smb', 'i1']]);
  });
});

describe('modes and failures', () => {
  const two = `
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
`;

  it('plan reports the changes with their commands and never applies', async () => {
    const r = await run(two, { mode: 'plan' });
    for (const h of ['n1', 'n2', 'n3']) {
      expect(statuses(r.events, h)).toEqual(['a=changed', 'b=changed']);
      expect(taskEvents(r.events, h)[0]!.changes).toEqual([{ summary: 'a: (unset) → 1', diff: undefined, commands: ['set a 1'] }]);
      expect(r.lab.host(h).applies).toHaveLength(0);
      expect(r.lab.host(h).kv.size).toBe(0);
    }
  });

  it('an apply failure names the step that failed, its exit code and stderr; the host stops there', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1", then: [set y 2, fail 3 disk on fire, set z 3] } }
    - { name: b, kv: { key: b, value: "1" } }
`, { lab });
    const [ev] = taskEvents(r.events, 'n1');
    expect(ev!.status).toBe('failed');
    expect(ev!.error).toEqual({ message: 'command failed with exit code 3', command: 'fail 3 disk on fire', code: 3, stderr: 'disk on fire' });
    expect(statuses(r.events, 'n1')).toEqual(['a=failed']);
    expect([...lab.host('n1').kv.keys()]).toEqual(['a', 'y']);
  });

  it('a hung step is stopped at the task\'s timeout and reported as such', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: a, timeout: 7, kv: { key: a, value: "1", then: [hang] } }
`, { lab });
    expect(taskEvents(r.events, 'n1')[0]!.error!.message).toBe('timed out after 7 s');
    expect(lab.host('n1').applies[0]!.timeoutMs).toBe(7000);
  });

  it('a refusal fails the task without touching the host', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1", refuse: "the disk holds data" } }
`, { lab });
    expect(taskEvents(r.events, 'n1')[0]!.error).toEqual({ message: 'the disk holds data' });
    expect(lab.host('n1').applies).toHaveLength(0);
  });

  it('a host lost mid-run is reported lost and unreachable; the others go on', async () => {
    const lab = new FakeLab();
    lab.host('n2', { faults: {} });
    const r = await run(two.replace('{ key: a, value: "1" }', '{ key: a, value: "1", then: ["{{#if (eq host.name \'n2\')}}lose{{/if}}"] }'), { lab });
    expect(statuses(r.events, 'n2')).toEqual(['a=failed']);
    expect(taskEvents(r.events, 'n2')[0]!.error!.message).toMatch(/connection to n2 lost/);
    expect(hostEvents(r).filter((e) => e.host === 'n2').map((e) => e.status)).toEqual(['connected', 'lost']);
    expect(recapOf(r, 'n2').unreachable).toBe(true);
    for (const h of ['n1', 'n3']) expect(statuses(r.events, h)).toEqual(['a=changed', 'b=changed']);
  });

  it('an unreachable host and a host locked by another run are reported; the others run', async () => {
    const lab = new FakeLab();
    lab.host('n2', { unreachable: 'connection refused' });
    lab.host('n3', { lockedBy: 'ws1 pid 42 since 2024-01-01' });
    const r = await run(two, { lab });
    const hs = hostEvents(r);
    expect(hs.find((e) => e.host === 'n2')).toMatchObject({ status: 'unreachable', message: 'connection refused' });
    expect(hs.find((e) => e.host === 'n3')!.status).toBe('locked');
    expect(hs.find((e) => e.host === 'n3')!.message).toMatch(/locked by another clusterform run \(ws1 pid 42 since 2024-01-01\)/);
    expect(recapOf(r, 'n2').unreachable).toBe(true);
    expect(recapOf(r, 'n3').unreachable).toBe(true);
    expect(statuses(r.events, 'n1')).toEqual(['a=changed', 'b=changed']);
    expect(taskEvents(r.events, 'n2')).toEqual([]);
  });

  it('bad task arguments stop the run before any host is contacted', async () => {
    const lab = new FakeLab();
    const err = await run(`
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a } }
`, { lab }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).issues).toHaveLength(1); // the same problem on three hosts, reported once
    expect((err as InputError).issues[0]!.message).toMatch(/task "a" on n1: module "kv": argument "value" is required \(string\)/);
    expect([...lab.hosts.values()].map((h) => h.transports)).toEqual([]);
  });
});

describe('interruption, --limit, forks', () => {
  it('after the signal no new task starts: the running one finishes, the tasks sent with it stop at their guard (the stop file); the run ends with its recap', async () => {
    const lab = new FakeLab();
    const ac = new AbortController();
    lab.onCommand = (_h, line) => { if (line === 'set b 1') ac.abort(); };
    lab.host('n1').kv.set('a', '1'); // a is ok: b's round trip carries c and d
    const r = await run(`
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
    - { name: c, kv: { key: c, value: "1" } }
    - { name: d, kv: { key: d, value: "1" } }
- name: two
  hosts: all
  tasks:
    - { name: e, kv: { key: e, value: "1" } }
`, { lab, forks: 1, signal: ac.signal });
    expect(r.interrupted).toBe(true);
    expect(statuses(r.events, 'n1')).toEqual(['a=ok', 'b=changed']);
    const n1 = lab.host('n1');
    expect(n1.applies).toHaveLength(1);
    expect(n1.applies[0]!.steps.filter((x) => !x.startsWith('set +e +u'))).toEqual(['set b 1', 'set c 1', 'set d 1']); // c and d were sent
    expect(n1.log.map((c) => c.kind)).toEqual(['hold', 'probe', 'apply', 'stop', 'guard']); // the stop came while b ran; c's guard saw it
    expect([n1.kv.get('c'), n1.kv.get('d')]).toEqual([undefined, undefined]);
    expect(taskEvents(r.events).map((e) => e.task)).not.toContain('e');
    expect(r.hosts.map((h) => [h.host, h.changed])).toEqual([['n1', 1], ['n2', 0], ['n3', 0]]);
  });

  it('a signal before a change is sent: that change goes alone, no later task rides with it', async () => {
    const lab = new FakeLab();
    const ac = new AbortController();
    lab.onCommand = (_h, line) => { if (line === 'get a') ac.abort(); };
    const r = await run(`
- name: one
  hosts: n1
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: b, kv: { key: b, value: "1" } }
`, { lab, signal: ac.signal });
    expect(r.interrupted).toBe(true);
    expect(statuses(r.events, 'n1')).toEqual(['a=changed']);
    expect(lab.host('n1').kv.get('b')).toBeUndefined();
  });

  it('--limit runs only the named hosts and groups; an unknown name is an input error', async () => {
    const lab = new FakeLab();
    const r = await run(`
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
`, { lab, limit: 'n1' });
    expect(r.hosts.map((h) => h.host)).toEqual(['n1']);
    expect(lab.host('n2').transports + lab.host('n3').transports).toBe(0);
    await expect(run('- { name: one, hosts: all, tasks: [] }', { limit: 'n9' })).rejects.toThrow(InputError);
  });

  it('never works on more hosts at once than --forks', async () => {
    const yaml = `
- name: one
  hosts: all
  tasks:
    - { name: a, kv: { key: a, value: "1" } }
    - { name: b, once: true, kv: { key: shared/b, value: "1" } }
`;
    for (const forks of [1, 2]) {
      const lab = new FakeLab();
      for (const h of ['n1', 'n2', 'n3', 'n4']) lab.host(h, { latencyMs: 3 });
      const r = await run(yaml, { lab, forks, hosts: ['n1', 'n2', 'n3', 'n4'] });
      expect(statuses(r.events, 'n4')).toEqual(['a=changed', 'b=skipped']);
      expect(lab.maxActive).toBe(forks);
    }
  });
});
