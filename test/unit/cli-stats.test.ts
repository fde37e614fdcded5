// --stats: the "slowest tasks" table after the recap (order, top-10 cut, alignment, the run's wall time) and the
// --json profile (every task on every host, snake_case), from given task events.
import { describe, expect, it } from 'vitest';
import { formatProfile, formatRecap, jsonResult, jsonVerify, SLOWEST_SHOWN, type OutputOptions } from '../../src/cli/output.js';
import { profileOf } from '../../src/engine/profile.js';
import type { EngineEvent, RunResult, TaskEvent } from '../../src/engine/types.js';
import { camelCaseKeys } from '../support/json-keys.js';

/** A task event: `ms` its total, split into read / apply / wait. */
const ev = (host: string, task: string, ms: number, split: [number, number, number] = [0, 0, 0], f: Partial<TaskEvent> = {}): TaskEvent => ({
  type: 'task', host, play: 'shared disk', task, module: 'm', kind: 'change', status: 'changed', changes: [], warnings: [], notes: [],
  durationMs: ms, timing: { readMs: split[0], applyMs: split[1], waitMs: split[2] }, ...f,
});

const result = (events: EngineEvent[], mode: RunResult['mode'] = 'up'): RunResult => ({
  mode, wallMs: 52_310, interrupted: false, events,
  hosts: ['node1', 'node2'].map((host) => ({ host, ok: 1, changed: 1, failed: 0, skipped: 0, unreachable: false, warnings: [], stats: { connections: 1, commands: 4, busyMs: 30, bytesIn: 10, bytesOut: 20 } })),
});

const fresh = result([
  { type: 'play', play: 'shared disk', hosts: ['node1', 'node2'] },
  ev('node1', 'packages', 900, [100, 790, 0]), ev('node2', 'packages', 1200, [110, 1080, 0]),
  ev('node1', 'partition the shared disk', 3100, [20, 3060, 10]), ev('node2', 'partition the shared disk', 3090, [0, 0, 3090], { status: 'skipped' }),
  ev('node1', 'make the file systems on the shared disk, one for each service of the cluster', 8200, [5, 8190, 0]),
  ev('node2', 'make the file systems on the shared disk, one for each service of the cluster', 8210, [0, 0, 8210], { status: 'skipped' }),
  ev('node1', '/etc/hosts', 12, [10, 0, 0]), ev('node2', '/etc/hosts', 15, [12, 0, 0]),
]);

const plain: OutputOptions = { verbose: 0, mode: 'up', stats: true, color: false };

/** The table's data rows (after the title and the header). */
const tableRows = (lines: string[]) => lines.slice(lines.findIndex((l) => l.startsWith('SLOWEST TASKS')) + 2);

