// boot_timeout: the boot loader menu timeout (GRUB legacy grub.conf `timeout=`, or GRUB 2 GRUB_TIMEOUT= + regenerate).
import { z } from 'zod';
import { defineModule, type Action } from '../../engine/types.js';
import { unifiedDiff } from '../../util/diff.js';
import { cmd } from '../../util/shell.js';

const args = z.object({ timeout: z.number().int().min(0).max(3600) }).strict();
type Args = z.infer<typeof args>;

export const GRUB_LEGACY = ['/boot/grub/grub.conf', '/etc/grub.conf'];
export const GRUB_DEFAULT = '/etc/default/grub';

interface State { legacyPath?: string; legacy?: string; grub2?: string; grub2Cfg: string[] }

/** Set `key<sep>value` at line level, keeping every other line; appended (or inserted before `firstBefore`) when absent. */
export function setKey(text: string, re: RegExp, line: string, insertBefore?: RegExp): string {
  const lines = text.split('\n');
  let found = false;
  const out = lines.map((l) => {
    if (re.test(l)) {
      found = true;
      return line;
    }
    return l;
  });
  if (found) return out.join('\n');
  const at = insertBefore ? lines.findIndex((l) => insertBefore.test(l)) : -1;
  if (at >= 0) {
    lines.splice(at, 0, line);
    return lines.join('\n');
  }
  const body = text === '' || text.endsWith('\n') ? text : text + '\n';
  return body + line + '\n';
}

export const bootTimeout = defineModule<Args, State>({
  name: 'boot_timeout',
  doc: 'The boot menu timeout in grub.conf (GRUB legacy) or /etc/default/grub (GRUB 2, regenerated).',
  args,
  read: () => ({
    legacy: `for f in ${GRUB_LEGACY.join(' ')}; do if [ -f "$f" ]; then readlink -f "$f"; cat "$f"; exit 0; fi; done; exit 1`,
    grub2: `cat ${GRUB_DEFAULT}`,
    cfg: 'for f in /boot/grub2/grub.cfg /boot/grub/grub.cfg; do [ -f "$f" ] && echo "$f"; done; true',
  }),
  parse(res) {
    const st: State = { grub2Cfg: (res.cfg?.out ?? '').split('\n').filter(Boolean) };
    if (res.legacy?.rc === 0) {
      const i = res.legacy.out.indexOf('\n');
      st.legacyPath = res.legacy.out.slice(0, i);
      st.legacy = res.legacy.out.slice(i + 1);
    }
    if (res.grub2?.rc === 0) st.grub2 = res.grub2.out;
    return st;
  },
  plan(st, ctx) {
    const t = ctx.args.timeout;
    if (st.legacyPath !== undefined && st.legacy !== undefined) {
      const want = setKey(st.legacy, /^\s*timeout\s*=/, `timeout=${t}`, /^\s*title\s/);
      if (want === st.legacy) return { changes: [], notes: [`${st.legacyPath}: timeout=${t}`] };
      return { changes: [{ summary: `${st.legacyPath}: timeout=${t}`, diff: unifiedDiff(st.legacy, want, st.legacyPath), actions: [{ kind: 'write', path: st.legacyPath, content: want, mode: '0600', backup: true }] }] };
    }
    if (st.grub2 !== undefined) {
      const want = setKey(st.grub2, /^\s*GRUB_TIMEOUT\s*=/, `GRUB_TIMEOUT=${t}`);
      if (want === st.grub2) return { changes: [], notes: [`${GRUB_DEFAULT}: GRUB_TIMEOUT=${t}`] };
      const actions: Action[] = [{ kind: 'write', path: GRUB_DEFAULT, content: want, mode: '0644', backup: true }];
      const warnings: string[] = [];
      const tools = ctx.facts.tools;
      if (tools['grub2-mkconfig']) {
        const out = st.grub2Cfg.find((p) => p.includes('grub2')) ?? '/boot/grub2/grub.cfg';
        actions.push({ kind: 'sh', desc: `grub2-mkconfig -o ${out}`, script: `${cmd(['grub2-mkconfig', '-o', out])} >/dev/null 2>&1 || ${cmd(['grub2-mkconfig', '-o', out])}` });
      } else if (tools['update-grub']) actions.push({ kind: 'sh', desc: 'update-grub', script: 'update-grub >/dev/null 2>&1 || update-grub' });
      else if (tools['grub-mkconfig']) actions.push({ kind: 'sh', desc: 'grub-mkconfig -o /boot/grub/grub.cfg', script: 'grub-mkconfig -o /boot/grub/grub.cfg >/dev/null 2>&1 || grub-mkconfig -o /boot/grub/grub.cfg' });
      else warnings.push(`${GRUB_DEFAULT} changed but no grub2-mkconfig/update-grub found: regenerate grub.cfg yourself`);
      return { changes: [{ summary: `${GRUB_DEFAULT}: GRUB_TIMEOUT=${t}`, diff: unifiedDiff(st.grub2, want, GRUB_DEFAULT), actions }], warnings };
    }
    return { changes: [], notes: ['no GRUB configuration (grub.conf or /etc/default/grub) on this host: skipped'] };
  },
});
