// The Debian VM image kind (src/lab/vm/debian-image.ts): the per-VM seed (identity of a VM, written onto its own root
// disk, never into the shared base), the cache check (manifest written last, every file checked), the inventory
// spelling `lab.hosts.X: { kind: vm, image: debian }` and the prerequisite check of the commands the builder runs.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labConfigFromInventory } from '../../src/lab/index.js';
import { labInventoryProblems } from '../../src/lab/schema.js';
import { COMMANDS, DEBIAN_VM_COMMANDS, missingCommands, VM_COMMANDS, which } from '../../src/lab/prereq.js';
import { sumFile } from '../../src/lab/vm/artifacts.js';
import { aptSourceFor, debPackageName, LAB_PACKAGES, parseDependsClosure, releaseFile } from '../../src/lab/repo.js';
import {
  checkDebianCache, DEBIAN_PACKAGES, DEBIAN_SUITE, debianKernelArgs, debianPaths, diskRules, imageContentHash, interfacesFor, seedFiles,
} from '../../src/lab/vm/debian-image.js';

const dirs: string[] = [];
const tempDir = () => { const d = mkdtempSync(path.join(tmpdir(), 'cf-labdeb-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const seed = {
  hostname: 'deb1',
  nics: [{ ifname: 'eth0', address: '10.225.0.11', prefix: 24 }, { ifname: 'eth1', address: '10.225.1.11', prefix: 24 }],
  disks: [{ serial: 'cfd0', id: 'clusterform-t-shared' }],
  hostKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----',
  hostKeyPub: 'ssh-ed25519 AAAA host',
  authorizedKeys: 'ssh-ed25519 BBBB lab',
};

describe('Debian VM seed', () => {
  it('gives each NIC a static address and no gateway (the VM reaches nothing outside the lab)', () => {
    const t = interfacesFor(seed.nics);
    expect(t).toContain('auto eth0\niface eth0 inet static\n    address 10.225.0.11/24\n');
    expect(t).toContain('iface eth1 inet static\n    address 10.225.1.11/24');
    expect(t).not.toMatch(/gateway|dhcp/);
  });

  it('carries the host key (0600), the lab key (0600), hostname and address; an apt source only when given', () => {
    const f = seedFiles(seed);
    expect(f.get('etc/ssh/ssh_host_ed25519_key')).toEqual([seed.hostKey + '\n', 0o600]);
    expect(f.get('root/.ssh/authorized_keys')).toEqual(['ssh-ed25519 BBBB lab\n', 0o600]);
    expect(f.get('etc/hostname')?.[0]).toBe('deb1\n');
    expect(f.get('etc/hosts')?.[0]).toContain('10.225.0.11 deb1');
    expect(f.get('etc/network/interfaces.d/clusterform-lab')?.[0]).toBe(interfacesFor(seed.nics));
    expect(f.has('etc/apt/sources.list')).toBe(false);
    expect(seedFiles({ ...seed, aptSource: 'deb [trusted=yes] http://10.225.0.254:8080 ./' }).get('etc/apt/sources.list')?.[0]).toBe('deb [trusted=yes] http://10.225.0.254:8080 ./\n');
  });

  it('names lab disks /dev/disk/by-id/<id> after their virtio serial, as the fast image does', () => {
    expect(diskRules(seed.disks)).toBe(
      'KERNEL=="vd*[!0-9]", ATTRS{serial}=="cfd0", SYMLINK+="disk/by-id/clusterform-t-shared"\n' +
      'KERNEL=="vd*[0-9]", ATTRS{serial}=="cfd0", SYMLINK+="disk/by-id/clusterform-t-shared-part%n"\n');
    expect(seedFiles(seed).get('etc/udev/rules.d/60-clusterform-lab.rules')?.[0]).toBe(diskRules(seed.disks));
    expect(seedFiles({ ...seed, disks: [] }).has('etc/udev/rules.d/60-clusterform-lab.rules')).toBe(false);
  });

  it('boots the root disk by label, eth0.. names, on the serial console', () => {
    expect(debianKernelArgs()).toBe('root=LABEL=cfroot rw console=ttyS0 net.ifnames=0 panic=-1');
  });
});

describe('Debian image cache', () => {
  async function fakeCache(): Promise<string> {
    const cache = tempDir();
    const p = debianPaths(cache);
    mkdirSync(p.dir, { recursive: true });
    writeFileSync(p.image, ''); truncateSync(p.image, 64 << 20);
    writeFileSync(p.kernel, ''); truncateSync(p.kernel, 2 << 20);
    writeFileSync(p.initrd, ''); truncateSync(p.initrd, 2 << 20);
    const m = {
      builder: 1, suite: DEBIAN_SUITE, packages: DEBIAN_PACKAGES, content: imageContentHash(), kernelVersion: '6.1.0-50-cloud-amd64',
      files: { image: await sumFile(p.image), kernel: await sumFile(p.kernel), initrd: await sumFile(p.initrd) },
    };
    writeFileSync(p.manifest, JSON.stringify(m));
    return cache;
  }

  it('uses a cache whose manifest matches every file', async () => {
    const cache = await fakeCache();
    const p = debianPaths(cache);
    expect(await checkDebianCache(cache)).toEqual({ image: { image: p.image, kernel: p.kernel, initrd: p.initrd, kernelVersion: '6.1.0-50-cloud-amd64' } });
  });

  it('rebuilds without a manifest (an interrupted build), with a truncated file, or with other baked-in files', async () => {
    const a = await fakeCache();
    rmSync(debianPaths(a).manifest);
    expect(await checkDebianCache(a)).toEqual({ problem: expect.stringMatching(/no readable manifest/) });
    const b = await fakeCache();
    truncateSync(debianPaths(b).image, 1 << 20);
    expect(await checkDebianCache(b)).toEqual({ problem: expect.stringMatching(/base\.qcow2 is 1048576 bytes/) });
    const c = await fakeCache();
    const m = JSON.parse(readFileSync(debianPaths(c).manifest, 'utf8'));
    writeFileSync(debianPaths(c).manifest, JSON.stringify({ ...m, content: 'old' }));
    expect(await checkDebianCache(c)).toEqual({ problem: expect.stringMatching(/files clusterform puts into the image changed/) });
    const d = await fakeCache();
    writeFileSync(debianPaths(d).kernel, Buffer.alloc(2 << 20, 1));
    expect(await checkDebianCache(d)).toEqual({ problem: expect.stringMatching(/vmlinuz does not match its checksum/) });
  });
});

describe('Debian image in the inventory', () => {
  const inv = (spec: object) => ({ cluster: 't', hosts: { d1: { address: '10.225.0.11' } }, lab: { hosts: { d1: spec } } });

  it('lab.hosts.X: { kind: vm, image: debian }; the fast image stays the default', () => {
    expect(labInventoryProblems(inv({ kind: 'vm', image: 'debian' }))).toEqual([]);
    expect(labConfigFromInventory(inv({ kind: 'vm', image: 'debian', memory: 768 }) as never, '/x/inv.yaml').hosts[0]).toMatchObject({ image: 'debian', memoryMb: 768 });
    expect(labConfigFromInventory(inv({ kind: 'vm' }) as never, '/x/inv.yaml').hosts[0]!.image).toBe('fast');
  });

  it('refuses an unknown image and an image on an ns host', () => {
    expect(labInventoryProblems(inv({ kind: 'vm', image: 'centos' })).join('\n')).toMatch(/lab\.hosts\.d1\.image/);
    expect(labInventoryProblems(inv({ image: 'debian' }))).toEqual(['lab.hosts.d1.image: an image is chosen only for a vm host (kind: vm)']);
  });
});

describe('Debian image prerequisites', () => {
  it('a PATH without debootstrap names it (and its package) only when a Debian-image VM is wanted', () => {
    const dir = tempDir();
    for (const c of Object.keys({ ...COMMANDS, ...VM_COMMANDS, ...DEBIAN_VM_COMMANDS }).filter((c) => c !== 'debootstrap')) {
      const f = which(c);
      if (f) symlinkSync(f, path.join(dir, c));
    }
    expect(missingCommands(true, dir, true)).toContainEqual({ cmd: 'debootstrap', pkg: 'debootstrap' });
    expect(missingCommands(true, dir, false).map((m) => m.cmd)).not.toContain('debootstrap');
  });

  it('every command the Debian image builder and the lab\'s reboot run is checked', () => {
    const used = new Set<string>();
    for (const f of ['../../src/lab/vm/debian-image.ts', '../../src/lab/index.ts', '../../src/lab/repo.ts']) {
      const src = readFileSync(new URL(f, import.meta.url), 'utf8');
      for (const m of src.matchAll(/\b(?:run|spawn)\('([^'/]+)'/g)) used.add(m[1]!);
    }
    expect([...used]).toEqual(expect.arrayContaining(['debootstrap', 'qemu-img', 'mkfs.ext4', 'tar', 'ssh', 'dpkg-scanpackages', 'python3']));
    for (const c of used) expect(Object.keys({ ...COMMANDS, ...VM_COMMANDS, ...DEBIAN_VM_COMMANDS }), `${c} is run by the lab`).toContain(c);
  });
});

describe('the lab\'s package source', () => {
  it('keeps the cluster packages in one list', () => {
    expect(LAB_PACKAGES).toEqual(expect.arrayContaining(['ipvsadm', 'keepalived', 'nfs-kernel-server']));
  });

  it('takes the real packages of apt-cache depends --recurse, not virtual ones or dependency lines', () => {
    const out = 'ipvsadm\n  Depends: libc6\n  Depends: <libnl-3-200>\nlibc6\n  Depends: libgcc-s1\n<perlapi-5.36.0>\nlibgcc-s1\nlibc6\n';
    expect(parseDependsClosure(out)).toEqual(['ipvsadm', 'libc6', 'libgcc-s1']);
    expect(debPackageName('libc6_2.36-9+deb12u4_amd64.deb')).toBe('libc6');
  });

  it('writes a Release with the size and sha256 of each index', () => {
    const r = releaseFile([{ name: 'Packages', content: Buffer.from('abc') }], new Date(Date.UTC(2026, 0, 2)));
    expect(r).toContain('Date: Fri, 02 Jan 2026 00:00:00 GMT\n');
    expect(r).toContain('SHA256:\n ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3 Packages\n');
  });

  it('points each VM at the controller\'s address on the VM\'s first network', () => {
    const inv = { cluster: 't', hosts: { d1: { address: '10.225.1.11' } }, lab: { networks: { a: { subnet: '10.225.0.0/24' }, b: { subnet: '10.225.1.0/24' } }, hosts: { d1: { kind: 'vm', image: 'debian', networks: ['b', 'a'] } } } };
    const cfg = labConfigFromInventory(inv as never, '/x/inv.yaml');
    expect(aptSourceFor(cfg, cfg.hosts[0]!)).toBe(`deb [trusted=yes] http://${cfg.networks.find((n) => n.name === 'b')!.controller}:8780/ ./`);
  });

  it('lab.packages adds packages (Debian names only)', () => {
    const inv = (packages: unknown) => ({ cluster: 't', hosts: { d1: { address: '10.225.0.11' } }, lab: { packages } });
    expect(labConfigFromInventory(inv(['corosync']) as never, '/x/inv.yaml').packages).toEqual(['corosync']);
    expect(labInventoryProblems(inv(['rm -rf /'])).join('\n')).toMatch(/lab\.packages\[0\]: not a Debian package name/);
  });
});
