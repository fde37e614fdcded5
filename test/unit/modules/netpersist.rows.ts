// What netStackSh prints on hosts of each network stack, and what the persist read (foundSh) prints for clusterform's
// files: the data of netpersist.test.ts (and of lvs.test.ts's persistence cases).
//
// Lines as the commands print them: `systemctl is-active` (active / inactive / failed), `systemctl is-enabled`
// (enabled / disabled / static; nothing on stdout for a unit that does not exist, as on this machine:
// "Failed to get unit file state for networking.service: No such file or directory" goes to stderr), ADMIN_STATE= and
// NETWORK_FILE= of networkd's /run/systemd/netif/links/IFINDEX, and
// `nmcli -t -f DEVICE,STATE,CONNECTION device status` (`:` in a connection name escaped as `\:`).
import { ok } from '../../support/module-harness.js';
import type { SectionResult } from '../../../src/engine/types.js';

const units = (u: Record<string, [string, string]>) => Object.entries(u).map(([n, [a, e]]) => `unit ${n} ${a} ${e}`.trimEnd() + '\n').join('');
const NONE4 = { networking: ['inactive', ''], 'systemd-networkd': ['inactive', 'disabled'], NetworkManager: ['inactive', ''], network: ['inactive', ''] } as Record<string, [string, string]>;

/** netStackSh output on hosts of each kind. */
export const STACK = {
  /** the lab's Debian 12 VM as booted (printed there by netStackSh in test/lab/netstack-debian.test.ts): ifupdown */
  ifupdown: 'systemd\nunit networking active enabled\nunit systemd-networkd inactive disabled\nunit NetworkManager inactive \nunit network inactive \ninterfaces\ninterfaces.d\n',
  /** Debian 12 desktop: NetworkManager owns eth0, lo stays ifupdown's (listed in /etc/network/interfaces) */
  ifupdownNm: `systemd\n${units({ ...NONE4, networking: ['active', 'enabled'], NetworkManager: ['active', 'enabled'] })}interfaces\ninterfaces.d\nnm eth0:connected:Wired connection 1\nnm lo:unmanaged:\n`,
  /** ifupdown installed, but its interfaces file does not read interfaces.d */
  ifupdownNoSource: `systemd\n${units({ ...NONE4, networking: ['active', 'enabled'] })}interfaces\n`,
  /** Debian/Ubuntu server on systemd-networkd (netplan writes /run/systemd/network/10-netplan-eth0.network) */
  networkd: `systemd\n${units({ ...NONE4, 'systemd-networkd': ['active', 'enabled'] })}networkd lo unmanaged \nnetworkd eth0 configured /run/systemd/network/10-netplan-eth0.network\n`,
  /** the lab's Debian 12 VM switched to systemd-networkd (printed there by netStackSh in test/lab/netstack-debian.test.ts) */
  networkdLab: 'systemd\nunit networking inactive disabled\nunit systemd-networkd active enabled\nunit NetworkManager inactive \nunit network inactive \ninterfaces\ninterfaces.d\nnetworkd eth0 configured /etc/systemd/network/10-lab-eth0.network\nnetworkd lo unmanaged \n',
  /** the same host after a reboot: networkd configures lo from clusterform's own .network */
  networkdLoOwn: `systemd\n${units({ ...NONE4, 'systemd-networkd': ['active', 'enabled'] })}networkd lo configured /etc/systemd/network/10-clusterform-lo.network\nnetworkd eth0 configured /etc/systemd/network/10-lab-eth0.network\n`,
  /** networkd running but configuring nothing (every link unmanaged): not the host's stack */
  networkdIdle: `systemd\n${units({ ...NONE4, 'systemd-networkd': ['active', 'enabled'] })}networkd lo unmanaged \nnetworkd eth0 unmanaged \n`,
  /** RHEL 9: NetworkManager (keyfiles), lo "connected (externally)" as NM 1.42+ shows it */
  rhel9: `systemd\n${units(NONE4).replace('unit NetworkManager inactive', 'unit NetworkManager active enabled')}nm eth0:connected:System eth0\nnm lo:connected (externally):lo\n`,
  /** RHEL 7 with network-scripts and NetworkManager stopped */
  rhel7Scripts: `systemd\n${units({ ...NONE4, network: ['active', 'enabled'] })}network-scripts\n`,
  /** RHEL 4 era host: SysV init, network enabled in rc3.d, ifcfg files */
  rhel4: 'sysv network\nnetwork-scripts\n',
  /** a minimal image: systemd, no network manager at all (addresses set by the seed/cloud tooling) */
  bare: `systemd\n${units(NONE4)}`,
  /** a container: no systemd, nothing else (what the netns/ns hosts print) */
  nothing: '',
};

export const stack = (k: keyof typeof STACK): SectionResult => ok(STACK[k]);

/** What foundSh prints for one clusterform file. */
export const foundFile = (path: string, content: string): string => `@@file ${path}\n${content.replace(/\n$/, '').split('\n').map((l) => `|${l}`).join('\n')}\n`;
