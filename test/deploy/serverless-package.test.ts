/**
 * Packages the service with osls exactly as a deploy would (`sls package`), with no
 * AWS credentials, and checks the CloudFormation template and the function zip:
 * the wiring other components rely on, least privilege, stage differences, and
 * that a bad partner file stops packaging.
 *
 * Every package runs in its own temporary copy of the project (serverless-esbuild
 * writes .esbuild/ and .serverless/ into the service directory), all in parallel.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EVENT_SOURCE } from '../../src/completion/completion-event';
import { LEDGER_INDEXES } from '../../src/ledger/table';
import {
  type CfnResource,
  type CfnTemplate,
  type Packaged,
  output,
  PACKAGE_TIMEOUT_MS,
  removeCopies,
  resource,
  resourcesOfType,
  run,
  scratchDir,
  slsPackage,
  zipEntryContent,
} from './packaging';

const LINT_TIMEOUT_MS = 120_000;
const LOAD_TIMEOUT_MS = 30_000;
const DEFAULT_SFTP_SCHEDULE = 'rate(15 minutes)';


function functionByHandler(template: CfnTemplate, handler: string): CfnResource & { Properties: Record<string, any> } {
  const functions = resourcesOfType(template, 'AWS::Lambda::Function').filter(
    ([, fn]) => fn.Properties?.Handler === handler,
  );
  expect(functions).toHaveLength(1);
  return resource(template, functions[0]![0]);
}

const ingestFunction = (template: CfnTemplate) => functionByHandler(template, 'functions/ingest-file.handler');
const sftpPullFunction = (template: CfnTemplate) => functionByHandler(template, 'functions/sftp-pull.handler');
const replayFunction = (template: CfnTemplate) => functionByHandler(template, 'functions/replay.handler');
const operatorApiFunction = (template: CfnTemplate) => functionByHandler(template, 'functions/operator-api.handler');

/**
 * The variables `sls offline --param resourceSettings=environment` reads from the shell
 * (serverless.yml custom.resourceSettingSources). Set for the prod package, to show a
 * normal package ignores them.
 */
const SHELL_RESOURCE_SETTINGS = Object.fromEntries(
  [
    'LANDING_BUCKET',
    'WORK_QUEUE_URL',
    'WORK_DLQ_URL',
    'FILE_EVENTS_QUEUE_URL',
    'FILE_EVENTS_DLQ_URL',
    'LEDGER_TABLE',
    'EVENTS_TOPIC_ARN',
    'EVENT_BUS_NAME',
  ].map((name) => [name, `from-the-shell-${name.toLowerCase()}`]),
);

/** The replay function's and the operator API's environment (src/operations/runtime.ts). */
const OPERATOR_ENVIRONMENT = {
  LEDGER_TABLE: { Ref: 'LedgerTable' },
  WORK_QUEUE_URL: { Ref: 'WorkQueue' },
  WORK_DLQ_URL: { Ref: 'WorkDLQ' },
  FILE_EVENTS_QUEUE_URL: { Ref: 'FileEventsQueue' },
  FILE_EVENTS_DLQ_URL: { Ref: 'FileEventsDLQ' },
  SEND_RANGES_QUEUE_URL: { Ref: 'SendRangesQueue' },
  SEND_RANGES_DLQ_URL: { Ref: 'SendRangesDLQ' },
  STAGE: 'dev',
  POWERTOOLS_SERVICE_NAME: 'partner-ingest',
  POWERTOOLS_METRICS_NAMESPACE: 'PartnerIngest',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  NODE_OPTIONS: '--enable-source-maps',
};

/** The path of an AWS::ApiGateway::Resource, from its PathPart and its parents'. */
function apiPath(template: CfnTemplate, resourceRef: unknown): string {
  if (isRootResource(resourceRef)) return '';
  const logicalId = (resourceRef as { Ref: string }).Ref;
  const apiResource = resource(template, logicalId);
  expect(apiResource.Type).toBe('AWS::ApiGateway::Resource');
  return `${apiPath(template, apiResource.Properties.ParentId)}/${apiResource.Properties.PathPart as string}`;
}
const isRootResource = (ref: unknown): boolean =>
  JSON.stringify(ref) === JSON.stringify({ 'Fn::GetAtt': ['ApiGatewayRestApi', 'RootResourceId'] });

/** Every API Gateway method of the template as "METHOD /path", with its authorization type. */
function apiMethods(template: CfnTemplate): { route: string; authorization: unknown; integration: any }[] {
  return resourcesOfType(template, 'AWS::ApiGateway::Method').map(([, method]) => ({
    route: `${method.Properties!.HttpMethod as string} ${apiPath(template, method.Properties!.ResourceId)}`,
    authorization: method.Properties!.AuthorizationType,
    integration: method.Properties!.Integration,
  }));
}

/** Asserts that no statement of a role allows a wildcard action or resource, or uses NotAction/NotResource. */
function expectNoWildcards(statements: Record<string, any>[]): void {
  for (const statement of statements) {
    const actions = asList(statement.Action) as string[];
    expect(actions.filter((action) => action === '*' || action.endsWith(':*'))).toEqual([]);
    expect(asList(statement.Resource)).not.toContain('*');
    expect(statement.Effect).toBe('Allow');
    expect(statement.NotAction).toBeUndefined();
    expect(statement.NotResource).toBeUndefined();
  }
}

