// writeJsonDocument prints exactly what JSON.stringify(doc, null, 2) + '\n' prints, in pieces.
import { describe, expect, it } from 'vitest';
import { writeJsonDocument } from '../../src/util/json-stream.js';

const written = (doc: Record<string, unknown>) => {
  const parts: string[] = [];
  writeJsonDocument(doc, (s) => parts.push(s));
  return { text: parts.join(''), parts: parts.length };
};

describe('writeJsonDocument', () => {
  it.each([
    ['an empty object', {}],
    ['scalars, null, nested objects, empty arrays and objects', { a: 1, b: 'x', c: null, d: true, e: { f: [1, 2, { g: [] }], h: {} }, i: [], j: {} }],
    ['undefined and function values left out, as JSON.stringify does (and null in arrays)', { a: undefined, b: () => 1, c: [undefined, () => 1, 2], d: 'kept' }],
    ['strings with newlines, quotes, unicode and control characters', { s: 'a\nb "q" \\ é 中 \u0001', events: [{ diff: '--- a\n+++ b\n@@\n-x\n+y\n', notes: ['n\n'] }] }],
    ['a toJSON inside', { d: new Date(0), arr: [new Date(1)] }],
    ['a nested array of arrays', { events: [[1, [2, []]], [], {}] }],
  ] as [string, Record<string, unknown>][])('%s', (_n, doc) => {
    expect(written(doc).text).toBe(JSON.stringify(doc, null, 2) + '\n');
  });

  it('a large document: the same bytes, written in chunks of about 64 KiB rather than as one string', () => {
    const events = Array.from({ length: 5000 }, (_, i) => ({ type: 'task', host: `rs${i}`, changes: [{ summary: 'hosts', diff: '+10.0.0.1 a\n'.repeat(20) }] }));
    const doc = { format_version: 1, mode: 'up', ok: true, recap: [{ host: 'a', ok: 1 }], events, profile: { tasks: [] } };
    const w = written(doc);
    expect(w.text).toBe(JSON.stringify(doc, null, 2) + '\n');
    expect(w.parts).toBeGreaterThan(20);
  });
});
