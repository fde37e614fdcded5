// End to end: the LVS-DR farm of inventory/lab.yaml (director qemu VM, rs1/rs2 ns hosts, client): build, second run
// changes nothing, 30 HTTP requests through the VIP reach both real servers, a foreign IPVS service is left alone,
// teardown removes exactly what was built.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { cliJson, isRoot, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'inventory/lab.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';

function run(playbook: string): { code: number; json: any; stderr: string; failed: string } {
  const r = cliJson(['run', resolve(ROOT, playbook), '-i', INV, '-y']);
  const failed = JSON.stringify((r.json?.events ?? []).filter((e: any) => e.status === 'failed' || e.type === 'host'));
  return { code: r.code, json: r.json, stderr: r.stderr.slice(-2000), failed };
}

describe.skipIf(!enabled)('LVS-DR lab', () => {
  beforeAll(() => {
    for (const h of ['rs1', 'rs2'])
      expect(ssh(h, `mkdir -p /tmp/cf-lvs-web && echo ${h} > /tmp/cf-lvs-web/index.html && cd /tmp/cf-lvs-web && (setsid python3 -m http.server 80 --bind 0.0.0.0 >/dev/null 2>&1 & echo $! > /tmp/cf-lvs-web.pid)`).code).toBe(0);
  }, 60_000);
  afterAll(() => {
    for (const h of ['rs1', 'rs2']) ssh(h, 'kill $(cat /tmp/cf-lvs-web.pid) 2>/dev/null; rm -rf /tmp/cf-lvs-web /tmp/cf-lvs-web.pid');
    ssh('director', 'ipvsadm -D -u 10.213.0.200:53 2>/dev/null; true');
    run('playbooks/lvs-teardown.yaml');
  });

  it('builds the farm, and a second run changes nothing', () => {
    const first = run('playbooks/lvs.yaml');
    expect(first.code, first.stderr).toBe(0);
    const second = run('playbooks/lvs.yaml');
    expect(second.code, second.stderr).toBe(0);
    expect(second.json?.changed).toBe(0);
    expect(ssh('director', 'ipvsadm -S -n').stdout).toBe('-A -t 10.213.0.200:80 -s rr\n-a -t 10.213.0.200:80 -r 10.213.0.21:80 -g -w 1\n-a -t 10.213.0.200:80 -r 10.213.0.22:80 -g -w 1\n');
  }, 300_000);

  it('30 HTTP requests through the VIP reach both real servers', () => {
    const r = ssh('client', 'for i in $(seq 30); do curl -s -m 5 http://10.213.0.200/ || echo FAIL; done');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(30);
    expect(lines.filter((l) => l === 'rs1').length).toBe(15);
    expect(lines.filter((l) => l === 'rs2').length).toBe(15);
  }, 120_000);

  it('leaves a foreign service alone, and teardown removes only what it built', () => {
    expect(ssh('director', 'ipvsadm -A -u 10.213.0.200:53 -s rr').code).toBe(0);
    const again = run('playbooks/lvs.yaml');
    expect(again.json?.changed, again.failed).toBe(0);
    const down = run('playbooks/lvs-teardown.yaml');
    expect(down.code, down.stderr + down.failed).toBe(0);
    expect(ssh('director', 'ipvsadm -S -n').stdout).toBe('-A -u 10.213.0.200:53 -s rr\n');
    expect(ssh('director', 'ls /etc/ipvsadm.rules /var/lib/clusterform/ipvs-owned 2>/dev/null; true').stdout).toBe('');
    for (const h of ['rs1', 'rs2']) {
      expect(ssh(h, 'ip -o addr show dev lo').stdout).not.toContain('10.213.0.200');
      expect(ssh(h, 'cat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/lo/arp_announce').stdout).toBe('0\n0\n');
    }
    const redo = run('playbooks/lvs-teardown.yaml');
    expect(redo.json?.changed).toBe(0);
  }, 300_000);
});
