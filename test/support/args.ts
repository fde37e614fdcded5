// Module arguments for tests: the task's own arguments plus the cluster-wide ones the module takes (ha, cluster,
// lvs, hosts), as the built-in playbooks pass them ("{{ha}}", "{{cluster}}", ...).
import type { ModuleDef } from '../../src/engine/types.js';

/** The argument names a module's schema declares. */
export function argNames(m: ModuleDef): string[] {
  let s: any = m.args;
  while (s && !s.shape && s._def) s = s._def.schema ?? s._def.innerType;
  return s?.shape ? Object.keys(s.shape) : [];
}

/** `own` plus each of `common` the module declares (and `own` does not set), parsed by the module's schema. */
export function moduleArgs<A>(m: ModuleDef<A, any>, own: unknown, common: Record<string, unknown>): A {
  const names = argNames(m);
  const extra = Object.fromEntries(Object.entries(common).filter(([k]) => names.includes(k)));
  return m.args.parse({ ...extra, ...(own as object) }) as A;
}
