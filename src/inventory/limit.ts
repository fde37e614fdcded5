// --limit with Ansible-style host patterns: `web*`, `!node2`, `group:&other`, `a,b`. Pure.
//
// Patterns are separated by `,` or `:`. Plain patterns (a host, a group, or a `*`/`?` wildcard over both) are
// joined; `&pattern` keeps only hosts also in it; `!pattern` removes its hosts. With no plain pattern the selection
// starts from every host. A name that is neither a host nor a group, a wildcard that matches nothing, and a
// selection left empty are errors (with "did you mean" for misspelled names), never a silent no-op.
import { didYouMean, InputError } from '../util/input.js';
import type { Inventory } from './load.js';

/** The names a pattern can refer to: hosts (in inventory order) and groups. */
export interface HostUniverse {
  hosts: string[];
  groups: Record<string, string[]>;
}

/** An inventory's hosts and groups (derived ones included) as patterns see them. */
export const universeOf = (inv: Pick<Inventory, 'hosts' | 'groups'>): HostUniverse => ({ hosts: inv.hosts.map((h) => h.name), groups: inv.groups });

export interface Selection {
  /** the selected hosts, in inventory order */
  hosts: string[];
  /** why a pattern selected nothing (unknown names, wildcards without a match) */
  problems: string[];
}

type Op = 'add' | 'and' | 'not';

function splitPatterns(spec: string | string[]): { op: Op; pat: string }[] {
  const items = (Array.isArray(spec) ? spec : [spec]).flatMap((s) => s.split(/[,:]/)).map((s) => s.trim()).filter(Boolean);
  return items.map((it) => (it.startsWith('!') ? { op: 'not', pat: it.slice(1) } : it.startsWith('&') ? { op: 'and', pat: it.slice(1) } : { op: 'add', pat: it }));
}

function wildcard(pat: string): RegExp {
  const esc = pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${esc}$`);
}

/** The hosts one pattern names, or a problem when it names nothing. */
function match(u: HostUniverse, pat: string): { hosts: Set<string>; problem?: string } {
  const groupNames = Object.keys(u.groups);
  if (/[*?]/.test(pat)) {
    const re = wildcard(pat);
    const hosts = new Set(u.hosts.filter((h) => re.test(h)));
    for (const g of groupNames) if (re.test(g)) u.groups[g]!.forEach((h) => hosts.add(h));
    return hosts.size ? { hosts } : { hosts, problem: `"${pat}" matches no host or group` };
  }
  if (Object.hasOwn(u.groups, pat)) return { hosts: new Set(u.groups[pat]) };
  if (u.hosts.includes(pat)) return { hosts: new Set([pat]) };
  const hint = didYouMean(pat, [...u.hosts, ...groupNames]);
  return { hosts: new Set(), problem: `no host or group named "${pat}"${hint ? ` (did you mean "${hint}"?)` : ''}` };
}

/** Apply the patterns of `spec` to the universe; problems are collected, not thrown. */
export function selectHosts(u: HostUniverse, spec: string | string[]): Selection {
  const pats = splitPatterns(spec);
  const problems: string[] = [];
  const matched = pats.map((p) => {
    const m = match(u, p.pat);
    if (m.problem) problems.push(m.problem);
    return { ...p, hosts: m.hosts };
  });
  const adds = matched.filter((m) => m.op === 'add');
  let sel = adds.length ? new Set(adds.flatMap((m) => [...m.hosts])) : new Set(u.hosts);
  for (const m of matched.filter((x) => x.op === 'and')) sel = new Set([...sel].filter((h) => m.hosts.has(h)));
  for (const m of matched.filter((x) => x.op === 'not')) for (const h of m.hosts) sel.delete(h);
  return { hosts: u.hosts.filter((h) => sel.has(h)), problems };
}

/** --limit: the selected host names; an unknown name, an empty pattern list or an empty selection is an input error. */
export function limitHosts(u: HostUniverse, spec: string | string[]): string[] {
  if (splitPatterns(spec).length === 0) throw limitError(['names no host or group (an empty pattern)']);
  const s = selectHosts(u, spec);
  if (s.problems.length) throw limitError(s.problems);
  if (s.hosts.length === 0) throw limitError([`"${Array.isArray(spec) ? spec.join(',') : spec}" selects no host: nothing would run`]);
  return s.hosts;
}

function limitError(messages: string[]): InputError {
  return new InputError(messages.map((message) => ({ file: '--limit', line: 0, col: 0, path: '', message })));
}
