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

const { existsSync } = require('node:fs');
const path = require('node:path');

/** Folder holding partners/ and schemas/: the service directory. */
const ROOT = path.resolve(__dirname, '..');

/** A Secrets Manager secret name (the characters Secrets Manager allows in one). */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;
/** A complete secret ARN, in any partition, region and account. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/**
 * The IAM Resource for a partner's `sources.sftp.credentials.secretRef`.
 *
 * A name (`partner-ingest/globex/sftp`) becomes the ARN of that secret in the
 * stack's own account and region. Secrets Manager appends "-" and six random
 * characters to every secret ARN, so the pattern ends in `-??????`: exactly six
 * characters, so `…/sftp` does not also match a secret named `…/sftp-admin`
 * (which `-*` would). A Fn::Sub template: CloudFormation fills in the pseudo
 * parameters (secret names cannot contain `$`, `{` or `}`, so nothing else is
 * substituted).
 *
 * An ARN is used as is, so it must be the complete ARN, random suffix included
 * (as the console shows it): a partial ARN would match no secret in IAM.
 */
function secretResource(partner) {
  const ref = partner.sources.sftp.credentials.secretRef;
  const file = ['yml', 'yaml']
    .map((extension) => path.join(ROOT, 'partners', `${partner.id}.${extension}`))
    .find((candidate) => existsSync(candidate));
  const field = 'sources.sftp.credentials.secretRef';
  if (ref.startsWith('arn:')) {
    if (!SECRET_ARN.test(ref)) throw partnerError(file, field, `"${ref}" is not a Secrets Manager secret ARN`);
    return ref;
  }
  if (!SECRET_NAME.test(ref)) throw partnerError(file, field, `"${ref}" is not a Secrets Manager secret name or ARN`);
  return { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${ref}-??????` };
}

/** The loader's own error (file, field, reason), without the stack frames osls would print. */
function partnerError(file, field, reason) {
  const { ConfigError } = require(path.join(ROOT, 'src', 'config', 'errors.ts'));
  const error = new ConfigError(file, field, reason);
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

/**
 * Returns a summary of the partner registry for serverless.yml:
 * - `ids`: every partner id, sorted; `idsCsv`: the same, comma-joined ("none"
 *   when there are no partners, because CloudFormation rejects an empty Output value);
 * - `s3Partners`: ids of partners that upload into the landing bucket;
 * - `sftpPartners`: ids of partners sftp-pull fetches from; `hasSftpPartners`:
 *   "true" or "false" (a string, for a CloudFormation condition);
 * - `sftpSchedules`: sftpPull's `events`, one `schedule` per SFTP partner whose
 *   input names that partner alone (`[]` without SFTP partners);
 * - `sftpSecretArns`: the IAM resources of those partners' login secrets, one
 *   per distinct secret (`[]` without SFTP partners).
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
  const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const partners = [...registry.partners.values()].sort(byId);
  const sftp = partners.filter((partner) => partner.sources.sftp !== undefined);
  const secretArns = new Map();
  for (const partner of sftp) {
    const arn = secretResource(partner);
    secretArns.set(JSON.stringify(arn), arn);
  }
  const ids = partners.map((partner) => partner.id);
  return {
    ids,
    idsCsv: ids.length > 0 ? ids.join(',') : 'none',
    s3Partners: partners.filter((partner) => partner.sources.s3 !== undefined).map((partner) => partner.id),
    sftpPartners: sftp.map((partner) => partner.id),
    hasSftpPartners: sftp.length > 0 ? 'true' : 'false',
    // No `name`: CloudFormation names each rule. The logical ids are positional
    // (SftpPullEventsRuleSchedule1, 2, ...), so a new partner that sorts earlier
    // shifts the rules and CloudFormation replaces them; with fixed names, a
    // replacement would PutRule over a rule of the same name (PutRule upserts) and
    // then delete it as the old one.
    sftpSchedules: sftp.map((partner) => ({
      schedule: {
        rate: [partner.sources.sftp.schedule],
        description: `partner-ingest sftp-pull for partner ${partner.id}`,
        input: { partners: [partner.id] },
      },
    })),
    sftpSecretArns: [...secretArns.values()],
  };
};
