import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIpvsadmSave, renderIpvsadmRules, type IpvsService } from '../../src/parsers/ipvsadm.js';
import { planIpvsEdits } from '../../src/lvs/plan.js';

const fx = (n: string) => readFileSync(new URL(`../fixtures/${n}`, import.meta.url), 'utf8');
const saveSection = (t: string) => t.split('\n').filter((l) => /^-[Aa] /.test(l)).join('\n') + '\n';

describe('parseIpvsadmSave', () => {
  it('debian 12 capture', () => {
    expect(parseIpvsadmSave(fx('ipvsadm-S-n.debian12-readme.txt'))).toEqual([
      {
        key: 't:10.214.0.100:80',
        protocol: 'tcp',
        address: '10.214.0.100',
        port: 80,
        scheduler: 'wlc',
        dests: [{ address: '10.214.0.12', port: 80, forwarding: 'dr', weight: 1 }],
      },
    ]);
  });
  it('derived -S -n: persistence, udp with sched flags, fwmark tun', () => {
    const s = parseIpvsadmSave(saveSection(fx('ipvsadm-Ln-and-Sn.derived.txt')));
    expect(s.map((x) => x.key)).toEqual(['t:10.0.0.100:80', 'u:10.0.0.100:53', 'f:80']);
    expect(s[0]).toMatchObject({ scheduler: 'wlc', persistence: 300 });
    expect(s[0]!.dests.map((d) => d.weight)).toEqual([1, 3]);
    expect(s[1]).toMatchObject({ protocol: 'udp', scheduler: 'sh', flags: ['sh-fallback', 'sh-port'] });
    expect(s[1]!.dests[0]).toEqual({ address: '192.168.1.11', port: 53, forwarding: 'nat', weight: 1 });
    expect(s[2]).toMatchObject({ protocol: 'fwmark', fwmark: 80, scheduler: 'rr' });
    expect(s[2]!.dests[0]).toEqual({ address: '192.168.1.11', port: 0, forwarding: 'tun', weight: 1 });
  });
  it('ubuntu rules file with comment and trailing spaces', () => {
    const s = parseIpvsadmSave(fx('ipvsadm.rules.ubuntu.txt'));
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ key: 't:172.16.0.206:80', scheduler: 'wrr' });
    expect(s[0]!.dests.map((d) => `${d.address}/${d.forwarding}/${d.weight}`)).toEqual(['10.0.0.201/nat/1', '10.0.0.202/nat/1']);
  });
  it('man page restore input: "ipvsadm " prefix, default weight 1', () => {
    const s = parseIpvsadmSave('ipvsadm -A -t 207.175.44.110:80 -s rr\nipvsadm -a -t 207.175.44.110:80 -r 192.168.10.1:80 -m\n');
    expect(s[0]!.dests[0]).toEqual({ address: '192.168.10.1', port: 80, forwarding: 'nat', weight: 1 });
  });
  it.each([
    ['-A -t 10.0.0.1:80 -s rr -p', { persistence: 300 }],
    ['-A -t 10.0.0.1:80 -s rr -p 600', { persistence: 600 }],
    ['-A -t 10.0.0.1:80 -p -s rr', { persistence: 300, scheduler: 'rr' }],
    ['-A -t 10.0.0.1:80 -s rr -p 60 -M 255.255.255.0', { persistence: 60, netmask: '255.255.255.0' }],
    ['-A -u 10.0.0.1:53 -s rr -o', { ops: true, protocol: 'udp' }],
    ['-A -u 10.0.0.1:5060 -s rr -p 60 --pe sip', { pe: 'sip' }],
    ['-A -t 10.0.0.1:80', { scheduler: 'wlc' }],
    ['-A -t [2001:db8::1]:80 -s rr', { key: 't:[2001:db8::1]:80', address: '2001:db8::1', port: 80 }],
    ['-A -f 1 -s wrr', { key: 'f:1', fwmark: 1 }],
    ['--add-service --tcp-service 10.0.0.1:80 --scheduler lc', { scheduler: 'lc' }],
  ])('%s', (line, want) => expect(parseIpvsadmSave(line)[0]).toMatchObject(want));
  it('thresholds and IPv6 real servers', () => {
    const s = parseIpvsadmSave(
      '-A -t [2001:db8::1]:80 -s wlc\n-a -t [2001:db8::1]:80 -r [2001:db8::11]:8080 -m -w 2 -x 100 -y 50\n',
    );
    expect(s[0]!.dests[0]).toEqual({ address: '2001:db8::11', port: 8080, forwarding: 'nat', weight: 2, uThreshold: 100, lThreshold: 50 });
  });
  it.each([
    ['-A -t 192.168.18.42:http-alt -s rr', /ipvsadm -S -n/],
    ['-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g', /unknown service/],
    ['-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s rr', /twice/],
    ['-A -t 10.0.0.1:80 -s rr -Z', /unknown ipvsadm option/],
    ['-C', /unexpected command/],
    ['-A -s rr', /no -t\/-u\/-f/],
  ])('rejects %j', (text, re) => expect(() => parseIpvsadmSave(text)).toThrow(re));
  it('empty table', () => expect(parseIpvsadmSave('')).toEqual([]));
});

