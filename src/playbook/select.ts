// --tags, --skip-tags and --start-at-task: which tasks of the loaded plays run. Pure; handlers are kept (only the
// notified ones run). As in Ansible: `always` runs unless skipped by name, `never` only when asked for by name,
// `--tags all` means every task (but `never`).
import { didYouMean, InputError, type InputIssue } from '../util/input.js';
import type { PlaySpec, TaskSpec } from './schema.js';

export interface TaskSelection {
  tags?: string[];
  skipTags?: string[];
  startAtTask?: string;
}

const has = (t: TaskSpec, tag: string) => (t.tags ?? []).includes(tag);

function wanted(t: TaskSpec, s: TaskSelection): boolean {
  if (s.skipTags?.some((k) => has(t, k))) return false;
  if (!s.tags?.length) return !has(t, 'never');
  if (has(t, 'always')) return true;
  if (s.tags.includes('all') && !has(t, 'never')) return true;
  return s.tags.some((k) => has(t, k));
}

function optionIssue(option: string, message: string): InputIssue {
  return { file: option, line: 0, col: 0, path: '', message };
}

/** Tags asked for that no task carries: a typo would otherwise run nothing and succeed. */
function unknownTags(plays: PlaySpec[], s: TaskSelection): InputIssue[] {
  const known = [...new Set(plays.flatMap((p) => p.tasks.flatMap((t) => t.tags ?? [])))].sort();
  const out: InputIssue[] = [];
  for (const [option, list] of [['--tags', s.tags], ['--skip-tags', s.skipTags]] as const) {
    for (const tag of list ?? []) {
      if (tag === 'all' || known.includes(tag)) continue;
      const hint = didYouMean(tag, known);
      out.push(optionIssue(option, `no task has the tag "${tag}"${hint ? ` (did you mean "${hint}"?)` : known.length ? ` (tags: ${known.join(', ')})` : ' (no task has tags)'}`));
    }
  }
  return out;
}

/** The plays with only the selected tasks; an unknown tag or task name is an input error. */
export function selectTasks(plays: PlaySpec[], s: TaskSelection): PlaySpec[] {
  const issues = unknownTags(plays, s);
  const names = plays.flatMap((p) => p.tasks.map((t) => t.name));
  if (s.startAtTask !== undefined && !names.includes(s.startAtTask)) {
    const hint = didYouMean(s.startAtTask, names);
    issues.push(optionIssue('--start-at-task', `no task named "${s.startAtTask}"${hint ? ` (did you mean "${hint}"?)` : ''}`));
  }
  if (issues.length) throw new InputError(issues);
  let started = s.startAtTask === undefined;
  return plays.map((p) => ({
    ...p,
    tasks: p.tasks.filter((t) => {
      if (!started && t.name === s.startAtTask) started = true;
      return started && wanted(t, s);
    }),
  }));
}
