// Integration test of the local lab's ns hosts (needs root; creates real namespaces, sshd's and a loop device).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientKeyPath, knownHostsPath, labConfigFromInventory, labDown, labStatus, labUp } from '../../src/lab/index.js';
import type { InventoryLike, LabConfig, LabStatus } from '../../src/lab/index.js';

const isRoot = process.getuid?.() === 0;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}
function snapshot(stateDir: string) {
  const procs = sh('ps', ['-eo', 'pid=,args=', '-ww'])
    .split('\n')
    .filter((l) => l.includes(stateDir) && !/\bps -eo\b/.test(l))
    .sort();
  return {
    netns: sh('ip', ['netns', 'list']).split('\n').sort(),
    links: sh('ip', ['-o', 'link']).split('\n').map((l) => l.replace(/^\d+:\s*/, '').replace(/\s+link\/.*$/, '')).sort(),
    loops: sh('losetup', ['-l']),
    mounts: readFileSync('/proc/mounts', 'utf8').split('\n').sort(),
    procs,
  };
}

describe('lab config', () => {
  it('derives networks, chooses free addresses from the top, names interfaces <= 15 chars', () => {
    const cfg = labConfigFromInventory(
      {
        cluster: 'demo',
        hosts: { n1: { address: '10.219.0.11' }, n2: { address: '10.219.0.12' }, d: { address: '10.219.0.1' } },
        ha: { members: ['n1', 'n2'], shared_disk: '/dev/x', services: [{ address: '10.219.0.253' }] },
        lvs: { vip: '10.219.0.252', directors: ['d'], nat: { gateway: '10.219.1.254' } },
        lab: {
          networks: { public: { subnet: '10.219.0.0/24' }, private: { subnet: '10.219.1.0/24' } },
          hosts: { d: { kind: 'vm', networks: ['public', 'private'] }, n1: { networks: ['public', 'private'], addresses: { private: '10.219.1.11' } } },
          disks: { shared: { size: '2G', hosts: ['n1', 'n2'] } },
        },
      },
      '/srv/inv/lab.yaml',
    );
    expect(cfg.stateDir).toBe('/srv/inv/.lab/demo');
    expect(cfg.networks.map((n) => n.controller)).toEqual(['10.219.0.254', '10.219.1.253']);
    const d = cfg.hosts.find((h) => h.name === 'd')!;
    expect(d.kind).toBe('vm');
    expect(d.nics.map((n) => [n.ifname, n.address])).toEqual([['eth0', '10.219.0.1'], ['eth1', '10.219.1.252']]);
    expect(cfg.chosen.hosts).toEqual({ d: { private: '10.219.1.252' } });
    expect(cfg.hosts.find((h) => h.name === 'n1')!.nics[1]!.address).toBe('10.219.1.11');
    expect(cfg.disks[0]).toMatchObject({ sizeBytes: 2 * 1024 ** 3, byIdPath: '/dev/disk/by-id/clusterform-demo-shared' });
    for (const h of cfg.hosts) for (const n of h.nics) expect(n.peer.length).toBeLessThanOrEqual(15);
    expect(() => labConfigFromInventory({ cluster: 'Bad_Name', hosts: { a: { address: '10.0.0.1' } } }, '/x/i.yaml')).toThrow(/a-z0-9/);
    // default network: the /24 around the addresses
    expect(labConfigFromInventory({ cluster: 'x', hosts: { a: { address: '10.219.3.7' } } }, '/x/i.yaml').networks[0]).toMatchObject({
      name: 'public',
      subnet: '10.219.3.0/24',
      controller: '10.219.3.254',
    });
  });
});

