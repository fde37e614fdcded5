// nat_masquerade: SNAT (MASQUERADE) of the real servers' network on the director, with iptables (or nft when iptables is
// absent), live and at boot.
//
// At boot: clusterform's own oneshot unit clusterform-nat.service adds the rule (and removes it when stopped), ordered
// after the firewall services that load a whole ruleset (nftables, netfilter-persistent, iptables, firewalld). The
// distributions' own rule files are not merged into: netfilter-persistent's rules.v4 and RHEL's /etc/sysconfig/iptables
// are restored with iptables-restore, which replaces each table it names (a nat rule written there clobbers or is
// clobbered by the admin's nat table), and Debian's /etc/nftables.conf starts with `flush ruleset` and includes no
// directory by default. The unit works the same on Debian 12 and RHEL 8/9, with iptables-nft, iptables-legacy or nft.
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { lvsSchema, type RawInventory } from '../../inventory/schema.js';
import { cmd } from '../../util/shell.js';
import { cidrArg, ifaceArg } from '../../util/validators.js';
import { normCidr } from '../support/net.js';
import { sec } from '../support/sections.js';
import { foundSh, type Found, parseFound, planPersist, renderUnit, unitPath } from '../support/netstack.js';

export const NFT_TABLE = 'clusterform';
export const NAT_UNIT = 'clusterform-nat.service';

const args = z
  .object({
    /** the real servers' network; default lvs.nat.network */
    source: cidrArg.optional(),
    /** an inventory-style lvs: section (playbooks pass "{{lvs}}"): for state auto and the default source */
    lvs: lvsSchema.optional(),
    out_interface: ifaceArg.optional(),
    /** auto: present when any LVS virtual service uses NAT forwarding, else absent */
    state: z.enum(['present', 'absent', 'auto']).default('present'),
  })
  .strict();
export type NatMasqueradeArgs = z.infer<typeof args>;

export interface MasqRule { source?: string; out?: string; target: string; other: boolean; handle?: number }

export interface NatMasqueradeState {
  backend: 'iptables' | 'nft' | 'none';
  rules: MasqRule[];
  error?: string;
  /** nft: our table exists */
  table: boolean;
  /** systemd runs (clusterform's unit can restore the rule at boot) */
  systemd: boolean;
  /** clusterform's unit, if there */
  found: Found;
}

/** `iptables -t nat -S POSTROUTING` → the -A rules (other options flagged). */
export function parseIptablesS(text: string): MasqRule[] {
  const out: MasqRule[] = [];
  for (const raw of text.split('\n')) {
    const w = raw.trim().split(/\s+/);
    if (w[0] !== '-A') continue;
    const r: MasqRule = { target: '', other: false };
    for (let i = 2; i < w.length; i++) {
      const t = w[i]!;
      const n = w[i + 1];
      if (t === '-s') { r.source = n; i++; }
      else if (t === '-o') { r.out = n; i++; }
      else if (t === '-j') { r.target = n ?? ''; i++; }
      else r.other = true;
    }
    out.push(r);
  }
  return out;
}

/** `nft -a list table ip clusterform` → masquerade rules of chain postrouting. */
export function parseNftTable(text: string): MasqRule[] {
  const out: MasqRule[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!/\bmasquerade\b/.test(line)) continue;
    const r: MasqRule = { target: 'MASQUERADE', other: false };
    const s = /ip saddr (\S+)/.exec(line); if (s) r.source = s[1]!.includes('/') ? s[1] : `${s[1]}/32`;
    const o = /oifname "?([^"\s]+)"?/.exec(line); if (o) r.out = o[1];
    const h = /# handle (\d+)/.exec(line); if (h) r.handle = Number(h[1]);
    const rest = line.replace(/ip saddr \S+/, '').replace(/oifname \S+/, '').replace(/# handle \d+/, '').replace(/masquerade/, '').trim();
    if (rest !== '') r.other = true;
    out.push(r);
  }
  return out;
}

/** The unit that restores the rule at boot (iptables: added unless there, -D on stop; nft: clusterform's table). */
export function renderNatUnit(backend: 'iptables' | 'nft', source: string, out?: string): string {
  const what = `masquerade ${source}${out ? ' out ' + out : ''}`;
  const after = ['network-pre.target', 'nftables.service', 'netfilter-persistent.service', 'iptables.service', 'firewalld.service'];
  if (backend === 'iptables') {
    const ipt = (op: string) => ['iptables', '-w', '-t', 'nat', op, 'POSTROUTING', '-s', source, ...(out ? ['-o', out] : []), '-j', 'MASQUERADE'].join(' ');
    return renderUnit({ description: what, after, start: [`/bin/sh -c "${ipt('-C')} 2>/dev/null || ${ipt('-A')}"`], stop: [`/bin/sh -c "${ipt('-D')}"`] });
  }
  const nft = (rest: string) => `/usr/sbin/nft ${rest}`;
  return renderUnit({
    description: `${what} (nft table ip ${NFT_TABLE})`,
    after,
    pre: [nft(`delete table ip ${NFT_TABLE}`)],
    start: [nft(`add table ip ${NFT_TABLE}`), nft(`add chain ip ${NFT_TABLE} postrouting "{ type nat hook postrouting priority 100 ; }"`), nft(`add rule ip ${NFT_TABLE} postrouting ip saddr ${source}${out ? ` oifname ${out}` : ''} masquerade`)],
    stop: [nft(`delete table ip ${NFT_TABLE}`)],
  });
}

export function natUsed(lvs: RawInventory['lvs']): boolean {
  return !!lvs && lvs.virtual_services.some((v) => (v.forwarding ?? lvs.forwarding ?? 'dr') === 'nat');
}

