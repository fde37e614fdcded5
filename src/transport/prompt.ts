// Answering a password prompt on a command's stderr: markers are found (also when split across chunks) and removed.
import type { PromptAnswer } from './types.js';

/** Removes `tokens` from a stream of text chunks and reports each one found, in order. */
export class TokenFilter {
  private pending = '';

  constructor(private readonly tokens: string[], private readonly onToken: (token: string) => void) {}

  /** The text of `chunk` (and of earlier held-back text) that is certainly not part of a token. */
  push(chunk: string): string {
    let s = this.pending + chunk;
    let out = '';
    for (;;) {
      const hit = this.first(s);
      if (!hit) break;
      out += s.slice(0, hit.at);
      s = s.slice(hit.at + hit.token.length);
      this.onToken(hit.token);
    }
    const keep = this.partialTail(s);
    this.pending = s.slice(s.length - keep);
    return out + s.slice(0, s.length - keep);
  }

  /** What is left at the end of the stream. */
  flush(): string {
    const p = this.pending;
    this.pending = '';
    return p;
  }

  private first(s: string): { at: number; token: string } | undefined {
    let best: { at: number; token: string } | undefined;
    for (const token of this.tokens) {
      const at = s.indexOf(token);
      if (at >= 0 && (!best || at < best.at)) best = { at, token };
    }
    return best;
  }

  /** Length of the longest end of `s` that could be the start of a token. */
  private partialTail(s: string): number {
    let n = 0;
    for (const t of this.tokens)
      for (let k = Math.min(t.length - 1, s.length); k > n; k--) if (s.endsWith(t.slice(0, k))) { n = k; break; }
    return n;
  }
}

export interface PromptIo {
  write(data: string): void;
  end(): void;
  /** the command runs (past sudo): its stdin data may be sent now */
  ready(): void;
}

/** Filters stderr and drives stdin for a PromptAnswer: the password once per prompt seen before `ready`, never after. */
export function promptResponder(a: PromptAnswer, io: PromptIo): TokenFilter {
  let prompts = 0;
  let ready = false;
  return new TokenFilter([a.prompt, a.ready + '\n'], (token) => {
    if (token !== a.prompt) {
      if (!ready) { ready = true; io.ready(); }
      return;
    }
    if (ready) return; // the command itself printed it: never answer that
    if (prompts++ === 0) io.write(a.answer + '\n');
    else io.end(); // asked again: the password was wrong; no more tries
  });
}
