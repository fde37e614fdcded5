// Registers the HA modules (disk, raw devices, file systems, cluster configuration, services, boot timeout).
import { register } from './index.js';
import { bootTimeout } from './boot_timeout.js';
import { clusterConfig } from './cluster_config.js';
import { clusterDaemon } from './cluster_daemon.js';
import { diskAttached } from './disk_attached.js';
import { diskLayout } from './disk_layout.js';
import { filesystem } from './filesystem.js';
import { partitionTable } from './partition_table.js';
import { rawDevices } from './raw_devices.js';
import { serviceState } from './service_state.js';

export const haModules = [diskAttached, diskLayout, partitionTable, rawDevices, filesystem, clusterConfig, clusterDaemon, serviceState, bootTimeout];
register(...haModules);
