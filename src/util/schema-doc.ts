// Describing a zod schema in words (for `clusterform modules` and for argument errors) and a skeleton value
// that has its shape (for a module's example). Pure.
import { z } from 'zod';

/** A schema without its optional/default/effects wrappers, and what those said. */
export interface Unwrapped { type: z.ZodTypeAny; optional: boolean; default?: unknown }

export function unwrap(t: z.ZodTypeAny): Unwrapped {
  let optional = false;
  let def: unknown;
  for (;;) {
    if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) { optional = true; t = t.unwrap(); }
    else if (t instanceof z.ZodDefault) { optional = true; def = t._def.defaultValue(); t = t._def.innerType; }
    else if (t instanceof z.ZodEffects) t = t.innerType();
    else if (t instanceof z.ZodLazy) t = t.schema;
    else return { type: t, optional, default: def };
  }
}

function bounds(checks: { kind: string; value?: number }[], unit = ''): string {
  const min = checks.find((c) => c.kind === 'min')?.value;
  const max = checks.find((c) => c.kind === 'max')?.value;
  if (min !== undefined && max !== undefined) return ` ${min}..${max}${unit}`;
  if (min !== undefined) return ` ≥ ${min}${unit}`;
  if (max !== undefined) return ` ≤ ${max}${unit}`;
  return '';
}

/** The type of a schema in a few words: `integer 0..3600`, `list of string`, `one of: present, absent`. */
export function describeType(schema: z.ZodTypeAny, depth = 0): string {
  const t = unwrap(schema).type;
  if (t instanceof z.ZodString) {
    const c = t._def.checks as { kind: string; value?: number }[];
    const b = bounds(c, ' chars');
    return `string${b === ' ≥ 1 chars' ? ' (not empty)' : b}`;
  }
  if (t instanceof z.ZodNumber) return `${t.isInt ? 'integer' : 'number'}${bounds(t._def.checks as { kind: string; value?: number }[])}`;
  if (t instanceof z.ZodBoolean) return 'boolean';
  if (t instanceof z.ZodEnum) return `one of: ${(t.options as string[]).join(', ')}`;
  if (t instanceof z.ZodLiteral) return JSON.stringify(t.value);
  if (t instanceof z.ZodArray) { const min = t._def.minLength?.value; return `list of ${depth > 1 ? 'items' : describeType(t.element, depth + 1)}${min ? ` (at least ${min})` : ''}`; }
  if (t instanceof z.ZodObject) return depth > 0 ? `mapping { ${Object.keys(t.shape).join(', ')} }` : 'mapping';
  if (t instanceof z.ZodRecord) return `mapping of ${describeType(t.valueSchema, depth + 1)}`;
  if (t instanceof z.ZodUnion) return (t.options as z.ZodTypeAny[]).map((o) => describeType(o, depth + 1)).join(' or ');
  if (t instanceof z.ZodTuple) return `list [${(t.items as z.ZodTypeAny[]).map((i) => describeType(i, depth + 1)).join(', ')}]`;
  return 'any';
}

/** The schema at `path` inside `schema` (object keys, list indexes), or undefined. */
export function schemaAt(schema: z.ZodTypeAny, path: (string | number)[]): z.ZodTypeAny | undefined {
  let s: z.ZodTypeAny | undefined = schema;
  for (const seg of path) {
    if (!s) return undefined;
    const t: z.ZodTypeAny = unwrap(s).type;
    if (t instanceof z.ZodObject) s = Object.hasOwn(t.shape, seg) ? t.shape[seg as string] : undefined;
    else if (t instanceof z.ZodArray) s = t.element;
    else if (t instanceof z.ZodRecord) s = t.valueSchema;
    else return undefined;
  }
  return s;
}

export interface FieldDoc { name: string; type: string; required: boolean; default?: unknown }

/** The fields of an object schema, in their order. */
export function objectFields(schema: z.ZodTypeAny): FieldDoc[] {
  const t = unwrap(schema).type;
  if (!(t instanceof z.ZodObject)) return [];
  return Object.entries<z.ZodTypeAny>(t.shape).map(([name, f]) => {
    const u = unwrap(f);
    return { name, type: describeType(f, 1), required: !u.optional, ...(u.default !== undefined ? { default: u.default } : {}) };
  });
}

/** A value with the schema's shape: required fields only, placeholders named after their field. */
export function skeleton(schema: z.ZodTypeAny, name = 'value', depth = 0): unknown {
  const t = unwrap(schema).type;
  if (t instanceof z.ZodString) return /path|mountpoint|dir|file|export/.test(name) ? `/srv/${name}` : `${name}`;
  if (t instanceof z.ZodNumber) { const min = (t._def.checks as { kind: string; value?: number }[]).find((c) => c.kind === 'min')?.value; return Math.max(1, min ?? 1); }
  if (t instanceof z.ZodBoolean) return true;
  if (t instanceof z.ZodEnum) return t.options[0];
  if (t instanceof z.ZodLiteral) return t.value;
  if (t instanceof z.ZodArray) return depth > 3 ? [] : [skeleton(t.element, name.replace(/s$/, ''), depth + 1)];
  if (t instanceof z.ZodUnion) return skeleton(t.options[0], name, depth);
  if (t instanceof z.ZodObject) {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries<z.ZodTypeAny>(t.shape)) if (!unwrap(f).optional && depth <= 3) out[k] = skeleton(f, k, depth + 1);
    return out;
  }
  return `${name}`;
}
