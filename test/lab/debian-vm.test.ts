// A Debian-image lab VM (lab.hosts.X: { kind: vm, image: debian }) through the real CLI: a real minimal Debian 12
// boots from its own qcow2 overlay, reboots (guest reboot), survives a power cut (lab kill + lab up) with its disk,
// installs a package from the lab's package source, and `lab down` removes the overlay, its qemu and the source's
// server. Prints the times (lab up with the image cached or built, reboot, power-on).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, isRoot, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'test/lab/inventories/debian.yaml');
const STATE = resolve(ROOT, 'test/lab/inventories/.lab/t-debian');
const VM_DIR = resolve(STATE, 'hosts/deb1/vm');
const OVERLAY = resolve(VM_DIR, 'root.qcow2');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const LONG = { timeout: 2_400_000 }; // the first run builds the image (debootstrap)

function qemuPid(): number | undefined {
  try {
    return Number(readFileSync(resolve(VM_DIR, 'qemu.pid'), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}
const alive = (pid: number) => existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('qemu-system');

describe.skipIf(!enabled)('lab: a Debian-image VM', () => {
  beforeAll(() => {
    cli(['lab', 'down', INV]);
    const t = Date.now();
    const up = cli(['lab', 'up', INV], LONG);
    console.log(`debian-vm: lab up (image cached or built) in ${((Date.now() - t) / 1000).toFixed(1)} s\n${up.stderr}`);
    expect(up.code, up.stderr + up.stdout).toBe(0);
  }, LONG.timeout);
  afterAll(() => {
    cli(['lab', 'down', INV]);
  });

  it('boots a real minimal Debian 12 with systemd, reachable with the lab key, without cluster packages', () => {
    expect(ssh('deb1', 'hostname').stdout.trim()).toBe('deb1');
    expect(ssh('deb1', '. /etc/os-release; echo $ID $VERSION_ID').stdout.trim()).toBe('debian 12');
    const state = ssh('deb1', 'systemctl is-system-running --wait').stdout.trim();
    expect(['running', 'degraded'], ssh('deb1', 'systemctl --failed --no-legend').stdout).toContain(state);
    expect(ssh('deb1', 'cat /proc/1/comm').stdout.trim()).toBe('systemd');
    expect(ssh('deb1', 'dpkg -s ipvsadm').code).not.toBe(0);
    expect(ssh('deb1', 'dpkg -s ifupdown openssh-server apt >/dev/null && echo ok').stdout.trim()).toBe('ok');
    // no way out of the lab: no default route
    expect(ssh('deb1', 'ip route show default').stdout.trim()).toBe('');
    expect(existsSync(OVERLAY)).toBe(true);
  }, 120_000);

  it('installs ipvsadm from the lab\'s package source, its only apt source', () => {
    expect(ssh('deb1', 'grep -rhv "^#" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null').stdout.trim()).toBe('deb [trusted=yes] http://10.225.0.254:8780/ ./');
    const r = ssh('deb1', 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ipvsadm && ipvsadm -L -n');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/IP Virtual Server version/);
    expect(ssh('deb1', 'dpkg -s ipvsadm | grep Status').stdout.trim()).toBe('Status: install ok installed');
  }, 300_000);

  it('an ns host: lab reboot is refused with a reason; lab kill stops it and lab up starts it again', () => {
    const r = cli(['lab', 'reboot', INV, 'ns1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ns1 is an ns host: it shares this machine's kernel and cannot be rebooted/);
    expect(cli(['lab', 'kill', INV, 'ns1']).code).toBe(0);
    expect(cli(['lab', 'status', INV]).stdout).toMatch(/ns1 .*STOPPED/);
    expect(ssh('ns1', 'true').code).not.toBe(0);
    const up = cli(['lab', 'up', INV], { timeout: 300_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(ssh('ns1', 'hostname').stdout.trim()).toBe('ns1');
  }, 300_000);

  it('lab reboot: a guest reboot (same qemu), SSH answers again, the disk is kept', () => {
    expect(ssh('deb1', 'echo before-reboot > /root/marker-reboot && sync').code).toBe(0);
    const boot0 = ssh('deb1', 'cat /proc/sys/kernel/random/boot_id').stdout.trim();
    const pid = qemuPid();
    const r = cli(['lab', 'reboot', INV, 'deb1'], { timeout: 600_000 });
    expect(r.code, r.stderr).toBe(0);
    console.log(`debian-vm: ${r.stdout.trim()}`);
    expect(r.stdout).toMatch(/deb1 rebooted: SSH answers again after [\d.]+ s/);
    expect(ssh('deb1', 'cat /proc/sys/kernel/random/boot_id').stdout.trim()).not.toBe(boot0);
    expect(qemuPid()).toBe(pid);
    expect(ssh('deb1', 'cat /root/marker-reboot').stdout.trim()).toBe('before-reboot');
  }, 600_000);

  it('lab kill + lab up: a power cut, then power on; a synced file is still there (the overlay survives)', () => {
    expect(ssh('deb1', 'echo before-kill > /root/marker-kill && sync').code).toBe(0);
    const pid = qemuPid()!;
    const k = cli(['lab', 'kill', INV, 'deb1']);
    expect(k.code, k.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(cli(['lab', 'status', INV]).stdout).toMatch(/deb1 .*STOPPED/);
    expect(existsSync(OVERLAY)).toBe(true);
    const up = cli(['lab', 'up', INV], { timeout: 600_000 });
    expect(up.code, up.stderr).toBe(0);
    console.log(`debian-vm: power-on: ${/vm deb1 answers SSH after [\d.]+ s/.exec(up.stderr)?.[0]}`);
    expect(up.stderr).toMatch(/vm deb1 answers SSH after [\d.]+ s/);
    expect(ssh('deb1', 'cat /root/marker-kill').stdout.trim()).toBe('before-kill');
  }, 600_000);

  it('lab reboot is refused for nothing that is not a host, and lab down removes the overlay and the qemu', () => {
    const bad = cli(['lab', 'reboot', INV, 'nohost']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/no host nohost/);
    const pid = qemuPid()!;
    const down = cli(['lab', 'down', INV]);
    expect(down.code, down.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(OVERLAY)).toBe(false);
    expect(existsSync(STATE)).toBe(false);
    expect(spawnSync('ss', ['-Hltn', 'sport = :8780'], { encoding: 'utf8' }).stdout.trim()).toBe(''); // package source stopped
  }, 120_000);
});
