// Values read back from a host (probe output) reach the shell literally: hostile interface names, routes and
// recorded values are fed into module plans, and the produced scripts are run in a temp dir with a stub `ip` that
// records its argv. Also: the engine's temp files have no predictable fallback, and the sudo prompt filter.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Facts } from '../../src/facts/facts.js';
import type { Action, ModuleDef, ProbeResult, TaskCtx } from '../../src/engine/types.js';
import type { Inventory } from '../../src/inventory/load.js';
import { inventorySchema } from '../../src/inventory/schema.js';
import { ipAddress } from '../../src/modules/lvs/ip_address.js';
import { route } from '../../src/modules/lvs/route.js';
import { actionScript, applyScript, probeScript } from '../../src/engine/script.js';
import { promptResponder, TokenFilter } from '../../src/transport/prompt.js';

const tmp = mkdtempSync(join(tmpdir(), 'cf-quoting-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const bin = join(tmp, 'bin');
spawnSync('mkdir', ['-p', bin]);
// `ip` records each call's argv (NUL-separated) and does nothing else
writeFileSync(join(bin, 'ip'), '#!/bin/sh\n{ printf \'CALL\\0\'; for a; do printf \'%s\\0\' "$a"; done; } >> "$CF_ARGV_LOG"\n');
chmodSync(join(bin, 'ip'), 0o755);

/** Runs a script in a fresh dir with the stub `ip` first on PATH; returns the recorded argvs and whether PWNED appeared. */
function runWithStubs(script: string): { calls: string[][]; pwned: boolean; code: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmp, 'run-'));
  const log = join(dir, 'argv.log');
  writeFileSync(log, '');
  const r = spawnSync('sh', ['-c', script], { cwd: dir, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, CF_ARGV_LOG: log } });
  const calls = readFileSync(log, 'utf8').split('CALL\0').slice(1).map((c) => c.split('\0').slice(0, -1));
  return { calls, pwned: existsSync(join(dir, 'PWNED')), code: r.status, stderr: r.stderr };
}
const syntaxOk = (script: string) => spawnSync('sh', ['-n', '-c', script]).status === 0;

const facts: Facts = {
  hostname: 'h', os: { id: 'debian', like: [], version: '12', family: 'debian' }, kernel: '6.1.0', init: 'systemd', pkg: 'apt', uid: 0,
  features: { ipvs: 'module', raw: 'none', ipip: 'module', arpHidden: false, udevRaw: false }, tools: {},
} as Facts;
const RAW = inventorySchema.parse({ cluster: 'q', hosts: { rs1: { address: '10.213.0.21' } } });
const inventory: Inventory = (() => {
  const hosts = [{ name: 'rs1', address: '10.213.0.21', ssh: {} as any, vars: {} }];
  return { file: 'x', dir: '.', cluster: 'q', raw: RAW, hosts, host: (n: string) => hosts.find((h) => h.name === n)!, groups: {} } as Inventory;
})();
function plan<A>(m: ModuleDef<A, any>, rawArgs: unknown, res: ProbeResult) {
  const args = (m.args as any).parse(rawArgs) as A;
  const ctx: TaskCtx<A> = { host: inventory.host('rs1'), facts, inventory, args, flags: { forceDisks: false } as any, dryRun: false };
  return m.plan(m.parse(res, ctx), ctx);
}
const ok = (out: string) => ({ out, err: '', rc: 0 });
const shActions = (p: { changes: { actions: Action[] }[] }) => p.changes.flatMap((c) => c.actions).filter((a): a is Extract<Action, { kind: 'sh' }> => a.kind === 'sh');
const writes = (p: { changes: { actions: Action[] }[] }) => p.changes.flatMap((c) => c.actions).filter((a): a is Extract<Action, { kind: 'write' }> => a.kind === 'write');
/** The shell commands of an ifupdown stanza's up/down hooks. */
const hooks = (content: string) => content.split('\n').map((l) => /^\s+(?:up|down)\s+(.*)$/.exec(l)?.[1]).filter((x): x is string => !!x);

