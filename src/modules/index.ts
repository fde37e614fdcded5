// Every module, by the name playbooks use.
import type { ModuleDef } from '../engine/types.js';

export const modules: Record<string, ModuleDef> = {};

export function register(...defs: ModuleDef[]): void {
  for (const d of defs) modules[d.name] = d;
}
