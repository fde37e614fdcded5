// The held shell's framing, pure: requests encoded, answers parsed from recorded bytes however they are chunked.
import { describe, expect, it } from 'vitest';
import { AnswerParser, encodeRequest, type HeldEvent } from '../../src/transport/held-shell.js';

const all256 = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
/** The bytes the server loop prints for one request. */
const answer = (id: number, code: number, out: Buffer | string, err: Buffer | string) =>
  `@@CF-PID ${id} ${4000 + id}\n@@CF-ANS ${id} ${code} ${Buffer.byteLength(out)} ${Buffer.byteLength(err)}\n${b64(out)}\n${b64(err)}\n`;

function parseAll(chunks: string[]): HeldEvent[] {
  const p = new AnswerParser();
  return chunks.flatMap((c) => p.push(c));
}

describe('encodeRequest', () => {
  it('puts the script and stdin on one line, base64, - for none or empty', () => {
    expect(encodeRequest(3, 'echo hi', 'in')).toBe(`@@CF-REQ 3 ${b64('echo hi')} ${b64('in')}\n`);
    expect(encodeRequest(4, 'true')).toBe(`@@CF-REQ 4 ${b64('true')} -\n`);
    expect(encodeRequest(5, '', '')).toBe('@@CF-REQ 5 - -\n');
    expect(encodeRequest(6, 'x'.repeat(100_000)).split('\n')).toHaveLength(2); // never wrapped
  });
});

describe('AnswerParser', () => {
  const cases: [string, Buffer | string, Buffer | string, number][] = [
    ['binary bytes 0x00-0xff on both streams', all256, Buffer.from(all256).reverse(), 0],
    ['empty stdout and stderr', '', '', 0],
    ['stderr only, an exit code', '', 'boom\n', 7],
    ['UTF-8 text', 'héllo ✓\n', '', 0],
  ];
  for (const [name, out, err, code] of cases) {
    it(name, () => {
      const ev = parseAll([answer(1, code, out, err)]);
      expect(ev).toEqual([
        { kind: 'pid', id: 1, pid: 4001 },
        { kind: 'answer', id: 1, code, stdout: Buffer.from(out), stderr: Buffer.from(err) },
      ]);
    });
  }

  it('an answer split at every byte gives the same events', () => {
    const text = answer(2, 0, all256, 'e');
    const whole = parseAll([text]);
    for (let i = 1; i < text.length; i++) expect(parseAll([text.slice(0, i), text.slice(i)])).toEqual(whole);
    expect(parseAll([...text])).toEqual(whole);
  });

  it('two answers in one chunk', () => {
    const ev = parseAll([answer(1, 0, 'a', '') + answer(2, 1, '', 'b')]);
    expect(ev.filter((e) => e.kind === 'answer').map((e) => e.id)).toEqual([1, 2]);
  });

  it('garbage is an error', () => {
    expect(() => parseAll(['hello\n'])).toThrow(/unexpected/);
    expect(() => parseAll(['@@CF-ANS 1 0 3 0\n!!!!\n\n'])).toThrow(/damaged/);
  });

  it('a body shorter than its header says is an error (truncated output)', () => {
    expect(() => parseAll([`@@CF-ANS 1 0 6 0\n${b64('abc')}\n\n`])).toThrow(/damaged/);
  });
});
