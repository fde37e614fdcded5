// Turning reads and actions into shell scripts: one script per round trip, every value quoted.
import { randomBytes } from 'node:crypto';
import { q } from '../util/shell.js';
import type { Action, ProbeResult, SectionResult } from './types.js';

export const BACKUP_DIR = '/var/lib/clusterform/backup';

export function nonce(): string {
  return randomBytes(6).toString('hex');
}

/** Many named read snippets → one script whose output `parseProbe` splits again. */
export function probeScript(sections: [string, string][], n: string): string {
  // a private temp file for each section's stderr; no predictable fallback name: without mktemp the read fails
  const lines = ['__cfe=$(mktemp) || { echo "cannot create a temp file (mktemp)" >&2; exit 1; }'];
  for (const [name, snippet] of sections) {
    lines.push(
      `printf '%s\\n' ${q(`@@CF:${n}:S:${name}`)}`,
      `( ${snippet}\n) 2>"$__cfe" </dev/null; __cfrc=$?`,
      // `[ -s ]` is a builtin: cat (a process) only runs for the rare section that wrote to stderr
      `printf '\\n%s\\n' "@@CF:${n}:R:$__cfrc"; if [ -s "$__cfe" ]; then cat "$__cfe"; : > "$__cfe"; fi; printf '\\n%s\\n' ${q(`@@CF:${n}:X`)}`,
    );
  }
  lines.push('rm -f "$__cfe"');
  return lines.join('\n');
}

/** What probeScript(…, n) prints when each section answers as in `results` (parseProbe reads it back). */
export function probeOutput(n: string, results: [string, SectionResult][]): string {
  return results.map(([name, r]) => `@@CF:${n}:S:${name}\n${r.out}\n@@CF:${n}:R:${r.rc}\n${r.err}\n@@CF:${n}:X\n`).join('');
}

/**
 * Read snippets are read-only, so a snippet repeated under another name (tasks of one host often read the same disk,
 * or what holds it) gives the same answer within one round trip: run each once. `unique` goes into the script;
 * `copies` ([name, name of its first occurrence]) fills the result again (`withCopies`).
 */
export function distinctSections(sections: [string, string][]): { unique: [string, string][]; copies: [string, string][] } {
  const first = new Map<string, string>();
  const unique: [string, string][] = [], copies: [string, string][] = [];
  for (const [name, snippet] of sections) {
    const seen = first.get(snippet);
    if (seen === undefined) { first.set(snippet, name); unique.push([name, snippet]); } else copies.push([name, seen]);
  }
  return { unique, copies };
}

/** `res` with every copied section's result (see `distinctSections`), when its original was read. */
export function withCopies(res: ProbeResult, copies: [string, string][]): ProbeResult {
  for (const [name, from] of copies) if (res[from]) res[name] = { ...res[from] };
  return res;
}

/**
 * One round trip's read of `sections`: the script (each distinct snippet once, `sections` says which ran) and the
 * parser of its output, which gives every name its result.
 */
export function readRound(sections: [string, string][]): { script: string; sections: [string, string][]; parse(stdout: string): ProbeResult } {
  const n = nonce();
  const { unique, copies } = distinctSections(sections);
  return { script: probeScript(unique, n), sections: unique, parse: (stdout) => withCopies(parseProbe(stdout, n), copies) };
}

export function parseProbe(stdout: string, n: string): ProbeResult {
  const res: ProbeResult = {};
  const S = `@@CF:${n}:S:`;
  const R = `@@CF:${n}:R:`;
  const X = `@@CF:${n}:X`;
  let pos = 0;
  for (;;) {
    const s = stdout.indexOf(S, pos);
    if (s < 0) break;
    const nameEnd = stdout.indexOf('\n', s);
    const name = stdout.slice(s + S.length, nameEnd);
    const r = stdout.indexOf('\n' + R, nameEnd);
    const x = stdout.indexOf('\n' + X, r);
    if (r < 0 || x < 0) break;
    const out = stdout.slice(nameEnd + 1, r);
    const rcEnd = stdout.indexOf('\n', r + 1 + R.length);
    const rc = Number(stdout.slice(r + 1 + R.length, rcEnd));
    const err = stdout.slice(rcEnd + 1, x);
    res[name] = { out, err, rc };
    pos = x + X.length + 1;
  }
  return res;
}

/**
 * A script as -vv prints it: every single-quoted base64 run of 16 characters or more (file contents of write
 * actions, keys) replaced by a placeholder, so that no file content, key or password reaches a log.
 */
export function scriptForLog(script: string): string {
  return script.replace(/'[A-Za-z0-9+/]{16,}={0,2}'/g, (m) => `'<${m.length - 2} base64 characters not shown>'`);
}

