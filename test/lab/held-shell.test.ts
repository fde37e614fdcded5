// The held shell end to end (real CLI, real sshd in namespaces): every probe and apply of a host goes through the one
// long-lived shell that holds the run lock, so the number of SSH channels per host does not grow with the round trips;
// a host that drops mid-message is reported and does not hang the run; a script that kills the shell fails clearly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cli, cliAsync, cliJson, isRoot, ROOT, sshFor } from '../helpers.js';
import { labConfigFromFile } from '../../src/lab/index.js';

const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const INV = resolve(ROOT, 'test/lab/inventories/held.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'cf-held-'));
const ssh = sshFor(INV);
const netnsOf = (host: string) => labConfigFromFile(INV).hosts.find((h) => h.name === host)!.netns;
const nsPids = (host: string) => execSync(`ip netns pids ${netnsOf(host)}`, { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
/** The namespace's one non-loopback link. */
const linkOf = (host: string) => execSync(`ip -n ${netnsOf(host)} -o link show`, { encoding: 'utf8' }).split('\n').map((l) => l.split(': ')[1]?.split('@')[0]).find((n) => n && n !== 'lo')!;

function playbook(name: string, yaml: string): string {
  const f = join(tmp, `${name}.pb.yaml`);
  writeFileSync(f, yaml);
  return f;
}
const recapOf = (json: any, host: string) => json.recap.find((h: any) => h.host === host);
/** Ten independent commands: one probe, then one apply carrying all ten (batched) per host. */
const tenSteps = playbook('ten', `- name: ten\n  hosts: all\n  tasks:\n${Array.from({ length: 10 }, (_, i) =>
  `    - name: step ${i}\n      command: { argv: [touch, /root/held-${i}], creates: /root/held-${i} }\n`).join('')}`);
/** The same with a timeout each (a task with its own timeout goes alone): ten round trips or more per host. */
const tenTimed = playbook('ten-timed', `- name: ten\n  hosts: all\n  tasks:\n${Array.from({ length: 10 }, (_, i) =>
  `    - name: step ${i}\n      timeout: 60\n      command: { argv: [touch, /root/held-${i}], creates: /root/held-${i} }\n`).join('')}`);

describe.skipIf(!enabled)('the held shell on real SSH hosts', () => {
  beforeAll(() => {
    cli(['lab', 'down', INV]);
    const r = cli(['lab', 'up', INV]);
    if (r.code !== 0) throw new Error(`lab up failed: ${r.stderr}`);
  }, 300_000);
  afterAll(() => {
    for (const h of ['h1', 'h2', 'h3']) spawnSync('ip', ['-n', netnsOf(h), 'link', 'set', linkOf(h), 'up']);
    cli(['lab', 'down', INV]);
    rmSync(tmp, { recursive: true, force: true });
  }, 300_000);

  it('up converges and a second up changes nothing, each over one SSH channel per host', () => {
    const first = cliJson(['up', INV, '--stats']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.changed).toBe(3);
    const second = cliJson(['up', INV, '--stats']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json.changed).toBe(0);
    for (const r of [first, second]) for (const h of r.json.recap) {
      expect(h.stats.connections).toBe(1);
      expect(h.stats.commands, `${h.host}: SSH channels`).toBe(1);
    }
    expect(ssh('h2', 'getent hosts h3').stdout).toMatch(/^10\.236\.0\.13\s+h3/);
  });

  it('the channels per host stay constant with the held shell, and grow with the round trips without it', () => {
    const held = cliJson(['run', tenSteps, '-i', INV, '--stats']);
    expect(held.code, held.stderr).toBe(0);
    expect(held.json.changed).toBe(30);
    for (const h of held.json.recap) expect(h.stats.commands).toBe(1);
    for (const h of ['h1', 'h2', 'h3']) ssh(h, 'rm -f /root/held-*');
    // a channel per round trip: the lock, the probe, and one apply for all ten changes (batched)
    const batched = cliJson(['run', tenSteps, '-i', INV, '--stats', '--no-held-shell']);
    expect(batched.code, batched.stderr).toBe(0);
    expect(batched.json.changed).toBe(30);
    for (const h of batched.json.recap) expect(h.stats.commands, `${h.host}: lock, probe, one apply`).toBe(3);
    for (const h of ['h1', 'h2', 'h3']) expect(ssh(h, 'ls /root | grep -c held-').stdout.trim()).toBe('10');
    for (const h of ['h1', 'h2', 'h3']) ssh(h, 'rm -f /root/held-*');
    const perChannel = cliJson(['run', tenTimed, '-i', INV, '--stats', '--no-held-shell']);
    expect(perChannel.code, perChannel.stderr).toBe(0);
    expect(perChannel.json.changed).toBe(30);
    for (const h of perChannel.json.recap) expect(h.stats.commands).toBeGreaterThan(10);
    console.log(`channels per host for 10 command tasks: held shell ${held.json.recap.map((h: any) => h.stats.commands).join('/')}, ` +
      `one per round trip ${batched.json.recap.map((h: any) => h.stats.commands).join('/')} (batched), ` +
      `${perChannel.json.recap.map((h: any) => h.stats.commands).join('/')} (each with its own timeout)`);
  });

  it('three sysctl tasks persisting to one file: one round trip, each planned from the file the one before it wrote', () => {
    const names = ['net.ipv4.conf.lo.arp_ignore', 'net.ipv4.conf.lo.arp_announce', 'net.ipv4.conf.all.arp_ignore'];
    const pb = playbook('sysctls', `- name: s\n  hosts: all\n  tasks:\n${names.map((n, i) =>
      `    - name: ${n}\n      sysctl: { name: ${n}, value: "${i === 1 ? 2 : 1}", file: /etc/sysctl.d/91-batch.conf }\n`).join('')}`);
    const setup = 'rm -f /etc/sysctl.d/91-batch.conf /var/lib/clusterform/sysctl/net.ipv4.conf.*; for f in lo/arp_ignore lo/arp_announce all/arp_ignore; do echo 0 > /proc/sys/net/ipv4/conf/$f; done';
    for (const h of ['h1', 'h2', 'h3']) ssh(h, setup);
    const first = cliJson(['run', pb, '-i', INV, '--stats', '--no-held-shell']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.changed).toBe(9);
    for (const h of first.json.recap) expect(h.stats.commands, `${h.host}: lock, probe, one apply`).toBe(3);
    const notes = first.json.events.filter((e: any) => e.type === 'task').flatMap((e: any) => e.notes ?? []);
    expect(notes.filter((n: string) => n.startsWith('applied in the same round trip'))).toHaveLength(6);
    expect(notes.filter((n: string) => n.startsWith('planned again'))).toHaveLength(0);
    for (const h of ['h1', 'h2', 'h3']) {
      expect(ssh(h, 'grep -c " = " /etc/sysctl.d/91-batch.conf').stdout.trim()).toBe('3');
      expect(ssh(h, 'cat /proc/sys/net/ipv4/conf/lo/arp_ignore /proc/sys/net/ipv4/conf/lo/arp_announce /proc/sys/net/ipv4/conf/all/arp_ignore').stdout).toBe('1\n2\n1\n');
    }
    const again = cliJson(['run', pb, '-i', INV]);
    expect(again.json.changed).toBe(0);
    for (const h of ['h1', 'h2', 'h3']) ssh(h, setup);
  });

  it('a script that kills the held shell fails its task with a clear error; the lock is free for the next run', () => {
    // the nearest ancestor that is the held shell (its command line holds the server loop), killed
    ssh('h1', 'cat > /root/kill-shell.sh', [
      'p=$PPID',
      'while [ "$p" -gt 1 ]; do',
      '  case $(tr "\\0" " " < /proc/$p/cmdline) in *@@CF-REQ*) kill -9 "$p"; exit 0 ;; esac',
      '  p=$(ps -o ppid= -p "$p" | tr -d " ")',
      'done',
      'exit 1',
    ].join('\n'));
    const pb = playbook('suicide', `- name: s\n  hosts: h1\n  tasks:\n    - name: kills its shell\n      command: { argv: [touch, /root/never], unless: [sh, /root/kill-shell.sh] }\n`);
    const r = cliJson(['run', pb, '-i', INV]);
    expect(r.code).toBe(1);
    const ev = r.json.events.find((e: any) => e.type === 'task' && e.task === 'kills its shell');
    expect(ev.status).toBe('failed');
    expect(ev.error.message).toMatch(/the remote shell ended while running/);
    const again = cliJson(['up', INV]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.changed).toBe(0);
  });

  it('a host that drops mid-message (sshd killed; link down) is reported, the run does not hang, the others finish', async () => {
    for (const host of ['h1', 'h2', 'h3']) ssh(host, 'rm -f /root/slow-done');
    const pb = playbook('slow', `- name: slow\n  hosts: all\n  tasks:\n    - name: long probe\n      command: { argv: [touch, /root/slow-done], unless: [sh, -c, 'head -c 3000000 /dev/zero | od >/dev/null; sleep 6; test -e /root/slow-done'] }\n`);
    const t = Date.now();
    const run = cliAsync(['run', pb, '-i', INV, '--json']);
    await new Promise((r) => setTimeout(r, 2500));
    spawnSync('kill', ['-9', ...nsPids('h2')]); // h2's sshd and its sessions: the connection closes
    spawnSync('ip', ['-n', netnsOf('h3'), 'link', 'set', linkOf('h3'), 'down']); // h3 goes silent: only keepalives tell
    const res = await run.done;
    const seconds = (Date.now() - t) / 1000;
    console.log(`a run with one host killed and one silent mid-message ended in ${seconds.toFixed(1)} s`);
    expect(res.code).toBe(1);
    const json = JSON.parse(res.stdout);
    expect(recapOf(json, 'h1').changed).toBe(1);
    for (const host of ['h2', 'h3']) {
      const r = recapOf(json, host);
      expect(r.unreachable || r.failed > 0, `${host}: ${JSON.stringify(r)}`).toBe(true);
    }
    const lost = json.events.filter((e: any) => e.type === 'host' && e.status === 'lost').map((e: any) => e.host).sort();
    expect(lost).toEqual(['h2', 'h3']);
    spawnSync('ip', ['-n', netnsOf('h3'), 'link', 'set', linkOf('h3'), 'up']);
    expect(cli(['lab', 'up', INV]).code).toBe(0); // restarts h2's sshd
    // h3's sshd learns that the old session is gone only once its retransmits meet the reset: until then it holds the lock
    const again = cliJson(['run', pb, '-i', INV, '--wait-lock', '120']);
    expect(again.code, again.stderr).toBe(0);
    expect(recapOf(again.json, 'h1').changed).toBe(0);
    expect(recapOf(again.json, 'h2').changed).toBe(1);
    expect(recapOf(again.json, 'h3').changed).toBe(1);
  }, 300_000);
});