describe('--stats: the slowest tasks', () => {
  it('after the recap: the slowest host\'s time first, with its host, the hosts\' sums and their read/apply/wait split', () => {
    const lines = formatRecap(fresh, plain);
    const at = lines.findIndex((l) => l.startsWith('SLOWEST TASKS'));
    expect(at).toBeGreaterThan(lines.findIndex((l) => l.includes('total changed=')));
    expect(lines[at]).toBe('SLOWEST TASKS — 4 of 4 by the slowest host; run 52.31 s');
    expect(lines[at + 1]!.trim().split(/\s{2,}/)).toEqual(['task', 'play', 'hosts', 'total ms', 'max ms', 'on', 'read ms', 'apply ms', 'wait ms']);
    const cells = tableRows(lines).map((l) => l.trim().split(/\s{2,}/));
    expect(cells).toEqual([
      ['make the file systems on the shared disk, one f…', 'shared disk', '2', '16410', '8210', 'node2', '5', '8190', '8210'],
      ['partition the shared disk', 'shared disk', '2', '6190', '3100', 'node1', '20', '3060', '3100'],
      ['packages', 'shared disk', '2', '2100', '1200', 'node2', '210', '1870', '0'],
      ['/etc/hosts', 'shared disk', '2', '27', '15', 'node2', '22', '0', '0'],
    ]);
  });

  it('is aligned: every column starts at the same place on every line, numbers right-aligned', () => {
    const lines = formatProfile(profileOf(fresh), plain).slice(2);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1); // the last column is right-aligned too
    const head = lines[0]!;
    // the end of each right-aligned number column is the end of its heading
    for (const col of ['hosts', 'total ms', 'max ms', 'wait ms']) {
      const end = head.indexOf(col) + col.length;
      for (const l of lines.slice(1)) {
        expect(l[end - 1], `${col} in "${l}"`).toMatch(/\d/);
        expect(l[end] ?? ' ', `${col} in "${l}"`).toBe(' ');
      }
    }
    // the host column starts at the same place on every line
    const on = head.indexOf(' on ') + 1;
    for (const l of lines.slice(1)) expect(l.slice(on, on + 5)).toMatch(/^node\d$/);
  });

  it(`the top ${SLOWEST_SHOWN} by the slowest host, of every task of the run`, () => {
    const events = Array.from({ length: 14 }, (_, i) => [ev('node1', `task ${i}`, i * 10), ev('node2', `task ${i}`, 140 - i * 10)]).flat();
    const lines = formatRecap(result(events), plain);
    expect(lines.find((l) => l.startsWith('SLOWEST'))).toBe('SLOWEST TASKS — 10 of 14 by the slowest host; run 52.31 s');
    const rows = tableRows(lines);
    expect(rows).toHaveLength(SLOWEST_SHOWN);
    // max of task i: node2's 140 - 10i for i < 7, node1's 10i after; ties by total (all 140), then run order
    expect(rows.map((r) => r.trim().split(/\s{2,}/)[0] + ' ' + r.trim().split(/\s{2,}/)[5])).toEqual([
      'task 0 node2', 'task 1 node2', 'task 13 node1', 'task 2 node2', 'task 12 node1', 'task 3 node2', 'task 11 node1', 'task 4 node2', 'task 10 node1', 'task 5 node2',
    ]);
  });

  it('only with --stats; colour only through the colour helpers', () => {
    expect(formatRecap(fresh, { ...plain, stats: false }).join('\n')).not.toContain('SLOWEST');
    expect(formatRecap(fresh, plain).join('\n')).not.toContain('\x1b[');
    const coloured = formatProfile(profileOf(fresh), { color: true });
    expect(coloured[1]).toBe('\x1b[1mSLOWEST TASKS — 4 of 4 by the slowest host; run 52.31 s\x1b[0m');
    expect(coloured[2]).toMatch(/^\x1b\[2m {2}task/);
  });

  it('a run in which no task ran says so', () => {
    expect(formatProfile(profileOf(result([])), plain)).toEqual(['', 'SLOWEST TASKS — 0 of 0 by the slowest host; run 52.31 s']);
  });
});

describe('--json --stats: the profile', () => {
  it('every task on every host, in run order, snake_case', () => {
    const j = jsonResult(fresh, { profile: true }) as Record<string, any>;
    expect(camelCaseKeys(j)).toEqual([]);
    expect(j.profile.wall_ms).toBe(52_310);
    expect(j.profile.tasks.map((t: any) => t.task)).toEqual(['packages', 'partition the shared disk', 'make the file systems on the shared disk, one for each service of the cluster', '/etc/hosts']);
    expect(j.profile.tasks[1]).toEqual({
      play: 'shared disk', task: 'partition the shared disk', module: 'm',
      total_ms: 6190, max_ms: 3100, max_host: 'node1', read_ms: 20, apply_ms: 3060, wait_ms: 3100,
      hosts: [
        { host: 'node1', status: 'changed', total_ms: 3100, read_ms: 20, apply_ms: 3060, wait_ms: 10 },
        { host: 'node2', status: 'skipped', total_ms: 3090, read_ms: 0, apply_ms: 0, wait_ms: 3090 },
      ],
    });
    // the events stay as they were: the split is in the profile only
    expect(j.events[1]).not.toHaveProperty('timing');
    expect(j.events[1]).toMatchObject({ duration_ms: 900 });
  });

  it('only with --stats; plan says would_change; verify has it too', () => {
    expect(jsonResult(fresh)).not.toHaveProperty('profile');
    const plan = jsonResult(result(fresh.events, 'plan'), { profile: true }) as Record<string, any>;
    expect(plan.profile.tasks[0].hosts.map((h: any) => h.status)).toEqual(['would_change', 'would_change']);
    const v = jsonVerify(true, [], result(fresh.events, 'plan'), { profile: true }) as Record<string, any>;
    expect(v.profile.tasks).toHaveLength(4);
    expect(jsonVerify(true, [], result(fresh.events, 'plan'))).not.toHaveProperty('profile');
  });
});
