// Rendering task arguments with handlebars (strict, no HTML escaping) against the inventory and host facts.
// Templates see data only: JavaScript internals (prototype properties such as constructor, __proto__ or an array's
// map) are refused, by a static check of the template (checkTemplate) and at render time (ownOnly), and no helper
// writes to the output (log is disabled).
import Handlebars from 'handlebars';
import type { InputIssue } from '../util/input.js';

export class RenderError extends Error {}

const hb = Handlebars.create();
/** Helpers get the data itself, not the ownOnly view of it (array methods, identity, JSON). */
const raw = (x: unknown): unknown => (x !== null && typeof x === 'object' && RAW.has(x) ? RAW.get(x) : x);
hb.registerHelper('eq', (a: unknown, b: unknown) => raw(a) === raw(b));
hb.registerHelper('ne', (a: unknown, b: unknown) => raw(a) !== raw(b));
hb.registerHelper('not', (a: unknown) => !a || (Array.isArray(a) && a.length === 0));
hb.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
hb.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
hb.registerHelper('includes', (list: unknown, x: unknown) => { const l = raw(list); return Array.isArray(l) && l.includes(raw(x)); });
/** `some LIST KEY [VALUE]`: does any entry of LIST have an own field KEY that is truthy (or equal to VALUE)? */
hb.registerHelper('some', (list: unknown, key: unknown, ...rest: unknown[]) => {
  const l = raw(list);
  const k = String(key);
  const has = (e: unknown) => e !== null && typeof e === 'object' && Object.hasOwn(e, k);
  const field = (e: unknown) => (e as Record<string, unknown>)[k];
  const match = rest.length > 1 ? (e: unknown) => has(e) && field(e) === raw(rest[0]) : (e: unknown) => has(e) && Boolean(field(e));
  return Array.isArray(l) && l.some(match);
});
hb.registerHelper('json', (x: unknown) => JSON.stringify(raw(x)));
hb.registerHelper('join', (list: unknown, sep: unknown) => { const l = raw(list); return Array.isArray(l) ? l.join(typeof sep === 'string' ? sep : ',') : ''; });
hb.registerHelper('log', () => { throw new RenderError(LOG_DISABLED); });
hb.registerHelper('lookup', (obj: unknown, key: unknown) => {
  const o = raw(obj);
  if (o == null) return o;
  const k = String(key);
  const box = Object(o) as Record<string, unknown>;
  if (Object.hasOwn(box, k)) return ownOnly(box[k]);
  if (k in box) throw new RenderError(builtIn(k));
  return undefined;
});

const LOG_DISABLED = 'the "log" helper is disabled (a template must not write to the output)';
/** Names that are never data: handlebars' own deny list, and what leads to it. */
const INTERNAL = new Set(['__proto__', 'constructor', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);
const builtIn = (k: string) => `"${k}" is not defined: it is a JavaScript built-in, not data`;
const internalName = (n: string) => `"${n}" is a JavaScript internal, not data: templates may use only the inventory's and the facts' own fields`;
/** Names JavaScript itself reads when it turns an object into a string; handlebars refuses them as values. */
const CONVERSIONS = new Set(['toString', 'valueOf', 'toJSON', 'join']);
/** Explicit (not the defaults), so that handlebars refuses prototype access silently instead of logging. */
const RUNTIME: Handlebars.RuntimeOptions = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false };

const VIEW = new WeakMap<object, object>();
const RAW = new WeakMap<object, object>();

/**
 * A view of `v` in which only own properties exist: `in` (handlebars' strict check) sees own properties only, and
 * reading an inherited one (a block parameter such as `{{#if list.map}}`) is a RenderError.
 */
