// What playbook templates can refer to: the inventory, derived values, this host and its facts, and the run's extra
// variables (-e), which are top-level names and also override the host's `vars` (highest precedence, as in Ansible).
import type { Facts } from '../facts/facts.js';
import type { HostEntry, Inventory } from '../inventory/load.js';

/** The top-level names the context always has: an extra variable may not replace one of them. */
export const CONTEXT_NAMES = ['cluster', 'inventory', 'groups', 'hosts', 'hosts_entries', 'host', 'facts', 'vars', 'boot', 'ha', 'lvs', 'templates_dir', 'item', 'index'] as const;

/** Why an extra variable's name cannot be used, or undefined when it can. */
export function extraVarProblem(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.startsWith('__')) return `"${name}" is not a variable name (letters, digits and _, not starting with a digit or __)`;
  if ((CONTEXT_NAMES as readonly string[]).includes(name)) return `"${name}" is a built-in name of the template context (${CONTEXT_NAMES.join(', ')}); choose another name`;
  return undefined;
}

/** The parts of the context that are the same for every host (lists of every host): built once per render pass. */
export interface SharedContext {
  hosts: { name: string; address: string }[];
  hosts_entries: { address: string; names: string[] }[];
  haMembers: Set<string>;
}

/** The inventory-wide part of the context, with the hosts' addresses as they are now. */
export function sharedContext(inv: Inventory): SharedContext {
  return {
    hosts: inv.hosts.map((h) => ({ name: h.name, address: h.address })),
    hosts_entries: inv.hosts.map((h) => ({ address: h.address, names: [h.name] })),
    haMembers: new Set(inv.groups.ha_members ?? []),
  };
}

/** `shared`: sharedContext(inv), computed once for many hosts (the lists are then the same objects on every host). */
export function renderContext(inv: Inventory, host: HostEntry, facts: Facts, shared: SharedContext = sharedContext(inv)): Record<string, unknown> {
  const raw = inv.raw;
  const extra = inv.extraVars ?? {};
  return {
    ...extra,
    cluster: inv.cluster,
    inventory: raw,
    groups: inv.groups,
    hosts: shared.hosts,
    hosts_entries: shared.hosts_entries,
    host: { name: host.name, address: host.address, vars: host.vars, is_ha_member: shared.haMembers.has(host.name) },
    facts,
    vars: { ...host.vars, ...extra },
    boot: raw.boot ?? null,
    ha: raw.ha ?? null,
    lvs: raw.lvs ?? null,
    templates_dir: inv.templatesDir ?? null,
  };
}
