// ssh_config lookup as OpenSSH does it (ssh_config(5)): first obtained value wins, Host pattern lists with * ? !,
// Match host/originalhost/user, Include scoped to its block, % tokens, ProxyJump chains, the ssh -W ProxyCommand form.
// The file: test/fixtures/sshconfig/home/.ssh/config (home is the fixture directory, so nothing outside the repo is read).
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFiles, expandGlob, jumpChain, parseHop, parseProxyJump, proxyCommandHop, resolveHost, SshConfigError, type ResolveOptions } from '../../src/transport/sshconfig.js';

const HOME = resolve(import.meta.dirname, '../fixtures/sshconfig/home');
const SSH = resolve(HOME, '.ssh');
const o: ResolveOptions = {
  files: configFiles(HOME, resolve(SSH, 'config')),
  ctx: { home: HOME, localUser: 'me', defaultUser: 'root' },
};
const r = (host: string, seed = {}) => resolveHost(host, o, seed);

describe('ssh_config lookup: first obtained value wins', () => {
  it('a host matched by several blocks takes each value from the first block that sets it; IdentityFile accumulates', () => {
    const w = r('web1');
    expect(w.hostName).toBe('web1.example.com'); // HostName %h
    expect(w.user).toBe('alice'); // Host web1 before Host web* and Host *
    expect(w.port).toBe(2200); // only web* sets it
    // both IdentityFile lines, in order; tokens %d %r %h %p expanded with the final values
    expect(w.identityFiles).toEqual([resolve(SSH, 'id_web'), resolve(SSH, 'alice-web1.example.com-2200')]);
    expect(w.connectTimeoutSec).toBe(7);
    expect(w.userKnownHosts).toEqual([resolve(SSH, 'kh1'), resolve(SSH, 'kh2')]);
  });

  it('values given first (the inventory) override every file, and tokens use them', () => {
    const w = r('web1', { user: ['carol'], port: ['22'] });
    expect(w.user).toBe('carol');
    expect(w.port).toBe(22);
    expect(w.identityFiles[1]).toBe(resolve(SSH, 'carol-web1.example.com-22'));
  });

  it('nothing set: OpenSSH defaults (port 22, known_hosts files) and the caller\'s default user', () => {
    const n = resolveHost('plain', { ...o, files: [] });
    expect(n).toMatchObject({ hostName: 'plain', port: 22, user: 'root', identityFiles: [], identitiesOnly: false, strictHostKeyChecking: 'yes' });
    expect(n.userKnownHosts).toEqual([resolve(SSH, 'known_hosts'), resolve(SSH, 'known_hosts2')]);
    expect(n.globalKnownHosts).toEqual(['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
    expect(n.jump).toBeUndefined();
  });
});

describe('ssh_config lookup: patterns', () => {
  it('a negated pattern excludes a host that a wildcard on the same line matches', () => {
    expect(r('web2').connectTimeoutSec).toBeUndefined(); // Host * !web2
    expect(r('web3').connectTimeoutSec).toBe(7);
    expect(r('web2').user).toBe('bob');
  });

  it('? is exactly one character', () => {
    expect(r('db1').port).toBe(5022);
    expect(r('db').port).toBe(22);
    expect(r('db12').port).toBe(22);
  });

  it('Host patterns match the name as given, case-insensitively, not the HostName', () => {
    expect(r('WEB1').user).toBe('alice');
    expect(r('x.internal').jump?.hostName).toBe('192.0.2.1');
    expect(r('inner').hostName).toBe('inner.internal');
    expect(r('inner').jump).toBeUndefined(); // Host *.internal does not see HostName inner.internal
  });
});

describe('ssh_config lookup: Match', () => {
  it('Match host sees the HostName obtained above it; Match originalhost the name as given', () => {
    expect(r('inner2').jump?.alias).toBe('bastion'); // Host inner2 / HostName i2.corp comes before Match host *.corp
    expect(r('late').hostName).toBe('late.corp');
    expect(r('late').jump).toBeUndefined(); // its HostName is set below the Match line
    expect(r('web1').serverAliveIntervalSec).toBe(15); // Match host *.example.com
    expect(r('web2').serverAliveIntervalSec).toBeUndefined();
  });

  it('several criteria must all hold; user is the remote user obtained so far; ! negates a criterion', () => {
    expect(r('web1').strictHostKeyChecking).toBe('accept-new'); // originalhost web1 user alice
    expect(r('web1', { user: ['carol'] }).strictHostKeyChecking).toBe('yes');
    expect(r('m1').identitiesOnly).toBe(false); // user root
    expect(r('m1', { user: ['deploy'] }).identitiesOnly).toBe(true); // !user root
  });

  it('Match exec is refused clearly, but only for hosts whose other criteria match', () => {
    expect(() => r('execy')).toThrow(/Match exec" is not supported/);
    expect(() => r('web1')).not.toThrow();
  });
});

describe('ssh_config lookup: Include', () => {
  it('an Include inside a Host block applies its files (glob, sorted, relative to ~/.ssh) to that host only', () => {
    const i = r('incl-only');
    expect(i.port).toBe(1010); // conf.d/10-a.conf, top level: inherits the enclosing block
    expect(i.user).toBe('from-b'); // conf.d/20-b.conf
    expect(r('web3').port).toBe(2200);
  });

  it('a Host line inside a file included from an inactive block never matches', () => {
    expect(r('other').port).toBe(22);
  });

  it('an Include with ~ at the top of the file', () => {
    expect(r('top').hostName).toBe('top.example');
  });

  it('globs expand to the matching files in order, not the others', () => {
    expect(expandGlob(resolve(SSH, 'conf.d/*.conf'))).toEqual([resolve(SSH, 'conf.d/10-a.conf'), resolve(SSH, 'conf.d/20-b.conf')]);
    expect(expandGlob(resolve(SSH, 'nothing/*.conf'))).toEqual([]);
  });
});

describe('ssh_config lookup: tokens', () => {
  it('an unknown % token is an error naming the value, as OpenSSH refuses it', () => {
    expect(() => r('badtoken')).toThrow(/IdentityFile ~\/\.ssh\/%Z: unknown token %Z/);
  });
});

describe('ssh_config lookup: jump hosts', () => {
  it('ProxyJump a,b: the target is reached through b, b through a; each hop is looked up in the config', () => {
    const c = r('chain');
    const hops = jumpChain(c);
    expect(hops.map((h) => [h.user, h.hostName, h.port])).toEqual([['root', '198.51.100.1', 22], ['root', 'j2', 2022]]);
    expect(c.jump!.jump!.alias).toBe('j1');
  });

  it('a jump host has its own User and HostName from the config', () => {
    const j = r('x.internal').jump!;
    expect([j.user, j.hostName, j.port]).toEqual(['jump', '192.0.2.1', 22]);
  });

  it('ProxyCommand "ssh -W %h:%p host" is a jump hop; any other command is refused', () => {
    const l = r('legacy');
    expect([l.jump!.user, l.jump!.hostName]).toEqual(['ops', 'gw.example']);
    expect(() => r('badproxy')).toThrow(/ProxyCommand nc %h %p: not supported/);
  });

  it('a ProxyJump loop is an error, not a hang', () => {
    expect(() => r('loop1')).toThrow(SshConfigError);
  });

  it('hop syntax: user@host:port, ssh:// URIs, [IPv6]:port, none', () => {
    expect(parseHop('u@h:2')).toEqual({ user: 'u', host: 'h', port: 2 });
    expect(parseHop('ssh://u@h')).toEqual({ user: 'u', host: 'h' });
    expect(parseHop('[2001:db8::1]:2022')).toEqual({ host: '2001:db8::1', port: 2022 });
    expect(parseProxyJump('none')).toEqual([]);
    expect(() => parseHop('h:99999')).toThrow(/port/);
    expect(proxyCommandHop(['none'], { h: 'a', p: '22', r: 'root', n: 'a' })).toBeUndefined();
    expect(() => proxyCommandHop(['ssh', '-W', 'other:22', 'gw'], { h: 'a', p: '22', r: 'root', n: 'a' })).toThrow(/not the target/);
  });
});
