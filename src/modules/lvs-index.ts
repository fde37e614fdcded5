// The LVS modules, registered under the names playbooks use. Imported by the CLI next to modules/index.ts.
import { register } from './index.js';
import { ipAddress } from './ip_address.js';
import { ipvs } from './ipvs.js';
import { kernelModule } from './kernel_module.js';
import { natMasquerade } from './nat_masquerade.js';
import { pkg } from './package.js';
import { route } from './route.js';
import { sysctl } from './sysctl.js';

export const lvsModules = [sysctl, kernelModule, pkg, ipAddress, route, ipvs, natMasquerade];
register(...lvsModules);
