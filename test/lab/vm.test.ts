import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureVmArtifacts, startVm, stopVm, vmAlive, type VmSpec } from '../../src/lab/vm.js';

const execFileP = promisify(execFile);
const NETNS = 'cfvt-br';
const VETH_ROOT = 'cfvt-h';
const VETH_NS = 'cfvt-n';
const VM_IP = '10.218.0.1';
const CACHE = process.env.CLUSTERFORM_VM_CACHE ?? '/var/cache/clusterform/vm';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function quiet(cmd: string, args: string[]): void {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); } catch { /* ignore */ }
}

describe.skipIf(process.getuid?.() !== 0)('lab vm host kind (qemu/TCG)', { timeout: 120_000 }, () => {
  let tmp = '';
  let spec: VmSpec;
  let sshArgs: string[] = [];
  const timings: Record<string, number> = {};

  async function ssh(command: string, timeoutMs = 60_000): Promise<string> {
    const r = await execFileP('ssh', [...sshArgs, `root@${VM_IP}`, command], { timeout: timeoutMs, encoding: 'utf8' });
    return r.stdout;
  }

  beforeAll(async () => {
    const t0 = Date.now();
    await ensureVmArtifacts(CACHE, (s) => console.log(s));
    timings.artefactsFirstCallMs = Date.now() - t0;
    const t1 = Date.now();
    await ensureVmArtifacts(CACHE);
    timings.artefactsWarmMs = Date.now() - t1;

    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cfvt-'));
    // leftovers from an aborted run
    quiet('ip', ['link', 'del', VETH_ROOT]);
    quiet('ip', ['netns', 'del', NETNS]);
    sh('ip', ['netns', 'add', NETNS]);
    sh('ip', ['-n', NETNS, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', NETNS, 'link', 'set', 'br0', 'up']);
    sh('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
    sh('ip', ['link', 'add', VETH_ROOT, 'type', 'veth', 'peer', 'name', VETH_NS, 'netns', NETNS]);
    sh('ip', ['-n', NETNS, 'link', 'set', VETH_NS, 'master', 'br0', 'up']);
    sh('ip', ['addr', 'add', '10.218.0.254/24', 'dev', VETH_ROOT]);
    sh('ip', ['link', 'set', VETH_ROOT, 'up']);

    const hostKeyDir = path.join(tmp, 'hostkey');
    fs.mkdirSync(hostKeyDir);
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vt-host', '-f', path.join(hostKeyDir, 'ssh_host_ed25519_key')]);
    const clientKey = path.join(tmp, 'id_ed25519');
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vt-client', '-f', clientKey]);
    const hostPub = fs.readFileSync(path.join(hostKeyDir, 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHosts = path.join(tmp, 'known_hosts');
    fs.writeFileSync(knownHosts, `${VM_IP} ${hostPub}\n`);
    sshArgs = ['-i', clientKey, '-F', '/dev/null', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', '-o', 'LogLevel=ERROR'];

    const image = path.join(tmp, 'shared.img');
    const fd = fs.openSync(image, 'w');
    fs.ftruncateSync(fd, 64 * 1024 * 1024);
    fs.closeSync(fd);

    spec = {
      lab: 'vt', name: 'vm1', hostname: 'cfvt-vm1',
      stateDir: path.join(tmp, 'vm1'), cacheDir: CACHE, netns: NETNS,
      nics: [{ tap: 'cfvt-tap0', bridge: 'br0', mac: '52:54:00:21:80:01', address: VM_IP, prefix: 24 }],
      disks: [{ image, id: 'clusterform-vt-shared' }],
      hostKeyDir, authorizedKeys: fs.readFileSync(`${clientKey}.pub`, 'utf8'),
    };
    const tb = Date.now();
    const { pid } = await startVm(spec);
    expect(pid).toBeGreaterThan(0);
    expect(vmAlive(spec.stateDir)).toBe(true);
    // wait for ssh
    let ok = false;
    while (Date.now() - tb < 60_000) {
      try { await ssh('true', 10_000); ok = true; break; } catch { await new Promise((r) => setTimeout(r, 500)); }
    }
    timings.bootToSshMs = Date.now() - tb;
    if (!ok) {
      const con = fs.existsSync(path.join(spec.stateDir, 'console.log')) ? fs.readFileSync(path.join(spec.stateDir, 'console.log'), 'utf8') : '';
      throw new Error(`ssh not ready after 60 s; console:\n${con.slice(-4000)}`);
    }
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    timings.qemuRssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }, 600_000);

  afterAll(async () => {
    console.log('vm timings', JSON.stringify(timings));
    if (spec) {
      try {
        const pid = Number(fs.readFileSync(path.join(spec.stateDir, 'qemu.pid'), 'utf8'));
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        console.log('qemu RSS after tests', /VmRSS:\s+(\d+ kB)/.exec(status)?.[1]);
      } catch { /* not running */ }
      await stopVm(spec);
      expect(vmAlive(spec.stateDir)).toBe(false);
      await stopVm(spec); // idempotent
    }
    quiet('ip', ['link', 'del', VETH_ROOT]);
    quiet('ip', ['netns', 'del', NETNS]);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('reports its hostname', async () => {
    expect((await ssh('hostname')).trim()).toBe('cfvt-vm1');
  });

  it('has IPVS', async () => {
    const out = await ssh('modprobe ip_vs && ipvsadm -A -t 10.218.0.100:80 -s rr && ipvsadm -S -n');
    expect(out).toContain('-A -t 10.218.0.100:80 -s rr');
  });

  it('has ipip', async () => {
    await ssh('modprobe ipip && ip link show tunl0');
  });

  it('shows the shared disk by id and sfdisk works', async () => {
    const dev = (await ssh('readlink -f /dev/disk/by-id/clusterform-vt-shared')).trim();
    expect(dev).toMatch(/^\/dev\/vd[a-z]$/);
    await ssh(`printf 'label: gpt\\n,16M\\n' | sfdisk -q ${dev}`);
    const j = JSON.parse(await ssh(`sfdisk --json ${dev}`)) as { partitiontable: { label: string; partitions: unknown[] } };
    expect(j.partitiontable.label).toBe('gpt');
    expect(j.partitiontable.partitions).toHaveLength(1);
    // partition links follow (mdev); `udevadm settle` (a shim in the guest) refreshes them synchronously
    const part = (await ssh('udevadm settle && readlink -f /dev/disk/by-id/clusterform-vt-shared-part1')).trim();
    expect(part).toBe(`${dev}1`);
  });

  it('has iptables NAT', async () => {
    const out = await ssh('iptables -t nat -A POSTROUTING -s 10.218.0.0/24 -j MASQUERADE && iptables -t nat -S');
    expect(out).toContain('-A POSTROUTING -s 10.218.0.0/24 -j MASQUERADE');
    const legacy = await ssh('iptables-legacy -t nat -A POSTROUTING -s 10.218.0.0/24 -j MASQUERADE && iptables-legacy -t nat -S');
    expect(legacy).toContain('MASQUERADE');
  });

  it('reports Debian', async () => {
    expect((await ssh('cat /etc/os-release')).toLowerCase()).toContain('debian');
  });

  it('has the usual tools', async () => {
    const out = await ssh([
      'set -e',
      'f=$(mktemp)',
      'flock "$f" true',
      'echo aGVsbG8= | base64 -d',
      'echo',
      'echo hello | sha256sum | cut -c1-8',
      'sysctl -w net.ipv4.ip_forward=1',
      'stat -c %s "$f"',
      'rm -f "$f"',
    ].join('\n'));
    expect(out).toContain('hello');
    expect(out).toContain('5891b5b5');
    expect(out).toContain('net.ipv4.ip_forward = 1');
  });

  it('supports sftp', async () => {
    const local = path.join(tmp, 'up.txt');
    fs.writeFileSync(local, 'sftp-ok\n');
    execFileSync('sftp', [...sshArgs, '-b', '-', `root@${VM_IP}`], { input: `put ${local} /tmp/up.txt\n`, stdio: ['pipe', 'ignore', 'pipe'], timeout: 30_000 });
    expect((await ssh('cat /tmp/up.txt')).trim()).toBe('sftp-ok');
  });
});
