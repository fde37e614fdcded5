// Rows for the core modules: arguments + what the module's reads printed (captured on a real machine where the
// file name says so: test/fixtures/modules/capture.mjs) → the expected plan. Run by core.test.ts.
import { fileURLToPath } from 'node:url';
import { bootTimeout } from '../../../src/modules/core/boot_timeout.js';
import { command } from '../../../src/modules/core/command.js';
import { directory } from '../../../src/modules/core/directory.js';
import { file } from '../../../src/modules/core/file.js';
import { hostsFile } from '../../../src/modules/core/hosts_file.js';
import { kernelModule } from '../../../src/modules/core/kernel_module.js';
import { pkg } from '../../../src/modules/core/package.js';
import { serviceState } from '../../../src/modules/core/service_state.js';
import { sysctl } from '../../../src/modules/core/sysctl.js';
import { capturedFacts, capturedSections as cap, catOut, CLUSTER, ok, type Row } from '../../support/module-harness.js';

const THIS_MACHINE = capturedFacts('debian12.this-machine');
// the captures list their temp directory as clusterform's; the rows ask about /srv/nfs
const OURS = { marks: catOut('/srv/nfs\n') };
const ENTRIES = [{ address: '10.213.0.11', names: ['node1'] }, { address: '10.213.0.12', names: ['node2'] }, { address: '10.213.0.1', names: ['director'] }];
const HOSTS = '127.0.0.1 localhost\n127.0.0.1 runsc\n127.0.0.1 vm\n';
const BLOCK = '# BEGIN clusterform managed block (lab)\n10.213.0.11 node1\n10.213.0.12 node2\n10.213.0.1 director\n# END clusterform managed block (lab)\n';
const TEMPLATES = fileURLToPath(new URL('../../fixtures/modules/templates', import.meta.url));

