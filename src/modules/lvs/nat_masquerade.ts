// nat_masquerade: SNAT (MASQUERADE) of the real servers' network on the director, with iptables (or nft when iptables is absent).
import { z } from 'zod';
import { defineModule, type Change } from '../../engine/types.js';
import { lvsSchema, type RawInventory } from '../../inventory/schema.js';
import { cmd } from '../../util/shell.js';
import { cidrArg, ifaceArg } from '../../util/validators.js';
import { normCidr } from '../support/net.js';
import { sec } from '../support/sections.js';

export const NFT_TABLE = 'clusterform';

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

export function natUsed(lvs: RawInventory['lvs']): boolean {
  return !!lvs && lvs.virtual_services.some((v) => (v.forwarding ?? lvs.forwarding ?? 'dr') === 'nat');
}

export const natMasquerade = defineModule<NatMasqueradeArgs, NatMasqueradeState>({
  name: 'nat_masquerade',
  doc: "Masquerading (SNAT) of the real servers' outbound traffic on the director, iptables or nft.",
  args,
  read: () => ({
    nat: [
      'if command -v iptables >/dev/null 2>&1; then echo @@iptables; iptables -w -t nat -S POSTROUTING',
      `elif command -v nft >/dev/null 2>&1; then echo @@nft; nft -a list table ip ${NFT_TABLE} 2>/dev/null || echo @@notable`,
      'else echo @@none; fi',
    ].join('\n'),
  }),
  parse: (res) => {
    const r = sec(res, 'nat');
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
  },
  plan: (s, { args: a }) => {
    const lvs = a.lvs;
    const state = a.state === 'auto' ? (natUsed(lvs) ? 'present' : 'absent') : a.state;
    const src = a.source ?? lvs?.nat?.network;
    if (!src) {
      if (state === 'present') return { changes: [], notes: ['no source network (lvs.nat.network): real servers\' outbound traffic is not masqueraded'] };
      return { changes: [] };
    }
    if (!cidrArg.safeParse(src).success) return { changes: [], refuse: `lvs.nat.network ${JSON.stringify(src)} is not an IPv4 network like 10.0.0.0/24` };
    const source = normCidr(src);
    if (s.error) return { changes: [], refuse: s.error };
    const mine = s.rules.filter((r) => r.target === 'MASQUERADE' && !r.other && r.source === source && r.out === a.out_interface);
    const changes: Change[] = [];
    const what = `masquerade ${source}${a.out_interface ? ' out ' + a.out_interface : ''}`;
    const ipt = (op: string) => ['iptables', '-w', '-t', 'nat', op, 'POSTROUTING', '-s', source, ...(a.out_interface ? ['-o', a.out_interface] : []), '-j', 'MASQUERADE'];
    if (state === 'present') {
      if (mine.length) return { changes: [] };
      if (s.backend === 'none') return { changes: [], refuse: 'neither iptables nor nft is installed: cannot masquerade the real servers\' traffic' };
      if (s.backend === 'iptables') changes.push({ summary: what, actions: [{ kind: 'sh', script: cmd(ipt('-A')), desc: ipt('-A').join(' ') }] });
      else {
        const steps = [
          ['nft', 'add', 'table', 'ip', NFT_TABLE],
          ['nft', 'add', 'chain', 'ip', NFT_TABLE, 'postrouting', '{ type nat hook postrouting priority 100 ; }'],
          ['nft', 'add', 'rule', 'ip', NFT_TABLE, 'postrouting', 'ip', 'saddr', source, ...(a.out_interface ? ['oifname', a.out_interface] : []), 'masquerade'],
        ];
        changes.push({ summary: `${what} (nft table ip ${NFT_TABLE})`, actions: steps.map((st) => ({ kind: 'sh' as const, script: cmd(st), desc: st.join(' ') })) });
      }
      return { changes, notes: ['not persisted across reboots: save the firewall with your distribution\'s tool (iptables-save / netfilter-persistent)'] };
    }
    for (const r of mine) {
      if (s.backend === 'iptables') changes.push({ summary: `stop: ${what}`, actions: [{ kind: 'sh', script: cmd(ipt('-D')), desc: ipt('-D').join(' ') }] });
      else if (r.handle !== undefined) {
        const st = ['nft', 'delete', 'rule', 'ip', NFT_TABLE, 'postrouting', 'handle', String(r.handle)];
        changes.push({ summary: `stop: ${what}`, actions: [{ kind: 'sh', script: cmd(st), desc: st.join(' ') }] });
      }
    }
    if (s.backend === 'nft' && s.table && s.rules.length === mine.length) {
      const st = ['nft', 'delete', 'table', 'ip', NFT_TABLE];
      changes.push({ summary: `remove nft table ip ${NFT_TABLE}`, actions: [{ kind: 'sh', script: cmd(st), desc: st.join(' ') }] });
    }
    return { changes };
  },
});
