// Handlebars in playbooks and templates: no helper writes to the output, no template reaches JavaScript internals.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTemplate, evalWhen, renderDeep, renderTemplate, renderValue, RenderError } from '../../src/playbook/render.js';
import { renderTemplate as renderFileTemplate } from '../../src/util/paths.js';
import { InputError } from '../../src/util/input.js';

const ctx = () => ({ host: { name: 'n1', vars: { list: ['a', 'b'] } }, ha: { services: [{ name: 'NFS', mountpoint: '/mnt/a' }] }, groups: { web: ['n1'] } });

let writes: string[] = [];
beforeEach(() => {
  writes = [];
  const capture = (chunk: unknown) => { writes.push(String(chunk)); return true; };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture as any);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture as any);
  for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) vi.spyOn(console, m).mockImplementation((...a: unknown[]) => { writes.push(a.join(' ')); });
});
afterEach(() => { vi.restoreAllMocks(); });

const refused = (f: () => unknown, text: RegExp | string) => {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err, 'no error was thrown').toBeInstanceOf(RenderError);
  if (typeof text === 'string') expect((err as Error).message).toContain(text);
  else expect((err as Error).message).toMatch(text);
  expect(writes).toEqual([]);
};

describe('renderValue refuses JavaScript internals', () => {
  it.each([
    ['{{host.constructor}}', '"constructor"'],
    ['x{{host.constructor}}', '"constructor"'],
    ['{{host.constructor.name}}', '"constructor"'],
    ['{{host.__proto__}}', '"__proto__"'],
    ['a{{host.[__proto__]}}', '"__proto__"'],
    ['{{host.toString}} ', '"toString"'],
    ['{{#with host.__proto__}}x{{/with}}', '"__proto__"'],
    ['{{#if host.constructor}}yes{{/if}}', '"constructor"'],
    ['{{#each host.constructor}}{{this}}{{/each}}', '"constructor"'],
    ['{{#each ha.services}}{{this.constructor}}{{/each}}', '"constructor"'],
    ['{{@root.constructor}}', '"constructor"'],
    ['{{lookup this "__proto__"}}', '"__proto__"'],
    ['{{lookup host "constructor"}}', '"constructor"'],
    ['{{#each host.vars.list}}{{lookup ../host "valueOf"}}{{/each}}', '"valueOf"'],
    ['{{json (lookup host "hasOwnProperty")}}', '"hasOwnProperty"'],
  ])('%s', (tpl, text) => refused(() => renderValue(tpl, ctx()), text));

  it('a lookup of a key that is not an own property of the data, computed at run time, is refused too', () => {
    refused(() => renderValue('{{#each host.vars.list}}{{lookup ../host this}}{{/each}}', { ...ctx(), host: { name: 'n1', vars: { list: ['name', 'constructor'] } } }), '"constructor"');
  });

  it('when: conditions are checked the same way', () => {
    refused(() => evalWhen('host.constructor', ctx()), '"constructor"');
    refused(() => evalWhen('{{#if host.__proto__}}yes{{/if}}', ctx()), '"__proto__"');
  });
});

describe('renderValue: no helper writes to the output', () => {
  it.each(['{{log "hello"}}', '{{log host.name level="error"}}', '{{#each ha.services}}{{log name}}{{/each}}'])('%s', (tpl) => refused(() => renderValue(tpl, ctx()), /log/));
});

