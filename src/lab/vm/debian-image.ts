// VM image kind "debian": a real minimal Debian 12 system (systemd, udev, sshd, apt, ifupdown) built once with
// debootstrap into a qcow2 base image, cached in <cacheDir>/debian with a manifest written last. Each VM boots it
// through a qcow2 copy-on-write overlay of its own; its identity (host key, lab key, address) comes from a small
// "seed" disk (a tar archive) that a unit in the image unpacks onto the VM's root disk at every boot.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { run } from '../sh.js';
import { artefactProblem, removeStaleBuilds, sumFile, withLock, type FileSum } from './artifacts.js';

/** Bump when the image content changes so cached images get rebuilt. */
const DEBIAN_BUILDER_VERSION = 1;
export const DEBIAN_SUITE = 'bookworm';
export const DEBIAN_MIRROR = process.env.CLUSTERFORM_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
/** What the image holds beyond debootstrap's minbase: a minimal server, no cluster software. */
export const DEBIAN_PACKAGES = [
  'systemd-sysv', 'udev', 'openssh-server', 'iproute2', 'ifupdown', 'netbase', 'kmod', 'procps', 'linux-image-cloud-amd64',
];
export const ROOT_LABEL = 'cfroot';
/** Disk serials: the guest sees /dev/disk/by-id/virtio-<serial>. */
export const ROOT_SERIAL = 'cfroot';
export const SEED_SERIAL = 'cfseed';
const ROOT_SIZE = '3G';
const MIN_BYTES = { kernel: 1 << 20, initrd: 1 << 20, image: 64 << 20 };

export interface DebianImage { image: string; kernel: string; initrd: string; kernelVersion: string }
interface DebianManifest {
  builder: number; suite: string; packages: string[]; content: string; kernelVersion: string;
  files: { image: FileSum; kernel: FileSum; initrd: FileSum };
}

export function debianPaths(cacheDir: string) {
  const dir = path.join(cacheDir, 'debian');
  return {
    dir,
    debs: path.join(dir, 'debs'),
    image: path.join(dir, 'base.qcow2'),
    kernel: path.join(dir, 'vmlinuz'),
    initrd: path.join(dir, 'initrd.img'),
    manifest: path.join(dir, 'manifest.json'),
  };
}

/** Kernel command line of a Debian-image VM (pure). */
export function debianKernelArgs(): string {
  return `root=LABEL=${ROOT_LABEL} rw console=ttyS0 net.ifnames=0 panic=-1`;
}

// ---- files baked into the base image ---------------------------------------------------------------------------

/** Unpacks the seed disk onto the root filesystem (/etc/hosts on the first boot only), then applies the hostname; runs before the network and sshd. */
export const SEED_SCRIPT = `#!/bin/sh
set -e
dev=/dev/disk/by-id/virtio-${SEED_SERIAL}
[ -e "$dev" ] || { echo "cf-seed: no seed disk $dev" >&2; exit 0; }
# /etc/hosts only on the first boot: afterwards it is the host's own (clusterform's managed block must survive a reboot)
tar -xf "$dev" -C / --no-same-owner --no-overwrite-dir --exclude=etc/hosts
[ -e /etc/hosts ] || tar -xf "$dev" -C / --no-same-owner etc/hosts
chown -R root:root /root/.ssh
hostname -F /etc/hostname
# udevd may still hold the rules it read before the seed wrote 60-clusterform-lab.rules (it re-reads at most every
# few seconds): reload them, then replay the block devices so every lab disk gets its by-id link before anything runs
udevadm control --reload || true
udevadm trigger --subsystem-match=block --action=change || true
udevadm settle -t 30 || true
sync
`;
const udevEscape = (s: string) => s.replace(/-/g, '\\x2d');
export const SEED_UNIT = `[Unit]
Description=clusterform lab: apply this VM's seed (host key, lab key, address)
DefaultDependencies=no
After=local-fs.target dev-disk-by\\x2did-virtio\\x2d${udevEscape(SEED_SERIAL)}.device
Wants=dev-disk-by\\x2did-virtio\\x2d${udevEscape(SEED_SERIAL)}.device
Before=network-pre.target networking.service ssh.service sysinit.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/cf-seed

[Install]
WantedBy=sysinit.target
`;
const FSTAB = `LABEL=${ROOT_LABEL} / ext4 defaults,errors=remount-ro 0 1\n`;
const INTERFACES = 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n';

