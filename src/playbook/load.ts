// Load a playbook file: YAML with positions → plays and tasks with a known module each.
import { InputError, formatIssue, issueAt, loadYamlFile, positionOf, zodIssues, didYouMean, type InputIssue } from '../util/input.js';
import { playbookSchema, TASK_KEYS, type PlaySpec, type TaskSpec } from './schema.js';
import { dirname, relative, resolve } from 'node:path';
import type { Registry } from '../engine/registry.js';

const isImport = (v: unknown): v is { import: string } => !!v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, 'import');
const MAX_IMPORT_DEPTH = 8;

/** One top-level load: the files being loaded (outermost first) and every file loaded so far. */
interface ImportState {
  registry: Registry;
  chain: string[];
  loaded: Map<string, PlaySpec[] | InputError>;
  base: string;
}

/** Load a playbook; `- import: other.yaml` items are replaced by that file's plays (an import cycle is an error). */
export function loadPlaybook(file: string, registry: Registry, text?: string): PlaySpec[] {
  return loadFile(file, text, { registry, chain: [], loaded: new Map(), base: dirname(resolve(file)) });
}

/** The plays of an imported file, loaded once per top-level load; its problems go to `issues`. */
function importFile(target: string, st: ImportState, issues: InputIssue[]): PlaySpec[] {
  let r = st.loaded.get(target);
  if (r === undefined) {
    try { r = loadFile(target, undefined, st); } catch (e) { if (!(e instanceof InputError)) throw e; r = e; }
    st.loaded.set(target, r);
  }
  if (r instanceof InputError) { issues.push(...r.issues); return []; }
  return r;
}

function loadFile(file: string, text: string | undefined, st: ImportState): PlaySpec[] {
  st.chain.push(resolve(file));
  try { return loadOne(file, text, st); } finally { st.chain.pop(); }
}

function loadOne(file: string, text: string | undefined, st: ImportState): PlaySpec[] {
  const y = loadYamlFile(file, text);
  const value = Array.isArray(y.value) ? y.value : y.value;
  const imports = new Map<number, string>();
  if (Array.isArray(value)) value.forEach((v, i) => { if (isImport(v)) imports.set(i, String(v.import)); });
  // validate with import items stood in by a minimal play, so that issue paths keep their indexes
  const check = Array.isArray(value) ? value.map((v) => (isImport(v) ? { name: 'import', hosts: 'all' } : v)) : value;
  const parsed = playbookSchema.safeParse(check);
  const issues: InputIssue[] = [];
  if (!parsed.success) {
    issues.push(...zodIssues(y, parsed.error, playbookSchema));
    throw new InputError(issues);
  }
  const names = st.registry.names();
  const moduleNamed = (k: string) => st.registry.get(k);
  const rawTask = (pi: number, kind: 'tasks' | 'handlers', ti: number): Record<string, unknown> => (value as any[])[pi][kind][ti];
  const plays: PlaySpec[] = parsed.data.map((p, pi) => {
    if (imports.has(pi)) return { name: 'import', hosts: [], tasks: [], handlers: [], where: { file, line: 0, col: 0 } };
    const conv = (list: Record<string, unknown>[], kind: 'tasks' | 'handlers'): TaskSpec[] =>
      list.flatMap((t, ti): TaskSpec[] => {
        const path = [pi, kind, ti];
        // the keys as written (zod drops a __proto__ key), each looked up as the registry's own
        const extra = Object.keys(rawTask(pi, kind, ti)).filter((k) => !(TASK_KEYS as readonly string[]).includes(k));
        const mods = extra.filter((k) => moduleNamed(k) !== undefined);
        const unknown = extra.filter((k) => moduleNamed(k) === undefined);
        for (const k of unknown) {
          const hint = didYouMean(k, [...names, ...TASK_KEYS]);
          issues.push(issueAt(y, path, `unknown module or task key "${k}"${hint ? ` (did you mean "${hint}"?)` : `; modules: ${names.join(', ')}`}`, k));
        }
        if (mods.length !== 1 && unknown.length === 0)
          issues.push(issueAt(y, path, mods.length === 0 ? `task "${t.name}" names no module (one of: ${names.join(', ')})` : `task "${t.name}" names more than one module: ${mods.join(', ')}`, 'name'));
        const pos = positionOf(y, path);
        const mod = mods.length === 1 ? moduleNamed(mods[0]!) : undefined;
        if (!mod) return []; // reported above
        return [{
          name: String(t.name),
          module: mod,
          args: mods[0] ? (t[mods[0]] ?? {}) : {},
          when: t.when as string | boolean | undefined,
          once: t.once === true,
          notify: t.notify === undefined ? [] : Array.isArray(t.notify) ? (t.notify as string[]) : [t.notify as string],
          timeout: t.timeout as number | undefined,
          loop: t.loop as string | unknown[] | undefined,
          tags: t.tags as string[] | undefined,
          where: { file, ...pos, path: [...path, mods[0]!] },
        }];
      });
    const tasks = conv(p.tasks as Record<string, unknown>[], 'tasks');
    const handlers = conv(p.handlers as Record<string, unknown>[], 'handlers');
    const hn = new Set(handlers.map((h) => h.name));
    tasks.forEach((t, ti) => t.notify.forEach((n) => { if (!hn.has(n)) issues.push(issueAt(y, [pi, 'tasks', ti, 'notify'], `no handler named "${n}" in this play`)); }));
    const pos = positionOf(y, [pi]);
    return { name: p.name, hosts: Array.isArray(p.hosts) ? p.hosts : p.hosts.split(',').map((s) => s.trim()), when: p.when, tasks, handlers, where: { file, ...pos } };
  });
  const out: PlaySpec[] = [];
  const shown = (p: string) => relative(st.base, p) || p;
  for (let i = 0; i < plays.length; i++) {
    const imp = imports.get(i);
    if (imp === undefined) { out.push(plays[i]!); continue; }
    const target = resolve(dirname(file), imp);
    const at = st.chain.indexOf(target);
    if (at >= 0) { issues.push(issueAt(y, [i, 'import'], `import cycle: ${[...st.chain.slice(at), target].map(shown).join(' → ')}`)); continue; }
    if (st.chain.length > MAX_IMPORT_DEPTH) { issues.push(issueAt(y, [i, 'import'], `imports nest more than ${MAX_IMPORT_DEPTH} deep`)); continue; }
    out.push(...importFile(target, st, issues));
  }
  if (issues.length) {
    const seen = new Set<string>();
    throw new InputError(issues.filter((i) => { const k = formatIssue(i); return seen.has(k) ? false : (seen.add(k), true); }));
  }
  return out;
}
