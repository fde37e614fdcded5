// verify's rows from a read-only run: drift from change tasks, typed check results, digests compared across hosts.
import { describe, expect, it } from 'vitest';
import type { RunResult, TaskEvent } from '../../src/engine/types.js';
import { formatVerifyRows, verifyRows } from '../../src/verify.js';
import { checkFile } from '../../src/modules/checks/check_file.js';
import { defaultRegistry } from '../../src/api.js';

const ev = (host: string, task: string, f: Partial<TaskEvent>): TaskEvent => ({ type: 'task', host, play: 'p', task, module: 'm', kind: 'change', status: 'ok', changes: [], warnings: [], notes: [], durationMs: 1, ...f });
const result = (events: TaskEvent[], unreachable: string[] = []): RunResult => ({
  mode: 'plan', wallMs: 1, interrupted: false, events,
  hosts: ['n1', 'n2', 'n3'].map((host) => ({ host, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: unreachable.includes(host), warnings: [] })),
});

describe('verifyRows', () => {
  it('a change task that would change something is drift; ok is no drift; a failure keeps its message', () => {
    const rows = verifyRows(result([
      ev('n2', 'hosts', { status: 'changed', changes: [{ summary: 'update /etc/hosts' }] }),
      ev('n1', 'hosts', {}),
      ev('n3', 'hosts', { status: 'failed', error: { message: 'boom' } }),
    ]), ['n1', 'n2', 'n3']);
    expect(rows.map((r) => [r.host, r.kind, r.pass, r.reason])).toEqual([
      ['n1', 'drift', true, 'no drift'], ['n2', 'drift', false, 'drift: update /etc/hosts'], ['n3', 'drift', false, 'boom'],
    ]);
  });
  it('checks are recognised by kind, not by name, and carry their typed reason', () => {
    const rows = verifyRows(result([
      ev('n1', 'check_something', { kind: 'change', status: 'ok' }), // a change module whose name starts with check_ is still drift
      ev('n1', 'disk', { kind: 'check', status: 'failed', check: { pass: false, reason: 'partition 3 missing' }, error: { message: 'partition 3 missing' } }),
      ev('n1', 'peers', { kind: 'check', check: { pass: true, reason: '3 names resolve' }, warnings: ['n1 resolves itself to 127.0.1.1'] }),
    ]), ['n1']);
    expect(rows.map((r) => [r.kind, r.check, r.pass, r.reason])).toEqual([
      ['drift', 'matches inventory: check_something', true, 'no drift'],
      ['check', 'disk', false, 'partition 3 missing'],
      ['check', 'peers', true, '3 names resolve (warning: n1 resolves itself to 127.0.1.1)'],
    ]);
  });
  it('digests that differ between hosts fail an "identical on all" row on each host; equal digests add none', () => {
    const c = (host: string, digest: string) => ev(host, 'cluster configuration', { kind: 'check', check: { pass: true, reason: 'present', digest } });
    expect(verifyRows(result([c('n1', 'a'), c('n2', 'a')]), ['n1', 'n2']).filter((r) => r.kind === 'identical')).toEqual([]);
    const rows = verifyRows(result([c('n2', 'b'), c('n1', 'a')]), ['n1', 'n2']).filter((r) => r.kind === 'identical');
    expect(rows.map((r) => [r.host, r.reason])).toEqual([['n1', 'differs from the other hosts (a)'], ['n2', 'differs from the other hosts (b)']]);
  });
  it('unreachable hosts fail a reachable row; rows follow inventory order; the printout counts rows', () => {
    const rows = verifyRows(result([ev('n3', 'hosts', {}), ev('n1', 'hosts', {})], ['n2']), ['n1', 'n2', 'n3']);
    expect(rows.map((r) => `${r.host}:${r.check}`)).toEqual(['n1:matches inventory: hosts', 'n2:reachable', 'n3:matches inventory: hosts']);
    expect(formatVerifyRows(rows).at(-1)).toBe('2 passed, 1 failed checks');
  });
});

describe('check modules', () => {
  it('are of kind check in the registry, and every other module of kind change', () => {
    const checks = defaultRegistry.all().filter((m) => m.kind === 'check').map((m) => m.name).sort();
    expect(checks).toEqual(['check_file', 'check_ha_disk', 'check_lvs_http', 'check_lvs_table', 'check_lvs_vip', 'check_pacemaker', 'check_peers']);
    for (const m of defaultRegistry.all()) if (!checks.includes(m.name)) expect(m.kind ?? 'change').toBe('change');
  });
  it('a check plan carries a typed result: pass with a digest, or a refusal with the reason', () => {
    const ctx = { host: { name: 'n1' }, args: { path: '/etc/cluster.xml' } } as any;
    const sha = 'a'.repeat(64);
    const ok = checkFile.plan(checkFile.parse({ sum: { out: `${sha}  -\n`, err: '', rc: 0 } }, ctx), ctx);
    expect(ok.check).toEqual({ pass: true, reason: '/etc/cluster.xml present (sha256 aaaaaaaaaaaa…)', digest: `sha256:${sha}` });
    expect(ok.refuse).toBeUndefined();
    const bad = checkFile.plan(checkFile.parse({ sum: { out: '', err: 'no such file\n', rc: 1 } }, ctx), ctx);
    expect(bad.check?.pass).toBe(false);
    expect(bad.refuse).toBe('/etc/cluster.xml missing or unreadable on n1: no such file');
  });
});
