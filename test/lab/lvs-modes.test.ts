// End to end through `clusterform up`: LVS-NAT (director VM on two networks, real servers behind it) and LVS-TUN
// (director and real servers are VMs: ipip needs their own kernel). Traffic from a client through the VIP must reach
// every real server, evenly with rr; a second `up` changes nothing; a weight change is exactly one `ipvsadm -e`;
// `down` leaves the director without clusterform's services and the client without an answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cli, cliJson, isRoot, ROOT, sshFor } from '../helpers.js';

const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';

/** A tiny web server naming its host: python3 where the host has it (ns hosts), busybox httpd in the VMs. */
const startWeb = (name: string) =>
  `mkdir -p /tmp/cf-web && echo ${name} > /tmp/cf-web/index.html && cd /tmp/cf-web && ` +
  `if command -v python3 >/dev/null; then (setsid python3 -m http.server 80 --bind 0.0.0.0 >/dev/null 2>&1 &); ` +
  `else (setsid busybox httpd -f -p 0.0.0.0:80 -h /tmp/cf-web >/dev/null 2>&1 &); fi; sleep 0.5`;

function requests(ssh: ReturnType<typeof sshFor>, vip: string, n = 30): string[] {
  const r = ssh('client', `for i in $(seq ${n}); do curl -s -m 3 http://${vip}/ || echo FAIL; done`);
  return r.stdout.trim().split('\n');
}

function farm(label: string, file: string, vip: string, rsCmds: { rs1: string; rs2: string }) {
  const INV = resolve(ROOT, 'test/lab/inventories', file);
  const ssh = sshFor(INV);
  const tmp = mkdtempSync(join(tmpdir(), `cf-${label}-`));
  describe.skipIf(!enabled)(`LVS-${label.toUpperCase()} farm`, () => {
    beforeAll(() => {
      const r = cli(['lab', 'up', INV], { timeout: 600_000 });
      if (r.code !== 0) throw new Error(`lab up: ${r.stderr}`);
      for (const h of ['rs1', 'rs2'] as const) expect(ssh(h, rsCmds[h]).code).toBe(0);
    }, 600_000);
    afterAll(() => {
      cli(['lab', 'down', INV], { timeout: 300_000 });
      rmSync(tmp, { recursive: true, force: true });
    }, 300_000);

    it('up builds it; a second up changes nothing', () => {
      const first = cliJson(['up', INV]);
      expect(first.code, first.stderr + JSON.stringify(first.json?.events?.filter((e: any) => e.status === 'failed'))).toBe(0);
      expect(first.json.changed).toBeGreaterThan(0);
      const second = cliJson(['up', INV, '--stats']);
      expect(second.code).toBe(0);
      expect(second.json.changed).toBe(0);
      const director = second.json.events.filter((e: any) => e.type === 'task' && e.host === 'director' && e.module === 'ipvs');
      expect(director.every((e: any) => e.changes.length === 0)).toBe(true);
    }, 300_000);

    it('30 requests from the client through the VIP reach every real server, evenly (rr)', () => {
      const lines = requests(ssh, vip);
      expect(lines).toHaveLength(30);
      expect(lines.filter((l) => l === 'rs1').length).toBe(15);
      expect(lines.filter((l) => l === 'rs2').length).toBe(15);
    }, 120_000);

    it('a weight change is exactly one ipvsadm -e in plan, and up applies only it', () => {
      const changed = join(tmp, 'weight.yaml');
      const text = readFileSync(INV, 'utf8').replace(/\.lab\//g, resolve(ROOT, 'test/lab/inventories/.lab') + '/').replace('{ host: rs2, weight: 1 }', '{ host: rs2, weight: 3 }');
      writeFileSync(changed, text);
      const plan = cliJson(['plan', changed]);
      expect(plan.code).toBe(0);
      const wouldChange = plan.json.events.filter((e: any) => e.type === 'task' && e.status === 'would_change');
      expect(wouldChange.map((e: any) => `${e.host}:${e.module}`)).toEqual(['director:ipvs']);
      const ipvs = wouldChange[0];
      // the live table: one edit; the rules file for boot: one rewrite
      expect(ipvs.changes.filter((c: any) => !/^-[AEDaed] /.test(c.summary)).map((c: any) => c.summary)).toEqual([expect.stringMatching(/rules/)]);
      const edits = ipvs.changes.filter((c: any) => /^-[AEDaed] /.test(c.summary));
      expect(edits.map((c: any) => c.summary)).toEqual([expect.stringMatching(/^-e -t \S+:80 -r \S+ -[mgi] -w 3$/)]);
      const up = cliJson(['up', changed]);
      expect(up.code).toBe(0);
      expect(up.json.changed).toBe(1);
      expect(ssh('director', 'ipvsadm -S -n').stdout).toMatch(/-w 3/);
      const back = cliJson(['up', INV]);
      expect(back.json.changed).toBe(1);
    }, 300_000);

    it('down removes the farm: no clusterform service on the director, no VIP on the real servers, no answer', () => {
      const d = cliJson(['down', INV]);
      expect(d.code, d.stderr).toBe(0);
      expect(ssh('director', 'ipvsadm -S -n').stdout).toBe('');
      for (const h of ['rs1', 'rs2']) expect(ssh(h, 'ip -o addr').stdout).not.toContain(vip + '/');
      expect(requests(ssh, vip, 2)).toEqual(['FAIL', 'FAIL']);
      expect(cliJson(['down', INV]).json.changed).toBe(0);
    }, 300_000);
  });
}

farm('nat', 'nat.yaml', '10.221.0.200', { rs1: startWeb('rs1'), rs2: startWeb('rs2') });
farm('tun', 'tun.yaml', '10.222.0.200', { rs1: startWeb('rs1'), rs2: startWeb('rs2') });
