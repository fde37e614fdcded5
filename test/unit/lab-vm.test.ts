// Lab VM: cache validation of the kernel + base initramfs, loud packing, boot-failure detection on captured
// console output, and the prerequisite list (every command the lab and the VM builder run).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { artifactPaths, checkCache, listCpio, MIN_BYTES, packCpio, writeManifest } from '../../src/lab/vm/artifacts.js';
import { bootFailure, consoleTail, vmBootProblem } from '../../src/lab/vm.js';
import { COMMANDS, missingCommands, missingMessage, VM_COMMANDS, which } from '../../src/lab/prereq.js';

const fx = (n: string) => readFileSync(new URL(`../fixtures/${n}`, import.meta.url), 'utf8');
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'cf-lab-vm-'));
  dirs.push(d);
  return d;
};
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('vm artefact cache', () => {
  const fp = async (kver: string) => `fp-${kver}`;
  /** A cache as a complete build leaves it: kernel + initramfs of a plausible size, then the manifest. */
  async function builtCache(): Promise<string> {
    const dir = tempDir();
    const p = artifactPaths(dir);
    writeFileSync(p.kernel, randomBytes(MIN_BYTES.kernel + 4096));
    writeFileSync(p.initrd, randomBytes(MIN_BYTES.initrd + 8192));
    await writeManifest(dir, '6.1.0-test-cloud-amd64', await fp('6.1.0-test-cloud-amd64'));
    return dir;
  }

  it('a complete build is used', async () => {
    const r = await checkCache(await builtCache(), fp);
    expect(r).toMatchObject({ manifest: { kernelVersion: '6.1.0-test-cloud-amd64' } });
  });

  it('no manifest (a build that did not finish): rebuilt', async () => {
    const dir = await builtCache();
    rmSync(artifactPaths(dir).stamp);
    expect(await checkCache(dir, fp)).toEqual({ problem: expect.stringMatching(/no readable manifest/) });
  });

  it('a truncated initramfs is rebuilt, not used', async () => {
    const dir = await builtCache();
    truncateSync(artifactPaths(dir).initrd, MIN_BYTES.initrd + 100);
    expect(await checkCache(dir, fp)).toEqual({ problem: expect.stringMatching(/base-initrd\.cpio\.gz is \d+ bytes, the manifest says/) });
  });

  it('a 20-byte initramfs (gzip of nothing) is rebuilt even with a manifest written for it', async () => {
    const dir = await builtCache();
    writeFileSync(artifactPaths(dir).initrd, Buffer.alloc(20));
    await writeManifest(dir, '6.1.0-test-cloud-amd64', await fp('6.1.0-test-cloud-amd64'));
    expect(await checkCache(dir, fp)).toEqual({ problem: expect.stringMatching(/base-initrd\.cpio\.gz is 20 bytes \(a complete one has at least/) });
  });

  it('same size, other content: checksum mismatch', async () => {
    const dir = await builtCache();
    const k = artifactPaths(dir).kernel;
    writeFileSync(k, randomBytes(statSync(k).size));
    expect(await checkCache(dir, fp)).toEqual({ problem: expect.stringMatching(/vmlinuz does not match its checksum/) });
  });

  it('host binaries changed since the build: rebuilt', async () => {
    const dir = await builtCache();
    expect(await checkCache(dir, async () => 'other')).toEqual({ problem: expect.stringMatching(/changed since the build/) });
  });

  it('a manifest of the old format (no checksums) is not trusted', async () => {
    const dir = await builtCache();
    writeFileSync(artifactPaths(dir).stamp, JSON.stringify({ fingerprint: 'fp-x', kernelVersion: 'x' }));
    expect(await checkCache(dir, fp)).toHaveProperty('problem');
  });
});

describe('packing the initramfs', () => {
  function tree(): string {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'root/etc/clusterform'), { recursive: true });
    writeFileSync(path.join(dir, 'root/init'), '#!/bin/sh\n');
    writeFileSync(path.join(dir, 'root/etc/clusterform/zz-done'), 'ok\n');
    writeFileSync(path.join(dir, 'root/zzz'), 'sorted after the marker\n');
    return dir;
  }

  it('packs every entry with the marker last, and lists them back', async () => {
    const dir = tree();
    const out = path.join(dir, 'out.cpio.gz');
    const n = await packCpio(path.join(dir, 'root'), out, { last: 'etc/clusterform/zz-done' });
    const names = await listCpio(out);
    expect(names).toHaveLength(n);
    expect(names.at(-1)).toBe('etc/clusterform/zz-done');
    expect(names).toEqual(expect.arrayContaining(['init', 'zzz', 'etc', 'etc/clusterform']));
  });

  it('without cpio it fails loudly and leaves no archive (it used to write a 20-byte gzip of nothing)', async () => {
    const dir = tree();
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    for (const c of ['find', 'sh', 'gzip']) symlinkSync(which(c)!, path.join(bin, c)); // all but cpio
    const out = path.join(dir, 'out.cpio.gz');
    const saved = process.env.PATH;
    process.env.PATH = bin;
    try {
      await expect(packCpio(path.join(dir, 'root'), out)).rejects.toThrow(/cpio failed \(exit 127\)/);
    } finally {
      process.env.PATH = saved;
    }
    expect(existsSync(out)).toBe(false);
  });

  it('a truncated archive cannot be listed', async () => {
    const dir = tree();
    const out = path.join(dir, 'out.cpio.gz');
    await packCpio(path.join(dir, 'root'), out);
    truncateSync(out, 40);
    await expect(listCpio(out)).rejects.toThrow();
  });
});

