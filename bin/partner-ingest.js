#!/usr/bin/env node
// The operator and partner CLI, run from a checkout after `npm ci`: its TypeScript
// source is compiled on load by tsx (a dev dependency; nothing of it ships to Lambda).
require('tsx/cjs');
const { main } = require('../src/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => { console.error(`partner-ingest: ${error && error.stack ? error.stack : error}`); process.exitCode = 2; },
);
