// The module harness itself: a row whose expectation is wrong fails, sections the module does not read are refused,
// sections it reads and parses must be given, and the context carries the cluster-wide arguments.
import { describe, expect, it } from 'vitest';
import { command } from '../../../src/modules/core/command.js';
import { hostsFile } from '../../../src/modules/core/hosts_file.js';
import { sysctl } from '../../../src/modules/core/sysctl.js';
import { diskLayout } from '../../../src/modules/ha/disk_layout.js';
import { ipvs } from '../../../src/modules/lvs/ipvs.js';
import { catOut, checkRow, flatten, makeCtx, ok, runModule, withHa, type Row } from '../../support/module-harness.js';

const row: Row = { name: 'creates missing', module: command, args: { argv: ['true'], creates: '/x' }, sections: { check: ok('needed\n') }, expect: { summaries: ['run true (/x does not exist)'], scripts: ['true'] } };

describe('module harness', () => {
  it('a right row passes; a wrong summary, script, note, refusal or an unexpected refusal fails', () => {
    expect(() => checkRow(row)).not.toThrow();
    expect(() => checkRow({ ...row, expect: { summaries: ['run false (/x does not exist)'] } })).toThrow(/summaries\[0\]/);
    expect(() => checkRow({ ...row, expect: { summaries: [] } })).toThrow(/summaries/);
    expect(() => checkRow({ ...row, expect: { scripts: [/^false$/] } })).toThrow(/scripts\[0\]/);
    expect(() => checkRow({ ...row, expect: { notes: ['x'] } })).toThrow(/notes/);
    expect(() => checkRow({ ...row, expect: { refuse: /./ } })).toThrow(/refuse/);
    const refused: Row = { name: 'refused', module: sysctl, args: { name: 'net.ipv4.x', value: 1 }, sections: { live: { out: '', err: 'No such file', rc: 1 }, file: catOut(), saved: catOut() }, expect: { summaries: [] } };
    expect(() => checkRow(refused)).toThrow(/refuse/);
  });
  it('a section the module does not read is refused (the probe returns only what was read)', () => {
    expect(() => runModule(command, { argv: ['true'] }, { check: ok('needed\n'), chek: ok('') })).toThrow(/section chek given, but command does not read it/);
  });
  it('a section the module reads and parses must be given', () => {
    expect(() => runModule(sysctl, { name: 'net.ipv4.ip_forward', value: 1 }, { live: ok('0\n'), file: catOut() })).toThrow(/sysctl reads and parses section saved, but the test gives no output for it/);
  });
  it('a peer section the module does not read on peers is refused', () => {
    expect(() => runModule(diskLayout, {}, {}, { peers: [{ host: 'node2', res: { dev: ok('/dev/vdc\n'), mounts: ok('') } }] })).toThrow(/peer section mounts of node2/);
  });
  it('the context: host, facts, flags, and the cluster-wide arguments the module declares', () => {
    const c = makeCtx(diskLayout, {}, { host: 'node2', force: true, flags: { wipeDisks: true }, facts: { init: 'sysv', features: { raw: 'loaded' } }, cluster: withHa({ shared_disk: '/dev/sdb' }) });
    expect(c.host).toMatchObject({ name: 'node2', address: '10.213.0.12' });
    expect(c.flags).toEqual({ forceDisks: true, wipeDisks: true });
    expect(c.facts).toMatchObject({ init: 'sysv', pkg: 'apt', features: { raw: 'loaded', ipvs: 'module' } });
    expect((c.args as any).ha.shared_disk).toBe('/dev/sdb');
    expect(makeCtx(ipvs, {}).args).toMatchObject({ lvs: { vip: '10.213.0.200' }, hosts: expect.arrayContaining([{ name: 'rs1', address: '10.213.0.21' }]) });
    expect(makeCtx(hostsFile, {}).args).toMatchObject({ cluster: 'lab' });
  });
  it('flatten: a plan as data', () => {
    const f = flatten(runModule(hostsFile, { entries: [{ address: '10.0.0.1', names: ['a'] }] }, { 'file.content': ok(''), 'file.stat': ok('600 root:root\n') }).plan);
    expect(f).toMatchObject({ summaries: ['/etc/hosts: managed block for 1 hosts'], scripts: ['write /etc/hosts'], descs: ['write /etc/hosts'], modes: { '/etc/hosts': '0600' }, warnings: [], notes: [] });
    expect(f.writes['/etc/hosts']).toContain('10.0.0.1 a\n');
    expect(f.refuse).toBeUndefined();
  });
});
