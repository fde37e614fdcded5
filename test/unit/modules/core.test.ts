// Core modules: the rows of core.rows.ts, then the cases that need more than a row (all through the module harness).
import { describe, expect, it } from 'vitest';
import { bootTimeout } from '../../../src/modules/core/boot_timeout.js';
import { kernelModule } from '../../../src/modules/core/kernel_module.js';
import { pkg } from '../../../src/modules/core/package.js';
import { serviceState } from '../../../src/modules/core/service_state.js';
import { editSysctlFile, sysctl } from '../../../src/modules/core/sysctl.js';
import { catOut as file, checkRow, fail, ok, planOf, RHEL4 } from '../../support/module-harness.js';
import { coreRows } from './core.rows.js';

describe.each([...new Set(coreRows.map((r) => r.module.name))])('%s rows', (name) => {
  it.each(coreRows.filter((r) => r.module.name === name).map((r) => [r.name, r] as const))('%s', (_, row) => {
    checkRow(row);
  });
});

describe('args', () => {
  it('rejects unknown args (strict)', () => {
    expect(() => (sysctl.args as any).parse({ name: 'net.ipv4.ip_forward', value: 1, bogus: 1 })).toThrow();
  });
});

describe('sysctl', () => {
  const F = '/etc/sysctl.d/90-clusterform-lvs.conf';
  it('sets live value, records the old one and persists; second run is a no-op', () => {
    const first = planOf(sysctl, { name: 'net.ipv4.ip_forward', value: 1, restore: true }, { live: ok('0\n'), file: file(), saved: file() });
    expect(first.changes.map((c) => c.summary)).toEqual(['set net.ipv4.ip_forward = 1 (now 0)', `persist net.ipv4.ip_forward = 1 in ${F}`]);
    const script = first.changes[0]!.actions.map((a: any) => a.script).join('\n');
    expect(script).toContain('/var/lib/clusterform/sysctl/net.ipv4.ip_forward');
    expect(script).toContain("printf '%s\\n' 1 > /proc/sys/net/ipv4/ip_forward");
    const w = first.changes[1]!.actions[0] as any;
    expect(w.content).toBe('# managed by clusterform\nnet.ipv4.ip_forward = 1\n');
    const second = planOf(sysctl, { name: 'net.ipv4.ip_forward', value: 1, restore: true }, { live: ok('1\n'), file: file(w.content), saved: file('0\n') });
    expect(second.changes).toEqual([]);
  });
  it('keeps other lines of a shared file', () => {
    expect(editSysctlFile('# managed by clusterform\nnet.ipv4.conf.all.arp_ignore = 1\n', 'net.ipv4.conf.all.arp_announce', '2')).toBe('# managed by clusterform\nnet.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n');
    expect(editSysctlFile('a.b = 1\nnet/ipv4/ip_forward=0\n', 'net.ipv4.ip_forward', '1')).toBe('a.b = 1\nnet.ipv4.ip_forward = 1\n');
    expect(editSysctlFile('a.b = 1\nnet.ipv4.ip_forward = 1\n', 'net.ipv4.ip_forward', undefined)).toBe('a.b = 1\n');
  });
  it('absent restores the recorded value, removes the line and the emptied file', () => {
    const r = planOf(sysctl, { name: 'net.ipv4.ip_forward', state: 'absent', restore: true }, { live: ok('1\n'), file: file('# managed by clusterform\nnet.ipv4.ip_forward = 1\n'), saved: file('0\n') });
    expect(r.changes.map((c) => c.summary)).toEqual([`remove ${F} (no settings left)`, 'restore net.ipv4.ip_forward = 0 (now 1)']);
    expect(r.changes[1]!.actions).toEqual([
      { kind: 'sh', script: "printf '%s\\n' 0 > /proc/sys/net/ipv4/ip_forward", desc: 'write 0 to /proc/sys/net/ipv4/ip_forward' },
      { kind: 'remove', path: '/var/lib/clusterform/sysctl/net.ipv4.ip_forward' },
    ]);
    const again = planOf(sysctl, { name: 'net.ipv4.ip_forward', state: 'absent', restore: true }, { live: ok('0\n'), file: file(), saved: file() });
    expect(again.changes).toEqual([]);
  });
  it('a missing entry refuses on up, plans with a note in a dry run', () => {
    const res = { live: fail(1, 'No such file'), file: file(), saved: file() };
    expect(planOf(sysctl, { name: 'net.ipv4.conf.tunl0.rp_filter', value: 0 }, res).refuse).toMatch(/no net.ipv4.conf.tunl0.rp_filter/);
    const d = planOf(sysctl, { name: 'net.ipv4.conf.tunl0.rp_filter', value: 0 }, res, { dryRun: true });
    expect(d.refuse).toBeUndefined();
    expect(d.changes).toHaveLength(2);
  });
  it('normalises multi-value entries', () => {
    expect(planOf(sysctl, { name: 'net.ipv4.ip_local_port_range', value: '32768 60999', persist: false }, { live: ok('32768\t60999\n'), file: file(), saved: file() }).changes).toEqual([]);
  });
});