describe('what still works', () => {
  it('paths, lists, helpers and lookups of own properties', () => {
    expect(renderValue('{{host.name}}', ctx())).toBe('n1');
    expect(renderValue('{{host.vars.list}}', ctx())).toEqual(['a', 'b']);
    expect(renderValue('{{#each ha.services}}{{name}}:{{mountpoint}};{{/each}}', ctx())).toBe('NFS:/mnt/a;');
    expect(renderValue('{{lookup host "name"}} {{lookup host.vars.list 1}} {{join host.vars.list "+"}}', ctx())).toBe('n1 b a+b');
    expect(renderValue('{{#if (eq host.name "n1")}}yes{{/if}}', ctx())).toBe('yes');
    expect(renderValue('{{host.vars.list.length}}', ctx())).toBe(2);
    expect(renderValue('n={{host.vars.list.length}}', ctx())).toBe('n=2');
    expect(renderValue('{{#if lvs.nat}}nat{{else}}none{{/if}}', { ...ctx(), lvs: {} })).toBe('none');
    expect(renderValue('{{lookup host.vars "absent"}}.', ctx())).toBe('.');
    expect(renderDeep({ a: ['{{host.name}}'] }, ctx())).toEqual({ a: ['n1'] });
    expect(evalWhen('groups.web', ctx())).toBe(true);
    expect(writes).toEqual([]);
  });
  it('some LIST KEY [VALUE]: any entry with a truthy (or equal) own field (one package entry for every HA service with nfs:)', () => {
    const c = (services: unknown[]) => ({ ...ctx(), ha: { services } });
    const t = "{{#if (some ha.services 'nfs')}}nfs-kernel-server{{/if}}";
    expect(renderValue(t, c([{ name: 'A', nfs: { export: '/x' } }, { name: 'B', nfs: { export: '/y' } }]))).toBe('nfs-kernel-server');
    expect(renderValue(t, c([{ name: 'A' }, { name: 'B', systemd: 'smbd' }]))).toBe('');
    expect(renderValue(t, c([]))).toBe('');
    expect(renderValue("{{#if (some ha.services 'constructor')}}x{{/if}}", c([{ name: 'A' }]))).toBe('');
    expect(renderValue("{{#if (some host.name 'nfs')}}x{{/if}}", ctx())).toBe('');
    // with a value: equality (a virtual service with forwarding: nat)
    const vs = { ...ctx(), lvs: { virtual_services: [{ port: 80 }, { port: 443, forwarding: 'nat' }] } };
    expect(evalWhen("{{some lvs.virtual_services 'forwarding' 'nat'}}", vs)).toBe(true);
    expect(evalWhen("{{some lvs.virtual_services 'forwarding' 'tun'}}", vs)).toBe(false);
  });
  it('data keys that are Object.prototype names work when they are the data\'s own keys', () => {
    const c = { ...ctx(), vars: { toString: 't1', valueOf: 'v1', hasOwnProperty: 'h1' }, groups: { valueOf: ['n1'] } };
    expect(renderValue('{{vars.toString}}-{{lookup vars "valueOf"}}-{{vars.hasOwnProperty}}', c)).toBe('t1-v1-h1');
    expect(renderValue('{{groups.valueOf}}', c)).toEqual(['n1']);
    expect(renderValue('{{#each groups.valueOf}}{{this}}{{/each}}', c)).toBe('n1');
  });
  it('constructor, __proto__ and prototype are never data, even as a key of the data\'s own', () => {
    refused(() => renderValue('{{vars.constructor}}', { vars: { constructor: 'c1' } }), '"constructor"');
  });
  it('a missing variable is still an error (strict)', () => {
    refused(() => renderValue('x {{host.nope}}', ctx()), '"nope"');
  });
});

describe('template files', () => {
  it('renderTemplate (the file module) refuses the same things, with the line in the template', () => {
    refused(() => renderTemplate('line 1\n{{host.constructor}}\n', ctx()), /"constructor".*line 2|2:\d+/);
    refused(() => renderTemplate('line 1\nline 2\n{{log "x"}}\n', ctx()), /log/);
    expect(renderTemplate('{{host.name}}\n', ctx())).toBe('n1\n');
  });

  it('checkTemplate reports file:line:col issues without rendering', () => {
    expect(checkTemplate('a\nb {{host.name}}\n', 'x.hbs')).toEqual([]);
    const issues = checkTemplate('a\nb {{host.constructor}}\n', 'x.hbs');
    expect(issues).toEqual([expect.objectContaining({ file: 'x.hbs', line: 2, col: 5, message: expect.stringContaining('"constructor"') })]);
    expect(checkTemplate('{{#if}}', 'y.hbs')).toEqual([expect.objectContaining({ file: 'y.hbs', line: 1, message: expect.stringContaining('Parse error') })]);
    expect(checkTemplate('a\n\n{{#each x}}{{/if}}', 'z.hbs')).toEqual([expect.objectContaining({ file: 'z.hbs', line: 3, col: 4, message: "each doesn't match if" })]);
    expect(checkTemplate('a\n{{foo bar=}}\n', 'w.hbs')).toEqual([expect.objectContaining({ line: 2, message: expect.stringMatching(/^Parse error on line 2: Expecting .*got 'CLOSE'$/) })]);
  });

  it('templates from a templates: directory (util/paths renderTemplate) are checked: an InputError at file:line:col', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-render-'));
    try {
      writeFileSync(join(dir, 'rawdevices.hbs'), '# raw\n{{#each bindings}}{{log this}}{{/each}}\n');
      writeFileSync(join(dir, 'good.hbs'), '{{#each bindings}}{{raw}} {{dev}}\n{{/each}}');
      let err: unknown;
      try { renderFileTemplate('rawdevices.hbs', { bindings: [{ raw: '/dev/raw/raw1', dev: '/dev/sdb1' }] }, { escape: false, overrideDir: dir }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).issues).toEqual([expect.objectContaining({ file: join(dir, 'rawdevices.hbs'), line: 2 })]);
      expect(writes).toEqual([]);
      expect(renderFileTemplate('good.hbs', { bindings: [{ raw: '/dev/raw/raw1', dev: '/dev/sdb1' }] }, { escape: false, overrideDir: dir })).toBe('/dev/raw/raw1 /dev/sdb1\n');
      expect(() => renderFileTemplate('good.hbs', { bindings: [{ raw: '/dev/raw/raw1' }] }, { escape: false, overrideDir: dir })).toThrow(/"dev"/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