function b64chunks(content: string): string {
  const b = Buffer.from(content, 'utf8').toString('base64');
  const parts: string[] = [];
  for (let i = 0; i < b.length; i += 4096) parts.push(b.slice(i, i + 4096));
  return parts.length ? `printf '%s' ${parts.map((p) => `'${p}'`).join(' ')}` : `printf ''`;
}

/** Command printing the name of a new, unpredictable file (created exclusively, mode 0600) beside `path`. */
function tempBeside(path: string): string {
  return `mktemp ${q(path.replace(/\/[^/]*$/, '') + '/.cf-XXXXXX')}`;
}

/** Shell for one action. Writes go to a temp file beside the target and are renamed into place. */
export function actionScript(a: Action): string {
  switch (a.kind) {
    case 'sh':
      return a.script;
    case 'write': {
      const p = q(a.path);
      const dir = q(a.path.replace(/\/[^/]*$/, '') || '/');
      const bk = q(BACKUP_DIR + a.path);
      const out: string[] = [];
      if (a.mkdir) out.push(`mkdir -p ${dir}`);
      if (a.backup) {
        // keep the original once, so that `down` can put it back; remember when there was none
        out.push(
          `if [ ! -e ${bk} ] && [ ! -e ${q(BACKUP_DIR + a.path + '.absent')} ]; then mkdir -p ${q(BACKUP_DIR + a.path.replace(/\/[^/]*$/, ''))} && ` +
            `if [ -e ${p} ]; then cp -p ${p} ${bk}; else : > ${q(BACKUP_DIR + a.path + '.absent')}; fi; fi`,
        );
      }
      out.push(
        `__cft=$(${tempBeside(a.path)}) || exit 1`,
        `{ ${b64chunks(a.content)} | base64 -d > "$__cft" && chmod ${q(a.mode ?? '0644')} "$__cft"` +
          (a.owner ? ` && chown ${q(a.owner)} "$__cft"` : '') +
          ` && sync -- "$__cft" && mv -f "$__cft" ${p} && sync -- ${dir}; } || { rm -f "$__cft"; exit 1; }`,
      );
      return out.join('\n');
    }
    case 'remove': {
      const p = q(a.path);
      const bk = q(BACKUP_DIR + a.path);
      const absent = q(BACKUP_DIR + a.path + '.absent');
      if (a.restoreBackup)
        return [
          `if [ -e ${bk} ]; then`,
          `  __cft=$(${tempBeside(a.path)}) || exit 1`,
          `  { cp -p ${bk} "$__cft" && mv -f "$__cft" ${p} && rm -f ${bk}; } || { rm -f "$__cft"; exit 1; }`,
          `else rm -f ${p}; rm -f ${absent}; fi`,
        ].join('\n');
      return `rm -f ${p}`;
    }
  }
}

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'sh': return a.desc;
    case 'write': return `write ${a.path} (${Buffer.byteLength(a.content)} bytes, mode ${a.mode ?? '0644'}${a.owner ? ', owner ' + a.owner : ''}) via temp file, flushed, renamed`;
    case 'remove': return a.restoreBackup ? `restore ${a.path} from ${BACKUP_DIR}${a.path} (or remove it)` : `remove ${a.path}`;
  }
}

/** The read of a whole file: `exists` and its content, or `missing`. */
export function catFile(path: string): string {
  return `if [ -f ${q(path)} ]; then echo exists; cat ${q(path)}; else echo missing; fi`;
}

/**
 * What catFile(path) answers right after `a` ran, when `a` decides it: a write (exists, its content) or a plain
 * remove (missing); undefined for anything else.
 */
export function catFileAfter(a: Action): { path: string; answer: SectionResult } | undefined {
  if (a.kind === 'write') return { path: a.path, answer: { out: `exists\n${a.content}`, err: '', rc: 0 } };
  if (a.kind === 'remove' && !a.restoreBackup) return { path: a.path, answer: { out: 'missing\n', err: '', rc: 0 } };
  return undefined;
}

/** All actions of a task as one script; a failing step names itself on stderr. */
export function applyScript(actions: Action[]): string {
  const parts = ['set -u'];
  actions.forEach((a, i) => {
    // not `( … ) || …`: -e would be ignored inside a subshell whose status is tested
    parts.push(`( set -e\n${actionScript(a)}\n) </dev/null\n__rc=$?; if [ $__rc -ne 0 ]; then echo "@@CF-FAILED-STEP ${i} $__rc" >&2; exit $__rc; fi`);
  });
  return parts.join('\n');
}
