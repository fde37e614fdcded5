// Check (read-only, for verify): this host resolves every other host's name to its address and reaches it.
import { z } from 'zod';
import { defineCheck } from '../../engine/types.js';
import { q } from '../../util/shell.js';
import { lvsSchema } from '../../inventory/schema.js';

const args = z.object({
  names: z.array(z.object({ name: z.string(), address: z.string() })),
  /** the farm (playbooks pass "{{lvs}}"): with NAT forwarding the real servers sit behind the directors, and only the directors and the real servers themselves must reach them */
  lvs: lvsSchema.optional(),
}).strict();

/** The hosts this host need not reach (NAT real servers seen from outside the farm), by name. */
export function behindNat(lvs: z.infer<typeof lvsSchema> | undefined, me: string): Set<string> {
  if (!lvs || lvs.forwarding !== 'nat') return new Set();
  const rs = lvs.real_servers.map((r) => r.host);
  return lvs.directors.includes(me) || rs.includes(me) ? new Set() : new Set(rs);
}
type Row = { name: string; address: string; resolved: string[]; reachable: boolean };

export const checkPeers = defineCheck<z.infer<typeof args>, Row[]>({
  name: 'check_peers',
  doc: 'every host resolves and reaches every other host by name (read-only check)',
  args,
  read: (c) => Object.fromEntries(c.args.names.map((n, i) => [
    `peer${i}`,
    `getent hosts ${q(n.name)} | awk '{print "addr", $1}'; if command -v ping >/dev/null 2>&1; then ping -c1 -W2 ${q(n.name)} >/dev/null 2>&1 && echo reach; else echo noping; fi`,
  ])),
  parse: (res, c) => c.args.names.map((n, i) => {
    const out = res[`peer${i}`]?.out ?? '';
    return { ...n, resolved: [...out.matchAll(/^addr (\S+)/gm)].map((m) => m[1]!), reachable: /^reach$/m.test(out) || /^noping$/m.test(out) };
  }),
  check(rows, c) {
    // Debian-style `127.0.1.1 <own name>` lines are normal for the host itself: a warning, not a failure
    const self = rows.find((r) => r.name === c.host.name && !r.resolved.includes(r.address) && r.resolved.some((a) => a.startsWith('127.')));
    const hidden = behindNat(c.args.lvs, c.host.name);
    const bad = rows.filter((r) => r !== self && (!r.resolved.includes(r.address) || (!r.reachable && !hidden.has(r.name))));
    if (bad.length) return { pass: false, reason: bad.map((r) => !r.resolved.includes(r.address) ? `${r.name} resolves to ${r.resolved.join(',') || 'nothing'}, wanted ${r.address}` : `${r.name} (${r.address}) does not answer ping`).join('; ') };
    return {
      pass: true,
      reason: hidden.size ? `${rows.length} names resolve; all but ${[...hidden].join(', ')} (LVS-NAT real servers, behind the directors: not reached from here) answer` : `${rows.length} names resolve and answer`,
      warnings: self ? [`${self.name} resolves its own name to ${self.resolved.join(',')} (loopback), not ${self.address}: cluster daemons that bind to their own name would listen on loopback`] : [],
    };
  },
});
