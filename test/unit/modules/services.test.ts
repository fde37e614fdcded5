// service_state on every init system clusterform knows (systemd, SysV with update-rc.d or chkconfig) and on a host
// with neither; the init fact behind it; package on a host whose /usr is read-only (a lab namespace host).
// Rows are data: what the module's read printed (captured where the name says so) → the expected plan.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pkg } from '../../../src/modules/core/package.js';
import { serviceState } from '../../../src/modules/core/service_state.js';
import { CHKCONFIG_ON } from '../../../src/modules/support/services.js';
import { parseFacts } from '../../../src/facts/facts.js';
import { capturedFacts, capturedSections as cap, checkRow, ok, RHEL4, type Row } from '../../support/module-harness.js';

const THIS_MACHINE = capturedFacts('debian12.this-machine');
const DEBIAN_SYSV = { ...THIS_MACHINE, init: 'sysv' as const };
const NO_INIT = { init: 'none' as const };

// svcReadSh's output on the lab's Debian 12 VM (systemd 252), captured over ssh after
// `systemctl mask systemd-networkd-wait-online.service`: ssh enabled and running, systemd-journald static and running,
// systemd-networkd disabled and stopped, systemd-networkd-wait-online masked, nfs not installed.
const SYSTEMD_VM = cap('service_state.systemd.debian-vm');