describe('renderIpvsadmRules', () => {
  it('round-trips the derived -S -n output byte for byte', () => {
    const text = saveSection(fx('ipvsadm-Ln-and-Sn.derived.txt'));
    expect(renderIpvsadmRules(parseIpvsadmSave(text))).toBe('# managed by clusterform\n' + text);
  });
  it('round-trips the debian capture and thresholds/IPv6/persistence', () => {
    for (const text of [
      fx('ipvsadm-S-n.debian12-readme.txt'),
      '-A -t [2001:db8::1]:80 -s wlc -p 60 -M 64\n-a -t [2001:db8::1]:80 -r [2001:db8::11]:8080 -m -w 2 -x 100 -y 50\n',
      '-A -u 10.0.0.1:5060 -s rr -p 60 -M 255.255.255.0 --pe sip -o\n',
    ]) {
      const r = renderIpvsadmRules(parseIpvsadmSave(text));
      expect(r).toBe('# managed by clusterform\n' + text);
      expect(parseIpvsadmSave(r)).toEqual(parseIpvsadmSave(text));
    }
  });
  it('empty', () => expect(renderIpvsadmRules([])).toBe('# managed by clusterform\n'));
});

const svc = (text: string): IpvsService[] => parseIpvsadmSave(text);
const BASE = '-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.11:80 -g -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.12:80 -g -w 1\n';
const argvs = (cur: string, want: string, owned: string[] = []) => planIpvsEdits(svc(cur), svc(want), owned).edits.map((e) => e.argv.join(' '));

