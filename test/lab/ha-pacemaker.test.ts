// Issue #14 through the real CLI: the HA pair really fails over. Two Debian-image VMs booted bare share a virtio disk;
// `up` installs corosync, pacemaker and sbd from the lab's package source and builds the cluster (format: pacemaker,
// sbd fencing on the primary quorum partition); HA-NFS runs on one member. A second `up` changes nothing and does not
// move it. Then: a power cut of the member running HA-NFS (once; CF_FAILOVER_RUNS=3: min/median/max from the cut to
// the first good answer over the service address), the dead member powered on again (it rejoins, the service stays);
// the network of the active member cut (split brain: exactly one member ends with the service); `down` (no cluster
// daemon left, the data on the shared disk, `fsck -n` clean).
//
// The lab's cloud kernel has no i6300esb driver (CONFIG_I6300ESB_WDT is not set), so each guest loads softdog in its
// own kernel (a VM: its watchdog resets only that VM; never on this machine or a namespace host).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, freshLab, isRoot, ROOT, sshFor } from '../helpers.js';
import { labConfigFromInventory, loadLabInventory } from '../../src/lab/index.js';

const INV = resolve(ROOT, 'test/lab/inventories/ha-pacemaker.yaml');
const KEY = resolve(ROOT, 'test/lab/inventories/.lab/t-hapcmk/id_ed25519');
const ssh = sshFor(INV);
// The whole file takes 25–30 minutes under TCG (2026-11-21, three power cuts: 1784 s), most of it the first `up` from
// bare (560 s: installing corosync, pacemaker, sbd and the NFS server in the VMs). With it, CI would take ~80 minutes,
// past its 60-minute budget: it runs on request (CLUSTERFORM_LAB_PACEMAKER=1).
const enabled = isRoot && process.env.CLUSTERFORM_SKIP_LAB !== '1' && process.env.CLUSTERFORM_LAB_PACEMAKER === '1';
const MEMBERS = ['node1', 'node2'] as const;
const SERVICE_IP = '10.233.0.100';
const MOUNT = '/mnt/hanfs';
const PART = '/dev/disk/by-id/clusterform-t-hapcmk-shared-part3';
const LONG = 1_500_000;
/** Power cuts of the active member: once in CI; CF_FAILOVER_RUNS=3 for min/median/max (as lvs-failover.test.ts). */
const RUNS = Number(process.env.CF_FAILOVER_RUNS ?? '1');
const T0 = Date.now();
/** token 10 s + consensus 12 s, a fence delay of up to 10 s, msgwait 20 s (test/lab/inventories/ha-pacemaker.yaml) */
const FENCE_S = { token: 10, consensus: 12, delayMax: 10, msgwait: 20 };
const secs = (t: number) => ((Date.now() - t) / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const other = (h: string) => (h === 'node1' ? 'node2' : 'node1');
const failures = (json: any) => JSON.stringify((json?.events ?? []).filter((e: any) => e.status === 'failed' || e.type === 'host').map((e: any) => [e.host, e.task, e.error ?? e.message]));

function ok(h: string, command: string): string {
  const r = ssh(h, command);
  expect(r.code, `${h}: ${command}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A command over the service address (whichever member holds it answers): its output, or undefined. */
function viaService(command: string): string | undefined {
  const r = spawnSync('ssh', ['-i', KEY, '-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', `root@${SERVICE_IP}`, command], { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** Who answers on the service address, and the probe file there: `host content` (just `host` before the file exists). */
const serviceAnswer = () => viaService(`printf '%s ' "$(hostname)"; cat ${MOUNT}/probe.txt 2>/dev/null || true`)?.trim();

/** The members with the HA-NFS file system mounted (a member that does not answer is listed as `host?`). */
function mountedOn(): string[] {
  return MEMBERS.flatMap((h) => {
    const r = ssh(h, `grep -c ' ${MOUNT} ' /proc/mounts || true`);
    if (r.code !== 0) return [`${h}?`];
    return r.stdout.trim() !== '0' ? [h] : [];
  });
}

/** Waits (polling) until `f` returns a value; the value and the seconds since `t0`, or undefined. */
async function until<T>(t0: number, limitMs: number, f: () => T | undefined): Promise<{ v: T; s: number } | undefined> {
  while (Date.now() - t0 < limitMs) {
    const v = f();
    if (v !== undefined) return { v, s: (Date.now() - t0) / 1000 };
    await sleep(1000);
  }
  return undefined;
}

/** crm_mon's view from member h: online members and where HA-NFS's file system runs. */
function clusterView(h: string): { online: string[]; fsOn: string[] } | undefined {
  const r = ssh(h, 'crm_mon -1 --output-as=xml');
  if (r.code !== 0) return undefined;
  const online = [...r.stdout.matchAll(/<node name="([^"]+)" id="\d+" online="true"/g)].map((m) => m[1]!);
  const fs = /<resource id="HA-NFS-fs"[^>]*>([\s\S]*?)<\/resource>/.exec(r.stdout)?.[1] ?? '';
  return { online, fsOn: [...fs.matchAll(/<node name="([^"]+)"/g)].map((m) => m[1]!) };
}

/** Waits until both members are online in the cluster as `h` sees it. */
async function bothOnline(h: string, limitMs: number): Promise<number | undefined> {
  const t = Date.now();
  return (await until(t, limitMs, () => { const v = clusterView(h); return v && MEMBERS.every((m) => v.online.includes(m)) ? true : undefined; }))?.s;
}

const bootId = (h: string) => ssh(h, 'cat /proc/sys/kernel/random/boot_id').stdout.trim();
const mountId = (h: string) => ssh(h, `awk '$5 == "${MOUNT}" {print $1}' /proc/self/mountinfo`).stdout.trim();

function tapOf(h: string): { ns: string; tap: string } {
  const cfg = labConfigFromInventory(loadLabInventory(INV), INV);
  return { ns: cfg.bridgeNs, tap: cfg.hosts.find((x) => x.name === h)!.nics[0]!.peer };
}

function setLink(h: string, state: 'up' | 'down'): void {
  const { ns, tap } = tapOf(h);
  const r = spawnSync('ip', ['-n', ns, 'link', 'set', tap, state], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

/** The cluster as the members see it, for failure messages. */
function clusterState(): string {
  const cmds = [
    'crm_mon -1 --failcounts --inactive 2>&1 | tail -n 30',
    'systemctl --failed --no-legend',
    // why a group sits where it does: the scheduler's scores for HA-NFS on each member
    "crm_simulate -Ls 2>/dev/null | grep -E 'HA-NFS' | grep -iE 'score' | head -n 20",
    "journalctl -b --no-pager -o short-monotonic -u nfs-server -u nfs-mountd -u proc-fs-nfsd.mount 2>/dev/null | tail -n 15",
    "journalctl -b --no-pager -o short-monotonic 2>/dev/null | grep -E 'pacemaker-controld.*Result of .*HA-NFS|pacemaker-schedulerd.*(Move|Recover|Restart).*HA-NFS' | tail -n 15",
  ];
  return MEMBERS.map((h) => `${h}:\n${ssh(h, cmds.join('; echo; ')).stdout}`).join('\n---\n');
}

/** Fencing and HA-NFS start/stop lines of both members' journals since `t0` (this boot and the one before), for the record. */
function splitBrainJournal(t0: number): string {
  const since = Math.floor(t0 / 1000) - 5;
  const pat = 'pacemaker-fenced.*(eboot|fenc|Operation)|sbd.*(poison|reset|off|Message)|pacemaker-controld.*(Result of (start|stop).*HA-NFS|Stonith operation|Peer .* was (terminated|not terminated)|Node .* state is now)|pacemaker-schedulerd.*(Move|Start|Stop|Recover|Fence).*(HA-NFS|node)';
  return MEMBERS.map((h) => {
    const r = ssh(h, `for b in -1 0; do journalctl -b "$b" --since=@${since} -o short-unix --no-pager 2>/dev/null; done | grep -E ${JSON.stringify(pat)} | tail -n 40`);
    return `  ${h} journal:\n${r.stdout.split('\n').filter(Boolean).map((l) => `    ${l.replace(/^(\d+\.\d+)/, (m) => `+${(Number(m) - t0 / 1000).toFixed(1)}s`)}`).join('\n')}`;
  }).join('\n');
}

/** The slowest task events of a run, `host task s`, for the profile of the first up. */
const slowest = (json: any, n = 8) => (json?.events ?? []).filter((e: any) => e.type === 'task').sort((a: any, b: any) => b.duration_ms - a.duration_ms).slice(0, n)
  .map((e: any) => `${e.host} ${e.task} ${(e.duration_ms / 1000).toFixed(1)} s`).join('; ');

/** The CLI with --json and a long timeout (installing pacemaker in TCG VMs takes minutes). */
function cliJson(args: string[]) {
  const r = cli([...args, '--json'], { timeout: LONG });
  let json: any = null;
  try { json = JSON.parse(r.stdout); } catch { /* keep null */ }
  return { ...r, json };
}

let active = '';
const cutRuns: number[] = [];
const exportRuns: number[] = [];

describe.skipIf(!enabled)('lab: a pacemaker HA pair on Debian VMs fails over (issue #14)', () => {
  beforeAll(() => {
    freshLab(INV, 'ha-pacemaker', LONG);
    // the VM's own kernel (no i6300esb driver in the cloud kernel): softdog there resets only that VM
    for (const h of MEMBERS) ok(h, '[ -c /dev/watchdog ] || modprobe softdog; echo softdog > /etc/modules-load.d/cf-lab-watchdog.conf; [ -c /dev/watchdog ]');
    // the seed writes the lab's udev rule at the first boot, after udev started: a race can leave the by-id link out
    // (seen once on node1); later boots have the rule from the start
    for (const h of MEMBERS) ok(h, `udevadm control --reload; udevadm trigger --subsystem-match=block --action=change; udevadm settle; [ -b ${PART.replace(/-part3$/, '')} ]`);
  }, LONG);
  afterAll(() => {
    for (const h of MEMBERS) spawnSync('ip', ['-n', tapOf(h).ns, 'link', 'set', tapOf(h).tap, 'up']);
    cli(['lab', 'down', INV]);
    console.log(`ha-pacemaker: the whole file (lab up to lab down) in ${secs(T0)} s`);
  }, LONG);

  it('up from bare: the cluster forms, HA-NFS runs on one member only, verify passes; a second up changes nothing and moves nothing', async () => {
    for (const h of MEMBERS) expect(ssh(h, 'command -v corosync pacemakerd sbd || true').stdout.trim(), h).toBe('');
    let t = Date.now();
    const first = cliJson(['up', INV]);
    console.log(`ha-pacemaker: first up in ${secs(t)} s (changed=${first.json?.changed}); slowest tasks: ${slowest(first.json)}`);
    expect(first.code, first.stderr.slice(-3000) + failures(first.json)).toBe(0);
    expect(first.json.changed).toBeGreaterThan(0);
    // the key never leaves the controller's memory in the output
    const key = ok('node1', 'base64 -w0 /etc/corosync/authkey').trim();
    expect(key.length).toBeGreaterThan(300);
    expect(ok('node2', 'base64 -w0 /etc/corosync/authkey').trim()).toBe(key);
    expect(first.stdout + first.stderr).not.toContain(key.slice(0, 40));

    const up = await until(Date.now(), 180_000, () => (mountedOn().length === 1 && serviceAnswer() !== undefined ? true : undefined));
    expect(up, clusterState()).toBeDefined();
    const m = mountedOn();
    expect(m, clusterState()).toHaveLength(1);
    active = m[0]!;
    expect(ok(active, 'exportfs -v')).toContain(MOUNT);
    expect(ok(other(active), 'exportfs -v 2>/dev/null || true')).not.toContain(MOUNT);
    expect(serviceAnswer()!.split(' ')[0]).toBe(active);
    console.log(`ha-pacemaker: HA-NFS runs on ${active} (mounted there only, ${SERVICE_IP} answers, ${MOUNT} exported)`);

    const v = cliJson(['verify', INV]);
    const rows = (v.json?.checks ?? []).filter((r: any) => /quorate|online|fencing|exactly one member/.test(r.check));
    console.log(`ha-pacemaker: verify: ${rows.map((r: any) => `${r.pass ? 'PASS' : 'FAIL'} ${r.host} ${r.check} — ${r.reason}`).join(' | ')}`);
    expect(v.code, JSON.stringify(v.json?.checks?.filter((r: any) => !r.pass)) + v.stderr.slice(-1500)).toBe(0);
    expect(rows.length).toBeGreaterThanOrEqual(5);

    const before = { mount: mountId(active), boot: bootId(active) };
    t = Date.now();
    const second = cliJson(['up', INV]);
    console.log(`ha-pacemaker: second up in ${secs(t)} s (changed=${second.json?.changed})`);
    expect(second.code, second.stderr.slice(-3000) + failures(second.json)).toBe(0);
    expect(second.json.changed, JSON.stringify(second.json.events.filter((e: any) => e.status === 'changed').map((e: any) => [e.host, e.task, e.changes]))).toBe(0);
    expect(mountedOn()).toEqual([active]);
    expect(mountId(active), 'the file system was not remounted').toBe(before.mount);
  }, LONG);

  it("a change to HA-NFS's export options is applied where it runs, nothing moves; the original options back the same way", async () => {
    expect(active).not.toBe('');
    const variant = resolve(ROOT, 'test/lab/inventories/ha-pacemaker-options.tmp.yaml');
    const text = readFileSync(INV, 'utf8');
    expect(text).toContain('options: rw }');
    writeFileSync(variant, text.replace('options: rw }', 'options: "rw,no_root_squash" }'));
    try {
      for (const [inv, squash] of [[variant, true], [INV, false]] as const) {
        const before = { mount: mountId(active), boot: bootId(active) };
        const t = Date.now();
        const r = cliJson(['up', inv]);
        const changed = (r.json?.events ?? []).filter((e: any) => e.status === 'changed').map((e: any) => `${e.host} ${e.task}`);
        console.log(`ha-pacemaker: export options ${squash ? 'rw,no_root_squash' : 'rw'}: up in ${secs(t)} s, changed: ${changed.join('; ')}`);
        expect(r.code, r.stderr.slice(-3000) + failures(r.json)).toBe(0);
        expect(changed, 'only the CIB task (run once) changes').toHaveLength(1);
        expect(changed[0]).toMatch(/^node[12] fencing, properties and one resource group per service in the CIB$/);
        const applied = await until(Date.now(), 120_000, () => (ok(active, 'exportfs -v').includes('no_root_squash') === squash && serviceAnswer() !== undefined ? true : undefined));
        expect(applied, ok(active, 'exportfs -v') + clusterState()).toBeDefined();
        expect(mountedOn(), 'HA-NFS did not move').toEqual([active]);
        expect(mountId(active), 'the file system was not remounted: only the export restarted').toBe(before.mount);
        expect(serviceAnswer()!.split(' ')[0]).toBe(active);
      }
    } finally {
      rmSync(variant, { force: true });
    }
  }, LONG);

  it('power cut of the member running HA-NFS (CF_FAILOVER_RUNS times, once by default): the other one serves the same file, alone; the dead one rejoins and the service stays', async () => {
    expect(active).not.toBe('');
    for (let run = 1; run <= RUNS; run++) {
      const content = `written before power cut ${run} at ${new Date().toISOString()}`;
      ok(active, `printf '%s\\n' '${content}' > ${MOUNT}/probe.txt && sync`);
      expect(serviceAnswer()).toBe(`${active} ${content}`);
      const dead = active;
      const survivor = other(dead);
      const k = cli(['lab', 'kill', INV, dead]);
      expect(k.code, k.stderr).toBe(0);
      const t0 = Date.now();
      const good = await until(t0, 300_000, () => (serviceAnswer() === `${survivor} ${content}` ? true : undefined));
      expect(good, `run ${run}: ${survivor} never served the file\n${clusterState()}`).toBeDefined();
      cutRuns.push(good!.s);
      expect(ssh(survivor, `grep -c ' ${MOUNT} ' /proc/mounts`).stdout.trim()).toBe('1');
      // the whole group: the NFS server started and the share exported there, not only the file system and the address
      const exported = await until(t0, 300_000, () => (ssh(survivor, 'exportfs -v 2>/dev/null').stdout.includes(MOUNT) ? true : undefined));
      expect(exported, `run ${run}: ${survivor} never exported ${MOUNT}\n${clusterState()}`).toBeDefined();
      exportRuns.push(exported!.s);
      active = survivor;
      const on = Date.now();
      const p = cli(['lab', 'up', INV], { timeout: LONG });
      expect(p.code, p.stderr).toBe(0);
      ok(dead, '[ -c /dev/watchdog ] || modprobe softdog');
      const joined = await bothOnline(survivor, 300_000);
      expect(joined, `run ${run}: ${dead} did not rejoin\n${clusterState()}`).toBeDefined();
      await sleep(15_000); // a move back, if any, would happen now
      const after = mountedOn();
      expect(after, `run ${run}: the service moved or is mounted twice\n${after.length === 1 && after[0] === survivor ? '' : clusterState()}`).toEqual([survivor]);
      expect(serviceAnswer()).toBe(`${survivor} ${content}`);
      console.log(`ha-pacemaker: power cut ${run} of ${dead}: ${survivor} served the same file ${good!.s.toFixed(1)} s after the cut; ${dead} powered on and rejoined ${secs(on)} s later; HA-NFS stayed on ${survivor}`);
    }
    const sorted = [...cutRuns].sort((a, b) => a - b);
    console.log(`ha-pacemaker: cut → first good answer over ${SERVICE_IP} (${sorted.length} run${sorted.length > 1 ? 's' : ''}): min ${sorted[0]!.toFixed(1)} s, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} s, max ${sorted.at(-1)!.toFixed(1)} s ` +
      `(loss detection token ${FENCE_S.token} s + consensus ${FENCE_S.consensus} s; fencing: random delay ≤ ${FENCE_S.delayMax} s + msgwait ${FENCE_S.msgwait} s; then file system, address, NFS start); ` +
      `cut → ${MOUNT} exported: ${[...exportRuns].sort((a, b) => a - b).map((x) => x.toFixed(1)).join(' / ')} s`);
  }, LONG);

  it('split brain: the network of the active member is cut; exactly one member ends with the service', async () => {
    expect(active).not.toBe('');
    const boots = Object.fromEntries(MEMBERS.map((h) => [h, bootId(h)]));
    const isolated = active;
    setLink(isolated, 'down');
    const t0 = Date.now();
    // both lose each other after token + consensus; each tries to fence the other through the shared disk.
    // Where HA-NFS runs as the reachable member sees it, every few seconds: the timeline explains where it ends.
    const seen = other(isolated);
    const timeline: string[] = [];
    let last = '';
    while (Date.now() - t0 < 110_000) {
      const v = clusterView(seen);
      const now = v ? `online ${v.online.join('+') || '-'}, HA-NFS on ${v.fsOn.join('+') || 'none'}, mounted on ${mountedOn().filter((h) => !h.endsWith('?')).join('+') || 'none'}` : 'no answer';
      if (now !== last) timeline.push(`${secs(t0)} s ${seen}: ${now}`);
      last = now;
      await sleep(3000);
    }
    setLink(isolated, 'up');
    const joined = await until(t0, 600_000, () => (MEMBERS.every((h) => ssh(h, 'true').code === 0) && clusterView('node1')?.online.length === 2 ? true : undefined));
    expect(joined, clusterState()).toBeDefined();
    const settled = await until(Date.now(), 300_000, () => (mountedOn().length === 1 && serviceAnswer() !== undefined ? true : undefined));
    expect(settled, clusterState()).toBeDefined();
    const rebooted = MEMBERS.filter((h) => bootId(h) !== boots[h]);
    const holder = mountedOn();
    expect(holder).toHaveLength(1);
    expect(rebooted.length, 'at least one member was fenced').toBeGreaterThanOrEqual(1);
    active = holder[0]!;
    console.log(`ha-pacemaker: split brain (network of ${isolated} cut for 110 s): fenced (rebooted): ${rebooted.join(', ')}; HA-NFS on ${active} only; both members back ${joined!.s.toFixed(0)} s after the cut`);
    console.log(`ha-pacemaker: split brain timeline (from the cut):\n  ${timeline.join('\n  ')}\n${splitBrainJournal(t0)}`);
  }, LONG);

  it('down: no cluster daemon left, the data stays on the shared disk and fsck -n finds it clean', () => {
    const content = serviceAnswer()!.split(' ').slice(1).join(' ');
    const t = Date.now();
    const down = cliJson(['down', INV]);
    console.log(`ha-pacemaker: down in ${secs(t)} s`);
    expect(down.code, down.stderr.slice(-3000) + failures(down.json)).toBe(0);
    for (const h of MEMBERS) {
      expect(ssh(h, 'pgrep -l -x "corosync|pacemakerd|pacemaker-based|pacemaker-controld|sbd" || true').stdout.trim(), h).toBe('');
      expect(ssh(h, 'ls /etc/corosync/corosync.conf /etc/corosync/authkey 2>/dev/null || true').stdout.trim(), h).toBe('');
    }
    expect(mountedOn()).toEqual([]);
    const fsck = ssh('node1', `e2fsck -n ${PART}`);
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
    ok('node1', `mkdir -p /mnt/cf-check && mount -o ro ${PART} /mnt/cf-check`);
    expect(ok('node1', 'cat /mnt/cf-check/probe.txt').trim()).toBe(content);
    ok('node1', 'umount /mnt/cf-check && rmdir /mnt/cf-check');
  }, LONG);
});