/** Partners with an SFTP source in a copy's partners/, with the schedule each should get. */
function sftpPartnersIn(dir: string): { id: string; schedule: string; secretRef: string }[] {
  return readdirSync(path.join(dir, 'partners'))
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => parseYaml(readFileSync(path.join(dir, 'partners', name), 'utf8')) as Record<string, any>)
    .filter((partner) => partner.sources?.sftp)
    .map((partner) => ({
      id: partner.id as string,
      schedule: (partner.sources.sftp.schedule as string | undefined) ?? DEFAULT_SFTP_SCHEDULE,
      secretRef: partner.sources.sftp.credentials.secretRef as string,
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The IAM resource expected for a secret name: its ARN in the stack's account and region, any 6-char suffix. */
const secretArnPattern = (name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????`,
});

/** sftpPull's schedule rules: expression, input and target, in no particular order. */
function sftpSchedules(template: CfnTemplate): { expression: string; input: unknown; target: unknown; state: string }[] {
  return resourcesOfType(template, 'AWS::Events::Rule')
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

/** Every statement of an IAM role's inline policies; both branches of Fn::If, minus AWS::NoValue. */
function roleStatements(role: CfnResource): Record<string, any>[] {
  const flatten = (statement: any): Record<string, any>[] => {
    if (statement && typeof statement === 'object' && 'Fn::If' in statement) {
      const [, whenTrue, whenFalse] = statement['Fn::If'] as unknown[];
      return [whenTrue, whenFalse].flatMap(flatten);
    }
    if (statement && typeof statement === 'object' && statement.Ref === 'AWS::NoValue') return [];
    return [statement as Record<string, any>];
  };
  return (role.Properties?.Policies ?? []).flatMap((policy: any) =>
    ([] as unknown[]).concat(policy.PolicyDocument.Statement).flatMap(flatten),
  );
}

const asList = (value: unknown): unknown[] => ([] as unknown[]).concat(value);

let dev: Packaged;
let prod: Packaged;
let kms: Packaged;
let broken: Packaged;
let noSftp: Packaged;
let moreSftp: Packaged;

/** The kms package's alarm email (`--param alarmEmail=...`). */
const ALARM_EMAIL = 'oncall@example.com';
/** The more-sftp package's second S3 partner, hooli-eu, and the principals it configures. */
const HOOLI_PRINCIPALS = ['arn:aws:iam::210987654321:role/hooli-uploader', 'arn:aws:iam::210987654321:user/hooli-batch'];

/** A second SFTP partner: its secret given by ARN, its own schedule. */
const INITECH_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:partner-ingest/initech/sftp-AbC123';

beforeAll(async () => {
  [dev, prod, kms, broken, noSftp, moreSftp] = await Promise.all([
    slsPackage('dev', ['--stage', 'dev']),
    // With the variables `sls offline` reads set in the shell: a package must not pick them up.
    slsPackage('prod', ['--stage', 'prod'], undefined, SHELL_RESOURCE_SETTINGS),
    // The SSE-KMS switch is off on every stage today; package it anyway so it stays deployable.
    // Also with an alarm email, the other branch of HasAlarmEmail.
    slsPackage('kms', ['--stage', 'dev', '--param', 'landingEncryption=SSE-KMS', '--param', `alarmEmail=${ALARM_EMAIL}`]),
    slsPackage('broken', ['--stage', 'dev'], (dir) => {
      const acme = readFileSync(path.join(dir, 'partners', 'acme.yml'), 'utf8');
      const brokenYaml = acme.replace(/^id: acme$/m, 'id: broken').replace(/encoding: utf-8/, 'encoding: ISO-8859-1');
      expect(brokenYaml).toContain('encoding: ISO-8859-1');
      writeFileSync(path.join(dir, 'partners', 'broken.yml'), brokenYaml);
    }),
    // No partner has an SFTP source: sftpPull is still packaged, with no schedule and no secret.
    slsPackage('no-sftp', ['--stage', 'dev'], (dir) => {
      for (const partner of sftpPartnersIn(dir)) unlinkSync(path.join(dir, 'partners', `${partner.id}.yml`));
    }),
    slsPackage('more-sftp', ['--stage', 'dev'], (dir) => {
      const globex = readFileSync(path.join(dir, 'partners', 'globex.yml'), 'utf8');
      const initech = globex
        .replace(/^id: globex$/m, 'id: initech')
        .replace(/secretRef: .*$/m, `secretRef: ${INITECH_SECRET_ARN}`)
        .replace(/schedule: .*$/m, "schedule: 'cron(5 6 * * ? *)'");
      expect(initech).toContain('cron(5 6');
      writeFileSync(path.join(dir, 'partners', 'initech.yml'), initech);
      // And a second S3-drop partner, whose own IAM principals assume its write role.
      const acme = readFileSync(path.join(dir, 'partners', 'acme.yml'), 'utf8');
      const hooli = acme
        .replace(/^id: acme$/m, 'id: hooli-eu')
        .replace(/^ {2}s3: \{\}$/m, `  s3:\n    principals: [${HOOLI_PRINCIPALS.join(', ')}]`);
      expect(hooli).toContain('principals:');
      writeFileSync(path.join(dir, 'partners', 'hooli-eu.yml'), hooli);
    }),
  ]);
  for (const packaged of [dev, prod, kms, noSftp, moreSftp]) {
    if (packaged.result.code !== 0) {
      throw new Error(`sls package failed in ${packaged.dir}:\n${output(packaged.result)}`);
    }
  }
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(removeCopies);

describe('sls package --stage dev', () => {
  test('the function runs on nodejs24.x / arm64 from one SQS file event at a time, at most ingestFileConcurrency at once', () => {
    const fn = ingestFunction(dev.template);
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Timeout).toBe(900);
    expect(fn.Properties.MemorySize).toBe(1024);

    const mappings = resourcesOfType(dev.template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.map(([logicalId]) => logicalId).sort()).toEqual([
      'IngestFileEventSourceMappingSQSFileEventsQueue',
      'SendRangeEventSourceMappingSQSSendRangesQueue',
    ]);
    const mapping = resource(dev.template, 'IngestFileEventSourceMappingSQSFileEventsQueue').Properties;
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] });
    expect(mapping.BatchSize).toBe(1);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    // A flood of drops cannot take the account's whole Lambda concurrency.
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: 10 });
    expect(resource(prod.template, 'IngestFileEventSourceMappingSQSFileEventsQueue').Properties.ScalingConfig).toEqual({ MaximumConcurrency: 20 });
  });

  test('sendRange takes one send range at a time, at most sendRangeConcurrency at once', () => {
    const mapping = resource(dev.template, 'SendRangeEventSourceMappingSQSSendRangesQueue').Properties;
    expect(mapping).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['SendRangesQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['SendRangeLambdaFunction', 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 4 },
    });
    expect(resource(prod.template, 'SendRangeEventSourceMappingSQSSendRangesQueue').Properties.ScalingConfig).toEqual({ MaximumConcurrency: 8 });
    // ingestFile splits a batch into as many ranges as there are senders.
    expect(ingestFunction(prod.template).Properties.Environment.Variables.MAX_SEND_RANGES).toBe('8');
    const queue = resource(dev.template, 'SendRangesQueue').Properties;
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, VisibilityTimeout: 5400, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['SendRangesDLQ', 'Arn'] } } });
    const sendRange = grants(dev.template, 'SendRangeRole');
    expectNoWildcards(sendRange.statements);
    expect(sendRange.resourcesOf('s3:GetObject')).toEqual([{ 'Fn::Sub': `${LANDING_ARN}/staging/*` }]);
    expect(sendRange.resourcesOf('s3:PutObject')).toEqual([]);
    expect(sendRange.resourcesOf('sqs:SendMessage')).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': ['WorkQueue', 'Arn'] }, { 'Fn::GetAtt': ['SendRangesQueue', 'Arn'] }]),
    );
    expect(sendRange.resourcesOf('sqs:SendMessage')).toHaveLength(2);
    expect(grants(dev.template, 'IngestFileRole').resourcesOf('sqs:SendMessage')).toContainEqual({ 'Fn::GetAtt': ['SendRangesQueue', 'Arn'] });
  });

  test('the function gets every environment variable the code reads', () => {
    const variables = ingestFunction(dev.template).Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(variables).sort()).toEqual(
      [
        'LANDING_BUCKET',
        'WORK_QUEUE_URL',
        'FILE_EVENTS_QUEUE_URL',
        'LEDGER_TABLE',
        'EVENTS_TOPIC_ARN',
        'EVENT_BUS_NAME',
        'MAX_RECEIVE_COUNT',
        'SEND_RANGES_QUEUE_URL',
        'MAX_SEND_RANGES',
        'STAGE',
        'POWERTOOLS_SERVICE_NAME',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_LOG_LEVEL',
        'NODE_OPTIONS',
      ].sort(),
    );
    const fileEvents = resource(dev.template, 'FileEventsQueue').Properties;
    expect(variables).toMatchObject({
      LANDING_BUCKET: { Ref: 'LandingBucket' },
      WORK_QUEUE_URL: { Ref: 'WorkQueue' },
      FILE_EVENTS_QUEUE_URL: { Ref: 'FileEventsQueue' },
      LEDGER_TABLE: { Ref: 'LedgerTable' },
      EVENTS_TOPIC_ARN: { Ref: 'EventsTopic' },
      EVENT_BUS_NAME: { Ref: 'EventBus' },
      MAX_RECEIVE_COUNT: String(fileEvents.RedrivePolicy.maxReceiveCount),
      SEND_RANGES_QUEUE_URL: { Ref: 'SendRangesQueue' },
      MAX_SEND_RANGES: '4',
      STAGE: 'dev',
      POWERTOOLS_SERVICE_NAME: 'partner-ingest',
      POWERTOOLS_METRICS_NAMESPACE: 'PartnerIngest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('the landing bucket is encrypted, private, TLS-only and notifies the file-events queue for inbound/ and pulled/', () => {
    const bucket = resource(dev.template, 'LandingBucket');
    const props = bucket.Properties;
    expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const sse = props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
    expect(sse['Fn::If'][0]).toBe('LandingUsesKms');
    expect(sse['Fn::If'][2]).toEqual({ SSEAlgorithm: 'AES256' });
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props.NotificationConfiguration.QueueConfigurations).toEqual(
      ['inbound/', 'pulled/'].map((prefix) => ({
        Event: 's3:ObjectCreated:*',
        Queue: { 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] },
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: prefix }] } },
      })),
    );
    // No bucket -> queue policy -> bucket cycle: the policy must exist before the notification.
    expect(asList(bucket.DependsOn)).toContain('FileEventsQueuePolicy');

    const rules = props.LifecycleConfiguration.Rules as Record<string, any>[];
    expect(rules).toContainEqual(
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
    );
    expect(rules).toContainEqual(expect.objectContaining({ Prefix: 'staging/', ExpirationInDays: expect.any(Number) }));

    const [policy] = resourcesOfType(dev.template, 'AWS::S3::BucketPolicy').filter(
      ([, p]) => p.Properties?.Bucket?.Ref === 'LandingBucket',
    );
    expect(policy).toBeDefined();
    expect(policy![1].Properties!.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  test('only S3, from this bucket and account, may send to the file-events queue', () => {
    const statement = resource(dev.template, 'FileEventsQueuePolicy').Properties.PolicyDocument.Statement[0];
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Condition: {
        ArnLike: {
          'aws:SourceArn': { 'Fn::Sub': expect.stringMatching(/^arn:\$\{AWS::Partition\}:s3:::partner-ingest-dev-/) },
        },
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      },
    });
    // The ARN in the policy is the bucket's name, spelled the same way.
    const bucketName = resource(dev.template, 'LandingBucket').Properties.BucketName['Fn::Sub'] as string;
    expect(statement.Condition.ArnLike['aws:SourceArn']['Fn::Sub']).toBe(`arn:\${AWS::Partition}:s3:::${bucketName}`);
  });

  test('queues have DLQs, SQS-managed SSE, and the file-events visibility timeout covers 6 function timeouts', () => {
    const timeout = ingestFunction(dev.template).Properties.Timeout as number;
    const fileEvents = resource(dev.template, 'FileEventsQueue').Properties;
    expect(fileEvents.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    expect(fileEvents.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['FileEventsDLQ', 'Arn'] },
      maxReceiveCount: 5,
    });
    const work = resource(dev.template, 'WorkQueue').Properties;
    expect(work.MaximumMessageSize).toBe(262144);
    // params.default.workQueueVisibilityTimeout: 6x a 30-second downstream consumer.
    expect(work.VisibilityTimeout).toBe(180);
    expect(work.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['WorkDLQ', 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(resource(dev.template, 'WorkDLQ').Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    for (const [logicalId, queue] of resourcesOfType(dev.template, 'AWS::SQS::Queue')) {
      expect([logicalId, queue.Properties?.SqsManagedSseEnabled]).toEqual([logicalId, true]);
    }
  });

  test('topic, bus and ledger table', () => {
    expect(resource(dev.template, 'EventsTopic').Properties.KmsMasterKeyId).toBe('alias/aws/sns');
    expect(resource(dev.template, 'EventBus').Properties.Name).toBe('partner-ingest-dev');
    const table = resource(dev.template, 'LedgerTable').Properties;
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.AttributeDefinitions).toEqual(
      ['pk', 'sk', 'status', 'partner', 'receivedDay', 'receivedAt'].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    );
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  test('the ledger has the indexes the code queries (src/ledger/table.ts), keyed as it expects', () => {
    const indexes = resource(dev.template, 'LedgerTable').Properties.GlobalSecondaryIndexes as Record<string, any>[];
    const keys = (hash: string) => [
      { AttributeName: hash, KeyType: 'HASH' },
      { AttributeName: 'receivedAt', KeyType: 'RANGE' },
    ];
    expect(indexes).toEqual([
      { IndexName: 'byStatus', KeySchema: keys('status'), Projection: { ProjectionType: 'ALL' } },
      { IndexName: 'byPartner', KeySchema: keys('partner'), Projection: { ProjectionType: 'ALL' } },
      { IndexName: 'byDay', KeySchema: keys('receivedDay'), Projection: { ProjectionType: 'ALL' } },
    ]);
    expect(
      indexes.map((index) => ({ name: index.IndexName, partitionKey: index.KeySchema[0].AttributeName, sortKey: index.KeySchema[1].AttributeName })),
    ).toEqual(Object.values(LEDGER_INDEXES));
    // PAY_PER_REQUEST: no ProvisionedThroughput on the indexes either.
    expect(indexes.filter((index) => index.ProvisionedThroughput !== undefined)).toEqual([]);
    expect(resource(prod.template, 'LedgerTable').Properties.GlobalSecondaryIndexes).toEqual(indexes);
  });

  test('the function has its own role, with no wildcard action and no wildcard resource', () => {
    const fn = ingestFunction(dev.template);
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['IngestFileRole', 'Arn'] });
    expect(dev.template.Resources.IamRoleLambdaExecution).toBeUndefined();

    const statements = roleStatements(resource(dev.template, 'IngestFileRole'));
    expect(statements.length).toBeGreaterThan(5);
    for (const statement of statements) {
      const actions = asList(statement.Action) as string[];
      expect(actions.filter((action) => action === '*' || action.endsWith(':*'))).toEqual([]);
      expect(asList(statement.Resource)).not.toContain('*');
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
    }
    const actions = statements.flatMap((statement) => asList(statement.Action) as string[]);
    expect(actions).toEqual(
      expect.arrayContaining([
        's3:GetObject',
        's3:PutObject',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:SendMessage',
        'dynamodb:UpdateItem',
        'sns:Publish',
        'events:PutEvents',
        'logs:PutLogEvents',
      ]),
    );
    // Attempts and audit items are read with Query, on the table (not its indexes).
    expect(statements.filter((statement) => asList(statement.Action).includes('dynamodb:Query')).map((statement) => statement.Resource)).toEqual([
      { 'Fn::GetAtt': ['LedgerTable', 'Arn'] },
    ]);
  });

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

/** The statements of a role granting an action, and the resources they grant it on. */
function grants(template: CfnTemplate, role: string) {
  const statements = roleStatements(resource(template, role));
  const granting = (action: string) => statements.filter((statement) => asList(statement.Action).includes(action));
  return {
    statements,
    actions: [...new Set(statements.flatMap((statement) => asList(statement.Action) as string[]))].sort(),
    resourcesOf: (action: string) => granting(action).flatMap((statement) => asList(statement.Resource)),
  };
}

const LANDING_ARN = 'arn:${AWS::Partition}:s3:::partner-ingest-dev-landing-${AWS::AccountId}-${AWS::Region}';

describe('replay', () => {
  test('runs on nodejs24.x / arm64 for up to 15 minutes, with no trigger, under its own role', () => {
    const fn = replayFunction(dev.template);
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Timeout).toBe(900);
    expect(fn.Properties.MemorySize).toBe(1024);
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['ReplayRole', 'Arn'] });
    // Invoked directly only: no event source mapping, rule or permission names it.
    const mentions = (logicalId: string) => JSON.stringify(dev.template.Resources[logicalId]).includes('ReplayLambdaFunction');
    const triggers = [
      ...resourcesOfType(dev.template, 'AWS::Lambda::EventSourceMapping'),
      ...resourcesOfType(dev.template, 'AWS::Lambda::Permission'),
      ...resourcesOfType(dev.template, 'AWS::Events::Rule'),
    ].filter(([logicalId]) => mentions(logicalId));
    expect(triggers).toEqual([]);
  });

  test('gets what an operator action needs: the ledger and the queues, no bucket, topic or bus', () => {
    expect(replayFunction(dev.template).Properties.Environment.Variables).toEqual(OPERATOR_ENVIRONMENT);
  });

  test('its role: reads the batch and its archived raw file and queues the attempt for ingestFile, nothing else', () => {
    const replay = grants(dev.template, 'ReplayRole');
    expectNoWildcards(replay.statements);
    // (And the landing key under SSE-KMS: see the stage differences.)
    expect(replay.actions.filter((action) => !action.startsWith('kms:'))).toEqual(
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:ListBucket', 'sqs:SendMessage'].sort(),
    );
    expect(replay.resourcesOf('s3:GetObject')).toEqual([{ 'Fn::Sub': `${LANDING_ARN}/archive/*` }]);
    expect(replay.resourcesOf('dynamodb:UpdateItem')).toEqual([{ 'Fn::GetAtt': ['LedgerTable', 'Arn'] }]);
    expect(replay.resourcesOf('sqs:SendMessage')).toEqual([{ 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] }]);
    expect(replay.resourcesOf('logs:PutLogEvents')).toEqual([
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/partner-ingest-dev-replay:*',
      },
    ]);
  });
});

