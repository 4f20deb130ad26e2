#!/usr/bin/env node
// Runs a TypeScript script (`npm start`, `npm run demo`) from the JavaScript
// bin/build.js makes of it, rebuilt first if one of its sources changed.
// Benchmarks and test helpers keep bin/run-ts.js: compiled on load, no build.
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { builtEntry } = require('./build');

const [entry, ...rest] = process.argv.slice(2);
const source = path.resolve(entry);
// As under run-ts.js: the script sees its own path, then its arguments.
process.argv = [process.argv[0], source, ...rest];
builtEntry(path.relative(path.resolve(__dirname, '..'), source))
  .then((file) => import(pathToFileURL(file).href))
  .catch((error) => {
    console.error(error && error.code === 'BUILD_FAILED' ? error.message : error);
    process.exitCode = 1;
  });