// each one creates ./PWNED if the shell ever runs it as code
const HOSTILE = ["e'x", 'e$(touch PWNED)', 'e;touch PWNED', 'e`touch PWNED`', 'e|touch PWNED', 'e&&touch PWNED', 'e touch PWNED', "e'$(touch PWNED)'"];
const HOSTILE_WORD = [...new Set(HOSTILE.map((h) => h.replace(/ /g, '${IFS}')))]; // what a whitespace-split parser (`dev (\S+)`) lets through

describe('ip_address: an interface name read from the host is passed literally', () => {
  it.each(HOSTILE)('device %j', (dev) => {
    const p = plan(ipAddress, { address: '10.213.0.200', prefix: 32 }, { addr: ok(`device=${dev}\n@@link\n5: x: <BROADCAST,NOARP> mtu 1500\n`), persist: ok('dir\nmissing\n') });
    expect(p.refuse).toBeUndefined();
    const script = applyScript(shActions(p));
    expect(syntaxOk(script)).toBe(true);
    const r = runWithStubs(script);
    expect(r.pwned).toBe(false);
    expect(r.calls).toEqual([['addr', 'add', '10.213.0.200/32', 'dev', dev], ['link', 'set', 'dev', dev, 'up']]);
    // the ifupdown stanza cannot quote an interface name: such a name is not written there at all
    for (const w of writes(p)) {
      for (const h of hooks(w.content)) expect(runWithStubs(h).pwned, h).toBe(false);
      expect(w.content).not.toContain(dev);
    }
    expect(p.notes?.join('\n')).toMatch(/not persisted: the interface name .* cannot be written/);
  });

  it.each(HOSTILE_WORD)('removing an address from device %j', (dev) => {
    const p = plan(ipAddress, { address: '10.213.0.200', prefix: 32, state: 'absent' }, { addr: ok(`device=${dev}\n7: ${dev}    inet 10.213.0.200/32 scope global ${dev}\\       valid_lft forever\n@@link\n7: x: <UP>\n`), persist: ok('dir\nmissing\n') });
    const r = runWithStubs(applyScript(shActions(p)));
    expect(r.pwned).toBe(false);
    expect(r.calls).toEqual([['addr', 'del', '10.213.0.200/32', 'dev', dev]]);
  });

  it('a plain device still gets its ifupdown stanza, whose hooks run ip with exact arguments', () => {
    const p = plan(ipAddress, { address: '10.213.0.200', prefix: 32, label: 'lo:0' }, { addr: ok('device=lo\n@@link\n1: lo: <LOOPBACK,UP>\n'), netstack: ok('systemd\nunit networking active enabled\ninterfaces\ninterfaces.d\n'), persist: ok('') });
    const [w] = writes(p);
    expect(w!.content).toContain('iface lo:0 inet manual');
    const calls = hooks(w!.content).flatMap((h) => runWithStubs(h.replace(/ \|\| true$/, '')).calls);
    expect(calls).toEqual([['link', 'set', 'dev', 'lo', 'up'], ['addr', 'add', '10.213.0.200/32', 'dev', 'lo', 'label', 'lo:0'], ['addr', 'del', '10.213.0.200/32', 'dev', 'lo']]);
  });
});

describe('route: devices, routes and recorded values read from the host are passed literally', () => {
  const persist = ok('dir\nmissing\n');
  it.each(HOSTILE_WORD)('gateway device %j', (dev) => {
    const p = plan(route, { gateway: '10.213.0.1' }, { routes: ok(`default via 192.0.2.1 dev ${dev} metric 5\n`), get: ok(`10.213.0.1 dev ${dev} src 10.213.0.21 uid 0\n`), saved: ok('exists\nvia 192.0.2.1\n'), persist });
    const script = applyScript(shActions(p));
    expect(syntaxOk(script)).toBe(true);
    const r = runWithStubs(script);
    expect(r.pwned).toBe(false);
    expect(r.calls).toEqual([['route', 'del', 'default', 'via', '192.0.2.1', 'dev', dev, 'metric', '5'], ['route', 'replace', 'default', 'via', '10.213.0.1', 'dev', dev]]);
    expect(writes(p)).toEqual([]);
    expect(p.notes?.join('\n')).toMatch(/not persisted: the interface name .* cannot be written/);
  });

  it('a recorded route with a newline and shell code is restored as ip arguments, never run', () => {
    const p = plan(route, { state: 'absent' }, { routes: ok('default via 10.213.0.1 dev eth0\n'), saved: ok('exists\nvia 192.0.2.1 dev eth0\n$(touch PWNED);touch PWNED\n'), persist });
    const script = applyScript(shActions(p));
    const r = runWithStubs(script);
    expect(r.pwned).toBe(false);
    expect(r.calls).toEqual([['route', 'replace', 'default', 'via', '192.0.2.1', 'dev', 'eth0', '$(touch', 'PWNED);touch', 'PWNED']]);
  });

  it('recording the current route quotes what the host printed', () => {
    const p = plan(route, { gateway: '10.213.0.1' }, { routes: ok("default via 192.0.2.1 dev e'$(touch${IFS}PWNED)\n"), get: ok('10.213.0.1 dev eth0 src 10.213.0.21\n'), saved: ok('missing\n'), persist });
    const record = shActions(p).find((a) => a.desc.startsWith('record'))!;
    expect(syntaxOk(record.script)).toBe(true);
    expect(record.script).toContain(`'via 192.0.2.1 dev e'\\''$(touch\${IFS}PWNED)'`);
  });
});

