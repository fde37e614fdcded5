// Issue #13, inventory: lvs.failover and lvs.health (and a virtual service's own health:) load from the issue's
// example, and every problem the issue names is reported at file:line:column before any host is contacted.
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/load.js';
import { detectionBound, effectiveHealth, keepalivedOwns } from '../../src/inventory/lvs-failover.js';
import { InputError } from '../../src/util/input.js';

const inv = (lvs: string) => `cluster: t
hosts:
  lb1: { address: 192.168.2.1 }
  lb2: { address: 192.168.2.2 }
  rs1: { address: 192.168.2.11 }
  rs2: { address: 192.168.2.12 }
lvs:
${lvs}`;

const ISSUE_EXAMPLE = `  directors: [lb1, lb2]
  vip: 192.168.2.254
  forwarding: dr
  failover:
    vrid: 51
    advert_int: 1
    preempt: false
    auth_pass_env: CF_VRRP_PASS
    sync_connections: true
  health:
    check: http
    path: /
    status: 200
    interval: 2
    timeout: 2
    retry: 1
    on_failure: remove
  virtual_services:
    - { protocol: tcp, port: 80, scheduler: wlc }
    - { protocol: tcp, port: 443, scheduler: wlc, health: { check: tcp } }
  real_servers:
    - { host: rs1 }
    - { host: rs2 }
`;

