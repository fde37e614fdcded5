// Reaching hosts the way OpenSSH does, end to end through the CLI: hosts named (not IPs) in the inventory, reached
// through a bastion named in ~/.ssh/config (temporary HOME), resolved by the bastion, one bastion connection per run;
// and known_hosts files that are hashed, hold only an ECDSA key, or name [host]:2222.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cli, cliJson, isRoot, ROOT, sshFor } from '../helpers.js';
import { labConfigFromFile } from '../../src/lab/index.js';
import { fingerprint } from '../../src/transport/knownhosts.js';

const LAB_INV = resolve(ROOT, 'test/lab/inventories/bastion.yaml');
const LAB = resolve(ROOT, 'test/lab/inventories/.lab/t-bastion');
const BASTION = '10.224.0.10';
const PRIVATE = { n1: '10.224.1.11', n2: '10.224.1.12', n3: '10.224.1.13' } as const;
const PRIVATE_NET = '10.224.1.0/24';
const tmp = mkdtempSync(join(tmpdir(), 'cf-bastion-'));
const home = join(tmp, 'home');
const ssh = sshFor(LAB_INV);
const cfg = () => labConfigFromFile(LAB_INV);
const env = { HOME: home };

/** "Accepted publickey" lines in the bastion's sshd log: one per SSH connection made to the bastion. */
const bastionLogins = () => (readFileSync(join(cfg().hosts.find((h) => h.name === 'bastion')!.dir, 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length;

/** Does addr:port answer with an SSH banner to this machine (within 1.5 s)? */
function sshAnswers(addr: string, port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: addr, port, timeout: 1500 });
    s.on('data', (d) => { s.destroy(); res(d.toString().startsWith('SSH-')); });
    s.on('timeout', () => { s.destroy(); res(false); });
    s.on('error', () => res(false));
    s.on('close', () => res(false));
  });
}

/** sshd daemonizes before it listens: wait (up to 5 s) for the listener on port 2222, then print how many there are. */
const WAIT_2222 = `for i in $(seq 50); do ss -ltn | grep -q ':2222 ' && break; sleep 0.1; done; ss -ltn | grep -c ':2222 '`;
const run = (name: string, yaml: string) => { const f = join(tmp, name); writeFileSync(f, yaml); return f; };
/** A lab host's key (type and base64) from the lab's own known_hosts, which lists it by IP address. */
const hostKeyOf = (addr: string) => readFileSync(join(LAB, 'known_hosts'), 'utf8').split('\n').find((l) => l.startsWith(addr + ' '))!.split(' ').slice(1, 3).join(' ');
const connectedEvents = (json: any) => Object.fromEntries(json.events.filter((e: any) => e.type === 'host' && e.status === 'connected').map((e: any) => [e.host, e.endpoint]));

// The inventory names the hosts; n3 has no address (its name is given to ssh, as `ssh n3`); no ssh: section at all.
const INV = run('inventory.yaml', `cluster: t-bastion
hosts:
  n1: { address: n1.internal }
  n2: { address: n2.internal }
  n3: {}
`);

