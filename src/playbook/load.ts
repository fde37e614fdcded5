// Load a playbook file: YAML with positions → plays and tasks with a known module each.
import { InputError, issueAt, loadYamlFile, positionOf, zodIssues, didYouMean, type InputIssue } from '../util/input.js';
import { playbookSchema, TASK_KEYS, type PlaySpec, type TaskSpec } from './schema.js';
import { modules } from '../modules/index.js';

export function loadPlaybook(file: string, text?: string): PlaySpec[] {
  const y = loadYamlFile(file, text);
  const parsed = playbookSchema.safeParse(y.value);
  const issues: InputIssue[] = [];
  if (!parsed.success) {
    issues.push(...zodIssues(y, parsed.error, playbookSchema));
    throw new InputError(issues);
  }
  const names = Object.keys(modules);
  const plays: PlaySpec[] = parsed.data.map((p, pi) => {
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
  if (issues.length) throw new InputError(issues);
  return plays;
}
