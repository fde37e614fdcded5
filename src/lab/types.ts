// Types of the local lab (src/lab). The lab turns every inventory host into a real SSH host on this machine.

/**
 * The part of an inventory the lab reads (a plain interface of the lab's own; an inventory file is read into it by
 * loadLabInventory in schema.ts): the cluster name, host addresses, addresses it must not pick, the HA layout a lab
 * disk must hold, and the `lab:` section.
 */
export interface InventoryLike {
  cluster: string;
  hosts: Record<string, { address: string }>;
  ha?: { members?: string[]; shared_disk?: string; quorum?: { size?: string }; services?: { address?: string; size?: string }[] };
  lvs?: { vip?: string; directors?: string[]; nat?: { gateway?: string } };
  lab?: {
    networks?: Record<string, { subnet: string }>;
    hosts?: Record<string, { kind?: LabHostKind; image?: LabVmImage; networks?: string[]; addresses?: Record<string, string>; memory?: number; watchdog?: boolean }>;
    disks?: Record<string, { size: string; hosts: string[] }>;
    /** packages added to the lab's package source (beyond LAB_PACKAGES in repo.ts) */
    packages?: string[];
  };
}

export type LabHostKind = 'ns' | 'vm';
/** Image of a vm host: fast (initramfs of this machine's binaries, default) or debian (a real minimal Debian 12). */
export type LabVmImage = 'fast' | 'debian';

export interface LabNetwork {
  name: string;
  /** CIDR as written, normalised (e.g. 10.213.0.0/24) */
  subnet: string;
  prefix: number;
  /** Linux bridge name inside the lab's bridge namespace */
  bridge: string;
  /** Address of the machine (controller) on this network, on the root-namespace veth */
  controller: string;
  /** Root-namespace side of the controller veth pair */
  controllerIf: string;
  /** MAC of the controller veth (fixed, so that the hosts' static neighbour entry for the controller stays right) */
  controllerMac: string;
  /** Bridge-namespace side of the controller veth pair */
  controllerPeerIf: string;
}

export interface LabNic {
  network: string;
  address: string;
  prefix: number;
  /** Interface name inside the host (eth0, eth1, ... in network order) */
  ifname: string;
  /** ns hosts: veth end in the bridge namespace; vm hosts: tap name in the bridge namespace */
  peer: string;
  bridge: string;
  mac: string;
}

export interface LabHost {
  name: string;
  kind: LabHostKind;
  /** vm hosts only */
  image?: LabVmImage;
  /** vm hosts: memory in MiB (lab.hosts.X.memory) */
  memoryMb?: number;
  /** vm hosts: an emulated i6300esb watchdog that resets the VM (lab.hosts.X.watchdog) */
  watchdog?: boolean;
  hostname: string;
  /** Network namespace of an ns host (vm hosts run qemu in the bridge namespace) */
  netns: string;
  /** Per-host state directory (<stateDir>/hosts/<name>) */
  dir: string;
  nics: LabNic[];
  primaryAddress: string;
}

export interface LabDisk {
  name: string;
  sizeBytes: number;
  /** Sparse image file <stateDir>/disks/<name>.img */
  image: string;
  hosts: string[];
  /** clusterform-<lab>-<disk> */
  byId: string;
  /** /dev/disk/by-id/clusterform-<lab>-<disk> */
  byIdPath: string;
}

export interface LabConfig {
  lab: string;
  inventoryPath: string;
  /** <dir of inventory>/.lab/<lab> (absolute) */
  stateDir: string;
  /** Namespace holding one bridge per network: cf-<lab>-br */
  bridgeNs: string;
  networks: LabNetwork[];
  hosts: LabHost[];
  disks: LabDisk[];
  /** Addresses the lab chose itself (not given in the inventory): host -> net -> ip; recorded in addresses.yaml */
  chosen: { hosts: Record<string, Record<string, string>>; controller: Record<string, string> };
  /** Shared VM artefact cache passed to vm.ts */
  vmCacheDir: string;
  /** SSH-ready timeouts */
  readyTimeoutMs: { ns: number; vm: number; debianVm: number };
  /** Packages the inventory adds to the lab's package source (lab.packages) */
  packages: string[];
  /** Max hosts created in parallel */
  concurrency: number;
}

export interface LabHostStatus {
  name: string;
  kind: LabHostKind;
  addresses: Record<string, string>;
  running: boolean;
  pid?: number;
}

export interface LabStatus {
  lab: string;
  stateDir: string;
  hosts: LabHostStatus[];
  networks: { name: string; subnet: string; bridge: string; controller: string; up: boolean }[];
  disks: { name: string; sizeBytes: number; image: string; byIdPath: string; hosts: string[]; device?: string }[];
  controller: Record<string, string>;
}

export interface LabLog { log?: (line: string) => void }
