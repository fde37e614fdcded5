// --tags, --skip-tags, --start-at-task on loaded plays (src/playbook/select.ts), with tags read by the loader.
import { describe, expect, it } from 'vitest';
import { loadPlaybook } from '../../src/playbook/load.js';
import { selectTasks } from '../../src/playbook/select.js';
import { defaultRegistry } from '../../src/api.js';
import { InputError } from '../../src/util/input.js';

const PB = `
- name: one
  hosts: all
  tasks:
    - { name: a, command: { argv: ["true"] }, tags: [web] }
    - { name: b, command: { argv: ["true"] }, tags: [db] }
    - { name: c, command: { argv: ["true"] }, tags: [always] }
    - { name: d, command: { argv: ["true"] }, tags: [never, debug] }
- name: two
  hosts: all
  tasks:
    - { name: e, command: { argv: ["true"] } }
    - { name: f, command: { argv: ["true"] }, tags: [web, db] }
`;
const plays = loadPlaybook('/virtual/pb.yaml', defaultRegistry, PB);
const names = (s: Parameters<typeof selectTasks>[1]) => selectTasks(plays, s).map((p) => p.tasks.map((t) => t.name).join(''));
const issues = (s: Parameters<typeof selectTasks>[1]) => { try { selectTasks(plays, s); } catch (e) { return (e as InputError).issues.map((i) => `${i.file}: ${i.message}`); } return []; };

describe('task selection', () => {
  it('the loader keeps each task\'s tags', () => {
    expect(plays[0]!.tasks.map((t) => t.tags)).toEqual([['web'], ['db'], ['always'], ['never', 'debug']]);
  });
  it('no options: every task but never', () => expect(names({})).toEqual(['abc', 'ef']));
  it('--tags web: web tasks and always', () => expect(names({ tags: ['web'] })).toEqual(['ac', 'f']));
  it('--tags all', () => expect(names({ tags: ['all'] })).toEqual(['abc', 'ef']));
  it('--tags debug runs a never task asked for by name', () => expect(names({ tags: ['debug'] })).toEqual(['cd', '']));
  it('--skip-tags db', () => expect(names({ skipTags: ['db'] })).toEqual(['ac', 'e']));
  it('--skip-tags always skips it', () => expect(names({ skipTags: ['always'] })).toEqual(['ab', 'ef']));
  it('--start-at-task e: everything before it is left out', () => expect(names({ startAtTask: 'e' })).toEqual(['', 'ef']));
  it('--start-at-task with --tags', () => expect(names({ startAtTask: 'b', tags: ['web'] })).toEqual(['c', 'f']));
  it('an unknown tag or task is an input error with did-you-mean', () => {
    expect(issues({ tags: ['webb'] })).toEqual(['--tags: no task has the tag "webb" (did you mean "web"?)']);
    expect(issues({ skipTags: ['zzzzzz'] })).toEqual(['--skip-tags: no task has the tag "zzzzzz" (tags: always, db, debug, never, web)']);
    expect(issues({ startAtTask: 'ee' })).toEqual(['--start-at-task: no task named "ee" (did you mean "e"?)']);
  });
});
