// Issue #12 / #14 on the namespace hosts of the global lab (inventory/lab.yaml, brought up by the lab project's
// globalSetup): an ns host sees this machine's /usr and the package managers' state read-only, so a `package` task
// for a package this machine lacks is refused with a clear message (through the real CLI) and installs nothing on
// this machine; the host's own /etc stays writable; no ns host sees a usable /dev/watchdog* (a watchdog armed there
// would reset this machine, whose kernel it shares).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labConfigFromFile } from '../../src/lab/index.js';
import { hideWatchdogsSh, hostSetupScript, READ_ONLY_DIRS, READ_ONLY_PKG_DIRS } from '../../src/lab/ns.js';
import { cliJson, isRoot, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'inventory/lab.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const NS_HOSTS = labConfigFromFile(INV).hosts.filter((h) => h.kind === 'ns').map((h) => h.name);
/** A small package this machine does not have (checked in beforeAll): installing it would put files under /usr. */
const PKG = 'sl';
const tmp = mkdtempSync(join(tmpdir(), 'cf-ns-ro-'));
const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });
/** dpkg's view of this machine: the package's status, and a digest of the whole status database. */
const machineDpkg = () => ({ pkg: sh(`dpkg-query -W -f='\${Status}' ${PKG} 2>&1`).stdout, db: sh('sha256sum /var/lib/dpkg/status').stdout });

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ns host setup script (pure)', () => {
  const h = labConfigFromFile(INV).hosts.find((x) => x.kind === 'ns')!;
  const script = hostSetupScript(h);
  it('binds /usr, /boot and the package state read-only after the overlays, and hides watchdogs, before sshd starts', () => {
    const at = (s: string) => script.indexOf(s);
    expect(script).toContain(`for d in ${[...READ_ONLY_DIRS, ...READ_ONLY_PKG_DIRS].map((d) => `'${d}'`).join(' ')}; do`);
    expect(at('mount -o remount,bind,ro "$d"')).toBeGreaterThan(at('cf-var /var'));
    expect(at('watchdog*')).toBeGreaterThan(at('cf-run /run'));
    expect(at('exec /usr/sbin/sshd')).toBeGreaterThan(at('watchdog*'));
  });
});

describe.skipIf(!isRoot)('watchdog nodes are covered inside a private mount namespace', () => {
  // No watchdog device is ever opened here (opening one arms it): the script runs on dummy files named like them.
  it('every DEV/watchdog* becomes an empty read-only file there; nothing changes outside the namespace', () => {
    const dev = join(tmp, 'dev');
    const run = join(tmp, 'run');
    sh(`mkdir -p '${dev}' '${run}'`);
    for (const n of ['watchdog', 'watchdog0', 'watchdog1', 'null']) writeFileSync(join(dev, n), `${n}\n`);
    const check = `for f in '${dev}'/*; do printf '%s %s ' "\${f##*/}" "$(wc -c < "$f")"; if printf x 2>/dev/null > "$f"; then echo writable; else echo read-only; fi; done`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'busybox', 'sh', '-c', `set -e\n${hideWatchdogsSh(dev, join(run, 'blank'))}\n${check}`], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    console.log(`inside the namespace:\n${r.stdout}`);
    expect(r.stdout.trim().split('\n')).toEqual(['null 5 writable', 'watchdog 0 read-only', 'watchdog0 0 read-only', 'watchdog1 0 read-only']);
    // outside: the dummies keep their content (the null dummy got the x written inside: it was not covered)
    expect(statSync(join(dev, 'watchdog0')).size).toBe('watchdog0\n'.length);
  });
});

describe.skipIf(!enabled)('lab ns hosts see this machine read-only', () => {
  let before: ReturnType<typeof machineDpkg>;
  beforeAll(() => {
    before = machineDpkg();
    expect(before.pkg, `${PKG} must not be installed on this machine for this test`).not.toMatch(/install ok installed/);
  });

  it(`a package task for ${PKG} on an ns host is refused with a clear message; this machine gets nothing`, () => {
    const pb = join(tmp, 'pkg.pb.yaml');
    writeFileSync(pb, `- name: a package on a namespace host\n  hosts: rs1\n  tasks:\n    - name: install ${PKG}\n      package: { name: ${PKG} }\n`);
    const t = Date.now();
    const r = cliJson(['run', pb, '-i', INV]);
    console.log(`run with a package task on rs1: exit ${r.code} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    expect(r.code, r.stderr.slice(-2000)).not.toBe(0);
    const ev = r.json.events.find((e: any) => e.type === 'task' && e.task === `install ${PKG}`);
    expect(ev.status).toBe('failed');
    expect(ev.error.message).toBe(`package ${PKG}: ${PKG} is missing and /usr is read-only on this host, so it cannot be installed here (a lab namespace host sees the controller machine's /usr read-only): install it on the controller machine or use a VM host`);
    expect(machineDpkg()).toEqual(before);
  });

  it('dpkg run by hand on an ns host cannot open its database for writing', () => {
    // (apt-get by hand only warns about its read-only lock files and goes on to download: dpkg is what stops)
    const r = ssh('rs1', `dpkg --purge ${PKG} </dev/null`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unable to access the dpkg database directory /var/lib/dpkg: Read-only file system');
    expect(machineDpkg()).toEqual(before);
  });

  it('every ns host: /usr and the dpkg database are read-only, its own /etc is writable, no watchdog node is visible', () => {
    const probe = `.cf-ns-ro-probe-${process.pid}`;
    try {
      for (const h of NS_HOSTS) {
        const usr = ssh(h, `touch /usr/${probe}`);
        expect(usr.code, h).not.toBe(0);
        expect(usr.stderr, h).toContain('Read-only file system');
        expect(ssh(h, `touch /var/lib/dpkg/${probe}`).stderr, h).toContain('Read-only file system');
        const etc = ssh(h, `echo ${h} > /etc/${probe} && cat /etc/${probe} && rm /etc/${probe}`);
        expect(etc.stdout.trim(), `${h}: ${etc.stderr}`).toBe(h);
        // stat only: a watchdog node must never be opened
        expect(ssh(h, 'for w in /dev/watchdog*; do [ -c "$w" ] && echo "$w"; done; true').stdout, h).toBe('');
      }
    } finally {
      sh(`rm -f /usr/${probe} /etc/${probe}`); // only there if the test failed: this machine is left as it was
    }
    const watchdogs = sh('ls /dev/watchdog* 2>/dev/null').stdout.trim();
    console.log(`ns hosts checked: ${NS_HOSTS.join(' ')}; this machine's watchdog nodes: ${watchdogs || 'none'}`);
  });
});
