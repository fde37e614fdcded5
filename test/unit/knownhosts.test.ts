// known_hosts matching and host-key verdicts, on fixtures made with the real ssh-keygen (test/fixtures/known_hosts/:
// `plain` written by hand from ssh-keygen keys, `hashed` hashed by `ssh-keygen -H`). OpenSSH's own lookup
// (`ssh-keygen -F`) is the oracle for which lines apply to a name.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entriesFor, fingerprint, hostKeyAlgorithms, hostKeyName, judgeHostKey, parseKnownHosts, verifyHostKey } from '../../src/transport/knownhosts.js';

const DIR = resolve(import.meta.dirname, '../fixtures/known_hosts');
const PLAIN = resolve(DIR, 'plain');
const HASHED = resolve(DIR, 'hashed');
const blob = (pub: string) => Buffer.from(readFileSync(resolve(DIR, pub), 'utf8').split(' ')[1]!, 'base64');
const ED = blob('host_ed25519.pub');
const EC = blob('host_ecdsa.pub');
const RSA = blob('host_rsa.pub');
const OTHER = blob('other_ed25519.pub');
const CA = blob('ca_ed25519.pub');
const lines = (file: string, host: string, port: number) => entriesFor(readFileSync(file, 'utf8'), host, port).map((e) => e.line);

const hasKeygen = spawnSync('ssh-keygen', ['-?'], { encoding: 'utf8' }).error === undefined;
/** The lines OpenSSH itself finds for a name (ssh-keygen -F). */
function opensshLines(file: string, name: string): number[] {
  const r = spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
}

describe('known_hosts: which lines apply to a host', () => {
  const cases: [string, number, number[]][] = [
    ['plain.example', 22, [2]],
    ['ported.example', 2222, [3]], // [host]:port
    ['ported.example', 22, []], // the port entry is not the host on port 22
    ['plain.example', 2222, []], // a port-22 entry is not the host on another port
    ['multi2.example', 22, [4]], // several names on one line
    ['10.0.0.5', 22, [4]],
    ['a.wild.example', 22, [5]], // wildcard
    ['bad.wild.example', 22, []], // negated pattern wins over the wildcard
    ['host1.glob.example', 22, [6]], // ? is one character
    ['host12.glob.example', 22, []],
    ['twotypes.example', 22, [8, 9]],
    ['revoked.example', 22, [11, 12]],
    ['x.ca.example', 22, [13]],
    ['MIXEDCASE.example', 22, [15]], // names compare case-insensitively
  ];
  it.each(cases)('%s port %i → lines %j', (host, port, want) => {
    expect(lines(PLAIN, host, port)).toEqual(want);
  });

  it.each([
    ['hashed.example', 22, [1]],
    ['hashed.example', 2222, [2]], // hashed [host]:port
    ['10.1.2.3', 22, [3]],
    ['other.example', 22, []],
  ] as [string, number, number[]][])('hashed: %s port %i → lines %j', (host, port, want) => {
    expect(lines(HASHED, host, port)).toEqual(want);
  });

  it.skipIf(!hasKeygen)('agrees with OpenSSH (ssh-keygen -F) on every case', () => {
    for (const [host, port] of [...cases, ['hashed.example', 22], ['hashed.example', 2222], ['10.1.2.3', 22]] as [string, number][]) {
      for (const file of [PLAIN, HASHED]) expect(lines(file, host, port), `${host}:${port} in ${file}`).toEqual(opensshLines(file, hostKeyName(host, port)));
    }
  });

  it('skips comments, short lines and unknown markers; reads the key type from the key itself', () => {
    const e = parseKnownHosts('# c\n\nshort ssh-ed25519\n@bogus h ssh-ed25519 ' + ED.toString('base64') + '\nh ssh-rsa ' + ED.toString('base64') + '\n');
    expect(e).toHaveLength(1);
    expect(e[0]!.keyType).toBe('ssh-ed25519');
    expect(e[0]!.line).toBe(5);
  });
});

