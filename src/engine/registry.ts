// The modules a run may use, by the name playbooks give them. Built once by the library entry (src/api.ts) and
// passed to the playbook loader, which puts each task's ModuleDef on the task: the engine never looks a name up.
import type { ModuleDef } from './types.js';

export class Registry {
  private readonly byName = new Map<string, ModuleDef>();

  constructor(defs: readonly ModuleDef[]) {
    for (const d of defs) {
      if (this.byName.has(d.name)) throw new Error(`two modules named ${d.name}`);
      this.byName.set(d.name, d);
    }
  }

  /** The module called `name`; a Map, so `toString` or `constructor` are never modules. */
  get(name: string): ModuleDef | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  all(): ModuleDef[] {
    return [...this.byName.values()];
  }
}
