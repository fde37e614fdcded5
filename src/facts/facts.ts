// The host probe: everything the modules need to know about a host, read in the same round trip as the run lock.
export interface Facts {
  hostname: string;
  os: { id: string; like: string[]; version: string; family: 'redhat' | 'debian' | 'suse' | 'other' };
  kernel: string;
  init: 'systemd' | 'sysv' | 'none';
  pkg: 'dnf' | 'yum' | 'apt' | 'zypper' | 'none';
  uid: number;
  features: { ipvs: 'loaded' | 'module' | 'none'; raw: 'loaded' | 'module' | 'none'; ipip: 'loaded' | 'module' | 'none'; arpHidden: boolean; udevRaw: boolean };
  tools: Record<string, boolean>;
}

export const PROBED_TOOLS = [
  'ipvsadm', 'iptables', 'nft', 'sfdisk', 'mkfs.ext3', 'mke2fs', 'blkid', 'raw', 'partx', 'blockdev', 'flock', 'systemctl', 'chkconfig',
  'update-rc.d', 'service', 'modprobe', 'sysctl', 'ip', 'ifconfig', 'grub2-mkconfig', 'update-grub', 'grub-mkconfig', 'base64', 'sha256sum', 'wipefs', 'udevadm',
] as const;

/** Shell snippet printing key=value lines. Reads only. */
export function factsScript(): string {
  const tools = PROBED_TOOLS.map((t) => `command -v ${t} >/dev/null 2>&1 && printf 'tool.${t}=1\\n'`).join('\n');
  const feature = (name: string, loaded: string, mod: string) =>
    `if ${loaded}; then echo ${name}=loaded; elif ${mod}; then echo ${name}=module; else echo ${name}=none; fi`;
  return [
    // builtins where possible: this runs on every host at the start of every run
    `read __h < /proc/sys/kernel/hostname && echo "hostname=$__h"`,
    `if [ -r /etc/os-release ]; then (. /etc/os-release; echo "os.id=$ID"; echo "os.like=$ID_LIKE"; echo "os.version=$VERSION_ID"); elif [ -r /etc/redhat-release ]; then echo os.id=rhel; echo "os.version=$(sed 's/[^0-9.]*\\([0-9.]*\\).*/\\1/' /etc/redhat-release)"; fi`,
    `read __k < /proc/sys/kernel/osrelease && echo "kernel=$__k"`,
    `echo "uid=$(id -u)"`,
    `if [ -d /run/systemd/system ]; then echo init=systemd; elif [ -d /etc/init.d ] || [ -d /etc/rc.d/init.d ]; then echo init=sysv; else echo init=none; fi`,
    `for p in dnf yum apt-get zypper; do command -v $p >/dev/null 2>&1 && { echo "pkg=$p"; break; }; done`,
    `M=/lib/modules/$__k`,
    // modules.dep / modules.builtin list every module of the kernel: one grep instead of walking the tree
    feature('feature.ipvs', '[ -e /proc/net/ip_vs ]', `grep -qs '/ip_vs\\.ko' "$M/modules.dep" "$M/modules.builtin"`),
    feature('feature.raw', '[ -e /dev/raw/rawctl ] || [ -e /dev/rawctl ]', `grep -qs '/raw\\.ko' "$M/modules.dep" "$M/modules.builtin"`),
    feature('feature.ipip', '[ -d /sys/module/ipip ]', `grep -qs '/ipip\\.ko' "$M/modules.dep" "$M/modules.builtin"`),
    `[ -e /proc/sys/net/ipv4/conf/all/hidden ] && echo feature.arpHidden=1`,
    `[ -d /etc/udev/rules.d ] && [ ! -e /etc/sysconfig/rawdevices ] && grep -qs 'release 5\\|release 6\\|release 7' /etc/redhat-release && echo feature.udevRaw=1`,
    tools,
    'true',
  ].join('\n');
}

/** systemd when /run/systemd/system exists; SysV when there are init scripts and a tool to enable them at boot. */
function initOf(probed: string | undefined, tools: Record<string, boolean>): Facts['init'] {
  if (probed === 'systemd') return 'systemd';
  return probed === 'sysv' && (tools.chkconfig || tools['update-rc.d']) ? 'sysv' : 'none';
}

export function parseFacts(text: string): Facts {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const id = (kv.get('os.id') ?? '').replace(/"/g, '').toLowerCase();
  const like = (kv.get('os.like') ?? '').replace(/"/g, '').toLowerCase().split(/\s+/).filter(Boolean);
  const all = [id, ...like];
  const family = all.some((x) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'ol', 'openeuler'].includes(x))
    ? 'redhat'
    : all.some((x) => ['debian', 'ubuntu'].includes(x)) ? 'debian' : all.some((x) => x.includes('suse')) ? 'suse' : 'other';
  const tri = (k: string) => (['loaded', 'module'].includes(kv.get(k) ?? '') ? (kv.get(k) as 'loaded' | 'module') : 'none');
  const pkgRaw = kv.get('pkg');
  const tools: Record<string, boolean> = {};
  for (const [k] of kv) if (k.startsWith('tool.')) tools[k.slice(5)] = true;
  return {
    hostname: kv.get('hostname') ?? '',
    os: { id, like, version: (kv.get('os.version') ?? '').replace(/"/g, ''), family },
    kernel: kv.get('kernel') ?? '',
    init: initOf(kv.get('init'), tools),
    pkg: pkgRaw === 'apt-get' ? 'apt' : ((['dnf', 'yum', 'zypper'].includes(pkgRaw ?? '') ? pkgRaw : 'none') as Facts['pkg']),
    uid: Number(kv.get('uid') ?? -1),
    features: { ipvs: tri('feature.ipvs'), raw: tri('feature.raw'), ipip: tri('feature.ipip'), arpHidden: kv.get('feature.arpHidden') === '1', udevRaw: kv.get('feature.udevRaw') === '1' },
    tools,
  };
}