function ownOnly<T>(v: T): T {
  if (v === null || typeof v !== 'object' || RAW.has(v)) return v;
  let p = VIEW.get(v);
  if (!p) {
    p = new Proxy(v, {
      has: (t, k) => Object.hasOwn(t, k),
      get: (t, k) => {
        if (typeof k === 'symbol' || Object.hasOwn(t, k)) return ownOnly(Reflect.get(t, k));
        if (!(k in t) || CONVERSIONS.has(k)) return Reflect.get(t, k);
        throw new RenderError(builtIn(k));
      },
    });
    VIEW.set(v, p);
    RAW.set(p, v);
  }
  return p as T;
}

interface HbNode { type?: string; loc?: { start: { line: number; column: number } }; [k: string]: unknown }

function walk(node: unknown, visit: (n: HbNode) => void): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) { for (const n of node) walk(n, visit); return; }
  const n = node as HbNode;
  if (typeof n.type === 'string') visit(n);
  for (const k of Object.keys(n)) if (k !== 'loc') walk(n[k], visit);
}

/** What is wrong with one node of a template's syntax tree, if anything. */
function nodeProblem(n: HbNode): string | undefined {
  if (n.type === 'PathExpression') {
    const bad = (n.parts as string[]).find((p) => INTERNAL.has(p));
    return bad === undefined ? undefined : internalName(bad);
  }
  if (n.type !== 'MustacheStatement' && n.type !== 'BlockStatement' && n.type !== 'SubExpression') return undefined;
  const helper = (n.path as HbNode).original;
  if (helper === 'log') return LOG_DISABLED;
  if (helper === 'lookup') {
    const lit = (n.params as HbNode[]).find((p) => p.type === 'StringLiteral' && INTERNAL.has(String(p.value)));
    if (lit) return internalName(String(lit.value));
  }
  return undefined;
}

/** Static problems of a template (syntax, the log helper, JavaScript internals) as file:line:col issues; renders nothing. */
export function checkTemplate(src: string, file: string): InputIssue[] {
  let ast: unknown;
  try {
    ast = hb.parse(src);
  } catch (e) {
    // handlebars' own errors carry lineNumber/column; the parser's say "Parse error on line N:" only
    const err = e as Error & { lineNumber?: number; column?: number };
    const lines = err.message.split('\n');
    const message = lines.length > 1 ? `${lines[0]} ${lines[lines.length - 1]}` : lines[0]!;
    const line = err.lineNumber ?? Number(/^Parse error on line (\d+)/.exec(err.message)?.[1] ?? 1);
    return [{ file, line, col: (err.column ?? 0) + 1, path: 'template', message: message.replace(/ - \d+:\d+$/, '') }];
  }
  const issues: InputIssue[] = [];
  walk(ast, (n) => {
    const problem = nodeProblem(n);
    if (problem) issues.push({ file, line: n.loc?.start.line ?? 1, col: (n.loc?.start.column ?? 0) + 1, path: 'template', message: problem });
  });
  return issues;
}

/** Compile `src` after checkTemplate; the first problem is thrown as a RenderError naming its line and column. */
export function compileTemplate(src: string, opts: { escape?: boolean } = {}): (ctx: unknown) => string {
  const issues = checkTemplate(src, '');
  if (issues.length) throw new RenderError(`${issues[0]!.message} (template line ${issues[0]!.line}, column ${issues[0]!.col})`);
  const t = hb.compile(src, { strict: true, noEscape: !opts.escape });
  return (ctx) => t(ownOnly(ctx), RUNTIME);
}

const cache = new Map<string, ((ctx: unknown) => string) | RenderError>();
const NATIVE = /^\{\{\s*([A-Za-z_@][\w@-]*(?:\.[\w@-]+)*)\s*\}\}$/;

function lookup(ctx: unknown, path: string): unknown {
  let v: any = ctx;
  for (const seg of path.split('.')) {
    if (v == null || typeof v !== 'object' || !Object.hasOwn(v, seg)) throw new RenderError(`"${path}" is not defined`);
    v = v[seg];
  }
  return v;
}

