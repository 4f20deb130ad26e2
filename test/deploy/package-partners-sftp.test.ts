/**
 * What partners/*.yml makes of the package: the files shipped beside the bundle,
 * sftpPull's schedules, secrets and role (and its bundle without native add-ons),
 * the S3-drop partners' write roles, and a broken partner file stopping `sls package`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  asList,
  expectNoWildcards,
  grants,
  HOOLI_PRINCIPALS,
  INITECH_SECRET_ARN,
  packagedVariants,
  roleStatements,
  sftpPartnersIn,
  sftpPullFunction,
} from './package-variants';
import {
  type CfnTemplate,
  output,
  PACKAGE_TIMEOUT_MS,
  type Packaged,
  removeCopies,
  resource,
  resourcesOfType,
  run,
  scratchDir,
  zipEntryContent,
} from './packaging';

const LOAD_TIMEOUT_MS = 30_000;

/** The IAM resource expected for a secret name: its ARN in the stack's account and region, any 6-char suffix. */
const secretArnPattern = (name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????`,
});

/** Schedule rules other than checkExpectations' (test/deploy/package-expectations.test.ts). */
const partnerRules = (template: CfnTemplate) =>
  resourcesOfType(template, 'AWS::Events::Rule').filter(
    ([, rule]) => !JSON.stringify(rule.Properties?.Targets ?? []).includes('"CheckExpectationsLambdaFunction"'),
  );

/** sftpPull's schedule rules: expression, input and target, in no particular order. */
function sftpSchedules(template: CfnTemplate): { expression: string; input: unknown; target: unknown; state: string }[] {
  return partnerRules(template)
    .filter(([, rule]) => rule.Properties?.ScheduleExpression !== undefined)
    .map(([, rule]) => {
      const targets = rule.Properties!.Targets as Record<string, any>[];
      expect(targets).toHaveLength(1);
      return {
        expression: rule.Properties!.ScheduleExpression as string,
        input: JSON.parse(targets[0]!.Input as string),
        target: targets[0]!.Arn,
        state: rule.Properties!.State as string,
      };
    });
}

let dev: Packaged;
let prod: Packaged;
let kms: Packaged;
let noSftp: Packaged;
let moreSftp: Packaged;
let broken: Packaged;

beforeAll(async () => {
  [dev, prod, kms, noSftp, moreSftp, broken] = await packagedVariants('dev', 'prod', 'kms', 'no-sftp', 'more-sftp', 'broken');
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(removeCopies);

describe('sls package --stage dev', () => {
  test('the package is configured from partners/*.yml and ships partners/ and schemas/ beside the bundle', () => {
    expect(dev.template.Outputs?.PartnerIds?.Value).toBe('acme,globex');
    expect(dev.zipEntries).toEqual(
      expect.arrayContaining([
        'functions/ingest-file.js',
        'functions/sftp-pull.js',
        'partners/acme.yml',
        'partners/globex.yml',
        'schemas/partner.schema.json',
        'schemas/records/orders.v1.schema.json',
        'schemas/records/shipments.v1.schema.json',
      ]),
    );
    expect(dev.zipEntries.filter((name) => name.startsWith('node_modules/'))).toEqual([]);
  });
});

describe('sftpPull', () => {
  test('runs on nodejs24.x / arm64 for up to 15 minutes, with reserved concurrency and no VPC', () => {
    const fn = sftpPullFunction(dev.template);
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Timeout).toBe(900);
    expect(fn.Properties.MemorySize).toBe(1024);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(2);
    expect(fn.Properties.VpcConfig).toBeUndefined();
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['SftpPullRole', 'Arn'] });
  });

  test('gets every environment variable the code reads', () => {
    const variables = sftpPullFunction(dev.template).Properties.Environment.Variables as Record<string, unknown>;
    expect(variables).toEqual({
      LANDING_BUCKET: { Ref: 'LandingBucket' },
      LEDGER_TABLE: { Ref: 'LedgerTable' },
      EVENTS_TOPIC_ARN: { Ref: 'EventsTopic' },
      EVENT_BUS_NAME: { Ref: 'EventBus' },
      POWERTOOLS_SERVICE_NAME: 'partner-ingest',
      POWERTOOLS_METRICS_NAMESPACE: 'PartnerIngest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('one schedule per SFTP partner, at its schedule, naming that partner alone', () => {
    const partners = sftpPartnersIn(dev.dir);
    expect(partners.map((partner) => partner.id)).toEqual(['globex']);
    const target = { 'Fn::GetAtt': [expect.stringMatching(/^SftpPull/), 'Arn'] };
    expect(sftpSchedules(dev.template)).toEqual([
      { expression: 'rate(15 minutes)', input: { partners: ['globex'] }, target, state: 'ENABLED' },
    ]);
    // EventBridge may invoke the function, from each rule only.
    const rules = resourcesOfType(dev.template, 'AWS::Events::Rule').map(([logicalId]) => logicalId);
    const permissions = resourcesOfType(dev.template, 'AWS::Lambda::Permission').map(([, permission]) => permission.Properties!);
    for (const rule of rules) {
      expect(permissions).toContainEqual(
        expect.objectContaining({
          Principal: 'events.amazonaws.com',
          Action: 'lambda:InvokeFunction',
          SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
        }),
      );
    }

    const more = sftpPartnersIn(moreSftp.dir);
    expect(more.map((partner) => partner.id)).toEqual(['globex', 'initech']);
    expect(sftpSchedules(moreSftp.template)).toEqual(
      expect.arrayContaining(
        more.map((partner) => ({
          expression: partner.schedule,
          input: { partners: [partner.id] },
          target,
          state: 'ENABLED',
        })),
      ),
    );
    expect(sftpSchedules(moreSftp.template)).toHaveLength(2);
    expect(more.map((partner) => partner.schedule)).toEqual(['rate(15 minutes)', 'cron(5 6 * * ? *)']);
  });

  test('its own role: no wildcard action or resource, uploads to pulled/ only, reads only the partner secrets', () => {
    const statements = roleStatements(resource(dev.template, 'SftpPullRole'));
    expectNoWildcards(statements);
    const granting = (action: string) => statements.filter((statement) => asList(statement.Action).includes(action));
    const allActions = statements.flatMap((statement) => asList(statement.Action) as string[]);

    // S3: writes into pulled/ (which no partner role may write) and nothing else; reads nothing.
    const landing = 'arn:${AWS::Partition}:s3:::partner-ingest-dev-landing-${AWS::AccountId}-${AWS::Region}';
    for (const action of ['s3:PutObject', 's3:AbortMultipartUpload']) {
      expect(granting(action).flatMap((statement) => asList(statement.Resource))).toEqual([
        { 'Fn::Sub': `${landing}/pulled/*` },
      ]);
    }
    expect(allActions.filter((action) => action.startsWith('s3:')).sort()).toEqual(['s3:AbortMultipartUpload', 's3:PutObject']);

    // Secrets: the SFTP partners' secrets, by ARN pattern (Secrets Manager's 6-char suffix), nothing else.
    expect(allActions.filter((action) => action.startsWith('secretsmanager:'))).toEqual(['secretsmanager:GetSecretValue']);
    expect(granting('secretsmanager:GetSecretValue').flatMap((statement) => asList(statement.Resource))).toEqual([
      secretArnPattern('partner-ingest/globex/sftp'),
    ]);
    const moreSecrets = roleStatements(resource(moreSftp.template, 'SftpPullRole'))
      .filter((statement) => asList(statement.Action).includes('secretsmanager:GetSecretValue'))
      .flatMap((statement) => asList(statement.Resource));
    // A secretRef given as an ARN is used as is.
    expect(moreSecrets).toEqual([secretArnPattern('partner-ingest/globex/sftp'), INITECH_SECRET_ARN]);

    expect(granting('dynamodb:PutItem').map((statement) => statement.Resource)).toEqual([
      { 'Fn::GetAtt': ['LedgerTable', 'Arn'] },
    ]);
    expect(allActions.filter((action) => action.startsWith('dynamodb:')).sort()).toEqual(
      ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'].sort(),
    );
    expect(granting('events:PutEvents').map((statement) => statement.Resource)).toEqual([
      { 'Fn::GetAtt': ['EventBus', 'Arn'] },
    ]);
    expect(granting('logs:PutLogEvents').map((statement) => statement.Resource)).toEqual([
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/partner-ingest-dev-sftpPull:*',
      },
    ]);
    expect(new Set(allActions.map((action) => action.split(':')[0]))).toEqual(
      new Set(['logs', 's3', 'dynamodb', 'secretsmanager', 'events', 'kms']),
    );
    expect(dev.template.Conditions?.HasSftpPartners).toEqual({ 'Fn::Equals': ['true', 'true'] });
  });

  test('one alarm per SFTP partner on its SftpPullFailed metric, in alarm from a failed run to the next good one', () => {
    const failedAlarms = (template: CfnTemplate) =>
      resourcesOfType(template, 'AWS::CloudWatch::Alarm')
        .map(([, alarm]) => alarm.Properties!)
        .filter((alarm) => alarm.MetricName === 'SftpPullFailed');
    for (const [packaged, ids] of [[dev, ['globex']], [moreSftp, ['globex', 'initech']], [noSftp, []]] as const) {
      expect(sftpPartnersIn(packaged.dir).map((partner) => partner.id)).toEqual(ids);
      expect(failedAlarms(packaged.template)).toEqual(
        ids.map((id) =>
          expect.objectContaining({
            AlarmName: `dev-partner-ingest-sftp-pull-failed-${id}`,
            Namespace: 'PartnerIngest',
            // The dimensions src/sftp/pull-all.ts emits it with (package-queues-alarms.test.ts checks them).
            Dimensions: [
              { Name: 'service', Value: 'partner-ingest' },
              { Name: 'partner', Value: id },
            ],
            Statistic: 'Sum',
            ComparisonOperator: 'GreaterThanThreshold',
            Threshold: 0,
            // Each run reports 0 or 1: no data means no run, which neither clears nor raises it.
            TreatMissingData: 'missing',
            AlarmActions: [{ Ref: 'AlarmTopic' }],
            OKActions: [{ Ref: 'AlarmTopic' }],
          }),
        ),
      );
    }
  });

  test('without SFTP partners it is packaged idle: no schedule, and the secrets statement drops out', () => {
    expect(sftpPartnersIn(noSftp.dir)).toEqual([]);
    expect(sftpPullFunction(noSftp.template).Properties.Timeout).toBe(900);
    expect(partnerRules(noSftp.template)).toEqual([]);
    expect(noSftp.template.Conditions?.HasSftpPartners).toEqual({ 'Fn::Equals': ['false', 'true'] });
    const statements = resource(noSftp.template, 'SftpPullRole').Properties.Policies[0].PolicyDocument.Statement;
    expect(statements).toContainEqual({
      'Fn::If': ['HasSftpPartners', expect.objectContaining({ Action: 'secretsmanager:GetSecretValue' }), { Ref: 'AWS::NoValue' }],
    });
  });

  test(
    'its bundle loads on this Node without node_modules and without ssh2\'s native add-ons',
    async () => {
      const zip = dev.zip!;
      const bundle = zipEntryContent(zip, 'functions/sftp-pull.js').toString('utf8');
      // ssh2 and its client are bundled; only the optional native parts stay external.
      expect(bundle).not.toMatch(/require\("ssh2(-sftp-client)?"\)/);
      expect(bundle).toContain('require("./crypto/build/Release/sshcrypto.node")');
      expect(dev.zipEntries.filter((name) => name.endsWith('.node'))).toEqual([]);

      // A directory with no node_modules above it, so nothing resolves outside the zip.
      const dir = scratchDir('sftp-bundle');
      mkdirSync(path.join(dir, 'functions'));
      writeFileSync(path.join(dir, 'functions', 'sftp-pull.js'), bundle);
      writeFileSync(path.join(dir, 'functions', 'sftp-pull.js.map'), zipEntryContent(zip, 'functions/sftp-pull.js.map'));
      const result = await run(
        process.execPath,
        ['-e', "process.stdout.write(typeof require('./functions/sftp-pull.js').handler)"],
        dir,
        LOAD_TIMEOUT_MS,
      );
      expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
        code: 0,
        stdout: 'function',
        stderr: '',
      });
    },
    LOAD_TIMEOUT_MS + 5_000,
  );
});

/** Partners with an S3 source in a copy's partners/, with the principals each configures. */
function s3PartnersIn(dir: string): { id: string; principals: string[] }[] {
  return readdirSync(path.join(dir, 'partners'))
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => parseYaml(readFileSync(path.join(dir, 'partners', name), 'utf8')) as Record<string, any>)
    .filter((partner) => partner.sources?.s3)
    .map((partner) => ({ id: partner.id as string, principals: (partner.sources.s3.principals as string[] | undefined) ?? [] }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

const partnerRoles = (template: CfnTemplate) =>
  resourcesOfType(template, 'AWS::IAM::Role').filter(([logicalId]) => /^Partner.+WriteRole$/.test(logicalId));

describe('partner write access', () => {
  const { partnerRoleName, partnerRoleLogicalIds } = require('../../scripts/serverless-partners.js') as {
    partnerRoleName: (service: string, stage: string, id: string) => string;
    partnerRoleLogicalIds: (id: string) => { role: string; output: string };
  };
  const uploadActions = ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'];

  test('one role per S3-drop partner, generated from partners/, named for the stage and the partner', () => {
    for (const packaged of [dev, prod, noSftp, moreSftp]) {
      const stage = packaged === prod ? 'prod' : 'dev';
      const partners = s3PartnersIn(packaged.dir);
      const roles = partnerRoles(packaged.template);
      expect(roles.map(([logicalId]) => logicalId).sort()).toEqual(partners.map((partner) => partnerRoleLogicalIds(partner.id).role).sort());
      for (const partner of partners) {
        const { role, output: outputId } = partnerRoleLogicalIds(partner.id);
        expect(resource(packaged.template, role).Properties.RoleName).toBe(`partner-ingest-${stage}-partner-${partner.id}`);
        expect(packaged.template.Outputs?.[outputId]?.Value).toEqual({ 'Fn::GetAtt': [role, 'Arn'] });
      }
    }
    expect(s3PartnersIn(dev.dir).map((partner) => partner.id)).toEqual(['acme']);
    expect(s3PartnersIn(moreSftp.dir).map((partner) => partner.id)).toEqual(['acme', 'hooli-eu']);
    expect(partnerRoleLogicalIds('hooli-eu')).toEqual({ role: 'PartnerHooliEuWriteRole', output: 'PartnerHooliEuWriteRoleArn' });
  });

  test('each may only upload into its own inbound/<partner>/ prefix (and use the landing key under SSE-KMS)', () => {
    for (const packaged of [dev, kms, moreSftp]) {
      for (const partner of s3PartnersIn(packaged.dir)) {
        const role = partnerRoleLogicalIds(partner.id).role;
        const { statements, actions, resourcesOf } = grants(packaged.template, role);
        expectNoWildcards(statements);
        expect(actions).toEqual([...uploadActions, 'kms:Decrypt', 'kms:GenerateDataKey'].sort());
        for (const action of uploadActions) {
          expect([role, action, resourcesOf(action)]).toEqual([
            role,
            action,
            [{ 'Fn::Sub': `\${LandingBucket.Arn}/inbound/${partner.id}/*` }],
          ]);
        }
        for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) {
          expect(resourcesOf(action)).toEqual([{ 'Fn::GetAtt': ['LandingKey', 'Arn'] }]);
        }
        // The key statement exists only when the stage uses SSE-KMS.
        const policy = resource(packaged.template, role).Properties.Policies[0].PolicyDocument.Statement as unknown[];
        expect(policy).toContainEqual({ 'Fn::If': ['LandingUsesKms', expect.objectContaining({ Sid: 'LandingKey' }), { Ref: 'AWS::NoValue' }] });
        expect(policy.filter((statement) => JSON.stringify(statement).includes('s3:'))).toHaveLength(1);
      }
    }
    expect(kms.template.Conditions?.LandingUsesKms).toEqual({ 'Fn::Equals': ['SSE-KMS', 'SSE-KMS'] });
  });

  test('trusted by the partner\'s configured principals, or else by this account alone (an administrator hands it out)', () => {
    const trust = (template: CfnTemplate, id: string) =>
      resource(template, partnerRoleLogicalIds(id).role).Properties.AssumeRolePolicyDocument.Statement as Record<string, unknown>[];
    expect(trust(dev.template, 'acme')).toEqual([
      {
        Sid: 'ThisAccountHandsItOut',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
        Action: 'sts:AssumeRole',
      },
    ]);
    expect(trust(moreSftp.template, 'hooli-eu')).toEqual([
      { Sid: 'PartnerPrincipals', Effect: 'Allow', Principal: { AWS: HOOLI_PRINCIPALS }, Action: 'sts:AssumeRole' },
    ]);
  });

  test('role names stay within IAM\'s 64 characters, deterministically', () => {
    expect(partnerRoleName('partner-ingest', 'prod', 'acme')).toBe('partner-ingest-prod-partner-acme');
    const longId = 'a-partner-with-a-32-char-long-id';
    expect(longId).toHaveLength(32);
    const name = partnerRoleName('partner-ingest', 'feature-branch-17', longId);
    // The full name's first 55 characters, '-' and 8 hex characters of its hash.
    const full = `partner-ingest-feature-branch-17-partner-${longId}`;
    expect(name).toHaveLength(64);
    expect(name.slice(0, 55)).toBe(full.slice(0, 55));
    expect(name.slice(55)).toMatch(/^-[0-9a-f]{8}$/);
    expect(partnerRoleName('partner-ingest', 'feature-branch-17', longId)).toBe(name);
    expect(partnerRoleName('partner-ingest', 'feature-branch-17', `${longId.slice(0, -1)}x`)).not.toBe(name);
  });
});

describe('a broken partner file', () => {
  test('fails sls package, naming the file and the field', () => {
    expect(broken.result.code).not.toBe(0);
    const text = output(broken.result);
    expect(text).toContain('broken.yml');
    expect(text).toContain('encoding');
    expect(existsSync(path.join(broken.dir, '.serverless', 'partner-ingest.zip'))).toBe(false);
  });
});
