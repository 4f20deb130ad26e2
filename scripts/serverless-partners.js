// Serverless Framework variable source: `custom.partners: ${file(./scripts/serverless-partners.js)}`.
//
// Loads and validates every partners/*.yml with the same TypeScript loader the
// Lambda uses (src/config/load-partners.ts), so a bad partner file fails
// `sls package` / `sls deploy` before anything reaches AWS. The ConfigError is
// deliberately not caught: osls prints its message, which names the file, the
// field and the reason, and exits non-zero.
//
// Plain CommonJS because osls `require`s it; tsx teaches `require` TypeScript.
'use strict';

// tsx's require hook, so the loader below can be required straight from src/.
// This is the documented `tsx/cjs` entry point; it stays registered for the rest
// of the osls process, which only affects .ts (and ESM-syntax) files osls itself
// never loads.
require('tsx/cjs');

const path = require('node:path');

/** Folder holding partners/ and schemas/: the service directory. */
const ROOT = path.resolve(__dirname, '..');

/**
 * Returns a small summary of the partner registry for serverless.yml:
 * `ids` (every partner id, sorted), `idsCsv` (the same, comma-joined; "none" when
 * there are no partners, because CloudFormation rejects an empty Output value)
 * and `s3Partners` (ids of partners that upload into the landing bucket).
 */
module.exports = async function partnersSummary() {
  const { loadPartnerRegistry } = require(path.join(ROOT, 'src', 'config', 'load-partners.ts'));
  let registry;
  try {
    registry = loadPartnerRegistry({ root: ROOT });
  } catch (error) {
    // osls prints error.stack; for a bad partner file the message (file, field,
    // reason) is the whole story, so drop the stack frames. Still rethrown as is.
    if (error && error.code === 'CONFIG_INVALID') error.stack = `${error.name}: ${error.message}`;
    throw error;
  }
  const partners = [...registry.partners.values()];
  const ids = partners.map((partner) => partner.id).sort();
  return {
    ids,
    idsCsv: ids.length > 0 ? ids.join(',') : 'none',
    s3Partners: partners
      .filter((partner) => partner.sources.s3 !== undefined)
      .map((partner) => partner.id)
      .sort(),
  };
};
