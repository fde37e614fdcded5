// Reading user YAML (inventory, playbooks) with source positions, and turning problems into file:line:column issues.
import { readFileSync, statSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { z } from 'zod';

export interface InputIssue {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export class InputError extends Error {
  constructor(readonly issues: InputIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'InputError';
  }
}

export function formatIssue(i: InputIssue): string {
  return `${i.file}:${i.line}:${i.col} ${i.path ? i.path + ': ' : ''}${i.message}`;
}

export const MAX_INPUT_BYTES = 1024 * 1024;

export interface LoadedYaml {
  file: string;
  doc: Document.Parsed;
  lc: LineCounter;
  value: unknown;
}

/** A user file's text, with the same checks for every input file: it exists, is a regular file, is not too large. */
export function loadTextFile(file: string): string {
  let st;
  try { st = statSync(file); } catch (e) { throw new InputError([{ file, line: 0, col: 0, path: '', message: `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}` }]); }
  if (!st.isFile()) throw new InputError([{ file, line: 0, col: 0, path: '', message: 'not a regular file' }]);
  if (st.size > MAX_INPUT_BYTES) throw new InputError([{ file, line: 1, col: 1, path: '', message: `file is ${st.size} bytes; the limit is ${MAX_INPUT_BYTES} bytes` }]);
  return readFileSync(file, 'utf8');
}

/** Parse a YAML file; syntax problems, duplicate keys, alias bombs and oversize files become issues. */
export function loadYamlFile(file: string, text?: string): LoadedYaml {
  const src = text ?? loadTextFile(file);
  if (Buffer.byteLength(src) > MAX_INPUT_BYTES) throw new InputError([{ file, line: 1, col: 1, path: '', message: `file is larger than ${MAX_INPUT_BYTES} bytes` }]);
  const lc = new LineCounter();
  // duplicate keys are found by duplicateKeys (the yaml library's own check compares every key with every other)
  const doc = parseDocument(src, { lineCounter: lc, uniqueKeys: false, prettyErrors: false, strict: true });
  const issues: InputIssue[] = [];
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    issues.push({ file, line: pos.line, col: pos.col, path: pathString(pathAtOffset(doc, e.pos[0])), message: `YAML syntax: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` });
  }
  if (!issues.length) issues.push(...duplicateKeys(file, doc, lc));
  if (issues.length) throw new InputError(issues);
  if (doc.contents == null) throw new InputError([{ file, line: 1, col: 1, path: '', message: 'the file is empty' }]);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    throw new InputError([{ file, line: 1, col: 1, path: '', message: `YAML: ${(e as Error).message} (aliases are limited to protect against "billion laughs" documents)` }]);
  }
  return { file, doc, lc, value };
}

/** Keys that occur twice in one mapping (after conversion to JavaScript, where 1 and "1" are the same key). */
function duplicateKeys(file: string, doc: Document.Parsed, lc: LineCounter): InputIssue[] {
  const out: InputIssue[] = [];
  visit(doc, {
    Map(_, map) {
      const first = new Map<string, Node>();
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        const k = String(p.key.value);
        const prev = first.get(k);
        if (!prev) { first.set(k, p.key); continue; }
        const at = lc.linePos(p.key.range?.[0] ?? 0);
        out.push({ file, ...at, path: out.length < 100 ? pathString(pathAtOffset(doc, p.key.range?.[0] ?? 0)) : '', message: `duplicate key "${k}" (first at line ${lc.linePos(prev.range?.[0] ?? 0).line})` });
      }
    },
  });
  return out;
}

const contains = (n: unknown, off: number) => !!n && !!(n as Node).range && (n as Node).range![0] <= off && (off < (n as Node).range![2] || off === (n as Node).range![0]);

/** The key path (as far as the YAML parsed) of the node at source offset `off`: the field an error is about. */
export function pathAtOffset(doc: Document.Parsed, off: number): (string | number)[] {
  const path: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 1000 && node; depth++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => contains(p.key, off) || contains(p.value, off));
      if (!pair || !isScalar(pair.key)) break;
      path.push(String(pair.key.value));
      node = contains(pair.value, off) ? pair.value : undefined;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((it) => contains(it, off));
      if (i < 0) break;
      path.push(i);
      node = node.items[i];
    } else break;
  }
  return path;
}

