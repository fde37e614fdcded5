// The built CLI is a bundle (scripts/bundle.mjs, issue #17 start-up): what `clusterform` loads for a command is the
// bundle's main chunk plus the chunks it imports statically; the rest only on a dynamic import. Read from esbuild's
// metafile: the terminal UI (listr2) and the lab stay out of what every command loads, ssh2 stays an outside package
// (its native crypto binding is found next to its own files), and no source module is left out of the bundle.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

type Meta = { outputs: Record<string, { inputs: Record<string, unknown>; imports: { path: string; kind: string; external?: boolean }[] }> };
const META = resolve(ROOT, 'dist/bundle/meta.json');

/** Outputs loaded with `from`: itself and every chunk reached through static imports. */
function staticClosure(meta: Meta, from: string): Set<string> {
  const seen = new Set<string>();
  const walk = (o: string) => {
    if (seen.has(o) || !meta.outputs[o]) return;
    seen.add(o);
    for (const i of meta.outputs[o]!.imports) if (i.kind === 'import-statement' && !i.external) walk(i.path);
  };
  walk(from);
  return seen;
}
const inputsOf = (meta: Meta, outs: Iterable<string>) => [...outs].flatMap((o) => Object.keys(meta.outputs[o]!.inputs));

describe('the bundled CLI (dist/bundle)', () => {
  const meta = JSON.parse(readFileSync(META, 'utf8')) as Meta;
  it('bin/clusterform.js runs the bundle', () => {
    expect(readFileSync(resolve(ROOT, 'bin/clusterform.js'), 'utf8')).toContain("import('../dist/bundle/main.js')");
  });
  it('every command loads the main chunk without listr2, the lab, ssh2 or handlebars (those come by dynamic import)', () => {
    const first = inputsOf(meta, staticClosure(meta, 'dist/bundle/main.js'));
    expect(first.some((i) => i.includes('dist/src/cli/main.js'))).toBe(true);
    for (const lazy of ['node_modules/listr2/', 'dist/src/lab/', 'node_modules/handlebars/', 'dist/src/engine/'])
      expect(first.filter((i) => i.includes(lazy)), lazy).toEqual([]);
  });
  it('up (the actions chunk) has the engine and ssh2 as an outside package, but not listr2 or the lab', () => {
    const actions = Object.keys(meta.outputs).find((o) => Object.keys(meta.outputs[o]!.inputs).includes('dist/src/cli/actions.js'))!;
    const run = staticClosure(meta, actions);
    const ins = inputsOf(meta, run);
    expect(ins).toContain('dist/src/engine/run.js');
    expect(ins.filter((i) => i.includes('node_modules/listr2/') || i.includes('dist/src/lab/'))).toEqual([]);
    expect([...run].flatMap((o) => meta.outputs[o]!.imports).some((i) => i.path === 'ssh2' && i.external)).toBe(true);
    expect(inputsOf(meta, Object.keys(meta.outputs)).filter((i) => i.includes('node_modules/ssh2/'))).toEqual([]);
  });
});