/** The issues of loading `text`, as `line:col path: message`. */
function problems(text: string): string[] {
  try { loadInventory('inv.yaml', text); } catch (e) {
    if (e instanceof InputError) return e.issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('lvs.failover and lvs.health', () => {
  it("loads the issue's example, with the defaults filled in", () => {
    const raw = loadInventory('inv.yaml', inv(ISSUE_EXAMPLE)).raw.lvs!;
    expect(raw.failover).toEqual({ vrid: 51, advert_int: 1, preempt: false, auth_pass_env: 'CF_VRRP_PASS', sync_connections: true, unicast: true });
    expect(raw.health).toEqual({ check: 'http', path: '/', status: 200, interval: 2, timeout: 2, retry: 1, on_failure: 'remove' });
    expect(raw.virtual_services[1]!.health).toEqual({ check: 'tcp' });
    expect(keepalivedOwns(raw)).toBe(true);
  });

  it('a virtual service health: overrides the farm health field by field', () => {
    const raw = loadInventory('inv.yaml', inv(ISSUE_EXAMPLE)).raw.lvs!;
    expect(effectiveHealth(raw.health, raw.virtual_services[0]!.health)).toEqual({ check: 'http', path: '/', status: 200, interval: 2, timeout: 2, retry: 1, delay_before_retry: 1, on_failure: 'remove' });
    expect(effectiveHealth(raw.health, raw.virtual_services[1]!.health).check).toBe('tcp');
    expect(effectiveHealth(undefined, { on_failure: 'quiesce' })).toMatchObject({ check: 'tcp', on_failure: 'quiesce' });
    // interval + (retry + 1) × timeout + retry × delay_before_retry
    expect(detectionBound(effectiveHealth(raw.health, undefined))).toBe(2 + 2 * 2 + 1);
  });

  it('health with one director and no failover is valid (checks without failover)', () => {
    const one = ISSUE_EXAMPLE.replace('[lb1, lb2]', '[lb1]').replace(/ {2}failover:\n(?: {4}.*\n)+/, '');
    expect(problems(inv(one))).toEqual([]);
    const raw = loadInventory('inv.yaml', inv(one)).raw.lvs!;
    expect(raw.failover).toBeUndefined();
    expect(keepalivedOwns(raw)).toBe(true);
  });

  it('a farm without failover: or health: is not keepalived\'s', () => {
    const plain = ISSUE_EXAMPLE.replace('[lb1, lb2]', '[lb1]').replace(/ {2}failover:\n(?: {4}.*\n)+/, '').replace(/ {2}health:\n(?: {4}.*\n)+/, '').replace(', health: { check: tcp }', '');
    expect(keepalivedOwns(loadInventory('inv.yaml', inv(plain)).raw.lvs!)).toBe(false);
  });

  it('two directors without failover: refused at the directors key', () => {
    const text = inv(ISSUE_EXAMPLE.replace(/ {2}failover:\n(?: {4}.*\n)+/, ''));
    expect(problems(text)).toEqual(['8:3 lvs.directors: 2 directors need failover: { vrid: 1..255 } (VRRP with keepalived decides which one holds the VIP)']);
  });

  it('vrid out of range, vrid missing', () => {
    expect(problems(inv(ISSUE_EXAMPLE.replace('vrid: 51', 'vrid: 256')))).toEqual(['12:11 lvs.failover.vrid: number 256: vrid: 1..255']);
    expect(problems(inv(ISSUE_EXAMPLE.replace('vrid: 51', 'vrid: 0')))).toEqual(['12:11 lvs.failover.vrid: number 0: vrid: 1..255']);
    expect(problems(inv(ISSUE_EXAMPLE.replace('    vrid: 51\n', '')))).toEqual([expect.stringMatching(/^12:5 lvs\.failover\.vrid: required field is missing/)]);
  });

  it('advert_int below what VRRP version 2 allows (sub-second, zero)', () => {
    expect(problems(inv(ISSUE_EXAMPLE.replace('advert_int: 1', 'advert_int: 0.5')))).toEqual(['13:17 lvs.failover.advert_int: number 0.5: advert_int: whole seconds with VRRP version 2 (sub-second adverts need VRRPv3, which has no authentication)']);
    expect(problems(inv(ISSUE_EXAMPLE.replace('advert_int: 1', 'advert_int: 0')))).toEqual(['13:17 lvs.failover.advert_int: number 0: advert_int: at least 1 second with VRRP version 2']);
  });

  it('path (and status) with check: tcp, at the farm and in a virtual service', () => {
    expect(problems(inv(ISSUE_EXAMPLE.replace('check: http', 'check: tcp')))).toEqual([
      '19:11 lvs.health.path: path: only applies to check: http (this check is tcp)',
      '20:13 lvs.health.status: status: only applies to check: http (this check is tcp)',
    ]);
    expect(problems(inv(ISSUE_EXAMPLE.replace('health: { check: tcp }', 'health: { check: tcp, path: /x }'))))
      .toEqual(['27:79 lvs.virtual_services[1].health.path: path: only applies to check: http (this check is tcp)']);
  });

  it('a director that is also a real server', () => {
    expect(problems(inv(ISSUE_EXAMPLE.replace('- { host: rs2 }', '- { host: lb2 }')))).toEqual(['30:15 lvs.real_servers[1].host: "lb2" is a director; a director cannot also be a real server here']);
  });

  it('unknown keys and values: did-you-mean, check and on_failure enums', () => {
    const p = problems(inv(ISSUE_EXAMPLE.replace('preempt: false', 'prempt: false').replace('on_failure: remove', 'on_failure: drop')));
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^14:5 lvs\.failover.*prempt.*preempt/);
    expect(p[1]).toMatch(/^24:17 lvs\.health\.on_failure: .*remove.*quiesce/);
  });

  it('NAT: the gateway address needs its own VRRP id', () => {
    const nat = ISSUE_EXAMPLE.replace('forwarding: dr', 'forwarding: nat\n  nat: { gateway: 10.0.0.254 }');
    expect(problems(inv(nat))).toEqual([]);
    expect(problems(inv(nat.replace('vrid: 51', 'vrid: 255')))).toEqual(['13:5 lvs.failover.vrid: the NAT gateway address needs its own VRRP id: vrid + 1 = 256 is out of range, set gateway_vrid: (1..255)']);
    expect(problems(inv(nat.replace('vrid: 51', 'vrid: 51\n    gateway_vrid: 51')))).toEqual(['14:19 lvs.failover.gateway_vrid: gateway_vrid must differ from vrid (two VRRP instances)']);
  });

  it('a udp service with its own tcp/http check', () => {
    const udp = ISSUE_EXAMPLE.replace('- { protocol: tcp, port: 443, scheduler: wlc, health: { check: tcp } }', '- { protocol: udp, port: 53, scheduler: rr, health: { check: tcp } }');
    expect(problems(inv(udp))).toEqual(['27:66 lvs.virtual_services[1].health.check: a udp service cannot have a tcp check (use check: none)']);
  });
});
