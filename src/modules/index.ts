// Every module, by the name playbooks use.
import type { ModuleDef } from '../engine/types.js';

/** The registry; without a prototype, so that `toString` or `constructor` are not modules. */
export const modules: Record<string, ModuleDef> = Object.create(null);

export function register(...defs: ModuleDef[]): void {
  for (const d of defs) modules[d.name] = d;
}

/** The module called `name`, if there is one. */
export function moduleNamed(name: string): ModuleDef | undefined {
  return Object.hasOwn(modules, name) ? modules[name] : undefined;
}
