// Issue #12 ("the cluster after a reboot") on a systemd-networkd host, through the real CLI: a Debian-image real server
// VM switched from ifupdown to systemd-networkd (networking.service disabled, eth0 from a .network file, lo left alone by
// networkd) gets the DR VIP on lo:0 kept by networkd itself — clusterform's lo .network and an [Address] drop-in, no
// ifupdown file, no unit of its own. After a guest reboot the VIP is back on lo:0 (127.0.0.1 kept) and `plan` reports
// 0 changes; after `down` and another reboot nothing of it comes back and no clusterform network file is left.
//
// The runs are limited to rs1: the director is a namespace host (this machine's kernel may have no IPVS) and plays no
// part in what is proved here.
//
// The switch is made over SSH and a reboot, not by the seed disk: the seed is unpacked by cf-seed.service at every boot
// after systemd has loaded its units, so it cannot enable systemd-networkd for that boot, and changing the script baked
// into the cached base image would rebuild the image every Debian lab test shares.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNetStack, pickBackend, netStackSh } from '../../src/modules/support/netstack.js';
import { cli, cliJson, freshLab, isRoot, planChanges, ROOT, sshFor } from '../helpers.js';

const INV = resolve(ROOT, 'test/lab/inventories/netstack-debian.yaml');
const ssh = sshFor(INV);
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1';
const VIP = '10.229.0.200';
const LONG = 900_000;
const secs = (t: number) => ((Date.now() - t) / 1000).toFixed(1);

const TO_NETWORKD = [
  'set -e',
  // a static lab address, no IPv6 link-local/RA (nothing to wait for: the link reaches "configured")
  "printf '[Match]\\nName=eth0\\n\\n[Network]\\nAddress=10.229.0.21/24\\nLinkLocalAddressing=no\\nIPv6AcceptRA=no\\n' > /etc/systemd/network/10-lab-eth0.network",
  'systemctl disable --quiet networking.service',
  'systemctl enable --quiet systemd-networkd.service',
].join('\n');

/** Every file clusterform may keep a network setting in, on rs1 (the lab's own seed file clusterform-lab aside). */
const NET_FILES = "find /etc/systemd/network /etc/network/interfaces.d /etc/systemd/system /var/lib/clusterform/nm -maxdepth 2 -type f \\( -name '*clusterform*' -o -path '/var/lib/clusterform/nm/*' \\) 2>/dev/null | grep -v '/clusterform-lab$' || true";
const files = () => ssh('rs1', NET_FILES).stdout.trim().split('\n').filter(Boolean).sort();
/** rs1's addresses on lo as `address/prefix label` lines. */
const loAddrs = () => ssh('rs1', "ip -o -4 addr show dev lo | sed 's/\\\\.*//' | awk '{print $4, $NF}'").stdout.trim().split('\n');

/** networkd's view of a link on rs1 (its state file; networkctl needs D-Bus, which the minimal image lacks). */
const linkState = (dev: string) => ssh('rs1', `grep -E '^(ADMIN_STATE|NETWORK_FILE)=' /run/systemd/netif/links/$(cat /sys/class/net/${dev}/ifindex)`).stdout.trim().split('\n').join(' ');

function reboot(): string {
  const t = Date.now();
  const r = cli(['lab', 'reboot', INV, 'rs1'], { timeout: LONG });
  expect(r.code, r.stderr).toBe(0);
  expect(ssh('rs1', 'systemctl is-system-running --wait').stdout.trim()).toMatch(/^(running|degraded)$/);
  return `${r.stdout.trim()} (${secs(t)} s in all)`;
}


describe.skipIf(!enabled)('lab: network persistence on a systemd-networkd Debian VM', () => {
  beforeAll(() => {
    freshLab(INV, 'netstack-debian', LONG);
    // as booted from the image: ifupdown (networking.service, interfaces.d sourced) keeps lo and eth0
    const before = ssh('rs1', netStackSh()).stdout;
    console.log(`netstack-debian: what the network stack read prints on rs1 as booted:\n${before}`);
    expect([pickBackend(parseNetStack(before), 'lo'), pickBackend(parseNetStack(before), 'eth0')]).toEqual([{ backend: 'ifupdown' }, { backend: 'ifupdown' }]);
    const sw = ssh('rs1', TO_NETWORKD);
    expect(sw.code, sw.stderr).toBe(0);
    console.log(`netstack-debian: rs1 switched to systemd-networkd: ${reboot()}`);
    expect(ssh('rs1', 'systemctl is-active systemd-networkd.service networking.service').stdout.trim().split('\n')).toEqual(['active', 'inactive']);
    expect(linkState('eth0')).toMatch(/^ADMIN_STATE=configur(ing|ed) NETWORK_FILE=\/etc\/systemd\/network\/10-lab-eth0\.network$/);
    // clusterform's own detection snippet on this host: networkd configures eth0, leaves lo alone
    const ns = ssh('rs1', netStackSh()).stdout;
    console.log(`netstack-debian: what the network stack read prints on rs1:\n${ns}`);
    expect(pickBackend(parseNetStack(ns), 'lo')).toEqual({ backend: 'networkd', file: '/etc/systemd/network/10-clusterform-lo.network', own: true });
  }, LONG);
  afterAll(() => {
    cli(['lab', 'down', INV]);
  });

  it('up keeps the VIP on lo:0 through networkd (clusterform\'s lo .network and a drop-in, nothing else); a second up changes nothing', () => {
    const first = cliJson(['up', INV, '--limit', 'rs1']);
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    const rsNotes = first.json.events.filter((e: any) => e.host === 'rs1').flatMap((e: any) => e.notes ?? []);
    expect(rsNotes.filter((n: string) => /not persisted/.test(n))).toEqual([]);
    expect(files()).toEqual(['/etc/systemd/network/10-clusterform-lo.network', '/etc/systemd/network/10-clusterform-lo.network.d/clusterform-lo-0.conf']);
    expect(ssh('rs1', 'cat /etc/systemd/network/10-clusterform-lo.network.d/clusterform-lo-0.conf').stdout).toBe(`# managed by clusterform\n[Address]\nAddress=${VIP}/32\nLabel=lo:0\n`);
    expect(loAddrs()).toEqual(['127.0.0.1/8 lo', `${VIP}/32 lo:0`]);
    const second = cliJson(['up', INV, '--limit', 'rs1']);
    expect(second.code, second.stderr.slice(-3000)).toBe(0);
    expect(second.json.changed).toBe(0);
  }, LONG);

  it('guest reboot: networkd puts the VIP back on lo:0 (127.0.0.1 kept), plan reports 0 changes', () => {
    console.log(`netstack-debian: reboot after up: ${reboot()}`);
    expect(linkState('lo')).toMatch(/^ADMIN_STATE=configur(ing|ed) NETWORK_FILE=\/etc\/systemd\/network\/10-clusterform-lo\.network$/);
    expect(loAddrs()).toEqual(['127.0.0.1/8 lo', `${VIP}/32 lo:0`]);
    expect(planChanges([INV, '--limit', 'rs1'])).toEqual([]);
  }, LONG);

  it('down, then a reboot: no VIP on lo and no clusterform network file', () => {
    const down = cliJson(['down', INV, '--limit', 'rs1']);
    expect(down.code, down.stderr.slice(-3000)).toBe(0);
    expect(files()).toEqual([]);
    expect(loAddrs()).toEqual(['127.0.0.1/8 lo']);
    console.log(`netstack-debian: reboot after down: ${reboot()}`);
    expect(loAddrs()).toEqual(['127.0.0.1/8 lo']);
    expect(files()).toEqual([]);
  }, LONG);
});