// ---- per-VM seed (pure) ------------------------------------------------------------------------------------------

export interface SeedNic { ifname: string; address: string; prefix: number }
export interface SeedInput {
  hostname: string; nics: SeedNic[]; disks: { serial: string; id: string }[]; hostKey: string; hostKeyPub: string; authorizedKeys: string; aptSource?: string;
}

/** ifupdown stanzas: a static address per NIC and no gateway, so the VM reaches nothing outside the lab (pure). */
export function interfacesFor(nics: SeedNic[]): string {
  return nics.map((n) => `auto ${n.ifname}\niface ${n.ifname} inet static\n    address ${n.address}/${n.prefix}\n`).join('\n');
}

/**
 * udev rules naming each lab disk /dev/disk/by-id/<id> after its virtio serial, as on the fast image (pure). They match
 * the sysfs attribute (a partition's parent disk has it), not ID_SERIAL: 60-clusterform-lab.rules runs before
 * 60-persistent-storage.rules, which sets ID_SERIAL, so a rule on ID_SERIAL never matched.
 */
export function diskRules(disks: { serial: string; id: string }[]): string {
  return disks.map((d) => `KERNEL=="vd*[!0-9]", ATTRS{serial}=="${d.serial}", SYMLINK+="disk/by-id/${d.id}"\nKERNEL=="vd*[0-9]", ATTRS{serial}=="${d.serial}", SYMLINK+="disk/by-id/${d.id}-part%n"\n`).join('');
}

/** Files the seed disk puts on the VM's root disk: path (relative to /) -> [content, mode] (pure). */
export function seedFiles(s: SeedInput): Map<string, [string, number]> {
  const nl = (t: string) => (t.endsWith('\n') ? t : t + '\n');
  const files = new Map<string, [string, number]>([
    ['etc/hostname', [`${s.hostname}\n`, 0o644]],
    ['etc/hosts', [`127.0.0.1 localhost\n127.0.1.1 ${s.hostname}\n${s.nics[0]!.address} ${s.hostname}\n`, 0o644]],
    ['etc/network/interfaces.d/clusterform-lab', [interfacesFor(s.nics), 0o644]],
    ['etc/ssh/ssh_host_ed25519_key', [nl(s.hostKey), 0o600]],
    ['etc/ssh/ssh_host_ed25519_key.pub', [nl(s.hostKeyPub), 0o644]],
    ['root/.ssh/authorized_keys', [nl(s.authorizedKeys), 0o600]],
  ]);
  if (s.disks.length) files.set('etc/udev/rules.d/60-clusterform-lab.rules', [diskRules(s.disks), 0o644]);
  if (s.aptSource !== undefined) files.set('etc/apt/sources.list', [nl(s.aptSource), 0o644]);
  return files;
}

/** Writes the seed disk (a tar archive, read by the guest as a raw disk) for a VM. */
export async function writeSeedDisk(file: string, s: SeedInput): Promise<void> {
  const stage = `${file}.d`;
  await fsp.rm(stage, { recursive: true, force: true });
  const names: string[] = [];
  for (const [rel, [content, mode]] of seedFiles(s)) {
    const t = path.join(stage, rel);
    await fsp.mkdir(path.dirname(t), { recursive: true, mode: 0o755 });
    await fsp.writeFile(t, content);
    await fsp.chmod(t, mode);
    names.push(rel);
  }
  await fsp.chmod(path.join(stage, 'root/.ssh'), 0o700);
  await run('tar', ['--owner=0', '--group=0', '--numeric-owner', '-cf', `${file}.tmp`, '-C', stage, ...names]);
  await fsp.rename(`${file}.tmp`, file);
  await fsp.rm(stage, { recursive: true, force: true });
}

