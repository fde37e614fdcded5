// A module argument that does not validate, in words: which module, which argument, what was expected, what was
// given, and "did you mean" for a misspelled argument or value (not zod's own text). Pure.
import type { z } from 'zod';
import { describeValue, didYouMean, pathString, valueAt } from '../util/input.js';
import { describeType, objectFields, schemaAt } from '../util/schema-doc.js';

/** One line for one zod issue of module `module`'s arguments `args`. */
export function argIssueMessage(module: string, schema: z.ZodTypeAny, issue: z.ZodIssue, args: unknown): string {
  const at = (p: (string | number)[]) => (p.length ? `argument "${pathString(p)}"` : 'arguments');
  const head = `module "${module}"`;
  if (issue.code === 'unrecognized_keys') {
    const known = objectFields(schemaAt(schema, issue.path) ?? schema).map((f) => f.name);
    return issue.keys.map((k) => {
      const hint = didYouMean(k, known);
      return `${head}: unknown argument "${pathString([...issue.path, k])}"${hint ? ` (did you mean "${hint}"?)` : ''}; it takes: ${known.join(', ')}`;
    }).join('; ');
  }
  const actual = valueAt(args, issue.path);
  const sub = schemaAt(schema, issue.path);
  const expected = sub ? describeType(sub, 1) : undefined;
  if (actual === undefined) return `${head}: ${at(issue.path)} is required${expected ? ` (${expected})` : ''}`;
  if (issue.code === 'invalid_enum_value') {
    const hint = typeof actual === 'string' ? didYouMean(actual, issue.options.map(String)) : undefined;
    return `${head}: ${at(issue.path)}: ${describeValue(actual)} is not one of: ${issue.options.join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}`;
  }
  if (issue.code === 'invalid_type') return `${head}: ${at(issue.path)}: expected ${expected ?? issue.expected}, got ${describeValue(actual)}`;
  return `${head}: ${at(issue.path)}: ${issue.message}${expected ? ` (expected ${expected}, got ${describeValue(actual)})` : ''}`;
}
