// The held shell's framing, pure: requests encoded, answers parsed from recorded bytes however they are chunked.
import { describe, expect, it } from 'vitest';
import { AnswerParser, encodeRequest, HeldShell, type HeldEvent, type ShellPipe } from '../../src/transport/held-shell.js';
import { TransportError } from '../../src/transport/types.js';

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

describe('HeldShell over a scripted pipe', () => {
  /** A pipe whose host side the test plays: `host.data(...)`, `host.end(err)`; what the controller wrote in `sent`. */
  function scripted() {
    const sent: string[] = [];
    let onData!: (s: string) => void, onEnd!: (e?: Error) => void;
    const pipe: ShellPipe = { write: (d) => { sent.push(d); }, attach: (d, e) => { onData = d; onEnd = e; } };
    return { pipe, sent, host: { data: (s: string) => onData(s), end: (e?: Error) => onEnd(e) } };
  }

  it('a connection lost mid-message fails the request with the transport\'s lost error, and every later one', async () => {
    const { pipe, host, sent } = scripted();
    const held = new HeldShell(pipe, async () => {}, 'h1');
    const p = held.run('cat big', '"cat big"', { timeoutMs: 60_000 });
    await Promise.resolve();
    expect(sent[0]).toMatch(/^@@CF-REQ 1 /);
    host.data('@@CF-PID 1 77\n@@CF-ANS 1 0 9000 0\nAAAA');
    const lost = new TransportError('connection to 10.0.0.1:22 lost: connection closed', 'lost');
    host.end(lost);
    await expect(p).rejects.toBe(lost);
    await expect(held.run('true', 'true', { timeoutMs: 1000 })).rejects.toBe(lost);
  });

  it('a shell that ends without a transport error names the request it was running', async () => {
    const { pipe, host } = scripted();
    const held = new HeldShell(pipe, async () => {}, 'h1');
    const p = held.run('kill -9 $PPID', '"kill -9 $PPID"', { timeoutMs: 60_000 });
    await Promise.resolve();
    host.end();
    await expect(p).rejects.toThrow('h1: the remote shell ended while running "kill -9 $PPID"');
  });

  it('a timeout kills the request\'s process group and answers timedOut with what it printed', async () => {
    const { pipe, host } = scripted();
    const killed: number[] = [];
    const held = new HeldShell(pipe, async (pid) => { killed.push(pid); host.data(`@@CF-ANS 1 137 3 0\n${b64('abc')}\n\n`); }, 'h1');
    const p = held.run('sleep 1000', 'sleep', { timeoutMs: 50 });
    await Promise.resolve();
    host.data('@@CF-PID 1 4242\n');
    expect(await p).toMatchObject({ timedOut: true, code: null, stdout: 'abc' });
    expect(killed).toEqual([4242]);
  });
});
