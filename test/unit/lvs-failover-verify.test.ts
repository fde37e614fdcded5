// Issue #13, verify: exactly one director holds the VIP (a once-check that reads the other directors), and each
// director's IPVS table = the inventory minus the real servers failing their check as this director sees them.
import { describe, expect, it } from 'vitest';
import { checkLvsTable, checkLvsVip, expectedTable, healthSh, tableDiffs } from '../../src/modules/checks/check_lvs_failover.js';
import { HEALTH_DEFAULTS } from '../../src/inventory/lvs-failover.js';
import { flatten, ok, runModule, type Cluster } from '../support/module-harness.js';
import { FAILOVER } from './modules/keepalived.rows.js';

const FULL = '-A -t 10.0.0.200:80 -s wlc\n-a -t 10.0.0.200:80 -r 10.0.0.21:80 -g -w 1\n-a -t 10.0.0.200:80 -r 10.0.0.22:80 -g -w 3\n';
const WITHOUT_RS1 = '-A -t 10.0.0.200:80 -s wlc\n-a -t 10.0.0.200:80 -r 10.0.0.22:80 -g -w 3\n';
const QUIESCED_RS1 = '-A -t 10.0.0.200:80 -s wlc\n-a -t 10.0.0.200:80 -r 10.0.0.21:80 -g -w 0\n-a -t 10.0.0.200:80 -r 10.0.0.22:80 -g -w 3\n';
const BOTH_OK = ok('10.0.0.21:80 OK\n10.0.0.22:80 OK\n');
const RS1_FAILS = ok('10.0.0.21:80 FAIL\n10.0.0.22:80 OK\n');
const check = (p: ReturnType<typeof flatten>) => ({ pass: p.refuse === undefined, reason: p.refuse ?? p.notes[0] });

describe('check_lvs_vip', () => {
  const run = (self: string, other: string | undefined) => check(flatten(runModule(checkLvsVip, {}, { vip: ok(self) }, {
    cluster: FAILOVER, host: 'lb1', peers: [other === undefined ? { host: 'lb2', missing: 'unreachable' } : { host: 'lb2', res: { vip: ok(other) } }],
  }).plan));
  it('one holder passes, naming it', () => {
    expect(run('1\n', '0\n')).toEqual({ pass: true, reason: 'VIP 10.0.0.200 held by lb1' });
    expect(run('0\n', '1\n')).toEqual({ pass: true, reason: 'VIP 10.0.0.200 held by lb2' });
  });
  it('both (split brain) or none fail', () => {
    expect(run('1\n', '1\n')).toEqual({ pass: false, reason: 'VIP 10.0.0.200 held by lb1, lb2: exactly one director must hold it' });
    expect(run('0\n', '0\n')).toEqual({ pass: false, reason: 'VIP 10.0.0.200 held by no director: exactly one director must hold it' });
  });
  it('a director not read is said', () => {
    expect(run('0\n', undefined)).toEqual({ pass: false, reason: 'VIP 10.0.0.200 held by no director: exactly one director must hold it (not read: lb2)' });
  });
  it('reads the same snippet on the peers', () => {
    const r = runModule(checkLvsVip, {}, { vip: ok('1\n') }, { cluster: FAILOVER, host: 'lb1' });
    expect(checkLvsVip.peers!(r.ctx)).toEqual(r.read);
    expect(r.read.vip).toBe("ip -o addr show | grep -cF ' 10.0.0.200/' || true");
  });
});

describe('check_lvs_table', () => {
  const run = (table: string, health = BOTH_OK, cluster: Cluster = FAILOVER) => check(flatten(runModule(checkLvsTable, {}, { table: ok(table), health }, { cluster, host: 'lb2' }).plan));
  it('all healthy, full table: passes with each real server\'s health', () => {
    expect(run(FULL)).toEqual({ pass: true, reason: 'IPVS table = the inventory minus the failing real servers; real servers as this director sees them: 10.0.0.21:80 healthy, 10.0.0.22:80 healthy' });
  });
  it('rs1 failing and removed: passes; rs1 failing but still in the table: fails', () => {
    expect(run(WITHOUT_RS1, RS1_FAILS).pass).toBe(true);
    expect(run(FULL, RS1_FAILS)).toEqual({ pass: false, reason: 'IPVS table differs from the inventory minus the failing real servers: t:10.0.0.200:80: 10.0.0.21:80 should not be there; real servers as this director sees them: 10.0.0.22:80 healthy, 10.0.0.21:80 failing' });
  });
  it('a healthy real server missing from the table fails', () => {
    expect(run(WITHOUT_RS1).reason).toMatch(/^IPVS table differs .*: t:10\.0\.0\.200:80: 10\.0\.0\.21:80 missing;/);
  });
  it('quiesce: a failing real server stays at weight 0', () => {
    const q: Cluster = { ...FAILOVER, lvs: { ...FAILOVER.lvs, health: { check: 'http', on_failure: 'quiesce' } } };
    expect(run(QUIESCED_RS1, RS1_FAILS, q).pass).toBe(true);
    expect(run(WITHOUT_RS1, RS1_FAILS, q).pass).toBe(false);
  });
  it('the probes: an HTTP status line for http, a connect for tcp, with the timeout', () => {
    const http = healthSh('10.0.0.21', 80, { ...HEALTH_DEFAULTS, check: 'http', path: '/health', status: 204, timeout: 3 });
    expect(http).toContain("l=$(timeout 3 bash -c 'exec 3<>/dev/tcp/10.0.0.21/80 && printf '\\''GET %s HTTP/1.0");
    expect(http).toContain(`case "$l" in "HTTP/1."?" 204 "*) echo 10.0.0.21:80 OK;; *) echo 10.0.0.21:80 FAIL;; esac`);
    expect(healthSh('10.0.0.21', 80, { ...HEALTH_DEFAULTS, check: 'tcp' })).toBe("if timeout 2 bash -c 'exec 3<>/dev/tcp/10.0.0.21/80' 2>/dev/null; then echo 10.0.0.21:80 OK; else echo 10.0.0.21:80 FAIL; fi");
  });
  it('tableDiffs and expectedTable: pure', () => {
    expect(tableDiffs([], expectedTable([], new Set()))).toEqual([]);
  });
});
