#!/usr/bin/env node
// The operator and partner CLI. Source is TypeScript, compiled on load by tsx.
require('tsx/cjs');
const { main } = require('../src/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => { console.error(`partner-ingest: ${error && error.stack ? error.stack : error}`); process.exitCode = 2; },
);