describe('known_hosts: verdicts', () => {
  it('a known key matches: plain, [host]:port, hashed, hashed [host]:port, wildcard', () => {
    expect(verifyHostKey(PLAIN, 'plain.example', 22, ED).status).toBe('match');
    expect(verifyHostKey(PLAIN, 'ported.example', 2222, ED).status).toBe('match');
    expect(verifyHostKey(HASHED, 'hashed.example', 22, ED).status).toBe('match');
    expect(verifyHostKey(HASHED, 'hashed.example', 2222, EC).status).toBe('match');
    expect(verifyHostKey(PLAIN, 'zz.wild.example', 22, ED).status).toBe('match');
  });

  it('a changed key on [host]:port is "changed" with both fingerprints, not "unknown" (accept-new must not record it)', () => {
    const v = verifyHostKey(PLAIN, 'ported.example', 2222, OTHER);
    expect(v.status).toBe('changed');
    if (v.status !== 'changed') return;
    expect(v.fingerprint).toBe(fingerprint(OTHER));
    expect(v.known).toEqual([{ keyType: 'ssh-ed25519', fingerprint: fingerprint(ED), line: 3 }]);
    const h = verifyHostKey(HASHED, 'hashed.example', 2222, blob('other_ed25519.pub'));
    expect(h.status).toBe('changed'); // hashed [host]:port known with ECDSA only: another type is refused too
  });

  it('an unknown host is unknown; a negated name is unknown, not matched by the wildcard', () => {
    expect(verifyHostKey(PLAIN, 'nowhere.example', 22, ED).status).toBe('unknown');
    expect(verifyHostKey(PLAIN, 'bad.wild.example', 22, ED).status).toBe('unknown');
    expect(verifyHostKey(resolve(DIR, 'does-not-exist'), 'plain.example', 22, ED).status).toBe('unknown');
  });

  it('@revoked refuses the key even though another line accepts it', () => {
    expect(verifyHostKey(PLAIN, 'revoked.example', 22, ED).status).toBe('revoked');
  });

  it('@cert-authority: the CA key is never taken for a host key, and a CA line alone does not make a plain key known', () => {
    expect(verifyHostKey(PLAIN, 'x.ca.example', 22, CA).status).toBe('unknown');
    expect(verifyHostKey(PLAIN, 'x.ca.example', 22, ED).status).toBe('unknown');
  });

  it('several key types for one host: each known key matches, a different key of a known type is changed', () => {
    expect(verifyHostKey(PLAIN, 'twotypes.example', 22, ED).status).toBe('match');
    expect(verifyHostKey(PLAIN, 'twotypes.example', 22, EC).status).toBe('match');
    const v = verifyHostKey(PLAIN, 'twotypes.example', 22, OTHER);
    expect(v.status === 'changed' && v.known.map((k) => k.line)).toEqual([8]); // compared with the ed25519 line
  });

  it('judges only the lines given (the pure core)', () => {
    expect(judgeHostKey([], ED, 'f').status).toBe('unknown');
  });
});

describe('known_hosts: host key algorithms offered (as OpenSSH orders them)', () => {
  const algs = (host: string, port = 22) => hostKeyAlgorithms(entriesFor(readFileSync(PLAIN, 'utf8'), host, port));

  it('an ECDSA-only host is asked for its ECDSA key first, so a server that also has ed25519 shows the known one', () => {
    const a = algs('ecdsaonly.example')!;
    expect(a[0]).toBe('ecdsa-sha2-nistp256');
    expect(a.indexOf('ecdsa-sha2-nistp256')).toBeLessThan(a.indexOf('ssh-ed25519'));
  });

  it('an RSA host gets the rsa-sha2 signatures first', () => {
    expect(algs('rsa.example')!.slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(verifyHostKey(PLAIN, 'rsa.example', 22, RSA).status).toBe('match');
  });

  it('two known types keep the default preference among them; unknown hosts get the library default', () => {
    expect(algs('twotypes.example')!.slice(0, 2)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(algs('nowhere.example')).toBeUndefined();
    expect(algs('x.ca.example')).toBeUndefined(); // a CA key is not a host key type to ask for
    expect(hostKeyAlgorithms(entriesFor(readFileSync(HASHED, 'utf8'), 'hashed.example', 2222))![0]).toBe('ecdsa-sha2-nistp256');
  });
});
