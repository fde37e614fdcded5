// Rendering task arguments with handlebars (strict, no HTML escaping) against the inventory and host facts.
import Handlebars from 'handlebars';

const hb = Handlebars.create();
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('ne', (a: unknown, b: unknown) => a !== b);
hb.registerHelper('not', (a: unknown) => !a || (Array.isArray(a) && a.length === 0));
hb.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
hb.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
hb.registerHelper('includes', (list: unknown, x: unknown) => Array.isArray(list) && list.includes(x));
hb.registerHelper('json', (x: unknown) => JSON.stringify(x));
hb.registerHelper('join', (list: unknown, sep: unknown) => (Array.isArray(list) ? list.join(typeof sep === 'string' ? sep : ',') : ''));

const cache = new Map<string, HandlebarsTemplateDelegate>();
const NATIVE = /^\{\{\s*([A-Za-z_@][\w@-]*(?:\.[\w@-]+)*)\s*\}\}$/;

export class RenderError extends Error {}

function lookup(ctx: unknown, path: string): unknown {
  let v: any = ctx;
  for (const seg of path.split('.')) {
    if (v == null || typeof v !== 'object' || !(seg in v)) throw new RenderError(`"${path}" is not defined`);
    v = v[seg];
  }
  return v;
}

/** Render one string. A string that is just `{{path}}` yields the value itself (a list stays a list). */
export function renderValue(s: string, ctx: unknown): unknown {
  if (!s.includes('{{')) return s;
  const m = NATIVE.exec(s);
  if (m) return lookup(ctx, m[1]!);
  let t = cache.get(s);
  if (!t) { t = hb.compile(s, { strict: true, noEscape: true }); cache.set(s, t); }
  try {
    return t(ctx);
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
  return hb.compile(src, { strict: true, noEscape: true })(ctx);
}
