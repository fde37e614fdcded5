// What playbook templates can refer to: the inventory, derived values, this host and its facts.
import type { Facts } from '../facts/facts.js';
import type { HostEntry, Inventory } from '../inventory/load.js';

export function renderContext(inv: Inventory, host: HostEntry, facts: Facts): Record<string, unknown> {
  const raw = inv.raw;
  return {
    cluster: inv.cluster,
    inventory: raw,
    groups: inv.groups,
    hosts: inv.hosts.map((h) => ({ name: h.name, address: h.address })),
    hosts_entries: inv.hosts.map((h) => ({ address: h.address, names: [h.name] })),
    host: { name: host.name, address: host.address, vars: host.vars, is_ha_member: inv.groups.ha_members!.includes(host.name) },
    facts,
    vars: host.vars,
    boot: raw.boot ?? null,
    ha: raw.ha ?? null,
    lvs: raw.lvs ?? null,
    templates_dir: inv.templatesDir ?? null,
  };
}
