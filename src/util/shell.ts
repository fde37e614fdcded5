/**
 * POSIX shell single-quote quoting. Safe for any string (newlines, quotes, $(), ;, globbing):
 * the result is one shell word that expands to exactly `s`. NUL bytes cannot be passed in argv and throw.
 */
export function q(s: string): string {
  if (s.includes('\0')) throw new Error('q: NUL byte cannot be passed to a shell command');
  if (s !== '' && /^[A-Za-z0-9_@%+:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Join an argv into a shell command line, each element quoted with q(). */
export function cmd(argv: string[]): string {
  if (argv.length === 0) throw new Error('cmd: empty argv');
  return argv.map(q).join(' ');
}

/** Names safe to use unquoted in paths and config files (cluster, service, host names). */
export function isSafeName(s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s);
}
