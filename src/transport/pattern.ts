// OpenSSH patterns (ssh_config(5) PATTERNS), shared by ssh_config Host/Match lines and known_hosts names.

/** One pattern: `*` any run of characters, `?` exactly one, everything else literal; case-insensitive. */
export function matchPattern(pattern: string, name: string): boolean {
  const re = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp('^' + re + '$', 's').test(name.toLowerCase());
}

/**
 * A pattern list: true when a positive pattern matches and no negated (`!`) one does; a negated match wins
 * whatever else matches (and a list of only negated patterns matches nothing).
 */
export function matchPatternList(patterns: string[], name: string): boolean {
  let ok = false;
  for (const p of patterns) {
    if (p.startsWith('!')) { if (matchPattern(p.slice(1), name)) return false; }
    else if (matchPattern(p, name)) ok = true;
  }
  return ok;
}