/** The VM's root disk: a qcow2 overlay on the shared base, created once and then kept (reboots, repairs). */
export async function ensureOverlay(file: string, base: string): Promise<boolean> {
  if (fs.existsSync(file)) return false;
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', `${file}.tmp`]);
  await fsp.rename(`${file}.tmp`, file);
  return true;
}

// ---- cache -------------------------------------------------------------------------------------------------------

/** The cached image when its manifest (written last) matches this builder and every file's size and checksum. */
export async function checkDebianCache(cacheDir: string): Promise<{ image: DebianImage } | { problem: string }> {
  const p = debianPaths(cacheDir);
  let m: DebianManifest;
  try { m = JSON.parse(await fsp.readFile(p.manifest, 'utf8')) as DebianManifest; } catch { return { problem: 'no readable manifest (debian/manifest.json)' }; }
  if (m.builder !== DEBIAN_BUILDER_VERSION || m.suite !== DEBIAN_SUITE || m.packages?.join(' ') !== DEBIAN_PACKAGES.join(' ')) {
    return { problem: 'manifest from another builder version or package list' };
  }
  if (m.content !== imageContentHash()) return { problem: 'the files clusterform puts into the image changed since the build' };
  const problem = (await artefactProblem(p.image, m.files?.image, MIN_BYTES.image))
    ?? (await artefactProblem(p.kernel, m.files?.kernel, MIN_BYTES.kernel))
    ?? (await artefactProblem(p.initrd, m.files?.initrd, MIN_BYTES.initrd));
  if (problem) return { problem };
  return { image: { image: p.image, kernel: p.kernel, initrd: p.initrd, kernelVersion: m.kernelVersion } };
}

/** Hash of the files clusterform bakes into the image: a change to any of them rebuilds it. */
export function imageContentHash(): string {
  return createHash('sha256').update([SEED_SCRIPT, SEED_UNIT, FSTAB, INTERFACES].join('\0')).digest('hex');
}

async function writeIn(root: string, rel: string, content: string, mode = 0o644): Promise<void> {
  const t = path.join(root, rel);
  await fsp.mkdir(path.dirname(t), { recursive: true });
  await fsp.rm(t, { force: true });
  await fsp.writeFile(t, content);
  await fsp.chmod(t, mode);
}

/** Makes the debootstrapped tree a lab image: fstab, seed unit, no host keys, no apt source, no package cache. */
async function customise(root: string): Promise<void> {
  await writeIn(root, 'etc/fstab', FSTAB);
  await writeIn(root, 'etc/network/interfaces', INTERFACES);
  await writeIn(root, 'usr/local/sbin/cf-seed', SEED_SCRIPT, 0o755);
  await writeIn(root, 'etc/systemd/system/cf-seed.service', SEED_UNIT);
  const wants = path.join(root, 'etc/systemd/system/sysinit.target.wants');
  await fsp.mkdir(wants, { recursive: true });
  await fsp.rm(path.join(wants, 'cf-seed.service'), { force: true });
  await fsp.symlink('/etc/systemd/system/cf-seed.service', path.join(wants, 'cf-seed.service'));
  await writeIn(root, 'etc/hostname', 'debian\n');
  await writeIn(root, 'etc/apt/sources.list', '# written per VM by the clusterform lab (its package source)\n');
  for (const f of await fsp.readdir(path.join(root, 'etc/ssh'))) {
    if (f.startsWith('ssh_host_')) await fsp.rm(path.join(root, 'etc/ssh', f));
  }
  await fsp.rm(path.join(root, 'etc/machine-id'), { force: true });
  await writeIn(root, 'etc/machine-id', ''); // empty: systemd makes a fresh one per VM at first boot
  for (const d of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
    const dir = path.join(root, d);
    for (const f of await fsp.readdir(dir).catch(() => [] as string[])) if (f.endsWith('.deb') || f.includes('_')) await fsp.rm(path.join(dir, f), { force: true });
  }
}

