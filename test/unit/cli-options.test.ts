// Options are validated (exit 2 with the command's help, for every command), --version, -e extra variables, and
// module-argument errors in words.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { cli, ROOT } from '../helpers.js';
import { parseExtraVars } from '../../src/cli/options.js';
import { renderContext } from '../../src/engine/context.js';
import { STUB_FACTS } from '../../src/engine/render.js';
import { loadInventory } from '../../src/inventory/load.js';
import { withExtraVars } from '../../src/api.js';
import { argIssueMessage } from '../../src/playbook/arg-issues.js';
import { InputError } from '../../src/util/input.js';

const INV = resolve(ROOT, 'inventory/example.yaml');
const TMP = mkdtempSync(join(tmpdir(), 'cf-cli-options-'));

describe('usage errors exit 2 and print the command\'s help', () => {
  it.each([
    [['up', INV, '--forks', '0'], /--forks.*out of range \(1\.\.1000\)/, 'clusterform up'],
    [['up', INV, '--forks', 'abc'], /"abc" is not a whole number/, 'clusterform up'],
    [['plan', INV, '--forks', '1001'], /out of range/, 'clusterform plan'],
    [['down', INV, '--wait-lock', 'abc'], /--wait-lock.*"abc" is not a whole number/, 'clusterform down'],
    [['verify', INV, '--bogus'], /unknown option '--bogus'/, 'clusterform verify'],
    [['verify'], /missing required argument 'inventory'/, 'clusterform verify'],
    [['run', 'x.yaml'], /required option '-i, --inventory <file>'/, 'clusterform run'],
    [['lab', 'bogus'], /unknown command 'bogus'/, 'clusterform lab'],
    [['lab', 'up'], /missing required argument 'inventory'/, 'clusterform lab up'],
    [['graph', INV, '--format', 'png'], /Allowed choices are mermaid, dot, svg/, 'clusterform graph'],
    [['completion', 'fish'], /Allowed choices are bash, zsh/, 'clusterform completion'],
    [['modules', 'comand'], /no module named "comand" \(did you mean "command"\?\)/, 'clusterform modules'],
    [['frobnicate'], /unknown command 'frobnicate'/, 'clusterform'],
  ])('%j', (args, error, usage) => {
    const r = cli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(error);
    expect(r.stderr).toContain(`Usage: ${usage} `);
  });

  it('plan --detailed-exitcode: a usage error is 1 (2 means "changes")', () => {
    expect(cli(['plan', INV, '--detailed-exitcode', '--forks', '0']).code).toBe(1);
  });

  it('--version and -V print package.json\'s version; --help exits 0', () => {
    const version = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version;
    for (const f of ['--version', '-V']) expect(cli([f])).toMatchObject({ code: 0, stdout: `${version}\n` });
    expect(cli(['up', '--help']).code).toBe(0);
  });
});

describe('-e extra variables', () => {
  it('KEY=VALUE, @file.yaml and {…} merge in order, the last wins', () => {
    writeFileSync(join(TMP, 'vars.yaml'), 'port: 8080\nnames: [a, b]\n');
    expect(parseExtraVars(['port=80', `@${join(TMP, 'vars.yaml')}`, '{ debug: true }', 'x=a=b'])).toEqual({ port: 8080, names: ['a', 'b'], debug: true, x: 'a=b' });
  });
  it('a malformed value or file is an input error', () => {
    expect(() => parseExtraVars(['novalue'])).toThrow(InputError);
    writeFileSync(join(TMP, 'list.yaml'), '- a\n');
    expect(() => parseExtraVars([`@${join(TMP, 'list.yaml')}`])).toThrow(/must be a mapping/);
    writeFileSync(join(TMP, 'dup.yaml'), 'a: 1\na: 2\n');
    expect(() => parseExtraVars([`@${join(TMP, 'dup.yaml')}`])).toThrow(/dup\.yaml:2:1 a: duplicate key "a" \(first at line 1\)/);
  });
  it('they reach the template context as {{name}} and over the host\'s vars, and cannot replace a built-in name', () => {
    const inv = withExtraVars(loadInventory(INV), { port: '8080' });
    const ctx = renderContext(inv, inv.hosts[0]!, STUB_FACTS);
    expect(ctx.port).toBe('8080');
    expect((ctx.vars as Record<string, unknown>).port).toBe('8080');
    expect(() => withExtraVars(inv, { ha: 1 })).toThrow(/"ha" is a built-in name/);
    expect(() => withExtraVars(inv, { 'a-b': 1 })).toThrow(/not a variable name/);
  });
  it('through the CLI: a playbook template uses -e; a built-in name exits 2', () => {
    const pb = join(TMP, 'pb.yaml');
    writeFileSync(pb, '- name: p\n  hosts: all\n  tasks:\n    - name: t\n      file: { path: "/tmp/{{dest}}", content: "x" }\n');
    const bad = cli(['run', pb, '-i', INV, '-e', 'ha=1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--extra-vars: "ha" is a built-in name');
    const missing = cli(['run', pb, '-i', INV, '--limit', 'node1']);
    expect(missing.code).toBe(2); // {{dest}} undefined: a strict template error before any host
    expect(missing.stderr).toMatch(/dest/);
  });
});

describe('module argument errors say module, argument, expectation, did-you-mean', () => {
  const schema = z.object({ argv: z.array(z.string()).min(1), state: z.enum(['present', 'absent']).default('present'), creates: z.string().optional() }).strict();
  const msgs = (args: unknown) => { const r = schema.safeParse(args); return r.success ? [] : r.error.issues.map((i) => argIssueMessage('command', schema, i, args)); };
  it('a YAML boolean where a string is wanted', () => {
    expect(msgs({ argv: [true] })).toEqual(['module "command": argument "argv[0]": expected string, got boolean true']);
  });
  it('a misspelled argument', () => {
    expect(msgs({ argv: ['x'], craetes: '/x' })).toEqual(['module "command": unknown argument "craetes" (did you mean "creates"?); it takes: argv, state, creates']);
  });
  it('a missing argument and a misspelled value', () => {
    expect(msgs({ state: 'presnt' })).toEqual([
      'module "command": argument "argv" is required (list of string (at least 1))',
      'module "command": argument "state": the string "presnt" is not one of: present, absent (did you mean "present"?)',
    ]);
  });
});