describe.skipIf(!isRoot)('lab ns hosts (root)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cf-lab-test-'));
  const inv: InventoryLike = {
    cluster: 't-ns',
    hosts: { a: { address: '10.219.0.11' }, b: { address: '10.219.0.12' }, c: { address: '10.219.0.13' } },
    lab: { networks: { public: { subnet: '10.219.0.0/24' } }, disks: { shared: { size: '64M', hosts: ['a', 'b'] } } },
  };
  const cfg: LabConfig = labConfigFromInventory(inv, path.join(tmp, 'inventory.yaml'));
  let before: ReturnType<typeof snapshot>;
  let status: LabStatus;

  const ssh = (addr: string, cmd: string) => {
    const r = spawnSync(
      'ssh',
      [
        '-i', clientKeyPath(cfg),
        '-o', `UserKnownHostsFile=${knownHostsPath(cfg)}`,
        '-o', 'StrictHostKeyChecking=yes',
        '-o', 'BatchMode=yes',
        '-o', 'ConnectTimeout=5',
        '-F', '/dev/null',
        `root@${addr}`,
        cmd,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (r.status !== 0) throw new Error(`ssh ${addr} ${cmd} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    await labDown(cfg).catch(() => {}); // leftovers of an aborted earlier run
    before = snapshot(cfg.stateDir);
    status = await labUp(cfg);
  }, 60_000);

  afterAll(async () => {
    try {
      await labDown(cfg);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);

  it('config: state dir, names, controller address', () => {
    expect(cfg.stateDir).toBe(path.join(tmp, '.lab', 't-ns'));
    expect(cfg.networks[0]!.controller).toBe('10.219.0.254');
    expect(status.controller).toEqual({ public: '10.219.0.254' });
    for (const h of cfg.hosts) for (const n of h.nics) expect(n.peer.length).toBeLessThanOrEqual(15);
    expect(status.hosts.map((h) => [h.name, h.running])).toEqual([['a', true], ['b', true], ['c', true]]);
  });

  it('lab up of the same lab name from another state directory is refused and changes nothing; this lab still answers', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'cf-lab-other-'));
    try {
      const cfg2 = labConfigFromInventory(inv, path.join(other, 'inventory.yaml'));
      await expect(labUp(cfg2)).rejects.toThrow(`lab t-ns is already running from ${cfg.stateDir}, not ${cfg2.stateDir}`);
      expect(existsSync(cfg2.stateDir), 'nothing made for the refused lab').toBe(false);
      for (const h of cfg.hosts) expect(ssh(h.primaryAddress, 'hostname').trim()).toBe(h.name);
      expect((await labUp(cfg)).hosts.every((h) => h.running), 'lab up from its own state directory still repairs it').toBe(true);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  }, 60_000);

  it('every host answers over ssh with a verified host key and its own hostname', () => {
    for (const h of cfg.hosts) expect(ssh(h.primaryAddress, 'hostname').trim()).toBe(h.name);
  });

  it('controller and hosts reach each other through permanent neighbour entries (no learned entry counts against gc_thresh3)', () => {
    const net = cfg.networks[0]!;
    const ctl = sh('ip', ['-4', 'neigh', 'show', 'dev', net.controllerIf]);
    for (const h of cfg.hosts) expect(ctl).toContain(`${h.primaryAddress} lladdr ${h.nics[0]!.mac} PERMANENT`);
    expect(ctl).not.toMatch(/REACHABLE|STALE|DELAY|PROBE/);
    expect(sh('ip', ['-o', 'link', 'show', 'dev', net.controllerIf])).toContain(`link/ether ${net.controllerMac} `);
    for (const h of cfg.hosts) expect(sh('ip', ['-n', h.netns, '-4', 'neigh', 'show', 'dev', 'eth0'])).toBe(`${net.controller} lladdr ${net.controllerMac} PERMANENT \n`);
  });

  it('/etc is per host: writes do not reach the machine or other hosts', () => {
    const machineHosts = readFileSync('/etc/hosts', 'utf8');
    ssh('10.219.0.11', 'echo "10.219.0.99 only-on-a" >> /etc/hosts');
    expect(ssh('10.219.0.11', 'cat /etc/hosts')).toContain('only-on-a');
    expect(ssh('10.219.0.12', 'cat /etc/hosts')).not.toContain('only-on-a');
    expect(readFileSync('/etc/hosts', 'utf8')).toBe(machineHosts);
    expect(readFileSync('/etc/ssh/sshd_config', 'utf8')).not.toContain('cf_authorized_keys');
  });

  it('a partition table written on the shared disk from a is seen on b after partx -u', () => {
    const disk = cfg.disks[0]!.byIdPath;
    expect(disk).toBe('/dev/disk/by-id/clusterform-t-ns-shared');
    ssh('10.219.0.11', `echo 'label: dos\n,16M,L\n,,L' | sfdisk -q ${disk}`);
    const dev = status.disks[0]!.device!;
    expect(dev).toMatch(/^\/dev\/loop\d+$/);
    const base = path.basename(dev);
    ssh('10.219.0.12', `partx -u ${disk} || true`);
    const parts = ssh('10.219.0.12', 'cat /proc/partitions');
    expect(parts).toContain(`${base}p1`);
    expect(parts).toContain(`${base}p2`);
    expect(ssh('10.219.0.12', `sfdisk -d ${disk}`)).toContain('type=83');
  });

  it('labUp on a running lab is a no-op; a killed sshd is restarted', async () => {
    const pids = (await labStatus(cfg)).hosts.map((h) => h.pid);
    expect(pids.every((p) => typeof p === 'number')).toBe(true);
    const again = await labUp(cfg);
    expect(again.hosts.map((h) => h.pid)).toEqual(pids);
    // a daemon started over ssh survives the sshd restart, and the new sshd joins its mount namespace
    const daemon = Number(ssh('10.219.0.12', 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!').trim());
    const daemonMnt = readlinkSync(`/proc/${daemon}/ns/mnt`);
    ssh('10.219.0.12', 'echo "10.219.0.98 only-on-b" >> /etc/hosts');
    process.kill(pids[1]!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    expect((await labStatus(cfg)).hosts[1]!.running).toBe(false);
    const repaired = await labUp(cfg);
    expect(repaired.hosts[1]!.running).toBe(true);
    expect(repaired.hosts[1]!.pid).not.toBe(pids[1]);
    expect(repaired.hosts[0]!.pid).toBe(pids[0]);
    expect(repaired.hosts[2]!.pid).toBe(pids[2]);
    expect(ssh('10.219.0.12', 'hostname').trim()).toBe('b');
    expect(readlinkSync(`/proc/${repaired.hosts[1]!.pid}/ns/mnt`)).toBe(daemonMnt);
    expect(ssh('10.219.0.12', 'cat /etc/hosts')).toContain('only-on-b');
    // the overlay survives the restart
    expect(ssh('10.219.0.11', 'cat /etc/hosts')).toContain('only-on-a');
  }, 30_000);

  it('labUp re-creates a missing link and keeps the running sshd', async () => {
    const c = cfg.hosts[2]!;
    const pid = (await labStatus(cfg)).hosts[2]!.pid;
    execFileSync('ip', ['-n', cfg.bridgeNs, 'link', 'del', c.nics[0]!.peer]);
    const st = await labUp(cfg);
    expect(st.hosts[2]!.pid).toBe(pid);
    expect(ssh(c.primaryAddress, 'hostname').trim()).toBe('c');
  }, 30_000);

  it('labDown restores the machine exactly; twice is fine', async () => {
    await labDown(cfg);
    expect(snapshot(cfg.stateDir)).toEqual(before);
    await labDown(cfg);
    expect(snapshot(cfg.stateDir)).toEqual(before);
  }, 30_000);
});