export const natMasquerade = defineModule<NatMasqueradeArgs, NatMasqueradeState>({
  name: 'nat_masquerade',
  doc: "Masquerading (SNAT) of the real servers' outbound traffic on the director, iptables or nft.",
  args,
  read: () => ({
    persist: `[ -d /run/systemd/system ] && echo @@systemd\n${foundSh([unitPath(NAT_UNIT)], [NAT_UNIT], [])}`,
    nat: [
      'if command -v iptables >/dev/null 2>&1; then echo @@iptables; iptables -w -t nat -S POSTROUTING',
      `elif command -v nft >/dev/null 2>&1; then echo @@nft; nft -a list table ip ${NFT_TABLE} 2>/dev/null || echo @@notable`,
      'else echo @@none; fi',
    ].join('\n'),
  }),
  parse: (res) => ({ ...parseNat(sec(res, 'nat')), systemd: /^@@systemd$/m.test(sec(res, 'persist').out), found: parseFound(sec(res, 'persist').out) }),
  plan: (s, { args: a }) => {
    const lvs = a.lvs;
    const state = a.state === 'auto' ? (natUsed(lvs) ? 'present' : 'absent') : a.state;
    const src = a.source ?? lvs?.nat?.network;
    if (!src) {
      if (state === 'present') return { changes: [], notes: ['no source network (lvs.nat.network): real servers\' outbound traffic is not masqueraded'] };
      return { changes: planPersist([], s.found, 'masquerading') };
    }
    if (!cidrArg.safeParse(src).success) return { changes: [], refuse: `lvs.nat.network ${JSON.stringify(src)} is not an IPv4 network like 10.0.0.0/24` };
    const source = normCidr(src);
    if (s.error) return { changes: [], refuse: s.error };
    const what = `masquerade ${source}${a.out_interface ? ' out ' + a.out_interface : ''}`;
    if (state === 'absent') return { changes: [...liveChanges(s, source, a.out_interface, 'absent'), ...planPersist([], s.found, what)] };
    if (s.backend === 'none') return { changes: [], refuse: 'neither iptables nor nft is installed: cannot masquerade the real servers\' traffic' };
    const changes = liveChanges(s, source, a.out_interface, 'present');
    if (!s.systemd) return { changes, notes: [`${what} not persisted: no systemd on this host to restore it at boot (save the firewall with your distribution's tool)`] };
    const unit = { kind: 'file' as const, path: unitPath(NAT_UNIT), content: renderNatUnit(s.backend, source, a.out_interface), unit: NAT_UNIT };
    return { changes: [...changes, ...planPersist([unit], s.found, what)] };
  },
});

/** `nat` section → backend and rules. */
function parseNat(r: { out: string; err: string; rc: number }): Pick<NatMasqueradeState, 'backend' | 'rules' | 'table' | 'error'> {
  const first = r.out.split('\n')[0]!.trim();
  if (first === '@@iptables') {
    if (r.rc !== 0) return { backend: 'iptables', rules: [], table: false, error: `iptables -t nat -S POSTROUTING failed (exit ${r.rc}): ${r.err.trim()}` };
    return { backend: 'iptables', rules: parseIptablesS(r.out), table: false };
  }
  if (first === '@@nft') {
    const table = !r.out.includes('@@notable');
    return { backend: 'nft', rules: table ? parseNftTable(r.out) : [], table };
  }
  return { backend: 'none', rules: [], table: false };
}

/** The live rule: added (present) or every matching rule deleted (absent). */
function liveChanges(s: NatMasqueradeState, source: string, out: string | undefined, state: 'present' | 'absent'): Change[] {
  const mine = s.rules.filter((r) => r.target === 'MASQUERADE' && !r.other && r.source === source && r.out === out);
  const what = `masquerade ${source}${out ? ' out ' + out : ''}`;
  const ipt = (op: string) => ['iptables', '-w', '-t', 'nat', op, 'POSTROUTING', '-s', source, ...(out ? ['-o', out] : []), '-j', 'MASQUERADE'];
  const step = (argv: string[]) => ({ kind: 'sh' as const, script: cmd(argv), desc: argv.join(' ') });
  if (state === 'present') {
    if (mine.length) return [];
    if (s.backend === 'iptables') return [{ summary: what, actions: [step(ipt('-A'))] }];
    return [{ summary: `${what} (nft table ip ${NFT_TABLE})`, actions: [
      step(['nft', 'add', 'table', 'ip', NFT_TABLE]),
      step(['nft', 'add', 'chain', 'ip', NFT_TABLE, 'postrouting', '{ type nat hook postrouting priority 100 ; }']),
      step(['nft', 'add', 'rule', 'ip', NFT_TABLE, 'postrouting', 'ip', 'saddr', source, ...(out ? ['oifname', out] : []), 'masquerade']),
    ] }];
  }
  const changes: Change[] = [];
  for (const r of mine) {
    if (s.backend === 'iptables') changes.push({ summary: `stop: ${what}`, actions: [step(ipt('-D'))] });
    else if (r.handle !== undefined) changes.push({ summary: `stop: ${what}`, actions: [step(['nft', 'delete', 'rule', 'ip', NFT_TABLE, 'postrouting', 'handle', String(r.handle)])] });
  }
  if (s.backend === 'nft' && s.table && s.rules.length === mine.length) changes.push({ summary: `remove nft table ip ${NFT_TABLE}`, actions: [step(['nft', 'delete', 'table', 'ip', NFT_TABLE])] });
  return changes;
}