export function pathString(path: (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : String(p);
  return s;
}

const keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

/** The pair with key `key` in `map` (the first, as written), through an index built once per mapping. */
function pairOf(map: YAMLMap, key: string): Pair | undefined {
  let idx = keyIndex.get(map);
  if (!idx) {
    idx = new Map();
    for (const p of map.items) if (isPair(p) && isScalar(p.key) && !idx.has(String(p.key.value))) idx.set(String(p.key.value), p);
    keyIndex.set(map, idx);
  }
  return idx.get(key);
}

/** The position of the node at `path` (or of the key `key` inside it), falling back to the nearest ancestor. */
export function positionOf(y: LoadedYaml, path: (string | number)[], key?: string): { line: number; col: number } {
  let node: unknown = y.doc.contents;
  let best: Node | null = (node as Node) ?? null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = pairOf(node, String(seg));
      if (!pair) break;
      node = pair.value ?? pair.key;
      if (pair.value == null) { best = pair.key as Node; break; }
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else break;
    if (node && (node as Node).range) best = node as Node;
  }
  if (key !== undefined && isMap(best)) {
    const pair = pairOf(best, key);
    if (pair && (pair.key as Node).range) best = pair.key as Node;
  }
  const off = best?.range?.[0] ?? 0;
  const pos = y.lc.linePos(off);
  return { line: pos.line, col: pos.col };
}

export function issueAt(y: LoadedYaml, path: (string | number)[], message: string, key?: string): InputIssue {
  const pos = positionOf(y, path, key);
  return { file: y.file, ...pos, path: pathString(key ? [...path, key] : path), message };
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

export function didYouMean(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) { bestD = dist; best = c; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** The object keys a schema accepts at `path`, for "did you mean" hints. */
export function knownKeys(schema: z.ZodTypeAny, path: (string | number)[]): string[] {
  let s: z.ZodTypeAny | undefined = schema;
  const unwrap = (t: z.ZodTypeAny): z.ZodTypeAny => {
    for (;;) {
      if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap();
      else if (t instanceof z.ZodDefault) t = t._def.innerType;
      else if (t instanceof z.ZodEffects) t = t.innerType();
      else return t;
    }
  };
  for (const seg of path) {
    if (!s) return [];
    s = unwrap(s);
    if (s instanceof z.ZodObject) s = Object.hasOwn(s.shape, seg) ? s.shape[seg as string] : undefined;
    else if (s instanceof z.ZodArray) s = s.element;
    else if (s instanceof z.ZodRecord) s = s.valueSchema;
    else return [];
  }
  if (!s) return [];
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/** A value as an error message names it: `a list`, `a mapping`, `the string "…"`, `number 3`. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** The value at `path` inside `root` (own properties only), or undefined. */
export function valueAt(root: unknown, path: (string | number)[]): unknown {
  let v: any = root;
  for (const p of path) v = v != null && typeof v === 'object' && Object.hasOwn(v, p) ? v[p] : undefined;
  return v;
}

export function zodIssues(y: LoadedYaml, err: z.ZodError, schema: z.ZodTypeAny): InputIssue[] {
  const out: InputIssue[] = [];
  for (const i of err.issues) {
    const path = i.path;
    if (i.code === 'unrecognized_keys') {
      const known = knownKeys(schema, path);
      for (const k of i.keys) {
        const hint = didYouMean(k, known);
        out.push(issueAt(y, path, `unknown key "${k}"${hint ? ` (did you mean "${hint}"?)` : known.length ? ` (expected one of: ${known.join(', ')})` : ''}`, k));
      }
      continue;
    }
    let message = i.message;
    const actual = valueAt(y.value, path);
    if (i.code === 'invalid_type') {
      message = actual === undefined ? `required field is missing (expected ${i.expected})` : `expected ${i.expected}, got ${describeValue(actual)}`;
    } else if (actual === undefined) {
      message = 'required field is missing';
    } else if (i.code === 'invalid_enum_value') {
      message = `${describeValue(actual)} is not one of: ${i.options.join(', ')}`;
    } else if (actual !== undefined && typeof actual !== 'object') {
      message = `${describeValue(actual)}: ${i.message}`;
    }
    if (actual === undefined && path.length > 0) {
      out.push(issueAt(y, path.slice(0, -1), message, String(path[path.length - 1])));
      out[out.length - 1]!.path = pathString(path);
    } else out.push(issueAt(y, path, message));
  }
  return out;
}