export const coreRows: Row[] = [
  // hosts_file
  { name: "this machine's /etc/hosts without a block: the block is appended, every line and the mode (0755) kept", module: hostsFile, args: { entries: ENTRIES }, sections: cap('hosts_file.etc-hosts.this-machine'),
    expect: { summaries: ['/etc/hosts: managed block for 3 hosts'], scripts: ['write /etc/hosts'], writes: { '/etc/hosts': HOSTS + BLOCK }, modes: { '/etc/hosts': '0755' }, diffs: [/\+# BEGIN clusterform managed block \(lab\)\n\+10\.213\.0\.11 node1\n/] } },
  { name: 'the block already there → nothing to do', module: hostsFile, args: { entries: ENTRIES }, sections: cap('hosts_file.block-0644.tmp'), expect: { summaries: [] } },
  { name: 'a file mode of 0600 is the file owner\'s choice: kept, nothing to do', module: hostsFile, args: { entries: ENTRIES }, sections: cap('hosts_file.block-0600.tmp'), expect: { summaries: [] } },
  { name: 'one host more → the block is rewritten', module: hostsFile, args: { entries: [...ENTRIES, { address: '10.213.0.21', names: ['rs1', 'www'] }] }, sections: cap('hosts_file.block-0644.tmp'),
    expect: { summaries: ['/etc/hosts: managed block for 4 hosts'], writes: { '/etc/hosts': HOSTS + BLOCK.replace('# END', '10.213.0.21 rs1 www\n# END') }, diffs: [/^\+10\.213\.0\.21 rs1 www$/m] } },
  { name: 'a BEGIN marker without its END → refused, nothing written', module: hostsFile, args: { entries: ENTRIES }, sections: cap('hosts_file.begin-only.tmp'), expect: { refuse: /^\/etc\/hosts: hosts file has a BEGIN marker without its END for cluster lab; fix it by hand$/ } },
  { name: 'no hosts file → created with the block only, mode 0644', module: hostsFile, args: { entries: ENTRIES }, sections: cap('hosts_file.missing.tmp'),
    expect: { summaries: ['/etc/hosts: managed block for 3 hosts'], writes: { '/etc/hosts': BLOCK }, modes: { '/etc/hosts': '0644' } } },
  { name: 'absent: the block is removed, the other lines kept', module: hostsFile, args: { entries: ENTRIES, state: 'absent' }, sections: cap('hosts_file.block-0644.tmp'),
    expect: { summaries: ['/etc/hosts: remove the managed block'], writes: { '/etc/hosts': HOSTS } } },
  { name: 'absent without a hosts file → nothing to do', module: hostsFile, args: { state: 'absent' }, sections: cap('hosts_file.missing.tmp'), expect: { summaries: [] } },

  // file
  { name: 'same content and mode → nothing to do', module: file, args: { path: '/etc/motd', content: 'hello\n' }, sections: cap('file.motd-0644.tmp'), expect: { summaries: [] } },
  { name: 'other content → written with a diff and a backup', module: file, args: { path: '/etc/motd', content: 'bye\n' }, sections: cap('file.motd-0644.tmp'),
    expect: { summaries: ['update /etc/motd'], scripts: ['write /etc/motd'], writes: { '/etc/motd': 'bye\n' }, diffs: [/-hello\n\+bye/] } },
  { name: 'same content, mode 0600 → chmod only', module: file, args: { path: '/etc/motd', content: 'hello\n' }, sections: cap('file.motd-0600.tmp'),
    expect: { summaries: ['/etc/motd: mode 0600 → 0644'], scripts: ['chmod 0644 -- /etc/motd'] } },
  { name: 'same content, another owner → chown only', module: file, args: { path: '/etc/motd', content: 'hello\n', owner: 'www-data:www-data' }, sections: cap('file.motd-0644.tmp'),
    expect: { summaries: ['/etc/motd: owner root:root → www-data:www-data'], scripts: ['chown www-data:www-data -- /etc/motd'] } },
  { name: 'missing → created (parent directories too)', module: file, args: { path: '/etc/app/motd', content: 'hello\n', mode: '0600' }, sections: cap('file.missing.tmp'),
    expect: { summaries: ['create /etc/app/motd'], scripts: ['write /etc/app/motd'], writes: { '/etc/app/motd': 'hello\n' }, modes: { '/etc/app/motd': '0600' } } },
  { name: 'a template is rendered with the host, the cluster and the facts', module: file, args: { path: '/etc/motd', template: 'motd.hbs' }, sections: cap('file.motd-0644.tmp'), cluster: { ...CLUSTER, templatesDir: TEMPLATES }, host: 'node2',
    expect: { summaries: ['update /etc/motd'], writes: { '/etc/motd': '# node2 of cluster lab (debian 12); HA members: node1 node2\n' } } },
  { name: 'absent → removed (or the original put back)', module: file, args: { path: '/etc/motd', state: 'absent' }, sections: cap('file.motd-0644.tmp'),
    expect: { summaries: ['remove /etc/motd (or put back the original)'], scripts: ['remove /etc/motd'] } },
  { name: 'absent and missing → nothing to do', module: file, args: { path: '/etc/motd', state: 'absent' }, sections: cap('file.missing.tmp'), expect: { summaries: [] } },

  // directory
  { name: 'an empty directory with mode 0755 → nothing to do', module: directory, args: { path: '/srv/nfs' }, sections: cap('directory.dir-0755-empty.tmp'), expect: { summaries: [] } },
  { name: 'mode 0700 → chmod', module: directory, args: { path: '/srv/nfs' }, sections: cap('directory.dir-0700.tmp'), expect: { summaries: ['/srv/nfs: mode 0700 → 0755'], scripts: ['chmod 0755 -- /srv/nfs'] } },
  { name: 'a mounted directory keeps the mode of what is mounted (1777): nothing to do', module: directory, args: { path: '/srv/nfs' }, sections: cap('directory.ours-mounted.mountns', OURS), expect: { summaries: [] } },
  { name: 'missing → created and recorded as clusterform\'s', module: directory, args: { path: '/srv/nfs' }, sections: cap('directory.missing.tmp'),
    expect: { summaries: ['create directory /srv/nfs'], scripts: ['mkdir -p -m 0755 -- /srv/nfs', 'write /var/lib/clusterform/dirs'], writes: { '/var/lib/clusterform/dirs': '/srv/nfs\n' } } },
  { name: 'missing, and another directory made before → both listed', module: directory, args: { path: '/srv/nfs' }, sections: cap('directory.missing.tmp', { marks: ok('exists\n/srv/smb\n') }),
    expect: { summaries: ['create directory /srv/nfs'], writes: { '/var/lib/clusterform/dirs': '/srv/smb\n/srv/nfs\n' } } },
  { name: 'a file where the directory should be → refused', module: directory, args: { path: '/srv/nfs' }, sections: cap('directory.file-not-dir.tmp'), expect: { refuse: /^\/srv\/nfs exists and is not a directory$/ } },
  { name: 'absent: an empty directory clusterform made → removed', module: directory, args: { path: '/srv/nfs', state: 'absent' }, sections: cap('directory.ours-empty.mountns', OURS),
    expect: { summaries: ['remove empty directory /srv/nfs'], scripts: ['rmdir -- /srv/nfs 2>/dev/null || [ ! -e /srv/nfs ]', 'write /var/lib/clusterform/dirs'], writes: { '/var/lib/clusterform/dirs': '' } } },
  { name: 'absent: something mounted there → kept, said in a note', module: directory, args: { path: '/srv/nfs', state: 'absent' }, sections: cap('directory.ours-mounted.mountns', OURS),
    expect: { summaries: [], notes: ['/srv/nfs kept: something is mounted there'] } },
  { name: 'absent: not empty → kept, said in a note', module: directory, args: { path: '/srv/nfs', state: 'absent' }, sections: cap('directory.ours-not-empty.mountns', OURS),
    expect: { summaries: [], notes: ['/srv/nfs kept: not empty'] } },
  { name: 'absent: a directory clusterform did not make → left alone', module: directory, args: { path: '/srv/nfs', state: 'absent' }, sections: cap('directory.dir-0755-empty.tmp'), expect: { summaries: [], notes: [] } },

  // command
  { name: '`creates` exists → not run', module: command, args: { argv: ['touch', '/etc/hosts'], creates: '/etc/hosts' }, sections: cap('command.creates-exists.this-machine'), expect: { summaries: [] } },
  { name: '`creates` missing → run, argv quoted', module: command, args: { argv: ['sh', '-c', 'echo ok > /srv/done'], creates: '/srv/done' }, sections: cap('command.creates-missing.tmp'),
    expect: { summaries: ['run sh -c echo ok > /srv/done (/srv/done does not exist)'], scripts: ["sh -c 'echo ok > /srv/done'"] } },
  { name: '`unless` succeeds → not run', module: command, args: { argv: ['false'], unless: ['true'] }, sections: cap('command.unless-succeeds.this-machine'), expect: { summaries: [] } },
  { name: '`unless` fails → run', module: command, args: { argv: ['false'], unless: ['test', '-e', '/nonexistent'] }, sections: cap('command.unless-fails.this-machine'),
    expect: { summaries: ['run false (test -e /nonexistent fails)'], scripts: ['false'] } },
  { name: 'neither `creates` nor `unless` → runs every time', module: command, args: { argv: ['true'] }, sections: { check: ok('needed\n') }, expect: { summaries: ['run true (always runs)'] } },

  // service_state
  { name: "this machine (SysV, update-rc.d): ssh enabled → disabled; procps running → stopped; nfs not installed → note", module: serviceState, args: { names: ['ssh', 'nfs', 'procps'] }, facts: THIS_MACHINE, sections: cap('service_state.sysv.this-machine'),
    expect: {
      summaries: ['ssh: stop and disable at boot (stopped, enabled now)', 'procps: stop and disable at boot (running, disabled now)'],
      scripts: ['update-rc.d ssh disable', 'service procps stop || /etc/init.d/procps stop'],
      notes: ['nfs: not installed (nothing to stop)'],
    } },
  { name: 'started_enabled on SysV: ssh enabled already → start only; a missing service is a warning', module: serviceState, args: { names: ['ssh', 'nfs'], state: 'started_enabled' }, facts: THIS_MACHINE, sections: cap('service_state.sysv.this-machine'),
    expect: { summaries: ['ssh: enable and start (stopped, enabled now)'], scripts: ['service ssh start || /etc/init.d/ssh start'], warnings: ['nfs: not installed'] } },
  { name: 'systemd: stopped and disabled already → nothing to do', module: serviceState, args: { names: ['nfs'] }, sections: { svc: ok('nfs|1|0|disabled|nfs-server.service\n') }, expect: { summaries: [], notes: [] } },
  { name: 'a service the read did not report → refused', module: serviceState, args: { names: ['ssh'] }, sections: { svc: ok('') }, expect: { refuse: /^could not read the state of service ssh$/ } },

  // package
  { name: 'this machine has ipvsadm → nothing to do', module: pkg, args: { name: 'ipvsadm' }, sections: cap('package.ipvsadm-found.this-machine'), expect: { summaries: [] } },
  { name: 'missing on apt → install, refreshing the lists once on failure', module: pkg, args: { name: 'cf-no-such-package' }, sections: cap('package.missing.this-machine'),
    expect: { summaries: ['install package cf-no-such-package (apt)'], scripts: ['export DEBIAN_FRONTEND=noninteractive; apt-get install -y --no-install-recommends cf-no-such-package -o \'Dpkg::Options::=--force-confdef\' -o \'Dpkg::Options::=--force-confold\' || { apt-get update && apt-get install -y --no-install-recommends cf-no-such-package -o \'Dpkg::Options::=--force-confdef\' -o \'Dpkg::Options::=--force-confold\'; }'] } },
  { name: 'missing, command name differs from the package (zypper)', module: pkg, args: { name: 'iproute2', command: 'ip' }, facts: { pkg: 'zypper' }, sections: cap('package.missing.this-machine'),
    expect: { summaries: ['install package iproute2 (zypper)'], scripts: ['zypper --non-interactive install iproute2'] } },
  { name: 'packages: a list, two of three missing (an empty entry skipped) → ONE apt-get run for both', module: pkg, args: { packages: ['corosync', '', { name: 'pacemaker', command: 'pacemakerd' }, { name: 'psmisc', command: 'fuser' }] },
    sections: { which: ok('corosync\npacemaker\n'), ro: ok('/usr rw,relatime\n') },
    expect: { summaries: ['install packages corosync, pacemaker (apt)'], scripts: ["export DEBIAN_FRONTEND=noninteractive; apt-get install -y --no-install-recommends corosync pacemaker -o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold' || { apt-get update && apt-get install -y --no-install-recommends corosync pacemaker -o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold'; }"] } },
  { name: 'packages: every command found → nothing to do', module: pkg, args: { packages: ['corosync', { name: 'pacemaker', command: 'pacemakerd' }] }, sections: { which: ok(''), ro: ok('') }, expect: { summaries: [] } },
  { name: 'packages: missing on a read-only /usr → refused, naming each', module: pkg, args: { packages: ['sl', { name: 'psmisc', command: 'fuser' }] }, sections: { which: ok('sl\npsmisc\n'), ro: ok('/usr ro,relatime\n') },
    expect: { refuse: /^package sl, psmisc: sl, fuser \(psmisc\) are missing and \/usr is read-only on this host/ } },
  { name: 'missing and no package manager → refused', module: pkg, args: { name: 'ipvsadm' }, facts: { pkg: 'none' }, sections: cap('package.missing.this-machine'), expect: { refuse: /^ipvsadm is missing and this host has no package manager clusterform knows .*: install ipvsadm by hand$/ } },

  // sysctl
  { name: 'this machine: ip_forward 0 → recorded, set and persisted', module: sysctl, args: { name: 'net.ipv4.ip_forward', value: 1 }, sections: cap('sysctl.ip_forward.this-machine'),
    expect: {
      summaries: ['set net.ipv4.ip_forward = 1 (now 0)', 'persist net.ipv4.ip_forward = 1 in /etc/sysctl.d/90-clusterform-lvs.conf'],
      scripts: ["if [ ! -s /var/lib/clusterform/sysctl/net.ipv4.ip_forward ]; then mkdir -p /var/lib/clusterform/sysctl && __cfr=$(mktemp /var/lib/clusterform/sysctl/net.ipv4.ip_forward.cf-XXXXXX) && printf '%s\\n' 0 > \"$__cfr\" && sync -- \"$__cfr\" && mv -f \"$__cfr\" /var/lib/clusterform/sysctl/net.ipv4.ip_forward && sync -- /var/lib/clusterform/sysctl; fi", "printf '%s\\n' 1 > /proc/sys/net/ipv4/ip_forward", 'write /etc/sysctl.d/90-clusterform-lvs.conf'],
      writes: { '/etc/sysctl.d/90-clusterform-lvs.conf': '# managed by clusterform\nnet.ipv4.ip_forward = 1\n' },
    } },
  { name: 'this machine: ip_local_port_range "32768<TAB>60999" is "32768 60999" → nothing to do (not persisted)', module: sysctl, args: { name: 'net.ipv4.ip_local_port_range', value: '32768  60999', persist: false }, sections: cap('sysctl.ip_local_port_range.this-machine'), expect: { summaries: [] } },
  { name: 'this machine has no tunl0 → refused on up', module: sysctl, args: { name: 'net.ipv4.conf.tunl0.rp_filter', value: 0 }, sections: cap('sysctl.tunl0-rp_filter-missing.this-machine'),
    expect: { refuse: /^this kernel has no net\.ipv4\.conf\.tunl0\.rp_filter \(\/proc\/sys\/net\/ipv4\/conf\/tunl0\/rp_filter does not exist\)$/ } },
  { name: 'no tunl0 in a dry run → planned, with a note', module: sysctl, args: { name: 'net.ipv4.conf.tunl0.rp_filter', value: 0 }, dryRun: true, sections: cap('sysctl.tunl0-rp_filter-missing.this-machine'),
    expect: { summaries: ['set net.ipv4.conf.tunl0.rp_filter = 0 (now missing)', 'persist net.ipv4.conf.tunl0.rp_filter = 0 in /etc/sysctl.d/90-clusterform-lvs.conf'], notes: ['/proc/sys/net/ipv4/conf/tunl0/rp_filter does not exist yet (an earlier task should create it)'] } },
  { name: 'absent with an EMPTY record (a power cut right after an unflushed write; seen on a lab director) → the record goes, /proc is not written', module: sysctl, args: { name: 'net.ipv4.ip_forward', state: 'absent', restore: true },
    sections: { ...cap('sysctl.ip_forward.this-machine'), saved: catOut('') },
    expect: { summaries: ['forget the empty record of net.ipv4.ip_forward (live value 0 left as is)'], scripts: ['remove /var/lib/clusterform/sysctl/net.ipv4.ip_forward'] } },
  { name: 'present with an EMPTY record → recorded again (the record script rewrites an empty file: [ ! -s ])', module: sysctl, args: { name: 'net.ipv4.ip_forward', value: 1, persist: false },
    sections: { ...cap('sysctl.ip_forward.this-machine'), saved: catOut('') },
    expect: { summaries: ['set net.ipv4.ip_forward = 1 (now 0)'], scripts: [/^if \[ ! -s \/var\/lib\/clusterform\/sysctl\/net\.ipv4\.ip_forward \]; then .* && sync -- "\$__cfr" && mv -f "\$__cfr" \/var\/lib\/clusterform\/sysctl\/net\.ipv4\.ip_forward && sync -- \/var\/lib\/clusterform\/sysctl; fi$/, "printf '%s\\n' 1 > /proc/sys/net/ipv4/ip_forward"] } },
  { name: 'absent, nothing recorded and no file → nothing to do', module: sysctl, args: { name: 'net.ipv4.ip_forward', state: 'absent', restore: true }, sections: cap('sysctl.ip_forward.this-machine'), expect: { summaries: [], notes: [] } },

  // kernel_module
  { name: 'this machine\'s kernel has no ip_vs → refused, naming the config option', module: kernelModule, args: { name: 'ip_vs' }, facts: THIS_MACHINE, sections: cap('kernel_module.ip_vs.this-machine'),
    expect: { refuse: /^the kernel has no IPVS \(ip_vs\): use a kernel with CONFIG_IP_VS \(running 6\.18\.44-fc-v657\)$/ } },
  { name: 'available, not loaded → modprobe and listed for boot', module: kernelModule, args: { name: 'ip_vs' }, sections: cap('kernel_module.ip_vs.this-machine', { mod: ok('unloaded\navailable\ndir\n') }),
    expect: { summaries: ['load kernel module ip_vs', 'load ip_vs at boot (/etc/modules-load.d/clusterform.conf)'], scripts: ['modprobe ip_vs', 'write /etc/modules-load.d/clusterform.conf'], writes: { '/etc/modules-load.d/clusterform.conf': '# managed by clusterform\nip_vs\n' } } },
  // captured on this machine with the current snippet: loop is built in (/sys/module/loop, no /proc/modules), no /lib/modules tree
  { name: 'built into the kernel (in /sys/module, not in /proc/modules) → nothing to load, not listed for boot', module: kernelModule, args: { name: 'loop' }, sections: cap('kernel_module.loop.this-machine'), expect: { summaries: [] } },
  { name: 'loaded and listed → nothing to do', module: kernelModule, args: { name: 'loop' }, sections: cap('kernel_module.loop.this-machine', { file: ok('exists\n# managed by clusterform\nloop\n') }), expect: { summaries: [] } },
  { name: 'no modules-load.d directory → loaded, not persisted, said in a note', module: kernelModule, args: { name: 'ip_vs' }, sections: { mod: ok('unloaded\navailable\nnodir\n'), file: ok('missing\n') },
    expect: { summaries: ['load kernel module ip_vs'], scripts: ['modprobe ip_vs'], notes: ['ip_vs not persisted: /etc/modules-load.d does not exist (no systemd-modules-load)'] } },

  // boot_timeout
  { name: 'this machine has no GRUB configuration → skipped with a note', module: bootTimeout, args: { timeout: 3 }, sections: cap('boot_timeout.no-grub.this-machine'), expect: { summaries: [], notes: [/^no GRUB configuration .*: skipped$/] } },
  { name: 'GRUB 2, timeout as wanted → nothing to do', module: bootTimeout, args: { timeout: 5 }, sections: cap('boot_timeout.no-grub.this-machine', { grub2: ok('GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n') }), expect: { summaries: [], notes: ['/etc/default/grub: GRUB_TIMEOUT=5'] } },
  { name: 'GRUB 2 with update-grub → GRUB_TIMEOUT set and update-grub run', module: bootTimeout, args: { timeout: 3 }, facts: { tools: { 'update-grub': true } }, sections: cap('boot_timeout.no-grub.this-machine', { grub2: ok('GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n') }),
    expect: { summaries: ['/etc/default/grub: GRUB_TIMEOUT=3'], scripts: ['write /etc/default/grub', 'update-grub >/dev/null 2>&1 || update-grub'], writes: { '/etc/default/grub': 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=3\n' }, warnings: [] } },
  { name: 'GRUB 2 without a regeneration tool → written, with a warning', module: bootTimeout, args: { timeout: 3 }, sections: cap('boot_timeout.no-grub.this-machine', { grub2: ok('GRUB_DEFAULT=0\n') }),
    expect: { summaries: ['/etc/default/grub: GRUB_TIMEOUT=3'], writes: { '/etc/default/grub': 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=3\n' }, warnings: ['/etc/default/grub changed but no grub2-mkconfig/update-grub found: regenerate grub.cfg yourself'] } },
];
