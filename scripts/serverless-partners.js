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

const { createHash } = require('node:crypto');
const { existsSync } = require('node:fs');
const path = require('node:path');
const { partnerCountAlarm, pascalCase } = require('./partner-resources');
const { sftpPushEndpoint } = require('./serverless-sftp-push');

/** Folder holding partners/ and schemas/: the service directory. */
const ROOT = path.resolve(__dirname, '..');

/** A Secrets Manager secret name (the characters Secrets Manager allows in one). */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;
/** A complete secret ARN, in any partition, region and account. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/**
 * The IAM Resource for a secret a partner file references: `ref` is the value
 * of `field` (`sources.sftp.credentials.secretRef`, a feed's
 * `encryption.privateKeyRef`).
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
function secretResource(partner, ref, field) {
  const file = partnerFile(partner.id);
  if (ref.startsWith('arn:')) {
    if (!SECRET_ARN.test(ref)) throw partnerError(file, field, `"${ref}" is not a Secrets Manager secret ARN`);
    return ref;
  }
  if (!SECRET_NAME.test(ref)) throw partnerError(file, field, `"${ref}" is not a Secrets Manager secret name or ARN`);
  return { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${ref}-??????` };
}

/**
 * tsx's require hook, so the loader can be required straight from src/. Registered
 * on first use (not on load, so the tests can require this file for its pure
 * helpers). This is the documented `tsx/cjs` entry point; it stays registered for
 * the rest of the osls process, which only affects .ts (and ESM-syntax) files osls
 * itself never loads.
 */
function requireTs(file) {
  require('tsx/cjs');
  return require(file);
}

/** IAM's limit on a role name. */
const MAX_ROLE_NAME = 64;

/**
 * The name of a partner's write role: `<service>-<stage>-partner-<id>`, e.g.
 * `partner-ingest-prod-partner-acme`. Deterministic, so the ARN handed to the
 * partner survives redeploys. Partner ids may have 32 characters and stage names
 * are free, so the name can exceed IAM's 64: then it keeps its first 55 characters
 * and ends in `-` and 8 hex characters of the SHA-256 of the full name (still
 * deterministic, still unique per stage and partner).
 */
