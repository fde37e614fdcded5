// Every module clusterform ships, by area. No side effects: src/api.ts builds the Registry from this list.
import type { ModuleDef } from '../engine/types.js';
import { coreModules } from './core/index.js';
import { haModules } from './ha/index.js';
import { lvsModules } from './lvs/index.js';
import { checkModules } from './checks/index.js';

export const builtinModules: readonly ModuleDef[] = [...coreModules, ...haModules, ...lvsModules, ...checkModules];
