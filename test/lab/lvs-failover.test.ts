// Issue #13 through the real CLI: an LVS-DR farm with two Debian-VM directors in VRRP failover (keepalived, built by
// `up` from bare), HTTP health checks of two namespace real servers, and a namespace client that sends a request
// through the VIP every 50 ms (the loop runs on the client itself and logs each answer with its time: ns hosts share
// this machine's clock, so the test's own times compare with the log's). Measured and printed: the largest gap in
// answers for a graceful stop of the master and for a power cut of the master, and the seconds until a stopped (and
// restarted) web server is out of (back in) every director's table.
import { rmSync, writeFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, freshLab, isRoot, ROOT, sshFor } from '../helpers.js';
import { directorView, probeMeasures, secs, sleep, startProbe as startProbeOn, stats, STOP_WEB, until, WEB } from './support/vip-probe.js';

const INV = resolve(ROOT, 'test/lab/inventories/lvs-failover.yaml');
const INV_W = resolve(ROOT, 'test/lab/inventories/lvs-failover.weight.tmp.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const ENV = { CF_TEST_VRRP_PASS: 'lab-Pw1' };
const DIRECTORS = ['lb1', 'lb2'];
const RS = ['rs1', 'rs2'];
const VIP = '10.228.0.200';
const ADVERT = 1;
/** interval + (retry + 1) × timeout + retry × delay_before_retry + 1 s, as the issue states it */
const HEALTH_BOUND = 2 + 2 * 2 + 1 * 1 + 1;
const LONG = 900_000;
const stopWeb = (h: string) => ssh(h, STOP_WEB);
const startProbe = (seconds: number) => startProbeOn(ssh, 'client', VIP, seconds);
const { gaps, failsAfter, failTimes } = probeMeasures(RS);
const { holdsVip, holders, table, reloads } = directorView(ssh, DIRECTORS, VIP);

/** One graceful failover: the probe runs 12 s, keepalived on the master (lb1) stops after 4 s; then it starts again. */
async function gracefulRound(): Promise<{ max: number; failed: number; after: number; log: string }> {
  expect(holders()).toEqual(['lb1']);
  const done = startProbe(12);
  await sleep(4000);
  const tStop = Date.now() / 1000;
  expect(ssh('lb1', 'systemctl stop keepalived').code).toBe(0);
  const log = await done();
  const g = gaps(log);
  expect(holders()).toEqual(['lb2']);
  // the old master comes back: preempt false, the VIP stays on lb2
  expect(ssh('lb1', 'systemctl start keepalived').code).toBe(0);
  await sleep(6000 * ADVERT);
  expect(holders()).toEqual(['lb2']);
  return { max: g.max, failed: g.failed, after: failsAfter(log, g.gapEnd), log: `${g.total} requests, ${g.failed} failed (at ${failTimes(log, tStop)} s after the stop), largest gap ${g.max.toFixed(2)} s` };
}

/** One power cut of the master (lb2): the probe runs 20 s, the VM is killed after 4 s; then powered on again. */
async function powerCutRound(): Promise<{ max: number; failed: number; after: number; log: string }> {
  expect(holders()).toEqual(['lb2']);
  const done = startProbe(20);
  await sleep(4000);
  const tCut = Date.now() / 1000;
  const k = cli(['lab', 'kill', INV, 'lb2']);
  expect(k.code, k.stderr).toBe(0);
  const log = await done();
  const g = gaps(log);
  const lb1 = holdsVip('lb1');
  const t = Date.now();
  const up = cli(['lab', 'up', INV], { timeout: LONG });
  expect(up.code, up.stderr).toBe(0);
  expect(ssh('lb2', 'systemctl is-system-running --wait').stdout.trim()).toMatch(/^(running|degraded)$/);
  await sleep(5000);
  const where = holders();
  const text = `${g.total} requests, ${g.failed} failed (at ${failTimes(log, tCut)} s after the cut), largest gap ${g.max.toFixed(2)} s (bound ${3 * ADVERT + 1} s); lb2 powered on again in ${secs(t)} s, VIP then on ${where.join(', ')}`;
  expect(lb1, text).toBe(true);
  expect(where, text).toEqual(['lb1']);
  expect(ssh('lb2', 'systemctl is-active keepalived').stdout.trim()).toBe('active');
  return { max: g.max, failed: g.failed, after: failsAfter(log, g.gapEnd), log: text };
}

/** Every round's largest gap, for the closing figures (min / median / max). */
const measured = { graceful: [] as number[], powerCut: [] as number[] };
const RUNS = Number(process.env.CF_FAILOVER_RUNS ?? '1');

function planChanges(inv = INV): string[] {
  const p = cliJson(['plan', inv], { env: ENV });
  expect(p.json, p.stderr.slice(-2000)).not.toBeNull();
  return p.json.events.filter((e: any) => e.type === 'task' && e.status === 'would_change').map((e: any) => `${e.host} ${e.task}: ${e.changes.map((c: any) => c.summary).join('; ')}`);
}

function upOk(inv = INV): any {
  const r = cliJson(['up', inv], { env: ENV });
  expect(r.code, r.stderr.slice(-3000) + JSON.stringify((r.json?.events ?? []).filter((e: any) => e.status === 'failed'))).toBe(0);
  return r.json;
}

describe.skipIf(!enabled)('lab: LVS-DR with two directors in VRRP failover and health checks (keepalived)', () => {
  beforeAll(() => {
    freshLab(INV, 'lvs-failover', LONG);
    for (const h of RS) expect(ssh(h, WEB(h)).code).toBe(0);
    for (const h of DIRECTORS) expect(ssh(h, 'systemctl is-system-running --wait').stdout.trim(), h).toMatch(/^(running|degraded)$/);
  }, LONG);
  afterAll(() => {
    rmSync(INV_W, { force: true });
    for (const h of RS) stopWeb(h);
    cli(['lab', 'down', INV]);
  });

  it('up from bare: keepalived on both directors, exactly one holds the VIP, both tables full; a second up changes nothing and reloads nothing', async () => {
    let t = Date.now();
    const first = upOk();
    console.log(`lvs-failover: first up in ${secs(t)} s, ${first.changed} changes`);
    const vipAfter = await until(() => holders().length === 1, Date.now(), 30_000);
    expect(vipAfter, 'one director holds the VIP').toBeDefined();
    expect(holders()).toEqual(['lb1']);
    const want = `-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 10.228.0.21:80 -g -w 1\n-a -t ${VIP}:80 -r 10.228.0.22:80 -g -w 1\n`;
    for (const h of DIRECTORS) {
      expect(ssh(h, 'systemctl is-active keepalived; systemctl is-enabled keepalived').stdout).toBe('active\nenabled\n');
      expect(table(h), h).toBe(want);
      expect(ssh(h, 'grep -c vrrp_strict /etc/keepalived/keepalived.conf || true; stat -c %a /etc/keepalived/keepalived.conf; cat /etc/ipvsadm.rules 2>/dev/null | grep -c \'managed by clusterform\' || true').stdout).toBe('0\n600\n0\n');
    }
    expect(JSON.stringify(first)).not.toContain(ENV.CF_TEST_VRRP_PASS);
    const r0 = DIRECTORS.map(reloads);
    t = Date.now();
    const second = upOk();
    console.log(`lvs-failover: second up in ${secs(t)} s`);
    expect(second.changed).toBe(0);
    expect(DIRECTORS.map(reloads)).toEqual(r0);
    const v = cli(['verify', INV], { env: ENV });
    console.log(`lvs-failover: verify exit ${v.code}:\n${v.stdout}`);
    expect(v.code, v.stdout + v.stderr.slice(-2000)).toBe(0);
    expect(v.stdout).toContain('PASS  exactly one director holds the VIP — VIP 10.228.0.200 held by lb1');
    expect(v.stdout.match(/PASS {2}real servers' health and the IPVS table .*10\.228\.0\.21:80 healthy, 10\.228\.0\.22:80 healthy/g)).toHaveLength(2);
    const answers = ssh('client', `for i in $(seq 10); do curl -s -m 3 http://${VIP}/ || echo FAIL; done`).stdout.trim().split('\n');
    expect(answers.filter((a) => a === 'rs1').length).toBe(5);
    expect(answers.filter((a) => a === 'rs2').length).toBe(5);
  }, LONG);

  it('a weight change is one reload on each director with no failed request', async () => {
    writeFileSync(INV_W, readFileSync(INV, 'utf8').replace('{ host: rs2, weight: 1 }', '{ host: rs2, weight: 2 }'));
    const r0 = DIRECTORS.map(reloads);
    const done = startProbe(25);
    await sleep(3000);
    const json = upOk(INV_W);
    const changedTasks = json.events.filter((e: any) => e.type === 'task' && e.status === 'changed').map((e: any) => `${e.host} ${e.task}`);
    const log = await done();
    const g = gaps(log);
    console.log(`lvs-failover: weight change: ${changedTasks.join(', ')}; ${g.total} requests, ${g.failed} failed, largest gap ${g.max.toFixed(2)} s`);
    const r1 = DIRECTORS.map(reloads);
    const tables = DIRECTORS.map(table);
    upOk(); // back to weight 1 (before the assertions: a failure here must not leave the next tests a changed farm)
    expect(r1).toEqual(r0.map((n) => n + 1));
    tables.forEach((t, i) => expect(t, DIRECTORS[i]).toContain(`-r 10.228.0.22:80 -g -w 2`));
    expect(g.failed).toBe(0);
  }, LONG);

  it('a real server whose web server stops is out of every table within the bound, no request fails after that; started again it is back', async () => {
    const done = startProbe(40);
    await sleep(2000);
    const t0 = Date.now();
    stopWeb('rs1');
    const out = await until(() => DIRECTORS.every((h) => !table(h).includes('10.228.0.21:80')), t0, 30_000);
    const outAt = Date.now() / 1000;
    console.log(`lvs-failover: rs1 stopped: out of both directors' tables after ${out ?? 'never'} s (bound ${HEALTH_BOUND} s)`);
    expect(out).toBeDefined();
    expect(out!).toBeLessThanOrEqual(HEALTH_BOUND);
    await sleep(5000);
    const t1 = Date.now();
    expect(ssh('rs1', WEB('rs1')).code).toBe(0);
    const back = await until(() => DIRECTORS.every((h) => table(h).includes('10.228.0.21:80')), t1, 30_000);
    console.log(`lvs-failover: rs1 started: back in both directors' tables after ${back ?? 'never'} s (bound ${HEALTH_BOUND} s)`);
    expect(back).toBeDefined();
    expect(back!).toBeLessThanOrEqual(HEALTH_BOUND);
    const log = await done();
    const after = failsAfter(log, outAt);
    console.log(`lvs-failover: during the health test ${log.length} requests; failed at ${failTimes(log, t0 / 1000)} s after the stop (removal seen at ${out} s, restart at ${((t1 - t0) / 1000).toFixed(1)} s): ${after} after the removal`);
    expect(after).toBe(0);
  }, LONG);

  it('graceful stop of the master: gap under 1 s, a long-lived connection survives (connection sync); the old master back with preempt false: the VIP stays', async () => {
    expect(holders()).toEqual(['lb1']);
    // a keep-alive connection opened before the failover and used again after it
    const conn = `import socket, sys, time
s = socket.create_connection(('${VIP}', 80), timeout=5)
def get():
    s.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); d = b''
    while b'\\r\\n\\r\\n' not in d: d += s.recv(4096)
    head, body = d.split(b'\\r\\n\\r\\n', 1)
    n = int([l.split(b':')[1] for l in head.split(b'\\r\\n') if l.lower().startswith(b'content-length')][0])
    while len(body) < n: body += s.recv(4096)
    return body.decode().strip()
print(get(), flush=True)
time.sleep(float(sys.argv[1]))
print(get(), flush=True)
`;
    ssh('client', 'cat > /tmp/cf-conn.py', conn);
    ssh('client', 'rm -f /tmp/cf-conn.log; (setsid python3 /tmp/cf-conn.py 12 > /tmp/cf-conn.log 2>&1 &); true');
    await sleep(500);
    const r = await gracefulRound();
    await until(() => ssh('client', 'wc -l < /tmp/cf-conn.log').stdout.trim() === '2', Date.now(), 15_000, 500);
    const connLog = ssh('client', 'cat /tmp/cf-conn.log').stdout.trim().split('\n');
    console.log(`lvs-failover: graceful stop of the master: ${r.log}; long-lived connection: ${connLog.join(' → ')}`);
    measured.graceful.push(r.max);
    expect(r.max).toBeLessThan(1);
    expect(connLog).toHaveLength(2);
    expect(RS).toContain(connLog[0]);
    expect(connLog[1]).toBe(connLog[0]);
  }, LONG);

  it('power cut of the master: largest gap at most 3 × advert_int + 1 s, every later request answered; powered on again, the VIP stays', async () => {
    const r = await powerCutRound();
    console.log(`lvs-failover: power cut of the master: ${r.log}`);
    measured.powerCut.push(r.max);
    expect(r.max).toBeLessThanOrEqual(3 * ADVERT + 1);
    expect(r.after).toBe(0);
    expect(planChanges()).toEqual([]);
  }, LONG);

  // bench (CF_FAILOVER_RUNS=3): more rounds of both, for bench/RESULTS.md; CI runs each scenario once
  it.skipIf(RUNS < 2)('bench: more rounds of graceful stop and power cut of the master', async () => {
    for (let i = 1; i < RUNS; i++) {
      const g = await gracefulRound();
      console.log(`lvs-failover: bench round ${i + 1}: graceful: ${g.log}`);
      measured.graceful.push(g.max);
      const p = await powerCutRound();
      console.log(`lvs-failover: bench round ${i + 1}: power cut: ${p.log}`);
      measured.powerCut.push(p.max);
    }
    console.log(`lvs-failover: largest gap, min / median / max: graceful stop ${stats(measured.graceful)}; power cut ${stats(measured.powerCut)}`);
  }, LONG * 2);

  it('down: keepalived stopped and disabled, its config gone, no VIP and no IPVS service on any director', () => {
    const r = cliJson(['down', INV, '-y'], { env: ENV });
    console.log(`lvs-failover: down: ${r.json?.changed} changes`);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    for (const h of DIRECTORS) {
      expect(ssh(h, 'systemctl is-active keepalived; systemctl is-enabled keepalived; ls /etc/keepalived/keepalived.conf 2>&1 | grep -c "No such"').stdout, h).toBe('inactive\ndisabled\n1\n');
      expect(holdsVip(h), h).toBe(false);
      expect(table(h), h).toBe('');
    }
  }, LONG);
});
