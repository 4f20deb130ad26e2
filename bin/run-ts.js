#!/usr/bin/env node
// Runs a TypeScript entry point (scripts, benchmarks) without a build step.
require('tsx/cjs');
const path = require('node:path');
const [entry, ...rest] = process.argv.slice(2);
process.argv = [process.argv[0], entry, ...rest];
require(path.resolve(entry));
