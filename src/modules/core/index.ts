// Modules for any host: files, directories, commands, services, packages, kernel settings, boot menu.
import type { ModuleDef } from '../../engine/types.js';
import { bootTimeout } from './boot_timeout.js';
import { command } from './command.js';
import { directory } from './directory.js';
import { file } from './file.js';
import { hostsFile } from './hosts_file.js';
import { kernelModule } from './kernel_module.js';
import { pkg } from './package.js';
import { serviceState } from './service_state.js';
import { sysctl } from './sysctl.js';

export const coreModules: readonly ModuleDef[] = [hostsFile, file, directory, command, serviceState, pkg, sysctl, kernelModule, bootTimeout];
