// Every module clusterform ships (but the read-only checks of src/modules/checks/, whose contract is changing) has
// table rows: at least one where the state is already as wanted, one that changes something, and each row's module is
// the one the registry knows by that name — so a new module cannot slip in untested.
import { describe, expect, it } from 'vitest';
import { builtinModules } from '../../../src/modules/index.js';
import { checkModules } from '../../../src/modules/checks/index.js';
import { rowKind, type Row } from '../../support/module-harness.js';
import { coreRows } from './core.rows.js';
import { haRows } from './ha.rows.js';
import { lvsRows } from './lvs.rows.js';
import { pacemakerRows } from './pacemaker.rows.js';

const ROWS: Row[] = [...coreRows, ...haRows, ...lvsRows, ...pacemakerRows];
/** Modules that never change anything (they only check, and refuse or agree): no change row possible. */
const READ_ONLY = new Set(['disk_attached']);

/** The names of the modules in `modules` that lack a row of some kind: [] when every one is covered. */
export function uncovered(modules: readonly { name: string }[], rows: Row[]): string[] {
  const out: string[] = [];
  for (const m of modules) {
    const kinds = rows.filter((r) => r.module.name === m.name).map(rowKind);
    if (kinds.length === 0) out.push(`${m.name}: no row`);
    else {
      if (!kinds.includes('noop')) out.push(`${m.name}: no row where nothing changes (summaries: [])`);
      if (!READ_ONLY.has(m.name) && !kinds.includes('change')) out.push(`${m.name}: no row that changes something`);
    }
  }
  return out;
}

describe('module rows cover every built-in module', () => {
  const modules = builtinModules.filter((m) => !checkModules.includes(m));
  it('every module (checks aside) has a no-op row and a change row', () => {
    expect(modules.length).toBeGreaterThan(15);
    expect(uncovered(modules, ROWS)).toEqual([]);
  });
  it('rows use the registered modules, and every row has a unique name within its module', () => {
    for (const r of ROWS) expect(modules, `${r.module.name}: ${r.name}`).toContain(r.module);
    const names = ROWS.map((r) => `${r.module.name}: ${r.name}`);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
  it('a module without rows, or without a change row, is named', () => {
    const fake = { name: 'new_module' };
    expect(uncovered([fake], ROWS)).toEqual(['new_module: no row']);
    const noopOnly = ROWS.filter((r) => r.module.name === 'command' && rowKind(r) === 'noop');
    expect(uncovered(modules.filter((m) => m.name === 'command'), noopOnly)).toEqual(['command: no row that changes something']);
  });
});