describe('engine temp files: unpredictable, created exclusively, no fallback', () => {
  it('the probe fails instead of falling back to a predictable /tmp name when mktemp fails', () => {
    const stubs = mkdtempSync(join(tmp, 'nomktemp-'));
    writeFileSync(join(stubs, 'mktemp'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(stubs, 'mktemp'), 0o755);
    const script = probeScript([['one', 'echo hello']], 'abc');
    expect(script).not.toMatch(/\$\$/);
    const r = spawnSync('sh', ['-c', script], { cwd: stubs, encoding: 'utf8', env: { PATH: `${stubs}:/usr/bin:/bin` } });
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('hello');
  });

  it('restoring a backup copies into a mktemp file beside the target, never <path>.cf-restore', () => {
    const s = actionScript({ kind: 'remove', path: '/etc/some dir/x.conf', restoreBackup: true });
    expect(s).not.toContain('.cf-restore');
    expect(s).toContain(`mktemp '/etc/some dir/.cf-XXXXXX'`);
    expect(syntaxOk(s)).toBe(true);
  });
});

describe('sudo password prompt: the password is only ever sent in answer to the prompt', () => {
  const P = '@@CF-SUDO-1a2b@@';
  const READY = '@@CF-RUNS-3c4d';
  function drive(chunks: string[]) {
    const io = { sent: [] as string[], ended: false, ready: 0 };
    const f = promptResponder({ prompt: P, answer: 'secret', ready: READY }, { write: (d) => io.sent.push(d), end: () => { io.ended = true; }, ready: () => { io.ready++; } });
    const text = chunks.map((c) => f.push(c)).join('') + f.flush();
    return { ...io, text };
  }

  it('sudo asks: the password goes once, markers are removed from stderr, even when split across chunks', () => {
    const all = `${P}${READY}\nwarning: x\n`;
    const r = drive(all.split(''));
    expect(r.sent).toEqual(['secret\n']);
    expect(r.ready).toBe(1);
    expect(r.text).toBe('warning: x\n');
  });

  it('sudo does not ask (NOPASSWD, cached): nothing is sent', () => {
    const r = drive([`${READY}\n`, 'out']);
    expect(r.sent).toEqual([]);
    expect(r.ready).toBe(1);
    expect(r.text).toBe('out');
  });

  it('a second prompt (wrong password) closes stdin instead of sending it again', () => {
    const r = drive([P, 'Sorry, try again.\n', P, '\nsudo: 1 incorrect password attempt\n']);
    expect(r.sent).toEqual(['secret\n']);
    expect(r.ended).toBe(true);
    expect(r.text).toBe('Sorry, try again.\n\nsudo: 1 incorrect password attempt\n');
  });

  it('the prompt printed by the command itself, after it runs, is never answered', () => {
    expect(drive([`${READY}\n`, P]).sent).toEqual([]);
  });

  it('TokenFilter keeps text that only looks like the start of a marker', () => {
    const f = new TokenFilter(['@@X@@'], () => {});
    expect(f.push('a@@') + f.push('Y') + f.flush()).toBe('a@@Y');
  });
});