/** The compiled form of one playbook string, checked once; a problem is remembered and thrown again. */
function compiled(s: string): (ctx: unknown) => string {
  let t = cache.get(s);
  if (!t) {
    try { t = compileTemplate(s); } catch (e) { if (!(e instanceof RenderError)) throw e; t = new RenderError(e.message.replace(/ \(template line 1, column \d+\)$/, '')); }
    cache.set(s, t);
  }
  if (t instanceof RenderError) throw t;
  return t;
}

/** Block helpers that keep the context (paths inside them still start at the context's top-level names). */
const SAME_CONTEXT_BLOCKS = new Set(['if', 'unless']);

/**
 * The context's top-level names a template reads (helper names included), or null when what it reads is not known
 * from its text alone (`this`, `../`, `@data`, blocks that change the context such as #each and #with).
 */
export function templateRoots(src: string): string[] | null {
  const roots = new Set<string>();
  let known = true;
  walk(hb.parse(src), (n) => {
    if (n.type === 'BlockStatement' && !SAME_CONTEXT_BLOCKS.has(String((n.path as HbNode).original))) known = false;
    if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement' || n.type === 'DecoratorBlock' || n.type === 'Decorator') known = false;
    if (n.type !== 'PathExpression') return;
    const parts = n.parts as string[];
    if (n.data || (n.depth as number) > 0 || parts.length === 0 || n.this) known = false;
    else roots.add(parts[0]!);
  });
  return known ? [...roots] : null;
}

/** Per template: what it read and rendered last time; the same values (the same objects) render the same text. */
const lastRender = new Map<string, { roots: string[] | null; values?: unknown[]; out?: string }>();

/** `t(ctx)`, or the last result when every top-level value the template reads is the same as then (many hosts share them). */
function renderMemo(s: string, t: (ctx: unknown) => string, ctx: unknown): string {
  let m = lastRender.get(s);
  if (!m) { m = { roots: templateRoots(s) }; lastRender.set(s, m); }
  if (!m.roots || typeof ctx !== 'object' || ctx === null) return t(ctx);
  const c = ctx as Record<string, unknown>;
  const values = m.roots.map((r) => (Object.hasOwn(c, r) ? c[r] : undefined));
  if (m.values && m.values.length === values.length && m.values.every((v, i) => v === values[i])) return m.out!;
  const out = t(ctx);
  m.values = values; m.out = out;
  return out;
}

/** Render one string. A string that is just `{{path}}` yields the value itself (a list stays a list). */
export function renderValue(s: string, ctx: unknown): unknown {
  if (!s.includes('{{')) return s;
  const t = compiled(s);
  const m = NATIVE.exec(s);
  if (m) return lookup(ctx, m[1]!);
  try {
    return renderMemo(s, t, ctx);
  } catch (e) {
    throw new RenderError((e as Error).message.replace(/ in \[object Object\]/, '').split('\n')[0]!);
  }
}

export function renderDeep(v: unknown, ctx: unknown): unknown {
  if (typeof v === 'string') return renderValue(v, ctx);
  if (Array.isArray(v)) return v.map((x) => renderDeep(x, ctx));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renderDeep(x, ctx)]));
  return v;
}

export function truthy(v: unknown): boolean {
  if (typeof v === 'string') return !['', 'false', '0', 'no', 'off'].includes(v.trim().toLowerCase());
  if (Array.isArray(v)) return v.length > 0;
  return Boolean(v);
}

export function evalWhen(when: string | boolean | undefined, ctx: unknown): boolean {
  if (when === undefined) return true;
  if (typeof when === 'boolean') return when;
  return truthy(renderValue(when.includes('{{') ? when : `{{${when}}}`, ctx));
}

/** Render a whole template file (for the template module). */
export function renderTemplate(src: string, ctx: unknown): string {
  const t = compileTemplate(src);
  try {
    return t(ctx);
  } catch (e) {
    if (e instanceof RenderError) throw e;
    throw new RenderError((e as Error).message.split('\n')[0]!);
  }
}