function partnerRoleName(service, stage, id) {
  const full = `${service}-${stage}-partner-${id}`;
  if (full.length <= MAX_ROLE_NAME) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_ROLE_NAME - hash.length - 1)}-${hash}`;
}

/** Logical ids of a partner's write role and of the Output with its ARN. */
function partnerRoleLogicalIds(id) {
  const role = `Partner${pascalCase(id)}WriteRole`;
  return { role, output: `${role}Arn` };
}

/**
 * Logical ids of one resource per partner, `idOf(partner.id)`; two partner ids
 * that would name the same resource (`a-b` and `a--b`) fail the package.
 */
function logicalIdsOf(partners, idOf) {
  const owners = new Map();
  for (const partner of partners) {
    const logicalId = idOf(partner.id);
    if (owners.has(logicalId)) {
      throw partnerError(
        partnerFile(partner.id),
        'id',
        `"${partner.id}" and "${owners.get(logicalId)}" would name the same CloudFormation resource ${logicalId}; rename one`,
      );
    }
    owners.set(logicalId, partner.id);
  }
  return new Map([...owners].map(([logicalId, id]) => [id, logicalId]));
}

/**
 * The CloudFormation of the S3-drop partners' write access: for each partner with
 * `sources.s3`, an IAM role it assumes to upload into `inbound/<id>/` of the landing
 * bucket and nothing else (PutObject, plus AbortMultipartUpload and
 * ListMultipartUploadParts for multipart uploads; with SSE-KMS, the landing key's
 * GenerateDataKey and Decrypt, which multipart uploads need), and an Output with the
 * role's ARN. Trusted by `sources.s3.principals` (IAM ARNs of the partner's
 * account, roles or users), or, when none are configured, by this account's root:
 * then nobody can assume it until an administrator of this account allows a
 * principal of ours to (to hand out an IAM user's keys, or to test).
 * `{ Resources, Outputs }`, merged into serverless.yml's `resources`.
 */
function partnerWriteAccess(service, stage, s3Partners) {
  const Resources = {};
  const Outputs = {};
  logicalIdsOf(s3Partners, (id) => partnerRoleLogicalIds(id).role); // throws if two partners would share a role
  for (const partner of s3Partners) {
    const { role, output } = partnerRoleLogicalIds(partner.id);
    const principals = partner.sources.s3.principals ?? [];
    Resources[role] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: partnerRoleName(service, stage, partner.id),
        Description: `${service} ${stage}: partner ${partner.id} uploads into inbound/${partner.id}/ of the landing bucket`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: principals.length > 0 ? 'PartnerPrincipals' : 'ThisAccountHandsItOut',
              Effect: 'Allow',
              Principal: {
                AWS:
                  principals.length > 0
                    ? [...principals]
                    : { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
              },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        Policies: [
          {
            PolicyName: `write-inbound-${partner.id}`,
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'UploadOwnInboundPrefix',
                  Effect: 'Allow',
                  Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
                  Resource: { 'Fn::Sub': `\${LandingBucket.Arn}/inbound/${partner.id}/*` },
                },
                {
                  'Fn::If': [
                    'LandingUsesKms',
                    {
                      Sid: 'LandingKey',
                      Effect: 'Allow',
                      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
                      Resource: { 'Fn::GetAtt': ['LandingKey', 'Arn'] },
                    },
                    { Ref: 'AWS::NoValue' },
                  ],
                },
              ],
            },
          },
        ],
      },
    };
    Outputs[output] = {
      Description: `Hand to partner ${partner.id}: assume it to upload into s3://<LandingBucketName>/inbound/${partner.id}/`,
      Value: { 'Fn::GetAtt': [role, 'Arn'] },
    };
  }
  return { Resources, Outputs };
}

/**
 * One alarm per SFTP partner on the `SftpPullFailed` metric sftpPull counts for
 * each of its runs (src/sftp/pull-all.ts): 1 when the run could not hand off
 * the partner's files, 0 when it could. Missing data is treated as missing, so
 * the alarm stays in alarm from a failed run to the next good one (a schedule
 * of hours neither clears it nor makes it flap), notifying the alarm topic
 * when it fires and when it recovers. `{ Resources }`, merged into the stack.
 */
function sftpPullAlarms(stage, metrics, sftpPartners) {
  const logicalIds = logicalIdsOf(sftpPartners, (id) => `SftpPull${pascalCase(id)}FailedAlarm`);
  const Resources = {};
  for (const partner of sftpPartners) {
    Resources[logicalIds.get(partner.id)] = partnerCountAlarm({
      stage,
      metrics,
      partnerId: partner.id,
      name: 'sftp-pull-failed',
      description:
        `sftpPull could not fetch partner ${partner.id}'s files (login, DNS, connection, timeout, host key or a failed transfer); ` +
        `its feed is stopped until a run succeeds. See sftpPull's log group for partner ${partner.id}.`,
      metricName: 'SftpPullFailed',
      treatMissingData: 'missing',
    });
  }
  return { Resources };
}

/** partners/<id>.yml (or .yaml) as it exists, for error messages. */
function partnerFile(id) {
  return (
    ['yml', 'yaml']
      .map((extension) => path.join(ROOT, 'partners', `${id}.${extension}`))
      .find((candidate) => existsSync(candidate)) ?? path.join(ROOT, 'partners', `${id}.yml`)
  );
}

