// Modules of the LVS farm: addresses, routes, the IPVS table, NAT masquerading.
import type { ModuleDef } from '../../engine/types.js';
import { ipAddress } from './ip_address.js';
import { ipvs } from './ipvs.js';
import { keepalived } from './keepalived.js';
import { natMasquerade } from './nat_masquerade.js';
import { route } from './route.js';

export const lvsModules: readonly ModuleDef[] = [ipAddress, route, ipvs, natMasquerade, keepalived];
