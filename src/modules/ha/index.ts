// Modules of the HA pair: the shared disk, its partitions and file systems, raw devices, cluster configuration and daemon;
// format: pacemaker: sbd, corosync.conf and its key, the CIB.
import type { ModuleDef } from '../../engine/types.js';
import { clusterConfig } from './cluster_config.js';
import { clusterDaemon } from './cluster_daemon.js';
import { diskAttached } from './disk_attached.js';
import { diskLayout } from './disk_layout.js';
import { filesystem } from './filesystem.js';
import { partitionTable } from './partition_table.js';
import { rawDevices } from './raw_devices.js';
import { corosyncConfig } from './corosync_config.js';
import { corosyncAuthkey } from './corosync_authkey.js';
import { sbdConfig, sbdDeviceModule } from './sbd.js';
import { pacemakerCib } from './pacemaker_cib.js';

export const haModules: readonly ModuleDef[] = [diskAttached, diskLayout, partitionTable, rawDevices, filesystem, clusterConfig, clusterDaemon,
  sbdDeviceModule, sbdConfig, corosyncConfig, corosyncAuthkey, pacemakerCib];
