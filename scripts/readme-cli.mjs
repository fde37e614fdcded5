#!/usr/bin/env node
// Writes the CLI reference section of README.md from the commander definition (npm run build first).
// `--check`: exit 1 when README.md differs from what would be written (the unit test test/unit/cli-readme does the same).
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { buildProgram } = await import(resolve(root, 'dist/src/cli/main.js'));
const { cliReference, withReference } = await import(resolve(root, 'dist/src/cli/reference.js'));
const file = resolve(root, 'README.md');
const old = readFileSync(file, 'utf8');
const next = withReference(old, cliReference(buildProgram()));
if (process.argv.includes('--check')) {
  if (old !== next) { process.stderr.write('README.md: the CLI reference differs from the CLI definition; run `npm run readme`\n'); process.exit(1); }
} else if (old !== next) {
  writeFileSync(file, next);
  process.stdout.write('README.md: CLI reference updated\n');
}