describe('kernel_module', () => {
  const F = '/etc/modules-load.d/clusterform.conf';
  it('loads and persists; no-op when done', () => {
    const p = planOf(kernelModule, { name: 'ip_vs' }, { mod: ok('unloaded\navailable\ndir\n'), file: file() });
    expect(p.changes.map((c) => c.summary)).toEqual(['load kernel module ip_vs', `load ip_vs at boot (${F})`]);
    expect((p.changes[0]!.actions[0] as any).script).toBe('modprobe ip_vs');
    expect(planOf(kernelModule, { name: 'ip_vs' }, { mod: ok('loaded\navailable\ndir\n'), file: file('# managed by clusterform\nip_vs\n') }).changes).toEqual([]);
  });
  it('refuses clearly when the kernel has no such module', () => {
    expect(planOf(kernelModule, { name: 'ip_vs' }, { mod: ok('unloaded\nnone\ndir\n'), file: file() }).refuse).toMatch(/the kernel has no IPVS \(ip_vs\): use a kernel with CONFIG_IP_VS/);
    expect(planOf(kernelModule, { name: 'ip_vs_mh' }, { mod: ok('unloaded\nnone\ndir\n'), file: file() }).refuse).toMatch(/CONFIG_IP_VS_MH/);
  });
  it('builtin modules need nothing', () => {
    expect(planOf(kernelModule, { name: 'ip_vs' }, { mod: ok('unloaded\nbuiltin\ndir\n'), file: file() }).changes).toEqual([]);
  });
  it('absent removes only its line, the file when empty', () => {
    const p = planOf(kernelModule, { name: 'ipip', state: 'absent' }, { mod: ok('loaded\navailable\ndir\n'), file: file('# managed by clusterform\nip_vs\nipip\n') });
    expect(p.changes).toHaveLength(1);
    expect((p.changes[0]!.actions[0] as any).content).toBe('# managed by clusterform\nip_vs\n');
    const p2 = planOf(kernelModule, { name: 'ip_vs', state: 'absent' }, { mod: ok('loaded\navailable\ndir\n'), file: file('# managed by clusterform\nip_vs\n') });
    expect(p2.changes[0]!.actions[0]).toEqual({ kind: 'remove', path: F });
  });
});

