// End to end through the real CLI against real sshd lab hosts (network namespaces): idempotence, drift, teardown,
// and the safety behaviour: host keys, run lock, unreachable and dying hosts, timeouts, atomic writes, secrets, quoting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, execSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cli, cliAsync, cliJson, isRoot, ROOT, sshFor } from '../helpers.js';
import { labConfigFromFile } from '../../src/lab/index.js';

const INV = resolve(ROOT, 'test/lab/inventories/ns3.yaml');
const LAB = resolve(ROOT, 'test/lab/inventories/.lab/t-core');
const tmp = mkdtempSync(join(tmpdir(), 'cf-core-'));
const ssh = sshFor(INV);
const netnsOf = (host: string) => labConfigFromFile(INV).hosts.find((h) => h.name === host)!.netns;
const killHost = (host: string) => { const pids = execSync(`ip netns pids ${netnsOf(host)}`, { encoding: 'utf8' }).split(/\s+/).filter(Boolean); if (pids.length) spawnSync('kill', ['-9', ...pids]); };

/** A variant of the test inventory, written to tmp, with key paths made absolute. */
function variant(name: string, edit: (text: string) => string): string {
  const text = readFileSync(INV, 'utf8').replace(/\.lab\/t-core\//g, LAB + '/');
  const f = join(tmp, `${name}.yaml`);
  writeFileSync(f, edit(text));
  return f;
}
function playbook(name: string, yaml: string): string {
  const f = join(tmp, `${name}.pb.yaml`);
  writeFileSync(f, yaml);
  return f;
}

describe.skipIf(!isRoot)('core engine on real SSH hosts', () => {
  beforeAll(() => {
    const r = cli(['lab', 'up', INV]);
    if (r.code !== 0) throw new Error(`lab up failed: ${r.stderr}`);
  }, 120_000);
  afterAll(() => {
    cli(['lab', 'down', INV]);
    rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('up converges, a second up changes nothing and writes nothing', () => {
    const first = cliJson(['up', INV]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.changed).toBe(3);
    const mtime = ssh('a1', 'stat -c %Y.%i /etc/hosts').stdout;
    const second = cliJson(['up', INV, '--stats']);
    expect(second.code).toBe(0);
    expect(second.json.changed).toBe(0);
    expect(ssh('a1', 'stat -c %Y.%i /etc/hosts').stdout).toBe(mtime);
    for (const h of second.json.recap) {
      expect(h.stats.connections).toBe(1);
      expect(h.stats.commands).toBeLessThanOrEqual(3);
    }
    // --stats: the profile lists every task that ran, on every host it ran on
    const ran = second.json.events.filter((e: any) => e.type === 'task').map((e: any) => `${e.play} / ${e.task} @ ${e.host}`).sort();
    expect(second.json.profile.tasks.flatMap((t: any) => t.hosts.map((h: any) => `${t.play} / ${t.task} @ ${h.host}`)).sort()).toEqual(ran);
    console.log(second.stderr.slice(second.stderr.indexOf('SLOWEST TASKS')).trimEnd());
    expect(ssh('a2', 'getent hosts a3').stdout).toMatch(/^10\.216\.0\.13\s+a3/);
    // the machine's own /etc/hosts is untouched
    expect(readFileSync('/etc/hosts', 'utf8')).not.toContain('t-core');
  });

  it('plan shows a manual edit as a diff, touches nothing; up repairs it', () => {
    ssh('a2', "sed -i 's/^10.216.0.13 a3$/10.216.0.77 a3/' /etc/hosts");
    const before = ssh('a2', 'sha256sum /etc/hosts').stdout;
    const p = cli(['plan', INV]);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('a2           would change');
    expect(p.stdout).toContain('-10.216.0.77 a3');
    expect(p.stdout).toContain('+10.216.0.13 a3');
    expect(p.stdout).not.toMatch(/a1\s+would change/);
    expect(ssh('a2', 'sha256sum /etc/hosts').stdout).toBe(before);
    const u = cliJson(['up', INV]);
    expect(u.json.changed).toBe(1);
    expect(ssh('a2', 'grep a3 /etc/hosts').stdout.trim()).toBe('10.216.0.13 a3');
  });

  it('down undoes up, a second down is a no-op, up rebuilds', () => {
    const d = cliJson(['down', INV]);
    expect(d.code).toBe(0);
    expect(d.json.changed).toBe(3);
    expect(ssh('a1', 'cat /etc/hosts').stdout).not.toContain('clusterform');
    expect(cliJson(['down', INV]).json.changed).toBe(0);
    expect(cliJson(['up', INV]).json.changed).toBe(3);
  });

  it('refuses an unknown host key with its fingerprint; --accept-new-host-keys records it', () => {
    const kh = join(tmp, 'empty_known_hosts');
    writeFileSync(kh, '');
    const inv = variant('unknown-key', (t) => t.replace(/known_hosts: .*/, `known_hosts: ${kh}`));
    const r = cli(['up', inv]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/unknown host key for 10\.216\.0\.11:22 \(ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\)/);
    expect(r.stdout + r.stderr).toContain('--accept-new-host-keys');
    const ok = cli(['up', inv, '--accept-new-host-keys']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/a1 +accepted new host key ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}, recorded in /);
    expect(readFileSync(kh, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    expect(cli(['up', inv]).code).toBe(0);
  });

  it('refuses a changed host key always, showing both fingerprints', () => {
    const other = join(tmp, 'otherkey');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const fake = readFileSync(other + '.pub', 'utf8').split(' ').slice(0, 2).join(' ');
    const kh = join(tmp, 'changed_known_hosts');
    writeFileSync(kh, readFileSync(join(LAB, 'known_hosts'), 'utf8').replace(/^10\.216\.0\.12 .*$/m, `10.216.0.12 ${fake}`));
    const inv = variant('changed-key', (t) => t.replace(/known_hosts: .*/, `known_hosts: ${kh}`));
    for (const extra of [[], ['--accept-new-host-keys']]) {
      const r = cli(['up', inv, ...extra]);
      expect(r.code).toBe(1);
      const out = r.stdout + r.stderr;
      expect(out).toContain('HOST KEY CHANGED for 10.216.0.12:22');
      expect(out.match(/SHA256:[A-Za-z0-9+/]{43}/g)!.length).toBeGreaterThanOrEqual(2);
      expect(out).toMatch(/a1\s+ok=1/); // the other hosts still finish
    }
  });

  it('a second run against a locked host fails fast naming the holder, or waits with --wait-lock', async () => {
    const holder = ssh('a3', `d=/run/clusterform; mkdir -p -m 0700 $d; exec 9>>$d/lock; flock 9; echo 'othermachine pid 4242 since then' > $d/owner; (sleep 4; ) 9>&- ; nohup true`);
    expect(holder.code).toBe(0); // the lock was taken and released again: now hold it in the background
    const bg = spawnSync('bash', ['-c', `${['ssh', '-i', join(LAB, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(LAB, 'known_hosts')}`, '-o', 'BatchMode=yes', 'root@10.216.0.13'].join(' ')} 'd=/run/clusterform; mkdir -p -m 0700 $d; exec 9>>$d/lock; flock 9; echo "othermachine pid 4242" > $d/owner; sleep 5' >/dev/null 2>&1 & sleep 1`], { encoding: 'utf8' });
    expect(bg.status).toBe(0);
    const r = cli(['up', INV]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('a3 is locked by another clusterform run (othermachine pid 4242)');
    expect(r.stdout).toMatch(/a1\s+ok=1/);
    const w = cli(['up', INV, '--wait-lock', '20']);
    expect(w.code, w.stdout + w.stderr).toBe(0);
  });

  it('an unreachable host is reported, the others finish, exit 1', () => {
    const inv = variant('unreachable', (t) => t.replace('  a3: { address: 10.216.0.13 }', '  a3: { address: 10.216.0.13 }\n  gone: { address: 10.216.0.99, ssh: { connect_timeout: 2 } }'));
    const r = cliJson(['up', inv]);
    expect(r.code).toBe(1);
    const gone = r.json.recap.find((h: any) => h.host === 'gone');
    expect(gone.unreachable).toBe(true);
    for (const h of r.json.recap.filter((x: any) => x.host !== 'gone')) expect(h.failed).toBe(0);
  });

  it('a command that hangs fails its task with a timeout instead of hanging the run', () => {
    const pb = playbook('hang', `- name: hang\n  hosts: a1\n  tasks:\n    - name: sleeps too long\n      timeout: 2\n      command: { argv: [sleep, "60"] }\n`);
    const t = Date.now();
    const r = cliJson(['run', pb, '-i', INV]);
    expect(r.code).toBe(1);
    expect(Date.now() - t).toBeLessThan(30_000);
    const ev = r.json.events.find((e: any) => e.type === 'task' && e.task === 'sleeps too long');
    expect(ev.status).toBe('failed');
    expect(ev.error.message).toContain('timed out after 2 s');
  });

  it('a host that dies mid-run is unreachable; the others finish; a re-run converges it and changes nothing elsewhere', async () => {
    const pb = playbook('slow', `- name: slow\n  hosts: all\n  tasks:\n    - name: slow step\n      command: { argv: [sh, -c, "sleep 3; touch /root/slow-done"], creates: /root/slow-done }\n`);
    const run = cliAsync(['run', pb, '-i', INV, '--json']);
    await new Promise((r) => setTimeout(r, 1500));
    killHost('a2');
    const res = await run.done;
    expect(res.code).toBe(1);
    const json = JSON.parse(res.stdout);
    const a2 = json.recap.find((h: any) => h.host === 'a2');
    expect(a2.unreachable || a2.failed > 0).toBe(true);
    for (const h of ['a1', 'a3']) expect(json.recap.find((x: any) => x.host === h).changed).toBe(1);
    expect(cli(['lab', 'up', INV]).code).toBe(0); // the lab restarts the dead sshd
    const again = cliJson(['run', pb, '-i', INV]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.recap.find((h: any) => h.host === 'a2').changed).toBe(1);
    expect(again.json.recap.find((h: any) => h.host === 'a1').changed).toBe(0);
  }, 60_000);

  it('a file is never half-written: killing the connection mid-write leaves the old or the new content', async () => {
    const big = 'x'.repeat(700 * 1024) + '\n';
    const pb = playbook('big', `- name: big\n  hosts: a1\n  tasks:\n    - name: big file\n      file: { path: /root/big.txt, content: ${JSON.stringify(big)} }\n`);
    const bigSum = execSync('sha256sum', { input: big }).toString().split(' ')[0];
    const outcomes: string[] = [];
    for (const delay of [250, 400, 550, 700, 900]) {
      ssh('a1', 'printf old > /root/big.txt');
      const run = cliAsync(['run', pb, '-i', INV]);
      await new Promise((r) => setTimeout(r, delay));
      killHost('a1');
      await run.done;
      expect(cli(['lab', 'up', INV]).code).toBe(0);
      const sum = ssh('a1', 'sha256sum < /root/big.txt').stdout.split(' ')[0];
      const old = ssh('a1', 'cat /root/big.txt | head -c 3').stdout;
      expect(sum === bigSum || old === 'old', `after a kill at ${delay} ms the file is neither old nor new`).toBe(true);
      outcomes.push(sum === bigSum ? 'new' : 'old');
    }
    // and a completed run writes it whole
    const ok = cli(['run', pb, '-i', INV]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ssh('a1', 'sha256sum < /root/big.txt').stdout.split(' ')[0]).toBe(bigSum);
  }, 120_000);

  it('Ctrl-C stops starting new tasks, lets the running one finish, prints the recap', async () => {
    ssh('a1', 'rm -f /root/int1 /root/int2');
    const pb = playbook('interrupt', `- name: i\n  hosts: a1\n  tasks:\n    - name: first\n      command: { argv: [sh, -c, "sleep 2; touch /root/int1"], creates: /root/int1 }\n    - name: second\n      command: { argv: [touch, /root/int2], creates: /root/int2 }\n`);
    const run = cliAsync(['run', pb, '-i', INV]);
    await new Promise((r) => setTimeout(r, 1200));
    run.child.kill('SIGINT');
    const res = await run.done;
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('RECAP run (interrupted)');
    expect(ssh('a1', 'for f in /root/int1 /root/int2; do test -e $f && echo "$f exists" || echo "$f missing"; done').stdout).toBe('/root/int1 exists\n/root/int2 missing\n');
  });

  it('keeps the original of a replaced file so that it can be put back', () => {
    ssh('a1', 'printf "original\\n" > /root/conf.txt');
    const pb = playbook('replace', `- name: r\n  hosts: a1\n  tasks:\n    - name: conf\n      file: { path: /root/conf.txt, content: "managed\\n" }\n`);
    expect(cli(['run', pb, '-i', INV]).code).toBe(0);
    expect(ssh('a1', 'cat /var/lib/clusterform/backup/root/conf.txt').stdout).toBe('original\n');
    const undo = playbook('undo', `- name: r\n  hosts: a1\n  tasks:\n    - name: conf\n      file: { path: /root/conf.txt, state: absent }\n`);
    expect(cli(['run', undo, '-i', INV]).code).toBe(0);
    expect(ssh('a1', 'cat /root/conf.txt').stdout).toBe('original\n');
  });

  it('inventory values reach the host literally, never as shell code', () => {
    const nasty = `it's "$(touch /tmp/cf-pwned)" ; rm -rf / ; \`id\` \n$HOME`;
    ssh('a1', 'rm -f /tmp/cf-pwned');
    const pb = playbook('quote', `- name: q\n  hosts: a1\n  tasks:\n    - name: literal\n      file: { path: "/root/odd name; $(x)'.txt", content: ${JSON.stringify(nasty)} }\n    - name: dir\n      directory: { path: "/root/dir with 'quotes' and $(y)" }\n`);
    const r = cli(['run', pb, '-i', INV]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(ssh('a1', `cat "/root/odd name; \\$(x)'.txt"`).stdout).toBe(nasty);
    expect(ssh('a1', `test -d "/root/dir with 'quotes' and \\$(y)" && echo yes`).stdout.trim()).toBe('yes');
    expect(ssh('a1', 'test -e /tmp/cf-pwned && echo PWNED || echo clean').stdout.trim()).toBe('clean');
  });

  it('works as a non-root user with become: sudo, and never prints the sudo password', () => {
    const secret = 'Sudo-Pass-9931-x';
    const setup = ssh('a2', [
      "id deploy >/dev/null 2>&1 || useradd -M -p '*' -d /tmp/deploy -s /bin/sh deploy",
      'id ops >/dev/null 2>&1 || useradd -M -d /tmp/ops -s /bin/sh ops',
      `echo 'ops:${secret}' | chpasswd`,
      "echo 'deploy ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/cf-deploy",
      "echo 'ops ALL=(ALL) ALL' > /etc/sudoers.d/cf-ops",
      'chmod 0440 /etc/sudoers.d/cf-*',
      // sudo resolves the host's own name; without this line it waits for DNS timeouts on this isolated lab
      "grep -q '^127.0.1.1 a2$' /etc/hosts || echo '127.0.1.1 a2' >> /etc/hosts",
    ].join(' && '));
    expect(setup.code, setup.stderr).toBe(0);
    ssh('a2', "sed -i '/clusterform managed block/,/END clusterform/d' /etc/hosts");
    const nopw = variant('sudo-nopasswd', (t) => t.replace('  a2: { address: 10.216.0.12 }', '  a2: { address: 10.216.0.12, ssh: { user: deploy, become: sudo } }'));
    const r1 = cliJson(['up', nopw, '--limit', 'a2']);
    expect(r1.code, r1.stderr + JSON.stringify(r1.json?.events?.filter((e: any) => e.status === "failed" || e.type === "host"))).toBe(0);
    expect(r1.json.changed).toBe(1);
    expect(ssh('a2', 'stat -c %U /etc/hosts').stdout.trim()).toBe('root');
    ssh('a2', "sed -i '/clusterform managed block/,/END clusterform/d' /etc/hosts");
    const pw = variant('sudo-password', (t) => t.replace('  a2: { address: 10.216.0.12 }', '  a2: { address: 10.216.0.12, ssh: { user: ops, become: sudo, become_password_env: CF_TEST_SUDO } }'));
    const r2 = cliJson(['up', pw, '--limit', 'a2', '-vv'], { env: { CF_TEST_SUDO: secret } });
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    expect(r2.json.changed).toBe(1);
    expect(r2.stdout + r2.stderr).not.toContain(secret);
    const r3 = cli(['up', pw, '--limit', 'a2', '-vv'], { env: { CF_TEST_SUDO: 'wrong-' + secret } });
    expect(r3.code).toBe(1);
    expect(r3.stdout + r3.stderr).not.toContain(secret);
  });

  it('never prints a key passphrase: not in output, --json, -vv logs or errors', () => {
    const secret = 'S3cr3t-Passphrase-7731';
    const key = join(tmp, 'enc_key');
    copyFileSync(join(LAB, 'id_ed25519'), key);
    execFileSync('chmod', ['600', key]);
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', secret, '-f', key]);
    const inv = variant('passphrase', (t) => t.replace(/private_key: .*/, `private_key: ${key}\n  passphrase_env: CF_TEST_PASSPHRASE`));
    const good = cliJson(['up', inv, '-vv'], { env: { CF_TEST_PASSPHRASE: secret } });
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout + good.stderr).not.toContain(secret);
    const bad = cli(['up', inv, '-vv'], { env: { CF_TEST_PASSPHRASE: secret + 'x' } });
    expect(bad.code).toBe(2); // a key that cannot be decrypted stops the run before any host is contacted
    expect(bad.stderr).toContain(`private key ${key}: wrong passphrase`);
    expect(bad.stdout + bad.stderr).not.toContain(secret);
  });

  /** Shell that creates sudo users on a lab host: [name, password or '' for NOPASSWD]. */
  const sudoUsers = (users: [string, string][]) => [
    ...users.map(([u, pw]) => `{ id ${u} >/dev/null 2>&1 || useradd -M -p '*' -d /tmp/${u} -s /bin/sh ${u}; }` + (pw ? ` && echo '${u}:${pw}' | chpasswd && echo '${u} ALL=(ALL) ALL' > /etc/sudoers.d/cf-${u}` : ` && echo '${u} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/cf-${u}`)),
    'echo "Defaults lecture=never" > /etc/sudoers.d/cf-lecture',
    'chmod 0440 /etc/sudoers.d/cf-*',
    // sudo resolves the host's own name; without this line it waits for DNS timeouts on this isolated lab
    `h=$(hostname); grep -q "^127.0.1.1 $h$" /etc/hosts || echo "127.0.1.1 $h" >> /etc/hosts`,
  ].join(' && ');
  const a2Line = '  a2: { address: 10.216.0.12 }';
  const a3Line = '  a3: { address: 10.216.0.13 }';
  const asUser = (addr: string, user: string, env?: string) => `{ address: ${addr}, ssh: { user: ${user}, become: sudo${env ? `, become_password_env: ${env}` : ''} } }`;
  const failedOrUnreachable = (json: any, host: string) => { const h = json.recap.find((x: any) => x.host === host); return h.unreachable || h.failed > 0; };

  it('each host gets only its own sudo password; a host without become_password_env gets none', () => {
    const pw = { a2: 'Pw-A2-5521-q', a3: 'Pw-A3-7319-z' };
    expect(ssh('a2', sudoUsers([['ops', pw.a2]])).code).toBe(0);
    // on a3, ops2's password is a2's: handing a2's password to a3 would let a3 in
    expect(ssh('a3', sudoUsers([['ops', pw.a3], ['ops2', pw.a2]])).code).toBe(0);
    const both = variant('sudo-two-passwords', (t) => t.replace(a2Line, `  a2: ${asUser('10.216.0.12', 'ops', 'CF_PW_A2')}`).replace(a3Line, `  a3: ${asUser('10.216.0.13', 'ops', 'CF_PW_A3')}`));
    const r1 = cliJson(['up', both, '--limit', 'a2,a3', '-vv'], { env: { CF_PW_A2: pw.a2, CF_PW_A3: pw.a3 } });
    expect(r1.code, r1.stdout + r1.stderr.slice(-3000)).toBe(0);
    for (const p of Object.values(pw)) expect(r1.stdout + r1.stderr).not.toContain(p);
    const none = variant('sudo-one-password', (t) => t.replace(a2Line, `  a2: ${asUser('10.216.0.12', 'ops', 'CF_PW_A2')}`).replace(a3Line, `  a3: ${asUser('10.216.0.13', 'ops2')}`));
    const r2 = cliJson(['up', none, '--limit', 'a2,a3'], { env: { CF_PW_A2: pw.a2 } });
    expect(r2.code).toBe(1);
    expect(failedOrUnreachable(r2.json, 'a3'), JSON.stringify(r2.json?.recap)).toBe(true);
    expect(failedOrUnreachable(r2.json, 'a2')).toBe(false);
    expect(r2.stdout + r2.stderr).toMatch(/a3[\s\S]*password is required/);
    expect(r2.stdout + r2.stderr).not.toContain(pw.a2);
  });

  it('a sudo password is never run as shell code nor printed: NOPASSWD and password sudo, a script sent over stdin', () => {
    const marker = `/tmp/cf-pwned-${process.pid}-${Date.now()}`;
    const evil = `touch ${marker}`;
    expect(ssh('a3', sudoUsers([['deploy', ''], ['ops', 'Pw-A3-7319-z']])).code).toBe(0);
    const big = 'y'.repeat(100 * 1024) + '\n'; // > 60 kB: the script goes to the host on stdin
    const bigSum = execSync('sha256sum', { input: big }).toString().split(' ')[0];
    const pb = playbook('sudo-big', `- name: big\n  hosts: a3\n  tasks:\n    - name: big file\n      file: { path: /root/sudo-big.txt, content: ${JSON.stringify(big)} }\n`);
    // NOPASSWD (or a cached timestamp): sudo never asks, so the password is never sent
    const nopw = variant('sudo-nopasswd-with-password', (t) => t.replace(a3Line, `  a3: ${asUser('10.216.0.13', 'deploy', 'CF_PW')}`));
    ssh('a3', `rm -f /root/sudo-big.txt ${marker}`);
    const r1 = cliJson(['run', pb, '-i', nopw, '-vv'], { env: { CF_PW: evil } });
    expect(r1.code, r1.stdout + r1.stderr.slice(-3000)).toBe(0);
    expect(ssh('a3', 'sha256sum < /root/sudo-big.txt').stdout.split(' ')[0]).toBe(bigSum);
    expect(ssh('a3', `test -e ${marker} && echo PWNED || echo clean`).stdout.trim()).toBe('clean');
    expect(r1.stdout + r1.stderr).not.toContain(evil);
    // sudo asks: the password answers its prompt, the script still arrives whole after it
    const secret = 'Pw-A3-7319-z';
    const withPw = variant('sudo-asks-big', (t) => t.replace(a3Line, `  a3: ${asUser('10.216.0.13', 'ops', 'CF_PW')}`));
    ssh('a3', 'rm -f /root/sudo-big.txt');
    const r2 = cliJson(['run', pb, '-i', withPw, '-vv'], { env: { CF_PW: secret } });
    expect(r2.code, r2.stdout + r2.stderr.slice(-3000)).toBe(0);
    expect(ssh('a3', 'sha256sum < /root/sudo-big.txt').stdout.split(' ')[0]).toBe(bigSum);
    expect(r2.stdout + r2.stderr).not.toContain(secret);
    expect(r2.stdout + r2.stderr).not.toMatch(/@@CF-SUDO|@@CF-RUNS/); // the prompt markers are removed from what is shown
  });

  it('known_hosts: a [host]:port entry (plain or hashed) matches, an ECDSA-only entry is asked for first, a changed key on a port is refused even with accept-new', () => {
    const up = ssh('a1', [
      'rm -f /etc/ssh/cf2_ecdsa /etc/ssh/cf2_ecdsa.pub',
      "ssh-keygen -q -t ecdsa -b 256 -N '' -f /etc/ssh/cf2_ecdsa",
      // the same sshd config on port 2222, with an ECDSA host key beside the ed25519 one
      "sed -e 's/:22$/:2222/' -e 's#^PidFile .*#PidFile /run/sshd2.pid#' /etc/ssh/sshd_config_cf > /etc/ssh/sshd_config_cf2",
      'echo HostKey /etc/ssh/cf2_ecdsa >> /etc/ssh/sshd_config_cf2',
      '/usr/sbin/sshd -f /etc/ssh/sshd_config_cf2',
      'cat /etc/ssh/cf2_ecdsa.pub',
    ].join(' && '));
    expect(up.code, up.stderr).toBe(0);
    try {
      const ecdsa = up.stdout.trim().split(' ').slice(0, 2).join(' ');
      const run = (name: string, known: string, extra: string[] = []) => {
        const kh = join(tmp, `${name}_known_hosts`);
        writeFileSync(kh, known);
        const inv = variant(name, (t) => t.replace(/known_hosts: .*/, `known_hosts: ${kh}`).replace('  a1: { address: 10.216.0.11 }', '  a1: { address: 10.216.0.11, ssh: { port: 2222 } }'));
        return { kh, r: cli(['up', inv, '--limit', 'a1', ...extra]) };
      };
      const plain = run('port-ecdsa', `[10.216.0.11]:2222 ${ecdsa}\n`);
      expect(plain.r.code, plain.r.stdout + plain.r.stderr).toBe(0);
      const hashedFile = join(tmp, 'hashed_known_hosts');
      writeFileSync(hashedFile, `[10.216.0.11]:2222 ${ecdsa}\n`);
      execFileSync('ssh-keygen', ['-q', '-H', '-f', hashedFile]);
      const hashed = run('port-ecdsa-hashed', readFileSync(hashedFile, 'utf8'));
      expect(readFileSync(hashed.kh, 'utf8')).toMatch(/^\|1\|/);
      expect(hashed.r.code, hashed.r.stdout + hashed.r.stderr).toBe(0);
      const other = join(tmp, 'other_ecdsa');
      execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', other]);
      const changedText = `[10.216.0.11]:2222 ${readFileSync(other + '.pub', 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
      const changed = run('port-changed', changedText, ['--accept-new-host-keys']);
      expect(changed.r.code).toBe(1);
      const out = changed.r.stdout + changed.r.stderr;
      expect(out).toContain('HOST KEY CHANGED for 10.216.0.11:2222');
      expect(out.match(/SHA256:[A-Za-z0-9+/]{43}/g)!.length).toBeGreaterThanOrEqual(2);
      expect(readFileSync(changed.kh, 'utf8')).toBe(changedText); // nothing was recorded
    } finally {
      ssh('a1', 'kill $(cat /run/sshd2.pid) 2>/dev/null; rm -f /etc/ssh/sshd_config_cf2 /etc/ssh/cf2_ecdsa*');
    }
  });

  it('the run lock and restore temp files never follow a planted symlink', () => {
    const absent = (p: string) => ssh('a1', `test -e ${p} || test -L ${p} && echo present || echo absent`).stdout.trim();
    // links planted at the old world-writable lock path are not followed (nothing is created or truncated there)
    ssh('a1', 'rm -rf /root/victim-*; mkdir -p /run/lock; ln -sfn /root/victim-lock /run/lock/clusterform.lock; printf keep > /root/victim-owner; ln -sfn /root/victim-owner /run/lock/clusterform.owner');
    const ok = cli(['up', INV, '--limit', 'a1']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(absent('/root/victim-lock')).toBe('absent');
    expect(ssh('a1', 'cat /root/victim-owner').stdout).toBe('keep');
    expect(ssh('a1', 'stat -c %a.%U /run/clusterform').stdout.trim()).toBe('700.root');
    // the lock directory as a symlink, or the lock file as one: refused, the target untouched
    ssh('a1', 'rm -rf /run/clusterform /tmp/evil; mkdir -m 0777 /tmp/evil; ln -s /tmp/evil /run/clusterform');
    const dirLink = cli(['up', INV, '--limit', 'a1']);
    expect(dirLink.code).toBe(1);
    expect(dirLink.stdout + dirLink.stderr).toContain('refusing to lock there');
    expect(absent('/tmp/evil/lock')).toBe('absent');
    ssh('a1', 'rm -f /run/clusterform; mkdir -m 0700 /run/clusterform; ln -s /root/victim-lock2 /run/clusterform/lock');
    const fileLink = cli(['up', INV, '--limit', 'a1']);
    expect(fileLink.code).toBe(1);
    expect(fileLink.stdout + fileLink.stderr).toContain('refusing to open it');
    expect(absent('/root/victim-lock2')).toBe('absent');
    ssh('a1', 'rm -rf /run/clusterform /tmp/evil /run/lock/clusterform.lock /run/lock/clusterform.owner');
    // restoring a backup: a link planted at the old predictable temp name <path>.cf-restore is not followed
    ssh('a1', 'printf "original\\n" > /root/conf2.txt; rm -rf /var/lib/clusterform/backup/root/conf2.txt*');
    const put = playbook('conf2', `- name: r\n  hosts: a1\n  tasks:\n    - name: conf\n      file: { path: /root/conf2.txt, content: "managed\\n" }\n`);
    expect(cli(['run', put, '-i', INV]).code).toBe(0);
    ssh('a1', 'ln -sfn /root/victim-restore /root/conf2.txt.cf-restore');
    const undo = playbook('conf2-undo', `- name: r\n  hosts: a1\n  tasks:\n    - name: conf\n      file: { path: /root/conf2.txt, state: absent }\n`);
    const u = cli(['run', undo, '-i', INV]);
    expect(u.code, u.stdout + u.stderr).toBe(0);
    expect(absent('/root/victim-restore')).toBe('absent');
    expect(ssh('a1', 'cat /root/conf2.txt').stdout).toBe('original\n');
    expect(ssh('a1', 'ls -A /root | grep -c "^\\.cf-" || true').stdout.trim()).toBe('0'); // no temp file left behind
    ssh('a1', 'rm -f /root/conf2.txt.cf-restore /root/victim-*');
  });
});