describe('planIpvsEdits', () => {
  it('no-op', () => expect(planIpvsEdits(svc(BASE), svc(BASE), ['t:10.0.0.1:80'])).toEqual({ edits: [], foreign: [] }));
  it('add service on an empty table', () => {
    expect(argvs('', BASE)).toEqual([
      '-A -t 10.0.0.1:80 -s wlc',
      '-a -t 10.0.0.1:80 -r 10.0.0.11:80 -g -w 1',
      '-a -t 10.0.0.1:80 -r 10.0.0.12:80 -g -w 1',
    ]);
  });
  it('edit weight: exactly one -e with the brief argv', () => {
    const p = planIpvsEdits(svc(BASE), svc(BASE.replace('10.0.0.11:80 -g -w 1', '10.0.0.11:80 -g -w 3')), []);
    expect(p.edits).toHaveLength(1);
    expect(p.edits[0]!.argv).toEqual(['-e', '-t', '10.0.0.1:80', '-r', '10.0.0.11:80', '-g', '-w', '3']);
    expect(p.edits[0]!.summary).toMatch(/weight 1 → 3/);
  });
  it('change scheduler: exactly one -E', () => {
    expect(argvs(BASE, BASE.replace('-s wlc', '-s rr'))).toEqual(['-E -t 10.0.0.1:80 -s rr']);
  });
  it('persistence added, then removed', () => {
    expect(argvs(BASE, BASE.replace('-s wlc', '-s wlc -p 300'))).toEqual(['-E -t 10.0.0.1:80 -s wlc -p 300']);
    expect(argvs(BASE.replace('-s wlc', '-s wlc -p 300'), BASE)).toEqual(['-E -t 10.0.0.1:80 -s wlc']);
    expect(argvs(BASE.replace('-s wlc', '-s wlc -p 300'), BASE.replace('-s wlc', '-s wlc -p 300 -M 255.255.255.0'))).toEqual([
      '-E -t 10.0.0.1:80 -s wlc -p 300 -M 255.255.255.0',
    ]);
  });
  it('scheduler flags changed', () => {
    expect(argvs(BASE, BASE.replace('-s wlc', '-s sh -b sh-port'))).toEqual(['-E -t 10.0.0.1:80 -s sh -b sh-port']);
    expect(argvs(BASE.replace('-s wlc', '-s sh -b sh-port,sh-fallback'), BASE.replace('-s wlc', '-s sh -b sh-fallback,sh-port'))).toEqual([]);
  });
  it('add and remove dests, deletions first', () => {
    const want = '-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.12:80 -g -w 1\n-a -t 10.0.0.1:80 -r 10.0.0.13:80 -g -w 2\n';
    expect(argvs(BASE, want)).toEqual(['-d -t 10.0.0.1:80 -r 10.0.0.11:80', '-a -t 10.0.0.1:80 -r 10.0.0.13:80 -g -w 2']);
  });
  it('remove an owned service that is no longer wanted', () => {
    const cur = BASE + '-A -t 10.0.0.2:443 -s rr\n-a -t 10.0.0.2:443 -r 10.0.0.11:443 -g -w 1\n';
    const p = planIpvsEdits(svc(cur), svc(BASE), ['t:10.0.0.1:80', 't:10.0.0.2:443']);
    expect(p.edits.map((e) => e.argv.join(' '))).toEqual(['-D -t 10.0.0.2:443']);
    expect(p.foreign).toEqual([]);
  });
  it('foreign service left alone and reported, its dests untouched', () => {
    const cur = BASE + '-A -t 10.9.9.9:80 -s rr\n-a -t 10.9.9.9:80 -r 10.0.0.11:80 -g -w 5\n';
    const p = planIpvsEdits(svc(cur), svc(BASE.replace('-w 1\n-a', '-w 2\n-a')), ['t:10.0.0.1:80']);
    expect(p.foreign).toEqual(['t:10.9.9.9:80']);
    expect(p.edits.map((e) => e.argv.join(' '))).toEqual(['-e -t 10.0.0.1:80 -r 10.0.0.11:80 -g -w 2']);
    expect(p.edits.every((e) => !e.argv.includes('10.9.9.9:80'))).toBe(true);
  });
  it('wanted service that already exists unowned is adopted (edited, not re-added)', () => {
    expect(argvs(BASE, BASE.replace('-s wlc', '-s rr'), [])).toEqual(['-E -t 10.0.0.1:80 -s rr']);
  });
  it('fwmark and udp services', () => {
    const want = '-A -f 80 -s rr\n-a -f 80 -r 192.168.1.11:0 -i -w 1\n-A -u 10.0.0.100:53 -s sh -b sh-fallback,sh-port\n-a -u 10.0.0.100:53 -r 192.168.1.11:53 -m -w 1\n';
    expect(argvs('', want)).toEqual([
      '-A -f 80 -s rr',
      '-A -u 10.0.0.100:53 -s sh -b sh-fallback,sh-port',
      '-a -f 80 -r 192.168.1.11:0 -i -w 1',
      '-a -u 10.0.0.100:53 -r 192.168.1.11:53 -m -w 1',
    ]);
    expect(argvs(want, want.replace('-i -w 1', '-i -w 4'))).toEqual(['-e -f 80 -r 192.168.1.11:0 -i -w 4']);
  });
  it('nat with a different real port is a different dest', () => {
    const cur = '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.10.1:80 -m -w 1\n';
    const want = '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 1\n';
    expect(argvs(cur, want)).toEqual(['-d -t 10.0.0.1:80 -r 192.168.10.1:80', '-a -t 10.0.0.1:80 -r 192.168.10.1:8080 -m -w 1']);
  });
  it('forwarding change and thresholds', () => {
    expect(argvs(BASE, BASE.replace('10.0.0.12:80 -g -w 1', '10.0.0.12:80 -m -w 1'))).toEqual(['-e -t 10.0.0.1:80 -r 10.0.0.12:80 -m -w 1']);
    const withT = BASE.replace('10.0.0.12:80 -g -w 1', '10.0.0.12:80 -g -w 1 -x 100 -y 10');
    expect(argvs(BASE, withT)).toEqual(['-e -t 10.0.0.1:80 -r 10.0.0.12:80 -g -w 1 -x 100 -y 10']);
    expect(argvs(withT, BASE)).toEqual(['-e -t 10.0.0.1:80 -r 10.0.0.12:80 -g -w 1 -x 0 -y 0']);
  });
  it('deterministic order across phases', () => {
    const cur = BASE + '-A -t 10.0.0.3:80 -s rr\n';
    const want = BASE.replace('-s wlc', '-s rr').replace('-a -t 10.0.0.1:80 -r 10.0.0.12:80 -g -w 1\n', '') + '-A -t 10.0.0.4:80 -s rr\n-a -t 10.0.0.4:80 -r 10.0.0.11:80 -g -w 1\n';
    expect(argvs(cur, want, ['t:10.0.0.3:80'])).toEqual([
      '-d -t 10.0.0.1:80 -r 10.0.0.12:80',
      '-D -t 10.0.0.3:80',
      '-E -t 10.0.0.1:80 -s rr',
      '-A -t 10.0.0.4:80 -s rr',
      '-a -t 10.0.0.4:80 -r 10.0.0.11:80 -g -w 1',
    ]);
  });
  it('never -C', () => {
    const p = planIpvsEdits(svc(BASE), [], ['t:10.0.0.1:80']);
    expect(p.edits.map((e) => e.argv[0])).toEqual(['-D']);
  });
});
