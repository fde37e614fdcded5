// Issue #13, the other forwarding modes, through the real CLI and one lab (test/lab/inventories/lvs-failover-nat.yaml):
// - LVS-NAT: two Debian-VM directors in VRRP failover (keepalived from bare), two namespace real servers behind them
//   whose default route is the floating gateway address (a second VRRP instance in a sync group with the VIP), HTTP
//   health checks, a namespace client sending a request through the VIP every 50 ms. Measured: the largest gap in
//   answers for a power cut of the master (the VIP and the gateway move together, or the answers cannot come back),
//   the seconds until a stopped web server is out of both directors' tables.
// - LVS-TUN with the same directors after `down` of the NAT farm: two fast-image VM real servers (ipip in their own
//   kernel), up, verify, requests through the VIP, down.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson, freshLab, isRoot, planChanges, ROOT, sshFor } from '../helpers.js';
import { directorView, probeMeasures, secs, sleep, startProbe, STOP_WEB, until, WEB } from './support/vip-probe.js';

const INV = resolve(ROOT, 'test/lab/inventories/lvs-failover-nat.yaml');
const INV_TUN = resolve(ROOT, 'test/lab/inventories/lvs-failover-tun.tmp.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const DIRECTORS = ['lb1', 'lb2'];
const VIP = '10.229.0.200';
const GATEWAY = '10.229.1.1';
const ADVERT = 1;
/** interval + (retry + 1) × timeout + retry × delay_before_retry + 1 s, as the issue states it */
const HEALTH_BOUND = 2 + 2 * 2 + 1 * 1 + 1;
const LONG = 900_000;
const nat = probeMeasures(['rs1', 'rs2']);
const { holders, table } = directorView(ssh, DIRECTORS, VIP);
const gatewayOn = () => directorView(ssh, DIRECTORS, GATEWAY).holders();

/** busybox httpd on the fast-image VMs (no python3 there), answering with the host's name. */
const BUSYBOX_WEB = (h: string) => `mkdir -p /tmp/cf-web && echo ${h} > /tmp/cf-web/index.html && (setsid busybox httpd -f -p 0.0.0.0:80 -h /tmp/cf-web >/dev/null 2>&1 &); sleep 0.5`;

function upOk(inv: string): any {
  const r = cliJson(['up', inv]);
  expect(r.code, r.stderr.slice(-3000) + JSON.stringify((r.json?.events ?? []).filter((e: any) => e.status === 'failed'))).toBe(0);
  return r.json;
}

/** The tasks a run changed, with their summaries (for a failure message). */
const changedTasks = (json: any) => JSON.stringify((json?.events ?? []).filter((e: any) => e.status === 'changed').map((e: any) => [e.host, e.task, e.changes.map((c: any) => c.summary)]));

function downOk(inv: string): void {
  const r = cliJson(['down', inv, '-y']);
  expect(r.code, r.stderr.slice(-3000)).toBe(0);
  for (const h of DIRECTORS) {
    expect(ssh(h, 'systemctl is-active keepalived; systemctl is-enabled keepalived; ls /etc/keepalived/keepalived.conf 2>&1 | grep -c "No such"').stdout, h).toBe('inactive\ndisabled\n1\n');
    expect(table(h), h).toBe('');
  }
  expect(holders()).toEqual([]);
}

const requests = (n: number) => ssh('client', `for i in $(seq ${n}); do curl -s -m 3 http://${VIP}/ || echo FAIL; done`).stdout.trim().split('\n');

describe.skipIf(!enabled)('lab: LVS-NAT and LVS-TUN with two directors in VRRP failover (keepalived)', () => {
  beforeAll(() => {
    freshLab(INV, 'lvs-failover-modes', LONG);
    for (const h of ['rs1', 'rs2']) expect(ssh(h, WEB(h)).code).toBe(0);
    for (const h of ['trs1', 'trs2']) expect(ssh(h, BUSYBOX_WEB(h)).code).toBe(0);
    for (const h of DIRECTORS) expect(ssh(h, 'systemctl is-system-running --wait').stdout.trim(), h).toMatch(/^(running|degraded)$/);
  }, LONG);
  afterAll(() => {
    rmSync(INV_TUN, { force: true });
    for (const h of ['rs1', 'rs2']) ssh(h, STOP_WEB);
    cli(['lab', 'down', INV]);
  });

  it('NAT up from bare: the preferred master holds the VIP and the real servers\' gateway, the backup neither; verify passes; a second up changes nothing', async () => {
    const t = Date.now();
    const first = upOk(INV);
    console.log(`lvs-failover-modes: NAT first up in ${secs(t)} s, ${first.changed} changes`);
    expect(await until(() => holders().length === 1, Date.now(), 30_000)).toBeDefined();
    expect(holders()).toEqual(['lb1']);
    expect(gatewayOn()).toEqual(['lb1']);
    const want = `-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 10.229.1.21:80 -m -w 1\n-a -t ${VIP}:80 -r 10.229.1.22:80 -m -w 1\n`;
    // the backup started last, at the end of `up`: its checkers fill the table a moment later
    await until(() => DIRECTORS.every((h) => table(h) === want), Date.now(), 20_000, 500);
    for (const h of DIRECTORS) expect(table(h), h).toBe(want);
    for (const h of ['rs1', 'rs2']) expect(ssh(h, 'ip route show default').stdout).toContain(`via ${GATEWAY}`);
    const v = cli(['verify', INV]);
    console.log(`lvs-failover-modes: NAT verify exit ${v.code}:\n${v.stdout}`);
    expect(v.code, v.stdout + v.stderr.slice(-2000)).toBe(0);
    const answers = requests(10);
    expect(answers.filter((a) => a === 'rs1').length).toBe(5);
    expect(answers.filter((a) => a === 'rs2').length).toBe(5);
    const second = upOk(INV);
    expect(second.changed, changedTasks(second)).toBe(0);
  }, LONG);

  it('NAT power cut of the master: the VIP and the gateway move together, largest gap at most 3 × advert_int + 1 s, every later request answered; powered on again, both stay', async () => {
    expect(holders()).toEqual(['lb1']);
    const done = startProbe(ssh, 'client', VIP, 20);
    await sleep(4000);
    const tCut = Date.now() / 1000;
    const k = cli(['lab', 'kill', INV, 'lb1']);
    expect(k.code, k.stderr).toBe(0);
    const log = await done();
    const g = nat.gaps(log);
    const moved = { vip: holders(), gateway: gatewayOn() };
    const t = Date.now();
    const on = cli(['lab', 'up', INV], { timeout: LONG });
    expect(on.code, on.stderr).toBe(0);
    expect(ssh('lb1', 'systemctl is-system-running --wait').stdout.trim()).toMatch(/^(running|degraded)$/);
    await sleep(5000);
    const text = `${g.total} requests, ${g.failed} failed (at ${nat.failTimes(log, tCut)} s after the cut), largest gap ${g.max.toFixed(2)} s (bound ${3 * ADVERT + 1} s); lb1 powered on again in ${secs(t)} s, VIP then on ${holders().join(', ')}, gateway on ${gatewayOn().join(', ')}`;
    console.log(`lvs-failover-modes: NAT power cut of the master: ${text}`);
    expect(moved, text).toEqual({ vip: ['lb2'], gateway: ['lb2'] });
    expect(g.max, text).toBeLessThanOrEqual(3 * ADVERT + 1);
    expect(nat.failsAfter(log, g.gapEnd), text).toBe(0);
    expect({ vip: holders(), gateway: gatewayOn() }, text).toEqual({ vip: ['lb2'], gateway: ['lb2'] });
    expect(planChanges([INV])).toEqual([]);
  }, LONG);

  it('NAT: a real server whose web server stops is out of both tables within the bound and no request fails after that; started again it is back', async () => {
    const done = startProbe(ssh, 'client', VIP, 30);
    await sleep(2000);
    const t0 = Date.now();
    ssh('rs1', STOP_WEB);
    const out = await until(() => DIRECTORS.every((h) => !table(h).includes('10.229.1.21:80')), t0, 30_000);
    const outAt = Date.now() / 1000;
    await sleep(3000);
    const t1 = Date.now();
    expect(ssh('rs1', WEB('rs1')).code).toBe(0);
    const back = await until(() => DIRECTORS.every((h) => table(h).includes('10.229.1.21:80')), t1, 30_000);
    const log = await done();
    console.log(`lvs-failover-modes: NAT rs1 stopped: out of both tables after ${out ?? 'never'} s, back ${back ?? 'never'} s after its restart (bound ${HEALTH_BOUND} s); ${log.length} requests, failed at ${nat.failTimes(log, t0 / 1000)} s after the stop`);
    expect(out).toBeDefined();
    expect(out!).toBeLessThanOrEqual(HEALTH_BOUND);
    expect(back).toBeDefined();
    expect(back!).toBeLessThanOrEqual(HEALTH_BOUND);
    expect(nat.failsAfter(log, outAt)).toBe(0);
  }, LONG);

  it('NAT down: keepalived stopped and disabled, its config gone, no VIP, no gateway address, no IPVS service on any director', () => {
    downOk(INV);
    expect(gatewayOn()).toEqual([]);
  }, LONG);

  it('TUN with the same directors and two VM real servers: up, verify, requests reach both, a second up changes nothing, down', async () => {
    // rs1 and rs2 (on the private network, without the NAT gateway now) are not part of this farm: left out
    const tun = readFileSync(INV, 'utf8')
      .replace(/^ {2}rs[12]: +\{ address: 10\.229\.1\.2[12] \}\n/gm, '')
      .replace(/^ {2}forwarding: nat\n {2}nat: .*\n/m, '  forwarding: tun\n')
      .replace('{ host: rs1, weight: 1 }', '{ host: trs1, weight: 1 }')
      .replace('{ host: rs2, weight: 1 }', '{ host: trs2, weight: 1 }');
    expect(tun).toContain('forwarding: tun\n  failover:');
    expect(tun).not.toMatch(/^ {2}rs1:/m);
    writeFileSync(INV_TUN, tun);
    const t = Date.now();
    const first = upOk(INV_TUN);
    console.log(`lvs-failover-modes: TUN up in ${secs(t)} s, ${first.changed} changes`);
    expect(await until(() => holders().length === 1, Date.now(), 30_000)).toBeDefined();
    expect(holders()).toEqual(['lb1']);
    expect(gatewayOn()).toEqual([]);
    // ipvsadm 1.31 (Debian 12) names the tunnel type
    const want = `-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 10.229.0.31:80 -i -w 1 --tun-type ipip\n-a -t ${VIP}:80 -r 10.229.0.32:80 -i -w 1 --tun-type ipip\n`;
    // the backup started last, at the end of `up`: its checkers fill the table a moment later
    await until(() => DIRECTORS.every((h) => table(h) === want), Date.now(), 20_000, 500);
    for (const h of DIRECTORS) expect(table(h), h).toBe(want);
    const v = cli(['verify', INV_TUN]);
    console.log(`lvs-failover-modes: TUN verify exit ${v.code}:\n${v.stdout}`);
    expect(v.code, v.stdout + v.stderr.slice(-2000)).toBe(0);
    const answers = requests(10);
    expect(answers.filter((a) => a === 'trs1').length, answers.join(' ')).toBe(5);
    expect(answers.filter((a) => a === 'trs2').length, answers.join(' ')).toBe(5);
    const second = upOk(INV_TUN);
    expect(second.changed, changedTasks(second)).toBe(0);
    downOk(INV_TUN);
    for (const h of ['trs1', 'trs2']) expect(ssh(h, `ip -o addr show dev tunl0 2>/dev/null | grep -c ' ${VIP}/' || true`).stdout.trim(), h).toBe('0');
  }, LONG);
});
