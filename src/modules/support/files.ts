// Small pieces modules share: reading a file's content and metadata, planning a whole-file write.
import { q } from '../../util/shell.js';
import { unifiedDiff } from '../../util/diff.js';
import type { Change, ProbeResult } from '../../engine/types.js';

export interface FileState { exists: boolean; content: string; mode?: string; owner?: string }

/** Read snippets for one file, under section names prefixed with `p`. */
export function readFileSections(path: string, p = 'file'): Record<string, string> {
  return { [`${p}.content`]: `cat -- ${q(path)}`, [`${p}.stat`]: `stat -c '%a %U:%G' -- ${q(path)}` };
}

export function parseFileSections(res: ProbeResult, p = 'file'): FileState {
  const c = res[`${p}.content`];
  const s = res[`${p}.stat`];
  if (!c || !s || s.rc !== 0) return { exists: false, content: '' };
  const [mode, owner] = s.out.trim().split(' ');
  return { exists: true, content: c.out, mode: mode?.padStart(4, '0'), owner };
}

/** The change that makes `path` hold `content` with `mode`/`owner`, or null when it already does. */
export function planFile(path: string, cur: FileState, content: string, opts: { mode?: string; owner?: string; backup?: boolean; mkdir?: boolean } = {}): Change | null {
  const mode = (opts.mode ?? '0644').padStart(4, '0');
  const sameContent = cur.exists && cur.content === content;
  const sameMode = cur.exists && cur.mode === mode;
  const sameOwner = !opts.owner || (cur.exists && cur.owner === opts.owner);
  if (sameContent && sameMode && sameOwner) return null;
  if (sameContent) {
    const fix = [!sameMode ? `chmod ${q(mode)} -- ${q(path)}` : '', !sameOwner ? `chown ${q(opts.owner!)} -- ${q(path)}` : ''].filter(Boolean).join(' && ');
    return { summary: `${path}: ${!sameMode ? `mode ${cur.mode} → ${mode}` : ''}${!sameMode && !sameOwner ? ', ' : ''}${!sameOwner ? `owner ${cur.owner} → ${opts.owner}` : ''}`, actions: [{ kind: 'sh', script: fix, desc: fix }] };
  }
  return {
    summary: cur.exists ? `update ${path}` : `create ${path}`,
    diff: unifiedDiff(cur.content, content, path),
    actions: [{ kind: 'write', path, content, mode, owner: opts.owner, backup: opts.backup, mkdir: opts.mkdir }],
  };
}
