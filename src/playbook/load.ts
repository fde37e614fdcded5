// Load a playbook file: YAML with positions → plays and tasks with a known module each.
import { InputError, issueAt, loadYamlFile, positionOf, zodIssues, didYouMean, type InputIssue } from '../util/input.js';
import { playbookSchema, TASK_KEYS, type PlaySpec, type TaskSpec } from './schema.js';
import { dirname, resolve } from 'node:path';
import { modules } from '../modules/all.js';

const isImport = (v: unknown): v is { import: string } => !!v && typeof v === 'object' && !Array.isArray(v) && 'import' in v;

/** Load a playbook; `- import: other.yaml` items are replaced by that file's plays. */
export function loadPlaybook(file: string, text?: string, depth = 0): PlaySpec[] {
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
  const names = Object.keys(modules);
  const plays: PlaySpec[] = parsed.data.map((p, pi) => {
    if (imports.has(pi)) return { name: 'import', hosts: [], tasks: [], handlers: [], where: { file, line: 0, col: 0 } };
    const conv = (list: Record<string, unknown>[], kind: 'tasks' | 'handlers'): TaskSpec[] =>
      list.map((t, ti) => {
        const path = [pi, kind, ti];
        const extra = Object.keys(t).filter((k) => !(TASK_KEYS as readonly string[]).includes(k));
        const mods = extra.filter((k) => k in modules);
        const unknown = extra.filter((k) => !(k in modules));
        for (const k of unknown) {
          const hint = didYouMean(k, [...names, ...TASK_KEYS]);
          issues.push(issueAt(y, path, `unknown module or task key "${k}"${hint ? ` (did you mean "${hint}"?)` : `; modules: ${names.join(', ')}`}`, k));
        }
        if (mods.length !== 1 && unknown.length === 0)
          issues.push(issueAt(y, path, mods.length === 0 ? `task "${t.name}" names no module (one of: ${names.join(', ')})` : `task "${t.name}" names more than one module: ${mods.join(', ')}`, 'name'));
        const pos = positionOf(y, path);
        return {
          name: String(t.name),
          module: mods[0] ?? '',
          args: mods[0] ? (t[mods[0]] ?? {}) : {},
          when: t.when as string | boolean | undefined,
          once: t.once === true,
          notify: t.notify === undefined ? [] : Array.isArray(t.notify) ? (t.notify as string[]) : [t.notify as string],
          timeout: t.timeout as number | undefined,
          loop: t.loop as string | unknown[] | undefined,
          where: { file, ...pos, path: [...path, mods[0] ?? ''] },
        };
      });
    const tasks = conv(p.tasks as Record<string, unknown>[], 'tasks');
    const handlers = conv(p.handlers as Record<string, unknown>[], 'handlers');
    const hn = new Set(handlers.map((h) => h.name));
    tasks.forEach((t, ti) => t.notify.forEach((n) => { if (!hn.has(n)) issues.push(issueAt(y, [pi, 'tasks', ti, 'notify'], `no handler named "${n}" in this play`)); }));
    const pos = positionOf(y, [pi]);
    return { name: p.name, hosts: Array.isArray(p.hosts) ? p.hosts : p.hosts.split(',').map((s) => s.trim()), when: p.when, tasks, handlers, where: { file, ...pos } };
  });
  const out: PlaySpec[] = [];
  for (let i = 0; i < plays.length; i++) {
    const imp = imports.get(i);
    if (imp === undefined) { out.push(plays[i]!); continue; }
    if (depth > 8) { issues.push(issueAt(y, [i, 'import'], 'imports nest too deeply')); continue; }
    try { out.push(...loadPlaybook(resolve(dirname(file), imp), undefined, depth + 1)); }
    catch (e) { if (e instanceof InputError) issues.push(...e.issues); else throw e; }
  }
  if (issues.length) throw new InputError(issues);
  return out;
}
