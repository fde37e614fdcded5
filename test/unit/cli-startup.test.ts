// Start-up: what the built CLI loads per command. `--version` loads no package, `--help` and usage errors commander
// only (no ssh2, handlebars, yaml, listr2); a run command off a terminal never loads listr2. No timing
// assertion here (start-up time is measured by `npm run bench`): the packages loaded through require are counted.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const MAIN = resolve(ROOT, 'dist/src/cli/main.js');

/** Run the CLI's main() in a fresh node with these arguments: its exit code, output, and the npm packages it required. */
function loaded(args: string[]): { code: number; out: string; packages: string[] } {
  const script = `
import { createRequire } from 'node:module';
const { main } = await import(${JSON.stringify(MAIN)});
const code = await main(['node', 'clusterform', ...${JSON.stringify(args)}]);
const files = Object.keys(createRequire(import.meta.url).cache);
const pk = new Set(files.map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean));
process.stderr.write('\\nLOADED ' + JSON.stringify({ code, packages: [...pk].sort() }) + '\\n');
`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, CI: 'true' }, timeout: 60_000 });
  const m = /\nLOADED (.*)\n/.exec(r.stderr);
  if (!m) throw new Error(`no report: ${r.stderr}`);
  const j = JSON.parse(m[1]!);
  return { code: j.code, out: r.stdout, packages: j.packages };
}

describe('CLI start-up loads only what the command needs', () => {
  it('--version loads no package; --help commander only', () => {
    for (const flag of ['--version', '-V']) {
      const v = loaded([flag]);
      expect(v.code).toBe(0);
      expect(v.out).toMatch(/^\d+\.\d+\.\d+\n$/);
      expect(v.packages).toEqual([]);
    }
    const h = loaded(['up', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toContain('build or converge the cluster');
    expect(h.packages).toEqual(['commander']);
  });

  it('a usage error loads commander only', () => {
    const u = loaded(['up', 'a.yaml', '--forks', 'x']);
    expect(u.code).toBe(2);
    expect(u.packages).toEqual(['commander']);
  });

  it('up off a terminal loads the library (ssh2) but not listr2', () => {
    const u = loaded(['up', resolve(ROOT, 'no-such-inventory.yaml')]);
    expect(u.code).toBe(2);
    expect(u.packages).toContain('ssh2');
    expect(u.packages).not.toContain('listr2');
  });
});
