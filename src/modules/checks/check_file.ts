// Check (read-only, for verify): a file exists; its sha256 is the check's digest, which verify compares across hosts (e.g. /etc/cluster.xml identical on every HA member).
import { z } from 'zod';
import { absolutePath } from '../../util/validators.js';
import { defineCheck } from '../../engine/types.js';
import { q } from '../../util/shell.js';

const args = z.object({ path: absolutePath }).strict();
type State = { sha?: string; error?: string };

export const checkFile = defineCheck<z.infer<typeof args>, State>({
  name: 'check_file',
  doc: 'a file exists; its sha256 is the digest verify compares across hosts (read-only check)',
  args,
  read: (c) => ({ sum: `if [ ! -f ${q(c.args.path)} ]; then echo "no such file" >&2; exit 1; fi\nsha256sum < ${q(c.args.path)}` }),
  parse(res) {
    const r = res.sum;
    if (!r || r.rc !== 0) return { error: (r?.err || r?.out || 'no answer').trim() };
    const m = /^([0-9a-f]{64})\b/.exec(r.out.trim());
    return m ? { sha: m[1]! } : { error: `unexpected sha256sum output ${JSON.stringify(r.out.trim().slice(0, 80))}` };
  },
  check(st, c) {
    if (!st.sha) return { pass: false, reason: `${c.args.path} missing or unreadable on ${c.host.name}: ${st.error}` };
    return { pass: true, reason: `${c.args.path} present (sha256 ${st.sha.slice(0, 12)}…)`, digest: `sha256:${st.sha}` };
  },
});
