// The engine's shape: small functions (at most 80 lines of body each) and no module imported into the engine.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../../helpers.js';

const DIR = join(ROOT, 'src/engine');
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));

/** Every function-like node of a file with the number of lines its body spans. */
function functionLengths(file: string): { name: string; lines: number }[] {
  const src = ts.createSourceFile(file, readFileSync(join(DIR, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: { name: string; lines: number }[] = [];
  const line = (pos: number) => src.getLineAndCharacterOfPosition(pos).line;
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const body = n.body as ts.Node;
      const name = (n as { name?: ts.Node }).name?.getText(src) ?? `(anonymous at line ${line(n.getStart(src)) + 1})`;
      out.push({ name: `${file}: ${name}`, lines: line(body.getEnd()) - line(body.getStart(src)) + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

describe('engine shape', () => {
  it('no function in src/engine has a body longer than 80 lines', () => {
    const all = files.flatMap(functionLengths).sort((a, b) => b.lines - a.lines);
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter((f) => f.lines > 80)).toEqual([]);
  });

  it('nothing in src/engine imports from src/modules', () => {
    for (const f of files) expect(readFileSync(join(DIR, f), 'utf8')).not.toMatch(/from '\.\.\/modules\//);
  });
});
