// -e extra variables read into one mapping (the option value parsers are in option-values.ts, re-exported here).
import { resolve } from 'node:path';
import { isMap } from 'yaml';
import { InputError, loadYamlFile } from '../util/input.js';
import { parse as parseYaml } from 'yaml';

export { collect, commaList, intInRange, waitLockSeconds } from './option-values.js';

const EXTRA = '--extra-vars';

function extraIssue(message: string): InputError {
  return new InputError([{ file: EXTRA, line: 0, col: 0, path: '', message }]);
}

/** One -e value: `@file.yaml` (a YAML mapping), `{...}` (an inline YAML/JSON mapping), or `KEY=VALUE` (a string). */
function extraVarsOf(item: string, cwd: string): Record<string, unknown> {
  if (item.startsWith('@')) {
    const y = loadYamlFile(resolve(cwd, item.slice(1)));
    if (!isMap(y.doc.contents)) throw new InputError([{ file: y.file, line: 1, col: 1, path: '', message: 'extra variables must be a mapping (name: value)' }]);
    return y.value as Record<string, unknown>;
  }
  if (item.trimStart().startsWith('{')) {
    let v: unknown;
    try { v = parseYaml(item); } catch (e) { throw extraIssue(`"${item}": ${(e as Error).message.split('\n')[0]}`); }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw extraIssue(`"${item}" is not a mapping`);
    return v as Record<string, unknown>;
  }
  const eq = item.indexOf('=');
  if (eq <= 0) throw extraIssue(`"${item}" is not KEY=VALUE, @file.yaml or {…}`);
  return { [item.slice(0, eq)]: item.slice(eq + 1) };
}

/** Every -e in order; a later one overrides an earlier one. */
export function parseExtraVars(items: string[] | undefined, cwd = process.cwd()): Record<string, unknown> | undefined {
  if (!items?.length) return undefined;
  const out: Record<string, unknown> = Object.create(null);
  for (const it of items) for (const [k, v] of Object.entries(extraVarsOf(it, cwd))) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}