/** The loader's own error (file, field, reason), without the stack frames osls would print. */
function partnerError(file, field, reason) {
  const { ConfigError } = requireTs(path.join(ROOT, 'src', 'config', 'errors.ts'));
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
 *   per distinct secret (`[]` without SFTP partners);
 * - `pgpSecretArns`: the IAM resources of encrypted feeds' decryption-key
 *   secrets (`encryption.privateKeyRef`), one per distinct secret, for
 *   ingestFile; `hasEncryptedFeeds`: "true" or "false";
 * - `writeAccess`: `{ Resources, Outputs }` with one write role per S3-drop
 *   partner and its ARN (see partnerWriteAccess), merged into the stack;
 * - `sftpPullAlarms`: `{ Resources }` with one alarm per SFTP partner (see
 *   sftpPullAlarms), merged into the stack;
 * - `pushPartners`: ids of partners that upload to the SFTP push endpoint;
 * - `sftpPush`: `{ Resources, Outputs }` of that endpoint (the Transfer Family
 *   server and a user per push partner: scripts/serverless-sftp-push.js), empty
 *   without push partners, merged into the stack.
 *
 * osls calls it with `resolveVariable`, used for the service and stage names,
 * the metrics settings and the push endpoint's stage params.
 */
async function partnersSummary({ resolveVariable }) {
  // Resolved first: if osls is not ready to resolve them yet it calls this again
  // later, and the registry below is then loaded once only.
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const metrics = await resolveVariable('self:custom.metrics');
  const logRetentionDays = await resolveVariable('param:logRetentionDays');
  const pushParams = {
    endpointType: await resolveVariable('param:sftpPushEndpointType'),
    vpcId: await resolveVariable('param:sftpPushVpcId'),
    subnetIds: await resolveVariable('param:sftpPushSubnetIds'),
    addressAllocationIds: await resolveVariable('param:sftpPushAddressAllocationIds'),
    allowedCidrs: await resolveVariable('param:sftpPushAllowedCidrs'),
    pushedUploadsRetentionDays: await resolveVariable('param:pushedUploadsRetentionDays'),
  };
  // The checked loader: a partner's PGP key that is not one, has expired or cannot encrypt fails packaging too.
  const { loadCheckedPartnerRegistry } = requireTs(path.join(ROOT, 'src', 'config', 'load-checked.ts'));
  let registry;
  try {
    registry = await loadCheckedPartnerRegistry({ root: ROOT });
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
    const arn = secretResource(partner, partner.sources.sftp.credentials.secretRef, 'sources.sftp.credentials.secretRef');
    secretArns.set(JSON.stringify(arn), arn);
  }
  // ingestFile reads the decryption key of every encrypted feed, and no other secret.
  const pgpSecretArns = new Map();
  for (const partner of partners) {
    partner.feeds.forEach((feed, index) => {
      if (!feed.encryption) return;
      const arn = secretResource(partner, feed.encryption.privateKeyRef, `feeds[${index}].encryption.privateKeyRef`);
      pgpSecretArns.set(JSON.stringify(arn), arn);
    });
  }
  const ids = partners.map((partner) => partner.id);
  const s3 = partners.filter((partner) => partner.sources.s3 !== undefined);
  const push = partners.filter((partner) => partner.sources.sftpPush !== undefined);
  return {
    ids,
    idsCsv: ids.length > 0 ? ids.join(',') : 'none',
    s3Partners: s3.map((partner) => partner.id),
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
    hasEncryptedFeeds: pgpSecretArns.size > 0 ? 'true' : 'false',
    pgpSecretArns: [...pgpSecretArns.values()],
    writeAccess: partnerWriteAccess(service, stage, s3),
    sftpPullAlarms: sftpPullAlarms(stage, metrics, sftp),
    pushPartners: push.map((partner) => partner.id),
    sftpPush: sftpPushEndpoint({ service, stage, logRetentionDays: Number(logRetentionDays), params: pushParams, metrics }, push, logicalIdsOf),
  };
}

module.exports = partnersSummary;
// Pure helpers, for the tests (test/deploy/package-partners-sftp.test.ts).
module.exports.partnerRoleName = partnerRoleName;
module.exports.partnerRoleLogicalIds = partnerRoleLogicalIds;