export const serviceRows: Row[] = [
  // systemd
  { name: 'systemd: enabled and running → stopped and disabled', module: serviceState, args: { names: ['ssh'] }, sections: SYSTEMD_VM,
    expect: { summaries: ['ssh: stop and disable at boot (running, enabled now)'], scripts: ['systemctl stop ssh.service', 'systemctl disable --quiet ssh.service'] } },
  { name: 'systemd: disabled and stopped → nothing to do', module: serviceState, args: { names: ['systemd-networkd'] }, sections: SYSTEMD_VM, expect: { summaries: [], notes: [] } },
  { name: 'systemd: disabled → enabled and started', module: serviceState, args: { names: ['systemd-networkd'], state: 'started_enabled' }, sections: SYSTEMD_VM,
    expect: { summaries: ['systemd-networkd: enable and start (stopped, disabled now)'], scripts: ['systemctl enable --quiet systemd-networkd.service', 'systemctl start systemd-networkd.service'] } },
  { name: 'systemd: static and running → stopped only (a static unit has nothing to disable)', module: serviceState, args: { names: ['systemd-journald'] }, sections: SYSTEMD_VM,
    expect: { summaries: ['systemd-journald: stop and disable at boot (running, static now)'], scripts: ['systemctl stop systemd-journald.service'] } },
  { name: 'systemd: static and running, started_enabled → nothing to do (not enabled every run)', module: serviceState, args: { names: ['systemd-journald'], state: 'started_enabled' }, sections: SYSTEMD_VM,
    expect: { summaries: [] } },
  { name: 'systemd: masked and stopped → nothing to stop', module: serviceState, args: { names: ['systemd-networkd-wait-online'] }, sections: SYSTEMD_VM, expect: { summaries: [], notes: [] } },
  { name: 'systemd: masked, started_enabled → refused, saying how to unmask', module: serviceState, args: { names: ['systemd-networkd-wait-online'], state: 'started_enabled' }, sections: SYSTEMD_VM,
    expect: { refuse: /^systemd-networkd-wait-online: systemd-networkd-wait-online\.service is masked: unmask it \(systemctl unmask systemd-networkd-wait-online\.service\) or leave it out$/ } },
  { name: 'systemd: not installed → a note', module: serviceState, args: { names: ['nfs'] }, sections: SYSTEMD_VM, expect: { summaries: [], notes: ['nfs: not installed (nothing to stop)'] } },

  // SysV, Debian family (update-rc.d): read on this machine (no systemd running, /etc/rc?.d links)
  { name: 'SysV Debian: procps disabled and running, started_enabled → update-rc.d defaults + enable', module: serviceState, args: { names: ['procps'], state: 'started_enabled' }, facts: DEBIAN_SYSV, sections: cap('service_state.sysv.this-machine'),
    expect: { summaries: ['procps: enable and start (running, disabled now)'], scripts: ['update-rc.d procps defaults && update-rc.d procps enable'] } },
  { name: 'SysV Debian: ssh enabled → update-rc.d disable (no service stop: it is not running)', module: serviceState, args: { names: ['ssh'] }, facts: DEBIAN_SYSV, sections: cap('service_state.sysv.this-machine'),
    expect: { summaries: ['ssh: stop and disable at boot (stopped, enabled now)'], scripts: ['update-rc.d ssh disable'] } },

  // SysV, Red Hat family (chkconfig)
  { name: 'SysV RHEL: nfs on and running → service stop + chkconfig off', module: serviceState, args: { names: ['nfs'] }, facts: { ...RHEL4, tools: { chkconfig: true } }, sections: { svc: ok('nfs|1|1|enabled|/etc/rc.d/init.d/nfs\n') },
    expect: { summaries: ['nfs: stop and disable at boot (running, enabled now)'], scripts: ['service nfs stop || /etc/rc.d/init.d/nfs stop', 'chkconfig nfs off'] } },
  { name: 'SysV RHEL: smb off and stopped, started_enabled → chkconfig on + service start', module: serviceState, args: { names: ['smb'], state: 'started_enabled' }, facts: { ...RHEL4, tools: { chkconfig: true } }, sections: { svc: ok('smb|1|0|disabled|/etc/rc.d/init.d/smb\n') },
    expect: { summaries: ['smb: enable and start (stopped, disabled now)'], scripts: ['chkconfig smb on', 'service smb start || /etc/rc.d/init.d/smb start'] } },

  // neither
  { name: 'neither systemd nor SysV → refused, naming what was looked for', module: serviceState, args: { names: ['nfs', 'smb'] }, facts: NO_INIT, sections: { svc: ok('nfs|0|0|-|-\nsmb|0|0|-|-\n') },
    expect: { refuse: /^cannot manage nfs, smb: this host has neither systemd \(no \/run\/systemd\/system\) nor SysV init \(\/etc\/init\.d or \/etc\/rc\.d\/init\.d with update-rc\.d or chkconfig\): start and stop them by hand$/ } },
  { name: 'neither, but no service to manage (cluster_managed_services: []) → nothing to do, no refusal', module: serviceState, args: { names: [] }, facts: NO_INIT, sections: { svc: ok('') },
    expect: { summaries: [] } },

  // package on a host whose /usr is read-only (as a lab namespace host sees it: src/lab/ns.ts readOnlyBindSh)
  { name: 'missing on a read-only /usr → refused before apt runs, naming the path', module: pkg, args: { name: 'cf-no-such-package' }, sections: cap('package.usr-read-only.mountns'),
    expect: { refuse: /^package cf-no-such-package: cf-no-such-package is missing and \/usr is read-only on this host, so it cannot be installed here \(a lab namespace host sees the controller machine's \/usr read-only\): install it on the controller machine or use a VM host$/ } },
  { name: 'present on a read-only /usr → nothing to do (no refusal)', module: pkg, args: { name: 'cf-no-such-package' }, sections: cap('package.usr-read-only.mountns', { which: ok('/usr/bin/cf-no-such-package\n') }), expect: { summaries: [] } },
  { name: 'only the dpkg database read-only → refused too', module: pkg, args: { name: 'sl' }, sections: { which: { out: '', err: '', rc: 127 }, ro: ok('/usr rw,relatime\n/var/lib/dpkg ro,relatime\n/var/cache/apt rw,relatime\n') },
    expect: { refuse: /^package sl: sl is missing and \/var\/lib\/dpkg is read-only/ } },
];

describe('service_state and package rows', () => {
  it.each(serviceRows.map((r) => [r.name, r] as const))('%s', (_, row) => {
    checkRow(row);
  });
});

describe('the init fact', () => {
  const facts = (lines: string[]) => parseFacts(['hostname=h', 'os.id=debian', ...lines].join('\n'));
  it.each([
    ['systemd running', 'systemd', ['init=systemd', 'tool.systemctl=1']],
    ['init scripts + update-rc.d (Debian SysV)', 'sysv', ['init=sysv', 'tool.update-rc.d=1']],
    ['init scripts + chkconfig (Red Hat SysV)', 'sysv', ['init=sysv', 'tool.chkconfig=1']],
    ['init scripts but no tool to enable them at boot', 'none', ['init=sysv', 'tool.service=1']],
    ['nothing', 'none', ['init=none']],
  ] as const)('%s → %s', (_, want, lines) => {
    expect(facts([...lines]).init).toBe(want);
  });
  it('this machine (init scripts, update-rc.d, no systemd running) is SysV', () => {
    expect(THIS_MACHINE.init).toBe('sysv');
  });
});

describe('chkconfig --list', () => {
  // the line chkconfig prints for an init.d service (chkconfig.c showServiceInfo: "%-15s" then "\t%d:%s" for 0..6)
  const line = (name: string, on: number[]) => `${name.padEnd(15)}${[0, 1, 2, 3, 4, 5, 6].map((l) => `\t${l}:${on.includes(l) ? 'on' : 'off'}`).join('')}\n`;
  const isOn = (out: string) => spawnSync('sh', ['-c', CHKCONFIG_ON], { input: out }).status === 0;
  it.each([
    ['on in 3, 4, 5 (chkconfig nfs on, header 345)', true, line('nfs', [3, 4, 5])],
    ['on in 2 to 5', true, line('smb', [2, 3, 4, 5])],
    ['off everywhere (chkconfig nfs off)', false, line('nfs', [])],
    ['on only in the single-user and halt levels', false, line('killall', [0, 1, 6])],
    ['not referenced in any runlevel (error on stderr, nothing on stdout)', false, ''],
  ] as const)('%s → enabled: %s', (_, want, out) => {
    expect(isOn(out)).toBe(want);
  });
});
