// Option values checked as commander parses them (a bad value is a usage error: exit 2 with the command's help), and
// the choices of option values. Light on purpose: the CLI loads it for every command, --version included.
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

/** commander, loaded when the command line is parsed (a bare `--version` never loads it). */
export const commander = (): typeof Commander => createRequire(import.meta.url)('commander');

/** `graph --format` */
export const GRAPH_FORMATS = ['mermaid', 'dot', 'svg'] as const;

/** An integer option within [min, max]. */
export function intInRange(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v.trim())) throw new (commander().InvalidArgumentError)(`"${v}" is not a whole number (${min}..${max}).`);
    const n = Number(v);
    if (n < min || n > max) throw new (commander().InvalidArgumentError)(`${n} is out of range (${min}..${max}).`);
    return n;
  };
}

/** A repeatable list option: `--tags a,b --tags c` → [a, b, c]. */
export function commaList(v: string, prev: string[] | undefined): string[] {
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new (commander().InvalidArgumentError)('an empty list.');
  return [...(prev ?? []), ...items];
}

/** A repeatable option collected as written. */
export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

/** `--wait-lock` alone: 600 s; `--wait-lock N`: N seconds; absent: 0 (fail fast). */
export function waitLockSeconds(v: number | boolean | undefined): number {
  return v === undefined || v === false ? 0 : v === true ? 600 : v;
}