describe('boot failure on the VM console', () => {
  const panic = fx('vm-console.no-init.txt');
  const booted = fx('vm-console.booted.txt');

  it('a captured "no working init" panic is detected', () => {
    expect(bootFailure(panic)).toMatch(/Kernel panic - not syncing: No working init found/);
  });

  it('the tail holds the last 20 console lines, without carriage returns', () => {
    const tail = consoleTail(panic);
    expect(tail.split('\n')).toHaveLength(Math.min(20, panic.split('\n').filter((l) => l.trim()).length));
    expect(tail).toContain('Kernel panic');
    expect(tail).not.toContain('\r');
  });

  it('a console of a VM that booted is not a failure', () => {
    expect(bootFailure(booted)).toBeUndefined();
    expect(consoleTail(booted, 3).split('\n')).toHaveLength(3);
  });

  it('the report names the panic and carries the console tail; a VM whose qemu is gone is reported even without a panic', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'qemu.pid'), `${process.pid}\n`); // a live process, but not qemu
    writeFileSync(path.join(dir, 'console.log'), panic);
    const msg = vmBootProblem(dir, 'director')!;
    expect(msg).toMatch(/^vm director failed to boot: \[ *[\d.]+\] Kernel panic - not syncing: No working init found/);
    expect(msg).toContain(`last console lines (${path.join(dir, 'console.log')}):\n${consoleTail(panic)}`);
    writeFileSync(path.join(dir, 'console.log'), booted);
    writeFileSync(path.join(dir, 'qemu.log'), 'qemu-system-x86_64: -netdev tap: could not open /dev/net/tun\n');
    expect(vmBootProblem(dir, 'director')).toMatch(/failed to boot: qemu exited\n[^]*Server listening[^]*qemu\.log:\nqemu-system-x86_64: -netdev/);
  });

  it.each([
    ['Attempted to kill init! exitcode=0x00000100', 'Attempted to kill init'],
    ['---[ end Kernel panic - not syncing: VFS: Unable to mount root fs ]---', 'end Kernel panic'],
  ])('"%s" counts as a failed boot', (line, what) => {
    expect(bootFailure(`[    1.0] foo\r\n${line}\r\n`)).toContain(what);
  });
});

describe('lab prerequisites', () => {
  it('a PATH without cpio names cpio and its Debian package', () => {
    const dir = tempDir();
    for (const c of Object.keys({ ...COMMANDS, ...VM_COMMANDS }).filter((c) => c !== 'cpio')) {
      const f = which(c);
      if (f) symlinkSync(f, path.join(dir, c));
    }
    const missing = missingCommands(true, dir);
    expect(missing).toContainEqual({ cmd: 'cpio', pkg: 'cpio' });
    expect(missingMessage(missing)).toMatch(/missing commands: .*cpio \(Debian package cpio\).*apt-get install -y .*cpio/);
    expect(missingCommands(false, dir).map((m) => m.cmd)).not.toContain('cpio'); // ns-only labs do not need it
  });

  it('the VM builder\'s commands are all checked', () => {
    const src = readFileSync(new URL('../../src/lab/vm/artifacts.ts', import.meta.url), 'utf8');
    const used = new Set([...src.matchAll(/\b(?:run|runChecked)\('([^'/]+)'/g)].map((m) => m[1]!));
    for (const m of src.matchAll(/spawnPiped\('([^']+)'/g)) used.add(m[1]!);
    expect([...used].sort()).toEqual(expect.arrayContaining(['cpio', 'depmod', 'xz']));
    for (const c of used) expect(Object.keys({ ...COMMANDS, ...VM_COMMANDS }), `${c} runs in the VM builder`).toContain(c);
  });

  it('scripts/install-deps.sh installs every package the checks name', () => {
    const script = readFileSync(new URL('../../scripts/install-deps.sh', import.meta.url), 'utf8');
    const pkgs = (/^PKGS="([^"]+)"/m.exec(script)?.[1] ?? '').split(/\s+/);
    for (const p of new Set(Object.values({ ...COMMANDS, ...VM_COMMANDS }))) expect(pkgs, p).toContain(p);
  });
});
