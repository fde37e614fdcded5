// `clusterform modules [NAME]`: every module with its one-line doc, or one module's arguments (type, required or
// default) and an example task, all read from the module's zod schema so that it cannot drift from the code.
import { stringify } from 'yaml';
import type { z } from 'zod';
import type { Registry } from '../engine/registry.js';
import type { ModuleDef } from '../engine/types.js';
import { CONTEXT_NAMES } from '../engine/context.js';
import { didYouMean, InputError } from '../util/input.js';
import { objectFields, skeleton } from '../util/schema-doc.js';

export function moduleList(reg: Registry): string[] {
  const mods = reg.all().sort((a, b) => a.name.localeCompare(b.name));
  const w = Math.max(...mods.map((m) => m.name.length));
  return [...mods.map((m) => `${m.name.padEnd(w)}  ${m.kind === 'check' ? '(check) ' : ''}${m.doc}`), '', 'clusterform modules NAME: its arguments and an example'];
}

/** Arguments named like a template context value (ha, lvs, hosts, cluster) are passed that value in playbooks. */
function exampleArgs(m: ModuleDef): Record<string, unknown> {
  const value = skeleton(m.args as z.ZodTypeAny, m.name) as Record<string, unknown>;
  for (const f of objectFields(m.args as z.ZodTypeAny)) if ((CONTEXT_NAMES as readonly string[]).includes(f.name)) value[f.name] = `{{${f.name}}}`;
  return value;
}

export function moduleHelp(reg: Registry, name: string): string[] {
  const m = reg.get(name);
  if (!m) {
    const hint = didYouMean(name, reg.names());
    throw new InputError([{ file: 'modules', line: 0, col: 0, path: '', message: `no module named "${name}"${hint ? ` (did you mean "${hint}"?)` : `; modules: ${reg.names().join(', ')}`}` }]);
  }
  const fields = objectFields(m.args as z.ZodTypeAny);
  const w = Math.max(8, ...fields.map((f) => f.name.length));
  const lines = [`${m.name}${m.kind === 'check' ? ' (check: read-only)' : ''} — ${m.doc}`, '', 'arguments:'];
  for (const f of fields) lines.push(`  ${f.name.padEnd(w)}  ${(f.required ? 'required' : f.default !== undefined ? `default ${JSON.stringify(f.default)}` : 'optional').padEnd(18)}  ${f.type}`);
  if (!fields.length) lines.push('  (none)');
  const task = [{ name: `${m.name} example`, [m.name]: exampleArgs(m) }];
  lines.push('', 'example (required arguments, and inventory values as playbooks pass them):', ...stringify(task).trimEnd().split('\n').map((l) => `  ${l}`));
  return lines;
}