describe.skipIf(!isRoot)('hosts behind a bastion, named in the inventory, reached as ~/.ssh/config says', () => {
  beforeAll(() => {
    const r = cli(['lab', 'up', LAB_INV]);
    if (r.code !== 0) throw new Error(`lab up failed: ${r.stderr}`);
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    // the lab key for the bastion and n1, n2; n3 accepts only its own key
    writeFileSync(join(home, '.ssh', 'lab_key'), readFileSync(join(LAB, 'id_ed25519')), { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-C', 'n3 only', '-f', join(home, '.ssh', 'n3_key')]);
    const n3pub = readFileSync(join(home, '.ssh', 'n3_key.pub'), 'utf8');
    expect(ssh('n3', 'cat > /etc/ssh/cf_authorized_keys', n3pub).code).toBe(0);
    // the bastion resolves the private names; n2 also listens on port 2222
    expect(ssh('bastion', 'cat >> /etc/hosts', Object.entries(PRIVATE).map(([h, a]) => `${a} ${h}.internal\n`).join('')).code).toBe(0);
    expect(ssh('n2', `/usr/sbin/sshd -f /etc/ssh/sshd_config_cf -o ListenAddress=${PRIVATE.n2}:2222 -o PidFile=/run/sshd-2222.pid </dev/null >/dev/null 2>&1; ${WAIT_2222}`).stdout.trim()).toBe('1');
    // known_hosts under the names ssh looks up (HostName, [name]:port), hashed as `ssh-keygen -H` leaves it
    writeFileSync(join(home, '.ssh', 'known_hosts'), [
      `${BASTION} ${hostKeyOf(BASTION)}`,
      `n1.internal ${hostKeyOf(PRIVATE.n1)}`,
      `[n2.internal]:2222 ${hostKeyOf(PRIVATE.n2)}`,
      `n3.internal ${hostKeyOf(PRIVATE.n3)}`,
    ].join('\n') + '\n');
    execFileSync('ssh-keygen', ['-q', '-H', '-f', join(home, '.ssh', 'known_hosts')], { stdio: 'ignore' });
    writeFileSync(join(home, '.ssh', 'config'), `# the user's config: clusterform reads it as ssh does
Host bastion
  HostName ${BASTION}
  User root

Host n3
  HostName %h.internal
  IdentityFile ~/.ssh/n3_key
  IdentitiesOnly yes

Host n2.internal
  Port 2222

Host *.internal
  ProxyJump bastion

Match host *.internal
  ProxyJump bastion

Host *
  User root
  IdentityFile ~/.ssh/lab_key
`);
    // from here on, this machine has no route to the private network (and sends nothing for it anywhere else):
    // only the bastion reaches it
    const priv = cfg().networks.find((n) => n.name === 'private')!;
    execFileSync('ip', ['addr', 'flush', 'dev', priv.controllerIf]);
    spawnSync('ip', ['route', 'del', 'unreachable', PRIVATE_NET]);
    execFileSync('ip', ['route', 'add', 'unreachable', PRIVATE_NET]);
  }, 300_000);

  afterAll(() => {
    spawnSync('ip', ['route', 'del', 'unreachable', PRIVATE_NET]);
    cli(['lab', 'down', LAB_INV]);
    rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('the private hosts cannot be reached from this machine directly', async () => {
    for (const a of Object.values(PRIVATE)) {
      const route = spawnSync('ip', ['route', 'get', a], { encoding: 'utf8' });
      expect(route.status).not.toBe(0);
      expect(route.stderr).toMatch(/no route to host|unreachable/i);
      expect(await sshAnswers(a, 22)).toBe(false);
    }
    expect(await sshAnswers(BASTION, 22)).toBe(true);
  });

  it('up, a second up (changed=0), verify and down work through the bastion, each over one bastion connection', () => {
    let before = bastionLogins();
    const up = cliJson(['up', INV], { env });
    expect(up.code, up.stderr).toBe(0);
    expect(up.json.changed).toBe(3);
    expect(bastionLogins() - before).toBe(1);
    // the address, port, user and jump chain actually used, and the IP each host answered on
    expect(connectedEvents(up.json)).toEqual({
      n1: { address: 'n1.internal', port: 22, user: 'root', jump: [`root@${BASTION}:22`], ip: PRIVATE.n1 },
      n2: { address: 'n2.internal', port: 2222, user: 'root', jump: [`root@${BASTION}:22`], ip: PRIVATE.n2 },
      n3: { address: 'n3.internal', port: 22, user: 'root', jump: [`root@${BASTION}:22`], ip: PRIVATE.n3 },
    });

    before = bastionLogins();
    const again = cliJson(['up', INV], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.changed).toBe(0);
    expect(bastionLogins() - before).toBe(1);

    before = bastionLogins();
    const v = cli(['verify', INV, '-v'], { env });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stderr).toMatch(new RegExp(`n2\\s+connected root@n2\\.internal:2222 \\(${PRIVATE.n2.replace(/\./g, '\\.')}\\) via root@${BASTION.replace(/\./g, '\\.')}:22`));
    expect(bastionLogins() - before).toBe(1);

    before = bastionLogins();
    const down = cliJson(['down', INV], { env });
    expect(down.code, down.stderr).toBe(0);
    expect(down.json.changed).toBe(3);
    expect(bastionLogins() - before).toBe(1);
  });

  it('the /etc/hosts block holds the IP each host answered on', () => {
    const up = cliJson(['up', INV, '--limit', 'n1,n2,n3'], { env });
    expect(up.code, up.stderr).toBe(0);
    const r = spawnSync('ssh', ['-F', 'none', '-i', join(LAB, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(LAB, 'known_hosts')}`, '-o', 'BatchMode=yes',
      '-o', `ProxyCommand=ssh -F none -i ${join(LAB, 'id_ed25519')} -o UserKnownHostsFile=${join(LAB, 'known_hosts')} -o BatchMode=yes -W %h:%p root@${BASTION}`,
      `root@${PRIVATE.n1}`, 'grep -E "^10\\.224\\.1\\.1[123] n[123]$" /etc/hosts'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim().split('\n')).toEqual([`${PRIVATE.n1} n1`, `${PRIVATE.n2} n2`, `${PRIVATE.n3} n3`]);
  });

  it('ProxyJump with two hops: the second hop is reached through the first, the target through the second', () => {
    // the last hop connects to the target (n2 has no name for n1: give its address, known in a second known_hosts file)
    const cfgFile = join(home, '.ssh', 'two_hops');
    writeFileSync(join(home, '.ssh', 'two_hops_known_hosts'), `${PRIVATE.n1} ${hostKeyOf(PRIVATE.n1)}\n`);
    writeFileSync(cfgFile, `Host n1.internal
  HostName ${PRIVATE.n1}
  ProxyJump bastion,n2.internal
  UserKnownHostsFile ~/.ssh/known_hosts ~/.ssh/two_hops_known_hosts

${readFileSync(join(home, '.ssh', 'config'), 'utf8')}`);
    const before = bastionLogins();
    const r = cliJson(['plan', INV, '--limit', 'n1', '-F', cfgFile], { env });
    expect(r.code, r.stderr).toBe(0);
    // n2 and n3 are not contacted: their names are resolved by their jump host, and n1's /etc/hosts block is unchanged
    expect(r.json.would_change ?? r.json.changed).toBe(0); // plan: "would_change" (the JSON format names it so)
    expect(connectedEvents(r.json)).toEqual({ n1: { address: PRIVATE.n1, port: 22, user: 'root', jump: [`root@${BASTION}:22`, 'root@n2.internal:2222'], ip: PRIVATE.n1 } });
    expect(bastionLogins() - before).toBe(1);
  });

  it('a key file named in ~/.ssh/config that is missing: one clear error, exit 2, the bastion is not contacted', () => {
    const before = bastionLogins();
    writeFileSync(join(home, '.ssh', 'broken_config'), readFileSync(join(home, '.ssh', 'config'), 'utf8').replace('~/.ssh/n3_key', '~/.ssh/missing_key'));
    const r = cli(['plan', INV, '-F', join(home, '.ssh', 'broken_config')], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`private key ${join(home, '.ssh', 'missing_key')}: no such file`);
    expect(r.stderr.match(/missing_key/g)).toHaveLength(1);
    expect(bastionLogins()).toBe(before);
  });

  it('a changed host key of the jump host refuses every host behind it, naming the jump host; nothing is recorded', () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'fake_bastion')]);
    const fake = readFileSync(join(tmp, 'fake_bastion.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const kh = join(tmp, 'jump_changed_known_hosts');
    writeFileSync(kh, [`${BASTION} ${fake}`, `n1.internal ${hostKeyOf(PRIVATE.n1)}`, `[n2.internal]:2222 ${hostKeyOf(PRIVATE.n2)}`, `n3.internal ${hostKeyOf(PRIVATE.n3)}`].join('\n') + '\n');
    const before = bastionLogins();
    const inv = run('jump-changed.yaml', readFileSync(INV, 'utf8').replace('hosts:', `ssh: { known_hosts: ${kh} }\nhosts:`));
    for (const extra of [[], ['--accept-new-host-keys']]) {
      const r = cliJson(['plan', inv, ...extra], { env });
      expect(r.code, r.stderr).toBe(1);
      const unreachable = r.json.events.filter((e: any) => e.type === 'host' && e.status === 'unreachable');
      expect(unreachable.map((e: any) => e.host).sort()).toEqual(['n1', 'n2', 'n3']);
      for (const e of unreachable) expect(e.message).toContain(`jump host root@${BASTION}:22: HOST KEY CHANGED for ${BASTION}:22`);
    }
    expect(bastionLogins()).toBe(before); // refused before authenticating
    expect(readFileSync(kh, 'utf8').split('\n')[0]).toBe(`${BASTION} ${fake}`);
  });

  describe('known_hosts: hashed, only an ECDSA key, [host]:2222', () => {
    let ecdsaPub = '';
    const other = () => readFileSync(join(tmp, 'other_ecdsa.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const fp = (pub: string) => fingerprint(Buffer.from(pub.split(' ')[1]!, 'base64'));
    const inv = (kh: string) => run(`kh-${kh}.yaml`, `cluster: t-bastion
ssh: { user: root, private_key: ${join(LAB, 'id_ed25519')}, known_hosts: ${join(tmp, kh)}, config_file: none }
hosts:
  b: { address: ${BASTION}, port: 2222 }
`);
    const khFile = (name: string, line: string, hashed: boolean) => {
      writeFileSync(join(tmp, name), line + '\n');
      if (hashed) execFileSync('ssh-keygen', ['-q', '-H', '-f', join(tmp, name)], { stdio: 'ignore' });
      if (hashed) expect(readFileSync(join(tmp, name), 'utf8')).toMatch(/^\|1\|/);
    };

    beforeAll(() => {
      // a second sshd on the bastion, port 2222, with an ECDSA host key besides the ed25519 one
      const r = ssh('bastion', `ssh-keygen -q -t ecdsa -N '' -f /etc/ssh/cf_test_ecdsa && /usr/sbin/sshd -f /etc/ssh/sshd_config_cf -o ListenAddress=${BASTION}:2222 -o HostKey=/etc/ssh/cf_test_ecdsa -o PidFile=/run/sshd-2222.pid </dev/null >/dev/null 2>&1; ${WAIT_2222} >/dev/null; cat /etc/ssh/cf_test_ecdsa.pub`);
      expect(r.code, r.stderr).toBe(0);
      ecdsaPub = r.stdout.trim().split(/\s+/).slice(0, 2).join(' ');
      expect(ecdsaPub).toMatch(/^ecdsa-sha2-nistp256 /);
      execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', join(tmp, 'other_ecdsa')]);
      khFile('plain', `[${BASTION}]:2222 ${ecdsaPub}`, false);
      khFile('hashed', `[${BASTION}]:2222 ${ecdsaPub}`, true);
      khFile('plain-other', `[${BASTION}]:2222 ${other()}`, false);
      khFile('hashed-other', `[${BASTION}]:2222 ${other()}`, true);
    }, 60_000);

    it('the known ECDSA key is accepted (the host also has ed25519: the known type is negotiated), plain or hashed', () => {
      for (const kh of ['plain', 'hashed']) {
        const r = cliJson(['plan', inv(kh)]);
        expect(r.code, `${kh}: ${r.stderr}`).toBe(0);
        expect(connectedEvents(r.json).b).toEqual({ address: BASTION, port: 2222, user: 'root', jump: [], ip: BASTION });
      }
    });

    it('another key for the same entry is refused as changed with both fingerprints, also with --accept-new-host-keys', () => {
      for (const kh of ['plain-other', 'hashed-other']) {
        for (const extra of [[], ['--accept-new-host-keys']]) {
          const before = readFileSync(join(tmp, kh), 'utf8');
          const r = cli(['plan', inv(kh), ...extra]);
          expect(r.code, `${kh} ${extra}: ${r.stdout}${r.stderr}`).toBe(1);
          const out = r.stdout + r.stderr;
          expect(out).toContain(`HOST KEY CHANGED for ${BASTION}:2222`);
          expect(out).toContain(fp(ecdsaPub));
          expect(out).toContain(fp(other()));
          expect(readFileSync(join(tmp, kh), 'utf8')).toBe(before); // nothing recorded
        }
      }
    });
  });
});
