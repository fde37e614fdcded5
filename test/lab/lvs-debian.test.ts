// Issue #12 through the real CLI: an LVS-DR farm on Debian-image VMs (a director and two real servers, booted bare
// from the minimal Debian 12 image) that `up` builds from nothing, installing ipvsadm from the lab's package source,
// and that comes back by itself — without `up` — after a guest reboot of every VM and after a power cut of every VM:
// requests from the client through the VIP reach every real server and `plan` reports 0 changes. Prints the seconds
// from power-on to the first good request through the VIP.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliAsync, cliJson, freshLab, isRoot, planChanges, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'test/lab/inventories/lvs-debian.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const VMS = ['director', 'rs1', 'rs2'];
const RS = ['rs1', 'rs2'];
const VIP = '10.226.0.200';
const LONG = 900_000;
const secs = (t: number) => ((Date.now() - t) / 1000).toFixed(1);

// A tiny web server on each real server answering with its name, started at boot by a systemd unit. python3 is not in
// the minimal image: it comes from the lab's package source (nfs-kernel-server in LAB_PACKAGES pulls in nfs-common,
// which depends on python3).
const WEB_UNIT = `[Unit]
Description=lab web server (clusterform lvs-debian test)
After=network.target
[Service]
ExecStart=/usr/bin/python3 -m http.server 80 --bind 0.0.0.0 --directory /srv/www
Restart=always
[Install]
WantedBy=multi-user.target
`;
const webSetup = (h: string) =>
  'set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null; apt-get install -y -q --no-install-recommends python3 >/dev/null; ' +
  `mkdir -p /srv/www; echo ${h} > /srv/www/index.html; cat > /etc/systemd/system/cf-web.service; systemctl daemon-reload; systemctl enable --now cf-web.service`;

/** `n` requests from the client through the VIP: the answers, one per request (FAIL for a failed one). */
function throughVip(n: number): string[] {
  const r = ssh('client', `for i in $(seq ${n}); do curl -s -m 3 http://${VIP}/ || echo FAIL; done`);
  return r.stdout.trim().split('\n');
}

/** One request from the client through the VIP answers with a real server's name. */
const goodRequest = () => RS.includes(ssh('client', `curl -s -m 2 http://${VIP}/`).stdout.trim());

