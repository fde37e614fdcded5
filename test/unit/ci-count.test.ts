// .ci/run's final line: vitest's JSON report of a run with broken test files must count those files as failures.
// Runs the real vitest on throwaway test files, then the real counting script (scripts/ci-count.mjs) on its report.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = path.join(root, 'scripts/ci-count.mjs');
const vitestBin = path.join(root, 'node_modules/vitest/vitest.mjs');

const FILES: Record<string, string> = {
  'pass.test.js': `import { it, expect } from 'vitest';\nit('passes', () => expect(1).toBe(1));\n`,
  'fail.test.js': `import { it, expect } from 'vitest';\nit('fails', () => expect(1).toBe(2));\nit('passes', () => {});\n`,
  'syntax.test.js': `import { it } from 'vitest';\nit('never parsed', () => { (\n`,
  'beforeall.test.js':
    `import { beforeAll, describe, it } from 'vitest';\n` +
    `describe('setup', () => {\n  beforeAll(() => { throw new Error('setup broke'); });\n  it('a', () => {});\n  it('b', () => {});\n});\n`,
};

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** Run vitest on the named throwaway files; returns the JSON report's path and vitest's exit code. */
function vitestReport(names: string[]): { report: string; rc: number } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cf-ci-count-'));
  dirs.push(dir);
  for (const n of names) writeFileSync(path.join(dir, n), FILES[n]!);
  const report = path.join(dir, 'report.json');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_ENV'));
  const r = spawnSync(process.execPath, [vitestBin, 'run', '--root', dir, '--reporter=json', `--outputFile.json=${report}`],
    { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  return { report, rc: r.status ?? 1 };
}

function ciCount(...args: string[]): string[] {
  return execFileSync(process.execPath, [script, ...args], { encoding: 'utf8' }).trim().split('\n');
}

describe('ci-count: the final line of .ci/run', { timeout: 60_000 }, () => {
  it('a syntax error, a failing beforeAll and a failing test are three failures (was "2 passed, 1 failed")', () => {
    const { report, rc } = vitestReport(Object.keys(FILES));
    expect(rc).not.toBe(0);
    // the report really has the shape that fooled the old count: one failed test, two files with no failed test
    const json = JSON.parse(readFileSync(report, 'utf8'));
    expect(json.numFailedTests).toBe(1);
    const lines = ciCount(report, String(rc));
    expect(lines.at(-1)).toBe('2 passed, 3 failed, 2 skipped');
    expect(lines.join('\n')).toContain('syntax.test.js');
    expect(lines.join('\n')).toContain('beforeall.test.js');
  });

  it('only a broken file: no test ran, still one failure', () => {
    const { report, rc } = vitestReport(['syntax.test.js']);
    expect(ciCount(report, String(rc)).at(-1)).toBe('0 passed, 1 failed');
  });

  it('all good: N passed, 0 failed', () => {
    const { report, rc } = vitestReport(['pass.test.js']);
    expect(rc).toBe(0);
    expect(ciCount(report, String(rc)).at(-1)).toBe('1 passed, 0 failed');
  });

  it('missing or empty report: a failure line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cf-ci-count-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'empty.json'), '');
    expect(ciCount(path.join(dir, 'absent.json'), '1').at(-1)).toBe('0 passed, 1 failed');
    expect(ciCount(path.join(dir, 'empty.json'), '0').at(-1)).toBe('0 passed, 1 failed');
  });

  it('.ci/run prints the script\'s line', () => {
    expect(readFileSync(path.join(root, '.ci/run'), 'utf8')).toMatch(/node scripts\/ci-count\.mjs "\$report" "\$rc"/);
  });
});
