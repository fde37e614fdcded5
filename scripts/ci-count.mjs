#!/usr/bin/env node
// CI: turn vitest's JSON report into the final line "N passed, N failed, N skipped".
// A failed test counts once; a test file that failed without any failed test in it (syntax error, import error,
// failing beforeAll/afterAll) counts as one more failure; a missing or unreadable report, a run vitest calls
// unsuccessful, or a non-zero exit code never end with "0 failed".
// Usage: node scripts/ci-count.mjs REPORT.json [VITEST_EXIT_CODE]
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Files whose status is failed although none of their tests failed: their failure is otherwise uncounted. */
export function brokenFiles(report) {
  return (report.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  );
}

/** Counts from a parsed vitest JSON report (undefined = no usable report) and vitest's exit code. */
export function countReport(report, exitCode = 0) {
  if (!report || typeof report !== 'object') return { passed: 0, failed: 1, skipped: 0, notes: ['no usable vitest JSON report'] };
  const notes = brokenFiles(report).map((f) => `failed file (no test in it failed): ${f.name}: ${(f.message || 'see the log above').split('\n')[0]}`);
  let failed = (report.numFailedTests ?? 0) + notes.length;
  if (failed === 0 && (report.numFailedTestSuites ?? 0) > 0) { failed = report.numFailedTestSuites; notes.push(`${failed} failed suites`); }
  if (failed === 0 && report.success === false) { failed = 1; notes.push('vitest reports the run as unsuccessful (e.g. an unhandled error)'); }
  if (failed === 0 && exitCode !== 0) { failed = 1; notes.push(`vitest exited with ${exitCode}`); }
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  return { passed: report.numPassedTests ?? 0, failed, skipped, notes };
}

export function formatCounts(c) {
  return `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;
}

function readReport(file) {
  try { return JSON.parse(readFileSync(file, 'utf8')); } catch { return undefined; }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, rc] = process.argv.slice(2);
  const c = countReport(file ? readReport(file) : undefined, Number(rc ?? 0) || 0);
  for (const n of c.notes) console.log(n);
  console.log(formatCounts(c));
}