describe('operatorApi', () => {
  const ROUTES = ['GET /batches', 'GET /batches/{batchId}', 'POST /batches/{batchId}/replay', 'POST /redrive'];

  test('runs on nodejs24.x / arm64 within API Gateway\'s 29 s, under its own role', () => {
    const fn = operatorApiFunction(dev.template);
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Timeout).toBe(29);
    expect(fn.Properties.MemorySize).toBe(1024);
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['OperatorApiRole', 'Arn'] });
  });

  test("gets replay's environment", () => {
    expect(operatorApiFunction(dev.template).Properties.Environment.Variables).toEqual(OPERATOR_ENVIRONMENT);
  });

  test('a REST API with the four routes, each a Lambda proxy to the function, IAM-authorized', () => {
    const methods = apiMethods(dev.template);
    expect(methods.map((method) => method.route).sort()).toEqual([...ROUTES].sort());
    // Every method, whatever its route: none may be left open (no OPTIONS either: no CORS).
    for (const method of methods) {
      expect([method.route, method.authorization]).toEqual([method.route, 'AWS_IAM']);
      expect(method.integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(method.integration.Uri)).toContain('OperatorApiLambdaFunction');
    }
    expect(resourcesOfType(dev.template, 'AWS::ApiGateway::RestApi')).toHaveLength(1);
    expect(resourcesOfType(dev.template, 'AWS::ApiGateway::Authorizer')).toEqual([]);
    // API Gateway may invoke the function, from this API only.
    const permissions = resourcesOfType(dev.template, 'AWS::Lambda::Permission')
      .map(([, permission]) => permission.Properties!)
      .filter((permission) => permission.Principal === 'apigateway.amazonaws.com');
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.FunctionName).toEqual({ 'Fn::GetAtt': ['OperatorApiLambdaFunction', 'Arn'] });
    expect(JSON.stringify(permissions[0]!.SourceArn)).toContain('ApiGatewayRestApi');
    expect(dev.template.Outputs?.ServiceEndpoint).toBeDefined();
    expect(apiMethods(prod.template).every((method) => method.authorization === 'AWS_IAM')).toBe(true);
  });

  test('its role: replay\'s permissions, plus the ledger indexes and redrive between the DLQs and their queues', () => {
    const api = grants(dev.template, 'OperatorApiRole');
    const replay = grants(dev.template, 'ReplayRole');
    expectNoWildcards(api.statements);
    // Everything replay may do (the API queues replays the same way), on the same resources.
    for (const action of replay.actions.filter((name) => !name.startsWith('logs:'))) {
      expect(api.resourcesOf(action)).toEqual(expect.arrayContaining(replay.resourcesOf(action)));
    }
    expect(api.resourcesOf('dynamodb:Query')).toEqual([
      { 'Fn::GetAtt': ['LedgerTable', 'Arn'] },
      { 'Fn::Sub': '${LedgerTable.Arn}/index/*' },
    ]);
    // Only Query reaches the indexes.
    const onIndexes = api.statements.filter((statement) => JSON.stringify(statement.Resource).includes('/index/'));
    expect(onIndexes.flatMap((statement) => asList(statement.Action))).toEqual(['dynamodb:Query']);

    const dlqs = [{ 'Fn::GetAtt': ['WorkDLQ', 'Arn'] }, { 'Fn::GetAtt': ['FileEventsDLQ', 'Arn'] }, { 'Fn::GetAtt': ['SendRangesDLQ', 'Arn'] }];
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']) {
      expect([action, api.resourcesOf(action)]).toEqual([action, dlqs]);
    }
    expect(api.resourcesOf('sqs:SendMessage')).toEqual(
      expect.arrayContaining(['WorkQueue', 'FileEventsQueue', 'SendRangesQueue'].map((queue) => ({ 'Fn::GetAtt': [queue, 'Arn'] }))),
    );
    expect(api.resourcesOf('sqs:SendMessage')).not.toContainEqual(expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/DLQ$/), 'Arn'] }));
    expect(api.actions.filter((action) => !replay.actions.includes(action))).toEqual(
      ['dynamodb:Query', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage'].sort(),
    );
    // It writes no object, publishes no event and sends no work item of its own: ingestFile runs replays.
    expect(api.resourcesOf('s3:PutObject')).toEqual([]);
    expect(api.actions.filter((action) => /^(sns|events):/.test(action))).toEqual([]);
    expect(api.resourcesOf('logs:PutLogEvents')).toEqual([
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/partner-ingest-dev-operatorApi:*',
      },
    ]);
  });
});

