// A lab VM that cannot boot says why, at once; a missing prerequisite is named before anything is made.
// Both run the real CLI (`clusterform lab up`) as root on their own small labs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, VM_COMMANDS, which } from '../../src/lab/prereq.js';
import { artifactPaths, currentFingerprint, ensureArtifacts, packCpio, writeManifest } from '../../src/lab/vm/artifacts.js';
import { netnsExists } from '../../src/lab/net.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = path.join(root, 'bin/clusterform.js');
const inventory = (lab: string, subnet: string) =>
  `cluster: ${lab}\nhosts:\n  v1: { address: ${subnet}.11 }\n` +
  `lab:\n  networks:\n    public: { subnet: ${subnet}.0/24 }\n  hosts:\n    v1: { kind: vm }\n`;

interface CliRun { code: number | null; out: string; endedAt: number }

/** Runs the CLI; `onTick` is called every 100 ms while it runs. */
function runCli(args: string[], env: NodeJS.ProcessEnv, onTick: () => void = () => {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const t = setInterval(onTick, 100);
    p.on('close', (code) => {
      const endedAt = Date.now();
      clearInterval(t);
      onTick(); // a last look: the CLI can see the panic and exit between two ticks
      resolve({ code, out, endedAt });
    });
  });
}

const tmps: string[] = [];
const downs: { inv: string; env: NodeJS.ProcessEnv }[] = [];
afterAll(async () => {
  for (const d of downs) await runCli(['lab', 'down', d.inv], d.env);
  for (const t of tmps) rmSync(t, { recursive: true, force: true });
}, 120_000);

function labDir(lab: string, subnet: string): { dir: string; inv: string } {
  const dir = mkdtempSync(path.join(tmpdir(), `cf-${lab}-`));
  tmps.push(dir);
  const inv = path.join(dir, 'lab.yaml');
  writeFileSync(inv, inventory(lab, subnet));
  return { dir, inv };
}

describe.skipIf(process.getuid?.() !== 0)('lab vm that cannot boot', () => {
  it('a PATH without cpio: lab up names cpio and its package before building, caching or creating anything', async () => {
    const { dir, inv } = labDir('vmprereq', '10.223.1');
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    for (const c of Object.keys({ ...COMMANDS, ...VM_COMMANDS }).filter((c) => c !== 'cpio')) {
      const f = which(c);
      if (f) symlinkSync(f, path.join(bin, c));
    }
    const cache = path.join(dir, 'cache');
    const env = { ...process.env, PATH: bin, CLUSTERFORM_VM_CACHE: cache };
    downs.push({ inv, env: { ...env, PATH: process.env.PATH } }); // in case it does create something
    const r = await runCli(['lab', 'up', inv], env);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/missing commands: cpio \(Debian package cpio\); install them with: apt-get install -y cpio/);
    expect(existsSync(cache)).toBe(false); // nothing built or cached
    expect(existsSync(path.join(dir, '.lab'))).toBe(false); // no lab state
    expect(netnsExists('cf-vmprereq-br')).toBe(false); // no network
  });

  it('an initramfs without a working init: lab up fails within seconds of the panic, with the console tail', { timeout: 180_000 }, async () => {
    const { dir, inv } = labDir('vmfail', '10.223.0');
    // a cache holding the real kernel and a complete (checksummed) initramfs whose /init cannot run
    const real = await ensureArtifacts(process.env.CLUSTERFORM_VM_CACHE ?? '/var/cache/clusterform/vm');
    const cache = path.join(dir, 'cache');
    const tree = path.join(dir, 'broken');
    mkdirSync(tree, { recursive: true });
    writeFileSync(path.join(tree, 'init'), '#!/nonexistent/interpreter\n', { mode: 0o755 });
    writeFileSync(path.join(tree, 'padding'), randomBytes(3 << 19)); // above the minimum size of a cached initramfs
    mkdirSync(cache);
    symlinkSync(real.kernel, artifactPaths(cache).kernel);
    await packCpio(tree, artifactPaths(cache).initrd);
    await writeManifest(cache, real.kernelVersion, await currentFingerprint(real.kernelVersion));

    const env = { ...process.env, CLUSTERFORM_VM_CACHE: cache };
    downs.push({ inv, env });
    const consoleLog = path.join(dir, '.lab/vmfail/hosts/v1/vm/console.log');
    let panicAt = 0;
    const t0 = Date.now();
    const r = await runCli(['lab', 'up', inv], env, () => {
      if (!panicAt && existsSync(consoleLog) && /Kernel panic/.test(readFileSync(consoleLog, 'utf8'))) panicAt = Date.now();
    });
    const total = r.endedAt - t0;
    console.log(`lab up failed after ${(total / 1000).toFixed(1)} s, ${((r.endedAt - panicAt) / 1000).toFixed(1)} s after the panic`);
    expect(r.code, r.out).not.toBe(0);
    expect(panicAt, r.out).toBeGreaterThan(0);
    expect(r.endedAt - panicAt).toBeLessThan(20_000);
    expect(total).toBeLessThan(60_000); // never the 60 s SSH timeout
    expect(r.out).toMatch(/vm v1 failed to boot: .*(Kernel panic|No working init found)/);
    expect(r.out).toMatch(/last console lines \(.*console\.log\):\n(.*\n)*.*No working init found/);
    // the broken initramfs was used as it is (complete and checksummed), not rebuilt
    expect(r.out).not.toMatch(/building base initramfs/);
  });
});
