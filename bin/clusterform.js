#!/usr/bin/env node
const { main } = await import('../dist/bundle/main.js');
const code = await main(process.argv);
// let stdout drain, then exit even if a library left a handle open
process.stdout.write('', () => process.exit(code));