/** The kernel and initramfs the image's own linux-image-cloud-amd64 installed (its initramfs mounts the root disk). */
async function bootFiles(root: string): Promise<{ kernel: string; initrd: string; version: string }> {
  const boot = path.join(root, 'boot');
  const k = (await fsp.readdir(boot)).filter((f) => f.startsWith('vmlinuz-')).sort().pop();
  if (!k) throw new Error(`debootstrap left no kernel in ${boot}`);
  const version = k.slice('vmlinuz-'.length);
  const initrd = path.join(boot, `initrd.img-${version}`);
  if (!fs.existsSync(initrd)) throw new Error(`debootstrap left no initramfs for ${version} in ${boot}`);
  return { kernel: path.join(boot, k), initrd, version };
}

async function buildDebian(cacheDir: string, log: (s: string) => void): Promise<void> {
  const p = debianPaths(cacheDir);
  const root = path.join(p.dir, `rootfs.build.${process.pid}`);
  const raw = path.join(p.dir, `base.raw.tmp.${process.pid}`);
  await fsp.mkdir(p.debs, { recursive: true });
  try {
    log(`vm: debootstrap ${DEBIAN_SUITE} from ${DEBIAN_MIRROR} (packages cached in ${p.debs})`);
    await run('debootstrap', ['--variant=minbase', `--include=${DEBIAN_PACKAGES.join(',')}`, `--cache-dir=${p.debs}`, DEBIAN_SUITE, root, DEBIAN_MIRROR], { timeoutMs: 40 * 60_000 });
    await customise(root);
    const b = await bootFiles(root);
    await fsp.copyFile(b.kernel, `${p.kernel}.tmp`);
    await fsp.copyFile(b.initrd, `${p.initrd}.tmp`);
    log('vm: making the ext4 root filesystem and the qcow2 base image');
    await run('truncate', ['-s', ROOT_SIZE, raw]);
    await run('mkfs.ext4', ['-q', '-F', '-L', ROOT_LABEL, '-d', root, raw]);
    await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, `${p.image}.tmp`]);
    for (const f of [p.image, p.kernel, p.initrd]) await fsp.rename(`${f}.tmp`, f);
    await fsp.chmod(p.image, 0o444); // overlays point at it: never written again
    const m: DebianManifest = {
      builder: DEBIAN_BUILDER_VERSION, suite: DEBIAN_SUITE, packages: DEBIAN_PACKAGES, content: imageContentHash(), kernelVersion: b.version,
      files: { image: await sumFile(p.image), kernel: await sumFile(p.kernel), initrd: await sumFile(p.initrd) },
    };
    await fsp.writeFile(`${p.manifest}.tmp`, JSON.stringify({ ...m, builtAt: new Date().toISOString() }, null, 2) + '\n');
    await fsp.rename(`${p.manifest}.tmp`, p.manifest);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
    await fsp.rm(raw, { force: true });
  }
}

/** The Debian base image, built on first use (minutes: it downloads Debian's packages) and then cached. */
export async function ensureDebianImage(cacheDir: string, log: (s: string) => void = () => {}): Promise<DebianImage> {
  const p = debianPaths(cacheDir);
  await fsp.mkdir(p.dir, { recursive: true });
  const cached = await checkDebianCache(cacheDir);
  if ('image' in cached) return cached.image;
  return withLock(p.dir, async () => {
    const again = await checkDebianCache(cacheDir);
    if ('image' in again) return again.image;
    await removeStaleBuilds(p.dir);
    await fsp.rm(p.manifest, { force: true }); // no manifest while the files are replaced
    const t0 = Date.now();
    log(`vm: building the Debian image (${again.problem})`);
    await buildDebian(cacheDir, log);
    const built = await checkDebianCache(cacheDir);
    if ('problem' in built) throw new Error(`vm: the Debian image just built in ${p.dir} is unusable: ${built.problem}`);
    log(`vm: Debian image ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return built.image;
  });
}