/** Waits (polling every 0.5 s) for the first good request through the VIP; the seconds since `t0`, or undefined. */
async function firstGood(t0: number, limitMs: number): Promise<number | undefined> {
  while (Date.now() - t0 < limitMs) {
    if (goodRequest()) return (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}


/** What a real server or the director has of the farm right now (for failure messages). */
function farmState(): string {
  const rs = RS.map((h) => `${h}: ${ssh(h, 'systemctl is-active cf-web; ip -o addr show dev lo | grep -c 10.226.0.200; cat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce; systemctl --failed --no-legend').stdout.replace(/\n/g, ' ')}`);
  return [...rs, `director: ${ssh('director', 'ipvsadm -S -n; ip -o addr show dev eth0 | grep -c 10.226.0.200; systemctl --failed --no-legend').stdout.replace(/\n/g, ' ')}`].join(' | ');
}

/** Waits until every VM has finished booting (systemd: running or degraded). */
function waitBooted(): void {
  for (const h of VMS) expect(ssh(h, 'systemctl is-system-running --wait').stdout.trim(), h).toMatch(/^(running|degraded)$/);
}

function expectFarmWorks(when: string): void {
  waitBooted();
  const answers = throughVip(20);
  const got = answers.join(' ');
  if (answers.includes('FAIL')) expect.fail(`${when}: ${got}\n${farmState()}`);
  for (const h of RS) expect(answers.filter((a) => a === h).length, `${when}: ${got}`).toBe(10);
  expect(planChanges([INV]), when).toEqual([]);
}

describe.skipIf(!enabled)('lab: LVS-DR on Debian-image VMs, from bare, through reboots and power cuts', () => {
  beforeAll(() => {
    freshLab(INV, 'lvs-debian', LONG);
    const t2 = Date.now();
    for (const h of RS) {
      const r = ssh(h, webSetup(h), WEB_UNIT);
      expect(r.code, `${h}: ${r.stderr}`).toBe(0);
    }
    console.log(`lvs-debian: web servers set up in ${secs(t2)} s`);
  }, LONG);
  afterAll(() => {
    cli(['lab', 'down', INV]);
  });

  it('up from bare installs ipvsadm from the lab source and builds the farm; persistence is complete; a second up changes nothing', () => {
    for (const h of VMS) expect(ssh(h, 'dpkg -s ipvsadm >/dev/null 2>&1 && echo yes || echo no').stdout.trim()).toBe('no');
    let t = Date.now();
    const first = cliJson(['up', INV]);
    console.log(`lvs-debian: first up in ${secs(t)} s`);
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    expect(first.json.changed).toBeGreaterThan(0);
    expect(ssh('director', 'dpkg -s ipvsadm | grep Status').stdout.trim()).toBe('Status: install ok installed');
    const notPersisted = first.json.events.flatMap((e: any) => (e.notes ?? []).filter((n: string) => /not persisted/.test(n)).map((n: string) => `${e.host}: ${n}`));
    expect(notPersisted).toEqual([]);
    t = Date.now();
    const second = cliJson(['up', INV]);
    console.log(`lvs-debian: second up in ${secs(t)} s`);
    expect(second.code, second.stderr.slice(-3000)).toBe(0);
    expect(second.json.changed).toBe(0);
    expect(ssh('director', 'ipvsadm -S -n').stdout).toBe(`-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 10.226.0.21:80 -g -w 1\n-a -t ${VIP}:80 -r 10.226.0.22:80 -g -w 1\n`);
    expectFarmWorks('after up');
  }, LONG);

  it('guest reboot of every VM: without up, requests through the VIP reach every real server and plan reports 0 changes', async () => {
    const boot0 = VMS.map((h) => ssh(h, 'cat /proc/sys/kernel/random/boot_id').stdout.trim());
    const t = Date.now();
    const rs = await Promise.all(VMS.map((h) => cliAsync(['lab', 'reboot', INV, h]).done));
    rs.forEach((r, i) => expect(r.code, `${VMS[i]}: ${r.stderr}`).toBe(0));
    const good = await firstGood(t, 120_000);
    console.log(`lvs-debian: reboot of every VM: ${rs.map((r) => r.stdout.trim()).join('; ')}; first good request through the VIP ${good ?? 'never'} s after the reboot began`);
    VMS.forEach((h, i) => expect(ssh(h, 'cat /proc/sys/kernel/random/boot_id').stdout.trim(), h).not.toBe(boot0[i]));
    expect(good).toBeDefined();
    expectFarmWorks('after a guest reboot of every VM');
  }, LONG);

  it('power cut of every VM, then power on: without up, the farm is back and plan reports 0 changes', async () => {
    for (const h of VMS) {
      const k = cli(['lab', 'kill', INV, h]);
      expect(k.code, k.stderr).toBe(0);
    }
    expect(goodRequest()).toBe(false);
    const t0 = Date.now();
    const up = cliAsync(['lab', 'up', INV]);
    const good = await firstGood(t0, 600_000);
    const r = await up.done;
    expect(r.code, r.stderr).toBe(0);
    console.log(`lvs-debian: power-on: ${(r.stderr.match(/vm \S+ answers SSH after [\d.]+ s/g) ?? []).join('; ')}; first good request through the VIP ${good?.toFixed(1) ?? 'never'} s after power-on`);
    expect(good).toBeDefined();
    expectFarmWorks('after a power cut of every VM');
  }, LONG);

  it('down, then a reboot of every VM: nothing of the farm comes back (no VIP, no IPVS service, no sysctl or module file)', async () => {
    const d = cli(['down', INV, '--yes']);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const rs = await Promise.all(VMS.map((h) => cliAsync(['lab', 'reboot', INV, h]).done));
    rs.forEach((r, i) => expect(r.code, `${VMS[i]}: ${r.stderr}`).toBe(0));
    waitBooted();
    for (const h of VMS) {
      const vip = ssh(h, `ip -o addr show | grep -F ' ${VIP}/' || true`).stdout.trim();
      expect(vip, `${h}: the VIP came back`).toBe('');
      const files = ssh(h, 'ls /etc/sysctl.d/*clusterform* /etc/modules-load.d/*clusterform* /etc/network/interfaces.d/clusterform-* /etc/systemd/system/clusterform-* 2>/dev/null | grep -vx /etc/network/interfaces.d/clusterform-lab; true').stdout.trim(); // the lab's own address file stays
      expect(files, `${h}: clusterform files left`).toBe('');
      expect(ssh(h, 'cat /proc/sys/net/ipv4/conf/all/arp_ignore').stdout.trim(), h).toBe('0');
    }
    const ipvs = ssh('director', 'if [ -e /proc/net/ip_vs ]; then ipvsadm -S -n; fi').stdout.trim();
    expect(ipvs, 'an IPVS service came back').toBe('');
    expect(ssh('director', 'cat /proc/sys/net/ipv4/ip_forward').stdout.trim()).toBe('0');
    expect(goodRequest()).toBe(false);
  }, LONG);
});
