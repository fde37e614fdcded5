// The same work with Debian's Ansible (bench/ansible/site.yml) on the same lab, with its best-known settings:
// forks = hosts, pipelining, ControlPersist, no fact gathering, the python interpreter given.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AnsibleLab {
  name: string; hosts: string[]; addresses: Record<string, string>; key: string; knownHosts: string;
  haMembers: string[]; realServers: string[]; sharedDisk: string; vip: string; services: { name: string; address: string; sizeMiB: number; mountpoint: string }[];
}
export interface AnsibleRun { wall_s: number; code: number; changed: number; failed: number; unreachable: number; problems: string[] }

/** `ansible-playbook --version`'s first line, or undefined when it is not installed. */
export function ansibleVersion(): string | undefined {
  const r = spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : undefined;
}

/** The lab as an Ansible inventory (YAML), written to a new temporary directory; returns its path. */
export function writeAnsibleInventory(l: AnsibleLab): string {
  const host = (h: string) => `        ${h}: { ansible_host: ${l.addresses[h]} }`;
  const lines = [
    'all:',
    '  vars:',
    '    ansible_user: root',
    `    ansible_ssh_private_key_file: ${l.key}`,
    `    ansible_ssh_common_args: "-o UserKnownHostsFile=${l.knownHosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"`,
    `    cluster: ${l.name}`,
    `    shared_disk: ${l.sharedDisk}`,
    `    vip: ${l.vip}`,
    '    services:',
    ...l.services.map((s) => `      - { name: ${s.name}, address: ${s.address}, size: ${s.sizeMiB}MiB, mountpoint: ${s.mountpoint} }`),
    '  children:',
    '    ha_members:',
    '      hosts:',
    ...l.haMembers.map(host),
    '    real_servers:',
    '      hosts:',
    ...l.realServers.map(host),
    '',
  ];
  const f = join(mkdtempSync(join(tmpdir(), 'cf-bench-ansible-')), 'hosts.yml');
  writeFileSync(f, lines.join('\n'));
  return f;
}

/** `host : ok=3 changed=1 unreachable=0 failed=0 …` lines of the PLAY RECAP, summed. */
function recap(out: string): { changed: number; failed: number; unreachable: number; hosts: number } {
  const r = { changed: 0, failed: 0, unreachable: 0, hosts: 0 };
  for (const m of out.matchAll(/^\S+\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    r.hosts++; r.changed += Number(m[1]); r.unreachable += Number(m[2]); r.failed += Number(m[3]);
  }
  return r;
}

/** Runs a playbook of bench/ansible on the lab's hosts; `controlDir`: where ControlPersist keeps its masters. */
export function runAnsible(playbook: string, inventory: string, forks: number, controlDir: string, cfg: string): Promise<AnsibleRun> {
  const t = process.hrtime.bigint();
  return new Promise((res) => {
    const p = spawn('ansible-playbook', ['-i', inventory, playbook], {
      env: { ...process.env, ANSIBLE_CONFIG: cfg, ANSIBLE_FORKS: String(forks), ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(controlDir, 'tmp') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout!.on('data', (d) => { out += d; });
    p.stderr!.on('data', (d) => { out += d; });
    p.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t) / 1e9;
      const r = recap(out);
      const problems: string[] = [];
      if (code !== 0) problems.push(`exit ${code}: ${out.split('\n').filter((l) => /fatal|ERROR|FAILED/.test(l)).slice(0, 3).join(' | ').slice(0, 600)}`);
      res({ wall_s: Math.round(wall * 1000) / 1000, code: code ?? -1, changed: r.changed, failed: r.failed, unreachable: r.unreachable, problems });
    });
  });
}

/** A new directory for ControlPersist masters (a fresh run starts without any: every host is a new login). */
export const newControlDir = () => mkdtempSync('/tmp/cf-cp-');
