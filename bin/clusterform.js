#!/usr/bin/env node
import { createRequire } from 'node:module';
const { boot } = createRequire(import.meta.url)('../dist/bundle/boot.cjs');
const code = await boot(process.argv);
// let stdout drain, then exit even if a library left a handle open
process.stdout.write('', () => process.exit(code));
