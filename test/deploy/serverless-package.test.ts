/**
 * Packages the service with osls exactly as a deploy would (`sls package`), with no
 * AWS credentials, and checks the CloudFormation template and the function zip:
 * the wiring other components rely on, least privilege, stage differences, and
 * that a bad partner file stops packaging.
 *
 * Every package runs in its own temporary copy of the project (serverless-esbuild
 * writes .esbuild/ and .serverless/ into the service directory), all in parallel.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { LEDGER_INDEXES } from '../../src/ledger/ledger';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const PROJECT_ENTRIES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'functions',
  'src',
  'partners',
  'schemas',
  'scripts',
  'bin',
];
const PACKAGE_TIMEOUT_MS = 240_000;
const LINT_TIMEOUT_MS = 120_000;
const LOAD_TIMEOUT_MS = 30_000;
const DEFAULT_SFTP_SCHEDULE = 'rate(15 minutes)';

// CloudFormation JSON is loosely typed: properties are `any`.
interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  Condition?: string;
}
interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
  Conditions?: Record<string, unknown>;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never rejects): exit code and both outputs. */
function run(command: string, args: string[], cwd: string, timeout: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  // serverless-esbuild 1.57 stages each zip in a directory under os.tmpdir() and never
  // removes it (non-recursive remove, error swallowed; floydspace/serverless-esbuild#589).
  // Point TMPDIR into the copy so the leftovers go away with it.
  const scratch = path.join(cwd, '.tmp');
  mkdirSync(scratch, { recursive: true });
  const env = { ...packagingEnv(), ...extraEnv, TMPDIR: scratch };
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The caller's environment minus anything that could reach a real AWS account. */
function packagingEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_')) delete env[name];
  }
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
}

const copies: string[] = [];

/** A throwaway copy of the service with node_modules symlinked. */
function projectCopy(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `partner-ingest-${label}-`));
  copies.push(dir);
  for (const entry of PROJECT_ENTRIES) {
    const from = path.join(PROJECT_ROOT, entry);
    if (existsSync(from)) cpSync(from, path.join(dir, entry), { recursive: true });
  }
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

interface Packaged {
  dir: string;
  result: RunResult;
  template: CfnTemplate;
  zipEntries: string[];
  zip?: Buffer;
}

