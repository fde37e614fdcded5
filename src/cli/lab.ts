// `clusterform lab up|down|status INVENTORY`, `lab reboot|kill INVENTORY HOST`: a local lab of real SSH hosts for an inventory.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { LabStatus } from '../lab/index.js';
import { commander } from './option-values.js';

/** The lab code, loaded only when a lab command runs. */
const labLib = () => import('../lab/index.js');

function printStatus(s: LabStatus): void {
  const w = (l: string) => process.stdout.write(l + '\n');
  w(`lab ${s.lab} (state in ${s.stateDir})`);
  for (const n of s.networks) w(`  network ${n.name.padEnd(10)} ${n.subnet.padEnd(18)} bridge ${n.bridge}  controller ${n.controller}  ${n.up ? 'up' : 'DOWN'}`);
  for (const h of s.hosts) w(`  host    ${h.name.padEnd(10)} ${h.kind.padEnd(3)} ${Object.entries(h.addresses).map(([n, a]) => `${n}=${a}`).join(' ').padEnd(30)} ${h.running ? `running (pid ${h.pid ?? '?'})` : 'STOPPED'}`);
  for (const d of s.disks) w(`  disk    ${d.name.padEnd(10)} ${(d.sizeBytes / 1048576).toFixed(0)}M ${d.byIdPath} → ${d.device ?? '-'} on ${d.hosts.join(', ')}`);
}

export function labCommand(): Command {
  const lab = new (commander().Command)('lab').description('a local lab: every inventory host as a real SSH host (network namespaces, qemu VMs) on this machine; needs root');
  const cfgOf = async (inventory: string) => (await labLib()).labConfigFromFile(resolve(inventory));
  const log = (l: string) => process.stderr.write(l + '\n');
  lab.command('up').argument('<inventory>').description('create the lab, or repair a running one (restarts dead sshd/VMs); waits until every host answers SSH')
    .action(async (inventory: string) => { const t = Date.now(); const s = await (await labLib()).labUp(await cfgOf(inventory), { log }); printStatus(s); process.stdout.write(`ready in ${((Date.now() - t) / 1000).toFixed(1)} s\n`); });
  lab.command('down').argument('<inventory>').description('remove every trace of the lab (processes, namespaces, links, loop devices, files); running it twice is fine')
    .action(async (inventory: string) => { await (await labLib()).labDown(await cfgOf(inventory), { log }); process.stdout.write('lab removed\n'); });
  lab.command('status').argument('<inventory>').description('show the lab hosts, networks and disks')
    .action(async (inventory: string) => { const s = await (await labLib()).labStatus(await cfgOf(inventory)); printStatus(s); if (s.hosts.some((h) => !h.running)) process.exitCode = 1; });
  lab.command('reboot').argument('<inventory>').argument('<host>').description('guest reboot of a vm host (systemctl reboot); prints the seconds until SSH answers again')
    .action(async (inventory: string, host: string) => { const s = await (await labLib()).labReboot(await cfgOf(inventory), host, { log }); process.stdout.write(`${host} rebooted: SSH answers again after ${s.toFixed(1)} s\n`); });
  lab.command('kill').argument('<inventory>').argument('<host>').description('power cut: kill the host (the qemu of a vm host, every process of an ns host); `lab up` powers it on again')
    .action(async (inventory: string, host: string) => { await (await labLib()).labKill(await cfgOf(inventory), host); process.stdout.write(`${host} killed; power it on with: clusterform lab up ${inventory}\n`); });
  return lab;
}
