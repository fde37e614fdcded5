// Check (read-only, for verify): this host resolves every other host's name to its address and reaches it.
import { z } from 'zod';
import { defineCheck } from '../../engine/types.js';
import { q } from '../../util/shell.js';

const args = z.object({ names: z.array(z.object({ name: z.string(), address: z.string() })) }).strict();
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
    const bad = rows.filter((r) => r !== self && (!r.resolved.includes(r.address) || !r.reachable));
    if (bad.length) return { pass: false, reason: bad.map((r) => !r.resolved.includes(r.address) ? `${r.name} resolves to ${r.resolved.join(',') || 'nothing'}, wanted ${r.address}` : `${r.name} (${r.address}) does not answer ping`).join('; ') };
    return {
      pass: true,
      reason: `${rows.length} names resolve and answer`,
      warnings: self ? [`${self.name} resolves its own name to ${self.resolved.join(',')} (loopback), not ${self.address}: cluster daemons that bind to their own name would listen on loopback`] : [],
    };
  },
});
