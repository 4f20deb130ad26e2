#!/usr/bin/env node
// The operator and partner CLI, run from a checkout after `npm ci`. It runs the
// JavaScript bin/build.js makes of src/cli/main.ts (on `npm ci`, and again on
// the first run after a source changed) instead of compiling TypeScript on
// every call. NODE_OPTIONS=--enable-source-maps shows stacks in the .ts sources.
const { pathToFileURL } = require('node:url');
const { builtEntry } = require('./build');

builtEntry('src/cli/main.ts')
  .then((file) => import(pathToFileURL(file).href))
  .then(({ main }) => main(process.argv.slice(2)))
  .then(
    (code) => { process.exitCode = code; },
    (error) => {
      console.error(`partner-ingest: ${error && error.code === 'BUILD_FAILED' ? error.message : error && error.stack ? error.stack : error}`);
      process.exitCode = 2;
    },
  );
