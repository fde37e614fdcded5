// Output: colour only for a terminal (NO_COLOR, --no-color), a "running" line for slow tasks in plain mode, and the
// versioned snake_case --json document.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers.js';
import { formatRecap, jsonResult, jsonVerify, JSON_FORMAT_VERSION, PlainProgress, useColor } from '../../src/cli/output.js';
import type { EngineEvent, RunResult, TaskEvent } from '../../src/engine/types.js';
import { camelCaseKeys } from '../support/json-keys.js';

const ESC = '\x1b[';
const task = (f: Partial<TaskEvent> = {}): TaskEvent => ({ type: 'task', host: 'h1', play: 'p', task: 'mkfs', module: 'filesystem', kind: 'change', status: 'changed', changes: [{ summary: 'mkfs' }], warnings: [], notes: [], durationMs: 1500, ...f });
const result = (mode: RunResult['mode']): RunResult => ({
  mode, wallMs: 1234, interrupted: false, events: [{ type: 'play', play: 'p', hosts: ['h1'] }, task()],
  hosts: [{ host: 'h1', ok: 1, changed: 1, failed: 0, skipped: 0, unreachable: false, warnings: [], stats: { connections: 1, commands: 2, busyMs: 30, bytesIn: 10, bytesOut: 20 } }],
});

describe('colour', () => {
  it('only for a terminal, never with --no-color or NO_COLOR', () => {
    expect(useColor({ isTTY: true }, undefined, {})).toBe(true);
    expect(useColor({ isTTY: false }, undefined, {})).toBe(false);
    expect(useColor({}, undefined, {})).toBe(false);
    expect(useColor({ isTTY: true }, false, {})).toBe(false);
    expect(useColor({ isTTY: true }, undefined, { NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: true }, undefined, { NO_COLOR: '' })).toBe(true); // no-color.org: only when non-empty
  });
  it('the recap without colour has no escape codes', () => {
    expect(formatRecap(result('up'), { verbose: 1, mode: 'up', stats: true, color: false }).join('\n')).not.toContain(ESC);
    expect(formatRecap(result('up'), { verbose: 1, mode: 'up', stats: true, color: true }).join('\n')).toContain(ESC);
  });

  // the real CLI under a pseudo-terminal (util-linux script): an unreachable host still prints the recap
  const dir = mkdtempSync(join(tmpdir(), 'cf-colour-'));
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
  writeFileSync(join(dir, 'kh'), '');
  const inv = join(dir, 'inv.yaml');
  writeFileSync(inv, 'cluster: t\nssh: { user: root, private_key: key, known_hosts: kh, port: 1 }\nhosts:\n  h1: { address: 127.0.0.1 }\n');
  const inPty = (cmd: string, env: Record<string, string> = {}) => spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
  const hasScript = spawnSync('script', ['--version']).status === 0;

  it.skipIf(!hasScript)('a terminal gets colour; `plan > file` from a terminal writes none; NO_COLOR and --no-color turn it off', () => {
    const tty = inPty(`node ${CLI} plan ${inv}`);
    expect(tty.stdout).toMatch(/RECAP plan/);
    expect(tty.stdout).toContain(ESC);
    const out = join(dir, 'plan.txt');
    inPty(`node ${CLI} plan ${inv} > ${out}`);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/RECAP plan/);
    expect(text).not.toContain('\x1b');
    expect(inPty(`node ${CLI} plan ${inv}`, { NO_COLOR: '1' }).stdout).not.toContain(ESC);
    expect(inPty(`node ${CLI} plan ${inv} --no-color`).stdout).not.toContain(ESC);
  });
});

describe('plain progress', () => {
  afterEach(() => vi.useRealTimers());
  it('a task still running after a second gets a "running" line; a quick one does not', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const p = new PlainProgress((l) => lines.push(l), { verbose: 0, mode: 'up', stats: false, color: false });
    const start = (t: string): EngineEvent => ({ type: 'start', host: 'h1', play: 'p', task: t, module: 'filesystem' });
    p.onEvent(start('quick'));
    vi.advanceTimersByTime(500);
    p.onEvent(task({ task: 'quick', status: 'ok', changes: [] }));
    vi.advanceTimersByTime(2000);
    expect(lines).toEqual([]);
    p.onEvent(start('mkfs'));
    vi.advanceTimersByTime(1001);
    expect(lines).toEqual([expect.stringMatching(/^\s+h1\s+running\s+mkfs …$/)]);
    p.onEvent(task());
    expect(lines[1]).toMatch(/h1\s+changed\s+mkfs/);
    p.onEvent(start('last'));
    p.close();
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(3); // "changed" + its change line; nothing after close
  });
});

describe('--json', () => {
  it('is versioned and snake_case', () => {
    const j = jsonResult(result('up'));
    expect(j.format_version).toBe(JSON_FORMAT_VERSION);
    expect(camelCaseKeys(j)).toEqual([]);
    expect(j).toMatchObject({ mode: 'up', ok: true, wall_ms: 1234, changed: 1, recap: [{ host: 'h1', changed: 1, stats: { busy_ms: 30, bytes_in: 10, bytes_out: 20 } }] });
    expect(j.events[1]).toMatchObject({ type: 'task', status: 'changed', duration_ms: 1500 });
  });
  it('plan says would_change', () => {
    const j = jsonResult(result('plan')) as Record<string, any>;
    expect(j.would_change).toBe(1);
    expect(j.changed).toBeUndefined();
    expect(j.recap[0].would_change).toBe(1);
    expect(j.events[1].status).toBe('would_change');
  });
  it('verify has the same envelope', () => {
    const j = jsonVerify(false, [{ host: 'h1', kind: 'check', check: 'c', pass: false, reason: 'r' }], result('plan'));
    expect(j).toMatchObject({ format_version: JSON_FORMAT_VERSION, mode: 'verify', ok: false, wall_ms: 1234, checks: [{ host: 'h1', pass: false }], recap: [{ host: 'h1', would_change: 1 }] });
    expect(camelCaseKeys(j)).toEqual([]);
  });
});
