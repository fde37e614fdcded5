// check_peers (verify): every host resolves and reaches every other host; with LVS-NAT the real servers sit behind
// the directors, so hosts outside the farm (a client) only need to resolve them (seen in the NAT failover lab: the
// client on the public network failed verify for rs1/rs2 on the private one).
import { describe, expect, it } from 'vitest';
import { behindNat, checkPeers } from '../../src/modules/checks/check_peers.js';

const lvs = (forwarding: 'nat' | 'dr') => ({
  directors: ['lb1', 'lb2'], vip: '10.0.0.200', forwarding, virtual_services: [{ protocol: 'tcp' as const, port: 80, scheduler: 'rr' }],
  real_servers: [{ host: 'rs1', weight: 1 }, { host: 'rs2', weight: 1 }], nat: { gateway: '10.0.1.1' },
});
const names = [{ name: 'lb1', address: '10.0.0.1' }, { name: 'rs1', address: '10.0.1.21' }, { name: 'client', address: '10.0.0.50' }];
const out = (reach: Record<string, boolean>) => Object.fromEntries(names.map((n, i) => [`peer${i}`, { out: `addr ${n.address}\n${reach[n.name] ? 'reach\n' : ''}`, err: '', rc: 0 }]));
const run = (host: string, l: any, reach: Record<string, boolean>) => {
  const c: any = { host: { name: host, address: '' }, args: { names, ...(l ? { lvs: l } : {}) } };
  return (checkPeers as any).plan((checkPeers as any).parse(out(reach), c), c).check;
};

describe('check_peers', () => {
  it('behindNat: the NAT real servers, only for hosts outside the farm', () => {
    expect([...behindNat(lvs('nat') as any, 'client')]).toEqual(['rs1', 'rs2']);
    expect([...behindNat(lvs('nat') as any, 'lb2')]).toEqual([]);
    expect([...behindNat(lvs('nat') as any, 'rs2')]).toEqual([]);
    expect([...behindNat(lvs('dr') as any, 'client')]).toEqual([]);
    expect([...behindNat(undefined, 'client')]).toEqual([]);
  });
  it('a client that cannot ping a NAT real server passes (said in the reason); a director that cannot fails; without lvs it fails', () => {
    const r = run('client', lvs('nat'), { lb1: true, client: true });
    expect(r.pass).toBe(true);
    expect(r.reason).toBe('3 names resolve; all but rs1, rs2 (LVS-NAT real servers, behind the directors: not reached from here) answer');
    expect(run('lb1', lvs('nat'), { lb1: true, client: true })).toMatchObject({ pass: false, reason: 'rs1 (10.0.1.21) does not answer ping' });
    expect(run('client', undefined, { lb1: true, client: true })).toMatchObject({ pass: false, reason: 'rs1 (10.0.1.21) does not answer ping' });
    expect(run('client', lvs('dr'), { lb1: true, client: true }).pass).toBe(false);
  });
});
