// ipvsadm >= 1.30 prints the tunnel type of every tunnelled real server (captured from the TUN lab's director VM).
import { describe, expect, it } from 'vitest';
import { parseIpvsadmSave, serviceLines } from '../../src/parsers/ipvsadm.js';
import { planIpvsEdits } from '../../src/lvs/plan.js';

const captured = '-A -t 10.222.0.200:80 -s rr\n-a -t 10.222.0.200:80 -r 10.222.0.21:80 -i -w 1 --tun-type ipip\n-a -t 10.222.0.200:80 -r 10.222.0.22:80 -i -w 1 --tun-type ipip\n';

describe('ipvsadm -S -n with tunnel options', () => {
  it('parses --tun-type ipip as the default tunnel', () => {
    const [s] = parseIpvsadmSave(captured);
    expect(s!.dests).toEqual([
      { address: '10.222.0.21', port: 80, forwarding: 'tun', weight: 1 },
      { address: '10.222.0.22', port: 80, forwarding: 'tun', weight: 1 },
    ]);
  });
  it('keeps other tunnel settings and prints them back', () => {
    const [s] = parseIpvsadmSave('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n');
    expect(s!.dests[0]!.tunOptions).toEqual(['--tun-type', 'gue', '--tun-port', '6080', '--tun-nocsum']);
    expect(serviceLines(s!).dests[0]).toBe('-a -t 10.0.0.1:80 -r 10.0.0.2:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum');
  });
  it('a TUN table read back from the kernel needs no edit', () => {
    const cur = parseIpvsadmSave(captured);
    const want = parseIpvsadmSave(captured.replace(/ --tun-type ipip/g, ''));
    expect(planIpvsEdits(cur, want, ['t:10.222.0.200:80']).edits).toEqual([]);
  });
  it('rejects an unknown option clearly', () => {
    expect(() => parseIpvsadmSave('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -i --bogus\n')).toThrow(/unknown ipvsadm option "--bogus"/);
  });
});