describe('package', () => {
  it('installs via the package manager only when the command is missing', () => {
    expect(planOf(pkg, { name: 'ipvsadm' }, { which: ok('/usr/sbin/ipvsadm\n') }).changes).toEqual([]);
    const apt = planOf(pkg, { name: 'ipvsadm' }, { which: fail(), ro: ok('') });
    expect((apt.changes[0]!.actions[0] as any).script).toContain('apt-get install -y --no-install-recommends ipvsadm');
    const dnf = planOf(pkg, { name: 'ipvsadm' }, { which: fail(), ro: ok('') }, { facts: { pkg: 'dnf' } });
    expect((dnf.changes[0]!.actions[0] as any).script).toBe('dnf -y install ipvsadm');
    expect(planOf(pkg, { name: 'ipvsadm' }, { which: fail(), ro: ok('') }, { facts: { pkg: 'none' } }).refuse).toMatch(/no package manager/);
  });
  it('takes either name or packages, and command only with name', () => {
    const err = (a: unknown) => { const r = pkg.args.safeParse(a); return r.success ? '' : r.error.issues.map((i) => i.message).join('; '); };
    expect(err({ name: 'a', packages: ['b'] })).toBe('give either name (one package) or packages (a list)');
    expect(err({})).toBe('give either name (one package) or packages (a list)');
    expect(err({ packages: ['a'], command: 'x' })).toBe('command goes with name; in packages give { name, command }');
    expect(err({ packages: ['a', '', { name: 'b', command: 'c' }] })).toBe('');
    expect(err({ packages: ['a'], unless: ['x'] })).toBe('unless goes with name');
    // unless: any of the commands present means nothing to install; the read checks them all
    expect(pkg.read({ args: pkg.args.parse({ name: 'nftables', command: 'nft', unless: ['iptables'] }) } as any).which).toBe('command -v nft || command -v iptables');
    expect(planOf(pkg, { name: 'nftables', command: 'nft', unless: ['iptables'] }, { which: ok('/usr/sbin/iptables\n') }).changes).toEqual([]);
    // the list form reads which commands are missing in one section and the mount table only when one is
    const dnf = planOf(pkg, { packages: ['corosync', { name: 'pacemaker', command: 'pacemakerd' }] }, { which: ok('pacemaker\n'), ro: ok('') }, { facts: { pkg: 'dnf' } });
    expect((dnf.changes[0]!.actions[0] as any).script).toBe('dnf -y install pacemaker');
  });
});

describe('service_state', () => {
  it('systemd: running+enabled nfs → stop+disable; missing smb → note', () => {
    const p = planOf(serviceState, { names: ['nfs', 'smb'] }, { svc: ok('nfs|1|1|enabled|nfs-server.service\nsmb|0|0|-|-\n') }, { facts: { ...RHEL4, init: 'systemd' } });
    expect(p.changes[0]!.actions.map((a) => (a as any).script)).toEqual(['systemctl stop nfs-server.service', 'systemctl disable --quiet nfs-server.service']);
    expect(p.notes).toEqual(['smb: not installed (nothing to stop)']);
  });
  it('SysV already stopped and off → ok', () => {
    expect(planOf(serviceState, { names: ['nfs'] }, { svc: ok('nfs|1|0|disabled|/etc/init.d/nfs\n') }, { facts: RHEL4 }).changes).toEqual([]);
  });
});

describe('boot_timeout', () => {
  const legacy = '# grub.conf\ndefault=0\ntimeout=10\nsplashimage=(hd0,0)/grub/splash.xpm.gz\ntitle Red Hat\n\troot (hd0,0)\n';
  it('GRUB legacy: edits only the timeout line', () => {
    const p = planOf(bootTimeout, { timeout: 3 }, { legacy: ok('/boot/grub/grub.conf\n' + legacy), grub2: fail(1), cfg: ok('') }, { facts: RHEL4 });
    expect((p.changes[0]!.actions[0] as any).content).toBe(legacy.replace('timeout=10', 'timeout=3'));
    expect(p.changes[0]!.diff).toContain('-timeout=10\n+timeout=3');
    expect(planOf(bootTimeout, { timeout: 10 }, { legacy: ok('/boot/grub/grub.conf\n' + legacy), grub2: fail(1), cfg: ok('') }, { facts: RHEL4 }).changes).toEqual([]);
  });
  it('GRUB 2: GRUB_TIMEOUT + regenerate; nothing → skipped', () => {
    const p = planOf(bootTimeout, { timeout: 3 }, { legacy: fail(1), grub2: ok('GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n'), cfg: ok('/boot/grub2/grub.cfg\n') }, { facts: { ...RHEL4, tools: { 'grub2-mkconfig': true } } });
    expect((p.changes[0]!.actions[0] as any).content).toBe('GRUB_DEFAULT=0\nGRUB_TIMEOUT=3\n');
    expect((p.changes[0]!.actions[1] as any).desc).toBe('grub2-mkconfig -o /boot/grub2/grub.cfg');
    expect(planOf(bootTimeout, { timeout: 3 }, { legacy: fail(1), grub2: fail(1), cfg: ok('') }, { facts: RHEL4 }).notes![0]).toMatch(/skipped/);
  });
});
