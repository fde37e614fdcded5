// Files on a host, for every module: reading a file (one section, or content + metadata), line files clusterform
// owns, records, and planning a whole-file write.
import { q } from '../../util/shell.js';
import { unifiedDiff } from '../../util/diff.js';
import type { Change, ProbeResult, SectionResult } from '../../engine/types.js';

/** Where clusterform keeps its records on a host. */
export const STATE_DIR = '/var/lib/clusterform';
/** The first line of a file clusterform writes and owns. */
export const MANAGED = '# managed by clusterform';

/** A file as read from a host; mode and owner only when read with readFileSections. */
export interface FileState { exists: boolean; content: string; mode?: string; owner?: string }

/** Snippet: prints `exists` + the file, or `missing`. One `cat`. */
// catFile (the read of a whole file) lives in the engine, which predicts its answer after a write (batch.ts)
export { catFile } from '../../engine/script.js';

export function parseCatFile(r: SectionResult): FileState {
  const nl = r.out.indexOf('\n');
  const head = (nl < 0 ? r.out : r.out.slice(0, nl)).trim();
  if (head !== 'exists') return { exists: false, content: '' };
  return { exists: true, content: nl < 0 ? '' : r.out.slice(nl + 1) };
}

/** Lines of a text without the trailing empty line. */
export function lines(text: string): string[] {
  const l = text.split('\n');
  if (l.length && l[l.length - 1] === '') l.pop();
  return l;
}

export function joinLines(l: string[]): string {
  return l.length ? l.join('\n') + '\n' : '';
}

/** True when a file holds nothing but comments and blank lines. */
export function onlyComments(text: string): boolean {
  return lines(text).every((l) => l.trim() === '' || l.trim().startsWith('#'));
}

/** Action: write `value` to a record file unless one is there already (keeps the first value). */
export function recordOnceScript(path: string, value: string): string {
  const dir = path.replace(/\/[^/]*$/, '') || '/';
  // written beside, flushed to the disk, renamed, the directory flushed: a power cut right after `up` must not leave an
  // empty record (seen on a director: ip_forward "restored" to '' after a power cut)
  return `if [ ! -s ${q(path)} ]; then mkdir -p ${q(dir)} && __cfr=$(mktemp ${q(path + '.cf-XXXXXX')}) && printf '%s\\n' ${q(value)} > "$__cfr" && sync -- "$__cfr" && mv -f "$__cfr" ${q(path)} && sync -- ${q(dir)}; fi`;
}

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