async function slsPackage(
  label: string,
  args: string[],
  prepare?: (dir: string) => void,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Packaged> {
  const dir = projectCopy(label);
  prepare?.(dir);
  const result = await run('npx', ['sls', 'package', ...args], dir, PACKAGE_TIMEOUT_MS, extraEnv);
  const templateFile = path.join(dir, '.serverless', 'cloudformation-template-update-stack.json');
  const zipFile = path.join(dir, '.serverless', 'partner-ingest.zip');
  const zip = existsSync(zipFile) ? readFileSync(zipFile) : undefined;
  return {
    dir,
    result,
    template: existsSync(templateFile)
      ? (JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate)
      : { Resources: {} },
    zipEntries: zip ? zipDirectory(zip).map((entry) => entry.name) : [],
    ...(zip ? { zip } : {}),
  };
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

/** A zip's central directory (no dependency, no unzip binary). */
function zipDirectory(zip: Buffer): ZipEntry[] {
  const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
  const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== END_OF_CENTRAL_DIRECTORY) end -= 1;
  if (end < 0) throw new Error('not a zip file: no end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(offset) !== CENTRAL_DIRECTORY_ENTRY) throw new Error(`bad central directory entry ${i}`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      localHeaderOffset: zip.readUInt32LE(offset + 42),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** One file's content out of a zip (stored or deflated, the only methods serverless zips use). */
function zipEntryContent(zip: Buffer, name: string): Buffer {
  const entry = zipDirectory(zip).find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`zip has no ${name}`);
  const LOCAL_FILE_HEADER = 0x04034b50;
  const header = entry.localHeaderOffset;
  if (zip.readUInt32LE(header) !== LOCAL_FILE_HEADER) throw new Error(`bad local header for ${name}`);
  const start = header + 30 + zip.readUInt16LE(header + 26) + zip.readUInt16LE(header + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${name}: unsupported zip compression method ${entry.method}`);
}

function output(result: RunResult): string {
  return `${result.stdout}\n${result.stderr}`;
}

function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function resource(template: CfnTemplate, logicalId: string): CfnResource & { Properties: Record<string, any> } {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`template has no resource ${logicalId}`);
  return { ...found, Properties: found.Properties ?? {} };
}

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

/** ingestFile's environment, which replay shares and operatorApi extends. */
const INGEST_ENVIRONMENT = {
  LANDING_BUCKET: { Ref: 'LandingBucket' },
  WORK_QUEUE_URL: { Ref: 'WorkQueue' },
  FILE_EVENTS_QUEUE_URL: { Ref: 'FileEventsQueue' },
  LEDGER_TABLE: { Ref: 'LedgerTable' },
  EVENTS_TOPIC_ARN: { Ref: 'EventsTopic' },
  EVENT_BUS_NAME: { Ref: 'EventBus' },
  MAX_RECEIVE_COUNT: '5',
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

/** A second SFTP partner: its secret given by ARN, its own schedule. */
const INITECH_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:partner-ingest/initech/sftp-AbC123';

beforeAll(async () => {
  [dev, prod, kms, broken, noSftp, moreSftp] = await Promise.all([
    slsPackage('dev', ['--stage', 'dev']),
    // With the variables `sls offline` reads set in the shell: a package must not pick them up.
    slsPackage('prod', ['--stage', 'prod'], undefined, SHELL_RESOURCE_SETTINGS),
    // The SSE-KMS switch is off on every stage today; package it anyway so it stays deployable.
    slsPackage('kms', ['--stage', 'dev', '--param', 'landingEncryption=SSE-KMS']),
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
    }),
  ]);
  for (const packaged of [dev, prod, kms, noSftp, moreSftp]) {
    if (packaged.result.code !== 0) {
      throw new Error(`sls package failed in ${packaged.dir}:\n${output(packaged.result)}`);
    }
  }
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(() => {
  if (process.env.KEEP_PACKAGE_COPIES) return;
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

describe('sls package --stage dev', () => {
  test('the function runs on nodejs24.x / arm64 from one SQS file event at a time', () => {
    const fn = ingestFunction(dev.template);
    expect(fn.Properties.Runtime).toBe('nodejs24.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Timeout).toBe(900);
    expect(fn.Properties.MemorySize).toBe(1024);

    const mappings = resourcesOfType(dev.template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]![1].Properties!;
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] });
    expect(mapping.BatchSize).toBe(1);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
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
      STAGE: 'dev',
      POWERTOOLS_SERVICE_NAME: 'partner-ingest',
      POWERTOOLS_METRICS_NAMESPACE: 'PartnerIngest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test('the landing bucket is encrypted, private, TLS-only and notifies the file-events queue for inbound/', () => {
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
    expect(props.NotificationConfiguration.QueueConfigurations).toEqual([
      {
        Event: 's3:ObjectCreated:*',
        Queue: { 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] },
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'inbound/' }] } },
      },
    ]);
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

  test('the ledger has the indexes the code queries (src/ledger/ledger.ts), keyed as it expects', () => {
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

  test('gets the same environment as ingestFile', () => {
    expect(replayFunction(dev.template).Properties.Environment.Variables).toEqual(INGEST_ENVIRONMENT);
    expect(ingestFunction(dev.template).Properties.Environment.Variables).toEqual(INGEST_ENVIRONMENT);
  });

  test("its role: ingestFile's pipeline permissions, without consuming file events", () => {
    const replay = grants(dev.template, 'ReplayRole');
    const ingest = grants(dev.template, 'IngestFileRole');
    expectNoWildcards(replay.statements);
    const consume = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'];
    expect(replay.actions).toEqual(ingest.actions.filter((action) => !consume.includes(action)));
    for (const action of replay.actions.filter((name) => !name.startsWith('logs:'))) {
      expect([action, replay.resourcesOf(action)]).toEqual([action, ingest.resourcesOf(action)]);
    }
    expect(replay.resourcesOf('dynamodb:Query')).toEqual([{ 'Fn::GetAtt': ['LedgerTable', 'Arn'] }]);
    expect(replay.resourcesOf('sqs:SendMessage')).toEqual([{ 'Fn::GetAtt': ['WorkQueue', 'Arn'] }]);
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

  test("gets replay's environment plus the dead-letter queues", () => {
    expect(operatorApiFunction(dev.template).Properties.Environment.Variables).toEqual({
      ...INGEST_ENVIRONMENT,
      WORK_DLQ_URL: { Ref: 'WorkDLQ' },
      FILE_EVENTS_DLQ_URL: { Ref: 'FileEventsDLQ' },
    });
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
    // Everything replay may do (the API runs replays itself), on the same resources.
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

    const dlqs = [{ 'Fn::GetAtt': ['WorkDLQ', 'Arn'] }, { 'Fn::GetAtt': ['FileEventsDLQ', 'Arn'] }];
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes']) {
      expect([action, api.resourcesOf(action)]).toEqual([action, dlqs]);
    }
    expect(api.resourcesOf('sqs:SendMessage')).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': ['WorkQueue', 'Arn'] }, { 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] }]),
    );
    expect(api.resourcesOf('sqs:SendMessage')).not.toContainEqual(expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/DLQ$/), 'Arn'] }));
    expect(api.actions.filter((action) => !replay.actions.includes(action))).toEqual(
      ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'].sort(),
    );
    expect(api.resourcesOf('s3:PutObject')).toEqual(
      ['archive', 'staging', 'rejects'].map((prefix) => ({ 'Fn::Sub': `${LANDING_ARN}/${prefix}/*` })),
    );
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
    expect(roles).toEqual(['IngestFileRole', 'OperatorApiRole', 'ReplayRole', 'SftpPullRole']);
    const functionRoles = resourcesOfType(dev.template, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties!.Role['Fn::GetAtt'][0]);
    expect(functionRoles.sort()).toEqual(roles);
    for (const template of [dev.template, prod.template, kms.template]) {
      for (const role of roles) expectNoWildcards(roleStatements(resource(template, role)));
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

  test('its own role: no wildcard action or resource, uploads to inbound/ only, reads only the partner secrets', () => {
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

    // S3: writes into inbound/ and nothing else; reads nothing.
    const landing = 'arn:${AWS::Partition}:s3:::partner-ingest-dev-landing-${AWS::AccountId}-${AWS::Region}';
    for (const action of ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts']) {
      expect(granting(action).flatMap((statement) => asList(statement.Resource))).toEqual([
        { 'Fn::Sub': `${landing}/inbound/*` },
      ]);
    }
    expect(allActions.filter((action) => action.startsWith('s3:')).sort()).toEqual(
      ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'].sort(),
    );

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
      const dir = mkdtempSync(path.join(tmpdir(), 'partner-ingest-sftp-bundle-'));
      copies.push(dir);
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

describe('a broken partner file', () => {
  test('fails sls package, naming the file and the field', () => {
    expect(broken.result.code).not.toBe(0);
    const text = output(broken.result);
    expect(text).toContain('broken.yml');
    expect(text).toContain('encoding');
    expect(existsSync(path.join(broken.dir, '.serverless', 'partner-ingest.zip'))).toBe(false);
  });
});
