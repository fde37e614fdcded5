// The package as a user installs it: `npm pack` (prepack builds), `npm install -g --prefix` into a fresh temporary
// prefix, then the installed `clusterform` (not this checkout's) prints its version and runs `up` on lab hosts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cli, isRoot, ROOT } from '../helpers.js';

const INV = resolve(ROOT, 'test/lab/inventories/ns3.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'cf-pack-'));
const prefix = join(tmp, 'prefix');
const bin = join(prefix, 'bin', 'clusterform');
const version = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version;
// the installed binary runs with a PATH that has node but not this checkout
const run = (args: string[]) => spawnSync(bin, args, { encoding: 'utf8', cwd: tmp, env: { PATH: process.env.PATH!, HOME: process.env.HOME!, CI: 'true' }, timeout: 300_000 });

describe.skipIf(!isRoot)('packaging: the installed tarball works', () => {
  let tarball = '';
  beforeAll(() => {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
    const info = JSON.parse(out.slice(out.indexOf('[')))[0];
    tarball = join(tmp, info.filename);
    const files: string[] = info.files.map((f: { path: string }) => f.path);
    expect(files).toContain('dist/src/cli/main.js');
    expect(files).toContain('playbooks/site.yaml');
    expect(files.some((f) => f.startsWith('templates/'))).toBe(true);
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: tmp, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
    const lab = cli(['lab', 'up', INV]);
    if (lab.code !== 0) throw new Error(`lab up failed: ${lab.stderr}`);
  }, 600_000);
  afterAll(() => {
    cli(['lab', 'down', INV]);
    rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('--version and -V print the package version', () => {
    for (const f of ['--version', '-V']) expect(run([f])).toMatchObject({ status: 0, stdout: `${version}\n` });
  });

  it('the installed binary runs up on the lab hosts, and a second up changes nothing', () => {
    const first = run(['up', INV, '--json']);
    expect(first.status, first.stderr).toBe(0);
    const j = JSON.parse(first.stdout);
    expect(j.format_version).toBe(1);
    expect(j.recap.map((h: any) => h.host)).toEqual(['a1', 'a2', 'a3']);
    const again = JSON.parse(run(['up', INV, '--json']).stdout);
    expect(again.changed).toBe(0);
  });
});
