import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTemplate, compileTemplate } from '../playbook/render.js';
import { InputError } from './input.js';

let cached: string | undefined;

/**
 * Absolute path of the package's `templates/` directory. Works both from `src/...` (vitest, tsx)
 * and from the compiled `dist/src/...`: walks up from this module's directory until it finds a
 * directory holding both `templates/` and `package.json`.
 */
export function templatesDir(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const t = join(dir, 'templates');
    if (existsSync(join(dir, 'package.json')) && existsSync(t) && statSync(t).isDirectory()) {
      cached = t;
      return t;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`templatesDir: no templates/ next to a package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** Path of one template file, in `overrideDir` when given, else in templatesDir(). */
export function templatePath(name: string, overrideDir?: string): string {
  return resolve(overrideDir ?? templatesDir(), name);
}


const cache = new Map<string, (ctx: unknown) => string>();

/**
 * Compile (once) and render a template from templates/ (or `overrideDir`).
 * `escape: true` = HTML/XML escaping for {{x}} (XML templates); false = noEscape (text files).
 * Always strict (a missing variable throws instead of rendering ''), and checked first: a template that does not
 * parse, uses the log helper or reaches for JavaScript internals is an InputError at its file:line:col.
 */
export function renderTemplate(name: string, ctx: unknown, opts: { escape: boolean; overrideDir?: string }): string {
  const path = templatePath(name, opts.overrideDir);
  const key = `${opts.escape ? 'e' : 'n'}:${path}`;
  let tpl = cache.get(key);
  if (!tpl) {
    const src = readFileSync(path, 'utf8');
    const issues = checkTemplate(src, path);
    if (issues.length) throw new InputError(issues);
    tpl = compileTemplate(src, { escape: opts.escape });
    cache.set(key, tpl);
  }
  return tpl(ctx);
}
