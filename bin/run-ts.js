#!/usr/bin/env node
// Runs a TypeScript entry point (benchmarks, test helpers) without a build step.
// tsx/cjs compiles what is require()d; an import() is left to node, which finds
// no .ts file: run the CLI (src/cli/main.ts loads its commands so) with bin/partner-ingest.js.
require('tsx/cjs');
const path = require('node:path');
const [entry, ...rest] = process.argv.slice(2);
process.argv = [process.argv[0], entry, ...rest];
require(path.resolve(entry));