describe('every function', () => {
  test('has a role of its own, and no role in the stack allows a wildcard action or resource', () => {
    const roles = resourcesOfType(dev.template, 'AWS::IAM::Role').map(([logicalId]) => logicalId).sort();
    // The functions' roles, and the S3-drop partners' write roles (see 'partner write access').
    expect(roles).toEqual(['IngestFileRole', 'OperatorApiRole', 'PartnerAcmeWriteRole', 'ReplayRole', 'SendRangeRole', 'SftpPullRole']);
    const functionRoles = resourcesOfType(dev.template, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties!.Role['Fn::GetAtt'][0]);
    expect(functionRoles.sort()).toEqual(roles.filter((role) => !role.startsWith('Partner')));
    for (const template of [dev.template, prod.template, kms.template, moreSftp.template]) {
      for (const [, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
        expectNoWildcards(roleStatements(role));
      }
    }
  });

  test('every function logs to its own log group, kept for the stage\'s logRetentionDays', () => {
    // params.default.logRetentionDays and params.prod.logRetentionDays.
    for (const [template, days] of [[dev.template, 30], [prod.template, 365], [kms.template, 30]] as const) {
      const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
      const functions = resourcesOfType(template, 'AWS::Lambda::Function');
      expect(functions).toHaveLength(5);
      expect(groups).toHaveLength(functions.length);
      for (const [logicalId, fn] of functions) {
        const name = `/aws/lambda/${fn.Properties!.FunctionName as string}`;
        const group = groups.find(([, candidate]) => candidate.Properties?.LogGroupName === name);
        expect([logicalId, group?.[1].Properties?.RetentionInDays]).toEqual([logicalId, days]);
        // Created (with its retention) before the function can first log.
        expect(asList(fn.DependsOn)).toContain(group![0]);
      }
    }
  });

  test('a package ignores the shell variables `sls offline` reads: the template keeps the references', () => {
    const variables = (fn: CfnResource & { Properties: Record<string, any> }) => fn.Properties.Environment.Variables as Record<string, unknown>;
    for (const fn of [ingestFunction, sftpPullFunction, replayFunction, operatorApiFunction].map((get) => get(prod.template))) {
      for (const [name, value] of Object.entries(variables(fn))) {
        if (name in SHELL_RESOURCE_SETTINGS) expect([name, value]).toEqual([name, { Ref: expect.any(String) }]);
      }
    }
    expect(variables(operatorApiFunction(prod.template)).LEDGER_TABLE).toEqual({ Ref: 'LedgerTable' });
    expect(JSON.stringify(prod.template)).not.toContain('from-the-shell');
  });

  test('is in the zip', () => {
    expect(dev.zipEntries).toEqual(
      expect.arrayContaining(['ingest-file', 'sftp-pull', 'replay', 'operator-api'].map((name) => `functions/${name}.js`)),
    );
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
    for (const statement of statements) {
      const actions = asList(statement.Action) as string[];
      expect(actions.filter((action) => action === '*' || action.endsWith(':*'))).toEqual([]);
      expect(asList(statement.Resource)).not.toContain('*');
      expect(statement.Effect).toBe('Allow');
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
    }
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

  test('without SFTP partners it is packaged idle: no schedule, and the secrets statement drops out', () => {
    expect(sftpPartnersIn(noSftp.dir)).toEqual([]);
    expect(sftpPullFunction(noSftp.template).Properties.Timeout).toBe(900);
    expect(resourcesOfType(noSftp.template, 'AWS::Events::Rule')).toEqual([]);
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

describe('cfn-lint', () => {
  const cfnLintOnPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir !== '' && existsSync(path.join(dir, 'cfn-lint')));

  test(
    'the dev, prod, SSE-KMS and SFTP-variant templates have no cfn-lint errors',
    async () => {
      if (!cfnLintOnPath) {
        console.warn('cfn-lint is not on PATH: skipping the CloudFormation lint (pip install cfn-lint)');
        return;
      }
      const results = await Promise.all(
        [dev, prod, kms, noSftp, moreSftp].map((packaged) =>
          run(
            'cfn-lint',
            ['--non-zero-exit-code', 'error', '--', '.serverless/cloudformation-template-update-stack.json'],
            packaged.dir,
            LINT_TIMEOUT_MS,
          ),
        ),
      );
      // Exit 0 unless cfn-lint finds an error: warnings are allowed. The output shows in a failure's diff.
      for (const result of results) {
        expect({ exitCode: result.code, output: output(result) }).toMatchObject({ exitCode: 0 });
      }
    },
    LINT_TIMEOUT_MS,
  );
});

describe('stage differences', () => {
  test('the ledger has deletion protection and is retained on prod only', () => {
    const prodTable = resource(prod.template, 'LedgerTable');
    expect(prodTable.Properties.DeletionProtectionEnabled).toBe(true);
    expect(prodTable.DeletionPolicy).toBe('Retain');
    const devTable = resource(dev.template, 'LedgerTable');
    expect(devTable.Properties.DeletionProtectionEnabled ?? false).toBe(false);
    expect(devTable.DeletionPolicy).toBe('Delete');
  });

  test('prod keeps logs longer and names everything for its stage', () => {
    const retention = (t: CfnTemplate) => resource(t, 'IngestFileLogGroup').Properties.RetentionInDays as number;
    expect(retention(prod.template)).toBeGreaterThan(retention(dev.template));
    expect(ingestFunction(prod.template).Properties.Environment.Variables.STAGE).toBe('prod');
    expect(resource(prod.template, 'EventBus').Properties.Name).toBe('partner-ingest-prod');
  });

  test('landingEncryption=SSE-KMS creates a key, encrypts the bucket with it and lets the functions use it', () => {
    expect(kms.template.Conditions?.LandingUsesKms).toEqual({ 'Fn::Equals': ['SSE-KMS', 'SSE-KMS'] });
    expect(dev.template.Conditions?.LandingUsesKms).toEqual({ 'Fn::Equals': ['SSE-S3', 'SSE-KMS'] });
    const bucket = resource(kms.template, 'LandingBucket').Properties;
    const sse = bucket.BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(sse.ServerSideEncryptionByDefault['Fn::If'][1]).toEqual({
      SSEAlgorithm: 'aws:kms',
      KMSMasterKeyID: { 'Fn::GetAtt': ['LandingKey', 'Arn'] },
    });
    expect(resource(kms.template, 'LandingKey').Properties.EnableKeyRotation).toBe(true);
    for (const role of ['IngestFileRole', 'SftpPullRole', 'ReplayRole', 'OperatorApiRole']) {
      expect(roleStatements(resource(kms.template, role))).toContainEqual(
        expect.objectContaining({
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': ['LandingKey', 'Arn'] },
        }),
      );
    }
  });
});

/** An alarm reduced to what decides when it fires: metric, dimensions (sorted), statistic, comparison. */
function alarmDefinition(alarm: CfnResource) {
  const props = alarm.Properties!;
  return {
    namespace: props.Namespace as string,
    metric: props.MetricName as string,
    dimensions: [...(props.Dimensions as { Name: string; Value: unknown }[])].sort((a, b) => a.Name.localeCompare(b.Name)),
    statistic: props.Statistic as string,
    comparison: `${props.ComparisonOperator as string} ${String(props.Threshold)}`,
  };
}

const alarmsOf = (template: CfnTemplate) => resourcesOfType(template, 'AWS::CloudWatch::Alarm');

interface EmittedMetric {
  namespace: string;
  metric: string;
  dimensions: Record<string, string>;
}

/**
 * The EMF metrics the code writes to stdout while `action` runs, with Powertools
 * configured from a function's environment in the template (a fresh module
 * registry; createMetrics reads that environment, as a cold start does).
 */
async function emittedMetrics(
  fnEnvironment: Record<string, unknown>,
  action: (load: <T>(module: string) => T) => Promise<unknown>,
): Promise<EmittedMetric[]> {
  const names = ['POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_DEV'];
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  delete process.env.POWERTOOLS_DEV;
  process.env.POWERTOOLS_SERVICE_NAME = fnEnvironment.POWERTOOLS_SERVICE_NAME as string;
  process.env.POWERTOOLS_METRICS_NAMESPACE = fnEnvironment.POWERTOOLS_METRICS_NAMESPACE as string;
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    let loaded!: <T>(module: string) => T;
    jest.isolateModules(() => {
      loaded = <T,>(module: string) => require(module) as T;
    });
    await action(loaded);
  } finally {
    write.mockRestore();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.includes('"CloudWatchMetrics"'))
    .flatMap((line) => {
      const emf = JSON.parse(line) as Record<string, any>;
      return (emf._aws.CloudWatchMetrics as { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[]).flatMap(
        (directive) =>
          directive.Metrics.flatMap((metric) =>
            directive.Dimensions.map((set) => ({
              namespace: directive.Namespace,
              metric: metric.Name,
              dimensions: Object.fromEntries(set.map((name) => [name, String(emf[name])])),
            })),
          ),
      );
    });
}

describe('alarms', () => {
  const topic = [{ Ref: 'AlarmTopic' }];
  const above = (threshold: number) => `GreaterThanThreshold ${threshold}`;

  test('go to an alarm topic encrypted with a key CloudWatch may use (not aws/sns), published to by this account\'s alarms only', () => {
    const alarmTopic = resource(dev.template, 'AlarmTopic').Properties;
    expect(alarmTopic.TopicName).toBe('partner-ingest-dev-alarms');
    expect(alarmTopic.KmsMasterKeyId).toEqual({ Ref: 'AlarmTopicKey' });
    const key = resource(dev.template, 'AlarmTopicKey');
    expect(key.Condition).toBeUndefined();
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
    const policy = resource(dev.template, 'AlarmTopicPolicy').Properties;
    expect(policy.Topics).toEqual(topic);
    expect(policy.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: 'AlarmTopic' },
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*' } },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      }),
    ]);
    expect(dev.template.Outputs?.AlarmTopicArn?.Value).toEqual({ Ref: 'AlarmTopic' });
  });

  test('the email subscription is the stage\'s alarmEmail param, and absent when it is empty', () => {
    const subscriptions = resourcesOfType(dev.template, 'AWS::SNS::Subscription');
    expect(subscriptions.map(([logicalId]) => logicalId)).toEqual(['AlarmEmailSubscription']);
    expect(subscriptions[0]![1].Condition).toBe('HasAlarmEmail');
    // No alarmEmail on dev or prod today: the condition is false there.
    const isFalse = { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] };
    expect(dev.template.Conditions?.HasAlarmEmail).toEqual(isFalse);
    expect(prod.template.Conditions?.HasAlarmEmail).toEqual(isFalse);
    // --param alarmEmail=...: subscribed.
    expect(kms.template.Conditions?.HasAlarmEmail).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [ALARM_EMAIL, ''] }] });
    expect(resource(kms.template, 'AlarmEmailSubscription')).toMatchObject({
      Condition: 'HasAlarmEmail',
      Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: ALARM_EMAIL },
    });
  });

  test('every alarm is named for its stage, notifies the topic on alarm and on recovery, and treats missing data as fine', () => {
    for (const [template, stage] of [[dev.template, 'dev'], [prod.template, 'prod']] as const) {
      const alarms = alarmsOf(template);
      expect(alarms.length).toBeGreaterThan(0);
      for (const [logicalId, alarm] of alarms) {
        expect([logicalId, alarm.Properties]).toEqual([
          logicalId,
          expect.objectContaining({
            AlarmName: expect.stringMatching(new RegExp(`^${stage}-partner-ingest-[a-zA-Z-]+$`)),
            AlarmActions: topic,
            OKActions: topic,
            TreatMissingData: 'notBreaching',
            EvaluationPeriods: 1,
            Period: 300,
          }),
        ]);
      }
      const names = alarms.map(([, alarm]) => alarm.Properties!.AlarmName as string);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  test('every dead-letter queue: alarm as soon as it holds a message', () => {
    const dlqs = resourcesOfType(dev.template, 'AWS::SQS::Queue')
      .map(([, queue]) => queue.Properties?.RedrivePolicy?.deadLetterTargetArn?.['Fn::GetAtt']?.[0] as string | undefined)
      .filter((dlq): dlq is string => dlq !== undefined)
      .sort();
    expect(dlqs).toEqual(['FileEventsDLQ', 'SendRangesDLQ', 'WorkDLQ']);
    const definitions = alarmsOf(dev.template).map(([, alarm]) => alarmDefinition(alarm));
    for (const dlq of dlqs) {
      expect(definitions).toContainEqual({
        namespace: 'AWS/SQS',
        metric: 'ApproximateNumberOfMessagesVisible',
        dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
        statistic: 'Maximum',
        comparison: above(0),
      });
    }
  });

  test('the file-events and work queues: alarm on the age of their oldest message, per stage param', () => {
    const definitions = alarmsOf(dev.template).map(([, alarm]) => alarmDefinition(alarm));
    // params.default.fileEventsMaxAgeSeconds and workQueueMaxAgeSeconds.
    for (const [queue, seconds] of [['FileEventsQueue', 1800], ['WorkQueue', 3600]] as const) {
      expect(definitions).toContainEqual({
        namespace: 'AWS/SQS',
        metric: 'ApproximateAgeOfOldestMessage',
        dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
        statistic: 'Maximum',
        comparison: above(seconds),
      });
    }
    // Longer than one full ingestFile run, so a long file alone does not trip it.
    expect(1800).toBeGreaterThan(ingestFunction(dev.template).Properties.Timeout as number);
  });

  test('every function: alarm on any error', () => {
    const functions = resourcesOfType(dev.template, 'AWS::Lambda::Function').map(([logicalId]) => logicalId).sort();
    expect(functions).toEqual(
      ['IngestFileLambdaFunction', 'OperatorApiLambdaFunction', 'ReplayLambdaFunction', 'SendRangeLambdaFunction', 'SftpPullLambdaFunction'],
    );
    const errorAlarms = alarmsOf(dev.template)
      .map(([, alarm]) => alarmDefinition(alarm))
      .filter((definition) => definition.namespace === 'AWS/Lambda');
    expect(errorAlarms).toHaveLength(functions.length);
    for (const fn of functions) {
      expect(errorAlarms).toContainEqual({
        namespace: 'AWS/Lambda',
        metric: 'Errors',
        dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        statistic: 'Sum',
        comparison: above(0),
      });
    }
  });

  test('batches FAILED, batches REJECTED and SFTP host-key mismatches: alarms on the metrics the code emits', async () => {
    const environment = ingestFunction(dev.template).Properties.Environment.Variables as Record<string, unknown>;
    expect(sftpPullFunction(dev.template).Properties.Environment.Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: environment.POWERTOOLS_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: environment.POWERTOOLS_METRICS_NAMESPACE,
    });
    const custom = alarmsOf(dev.template)
      .map(([, alarm]) => alarmDefinition(alarm))
      .filter((definition) => !definition.namespace.startsWith('AWS/'));
    const dimensions = (values: Record<string, string>) =>
      Object.entries(values)
        .map(([Name, Value]) => ({ Name, Value }))
        .sort((a, b) => a.Name.localeCompare(b.Name));
    const service = environment.POWERTOOLS_SERVICE_NAME as string;
    expect(service).toBe('partner-ingest');
    expect(custom).toEqual([
      ...['FAILED', 'REJECTED'].map((status) => ({
        namespace: 'PartnerIngest',
        metric: 'Batches',
        dimensions: dimensions({ service, status }),
        statistic: 'Sum',
        comparison: above(0),
      })),
      {
        namespace: 'PartnerIngest',
        metric: 'SftpHostKeyMismatch',
        dimensions: dimensions({ service }),
        statistic: 'Sum',
        comparison: above(0),
      },
    ]);

    // What the code writes when a batch ends FAILED or REJECTED (ingestFile), and when a
    // partner's SFTP server presents an unpinned host key (sftpPull, its SFTP client
    // replaced by one that fails the key check). A CloudWatch metric is its namespace,
    // name and exact set of dimensions: each alarm must name one the code emits.
    const batchMetrics = await emittedMetrics(environment, async (load) => {
      const { createMetrics, recordBatchMetrics } = load<typeof import('../../src/platform/telemetry')>('../../src/platform/telemetry');
      const metrics = createMetrics();
      for (const status of ['FAILED', 'REJECTED'] as const) recordBatchMetrics(metrics, { status, partner: 'acme' } as never);
    });
    const sftpEnvironment = sftpPullFunction(dev.template).Properties.Environment.Variables as Record<string, unknown>;
    const hostKeyMetrics = await emittedMetrics(sftpEnvironment, async (load) => {
      jest.doMock('../../src/sftp/pull-partner', () => {
        const { HostKeyMismatchError } = load<typeof import('../../src/sftp/errors')>('../../src/sftp/errors');
        return {
          pullPartner: async (partner: { id: string }) => {
            throw new HostKeyMismatchError(partner.id, 'SHA256:presented', ['SHA256:pinned']);
          },
        };
      });
      try {
        const { pullAll } = load<typeof import('../../src/sftp/pull-all')>('../../src/sftp/pull-all');
        const { createMetrics } = load<typeof import('../../src/platform/telemetry')>('../../src/platform/telemetry');
        const globex = { id: 'globex', sources: { sftp: { host: 'sftp.globex.example', port: 22 } } };
        const outcomes = await pullAll(
          {
            registry: { partners: new Map([['globex', globex]]) },
            logger: { error: () => undefined },
            publisher: { publishAlert: async () => undefined },
            metrics: createMetrics(),
          } as never,
          {} as never,
        );
        expect(outcomes).toEqual([expect.objectContaining({ outcome: 'failed', code: 'SFTP_HOST_KEY_MISMATCH' })]);
      } finally {
        jest.dontMock('../../src/sftp/pull-partner');
      }
    });
    const emitted = [...batchMetrics, ...hostKeyMetrics].map((metric) => ({
      namespace: metric.namespace,
      metric: metric.metric,
      dimensions: dimensions(metric.dimensions),
    }));
    for (const alarm of custom) {
      expect(emitted).toContainEqual({ namespace: alarm.namespace, metric: alarm.metric, dimensions: alarm.dimensions });
    }
  });

  test('exactly these alarms, on dev and prod alike', () => {
    const summary = (template: CfnTemplate) =>
      alarmsOf(template)
        .map(([, alarm]) => {
          const definition = alarmDefinition(alarm);
          return `${definition.metric} ${JSON.stringify(definition.dimensions.map((dimension) => dimension.Value))}`;
        })
        .sort();
    expect(summary(dev.template)).toEqual(
      [
        'ApproximateNumberOfMessagesVisible [{"Fn::GetAtt":["FileEventsDLQ","QueueName"]}]',
        'ApproximateNumberOfMessagesVisible [{"Fn::GetAtt":["WorkDLQ","QueueName"]}]',
        'ApproximateNumberOfMessagesVisible [{"Fn::GetAtt":["SendRangesDLQ","QueueName"]}]',
        'ApproximateAgeOfOldestMessage [{"Fn::GetAtt":["FileEventsQueue","QueueName"]}]',
        'ApproximateAgeOfOldestMessage [{"Fn::GetAtt":["WorkQueue","QueueName"]}]',
        'Errors [{"Ref":"IngestFileLambdaFunction"}]',
        'Errors [{"Ref":"SendRangeLambdaFunction"}]',
        'Errors [{"Ref":"SftpPullLambdaFunction"}]',
        'Errors [{"Ref":"ReplayLambdaFunction"}]',
        'Errors [{"Ref":"OperatorApiLambdaFunction"}]',
        'Batches ["partner-ingest","FAILED"]',
        'Batches ["partner-ingest","REJECTED"]',
        'SftpHostKeyMismatch ["partner-ingest"]',
      ].sort(),
    );
    expect(summary(prod.template)).toEqual(summary(dev.template));
  });
});

describe('event archive', () => {
  test('archives every partner-ingest event of the bus, for the stage\'s eventArchiveRetentionDays', () => {
    const archives = resourcesOfType(dev.template, 'AWS::Events::Archive');
    expect(archives.map(([logicalId]) => logicalId)).toEqual(['EventArchive']);
    expect(resource(dev.template, 'EventArchive').Properties).toEqual({
      ArchiveName: 'partner-ingest-dev',
      Description: expect.any(String),
      SourceArn: { 'Fn::GetAtt': ['EventBus', 'Arn'] },
      // The source every event of the code carries (src/completion/completion-event.ts).
      EventPattern: { source: [EVENT_SOURCE] },
      RetentionDays: 14,
    });
    expect(resource(prod.template, 'EventArchive').Properties).toMatchObject({ ArchiveName: 'partner-ingest-prod', RetentionDays: 90 });
    expect(dev.template.Outputs?.EventArchiveArn?.Value).toEqual({ 'Fn::GetAtt': ['EventArchive', 'Arn'] });
  });
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
