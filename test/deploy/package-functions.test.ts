/**
 * The functions as `sls package` builds them: the environment the code reads,
 * a role of its own each with no wildcard, log groups, the shell's settings
 * ignored, the zip, and a clean cfn-lint of every variant's template.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  asList,
  expectNoWildcards,
  ingestFunction,
  operatorApiFunction,
  packagedVariants,
  replayFunction,
  roleStatements,
  sftpPullFunction,
  SHELL_RESOURCE_SETTINGS,
} from './package-variants';
import { type CfnResource, type CfnTemplate, output, PACKAGE_TIMEOUT_MS, type Packaged, removeCopies, resource, resourcesOfType, run } from './packaging';
import { PROJECT_ROOT } from '../support/stack';

// Seven templates linted at once; on a 2-core machine under load that takes more than two minutes.
const LINT_TIMEOUT_MS = 300_000;

let dev: Packaged;
let prod: Packaged;
let kms: Packaged;
let noSftp: Packaged;
let moreSftp: Packaged;
let push: Packaged;
let pushVpc: Packaged;

beforeAll(async () => {
  [dev, prod, kms, noSftp, moreSftp, push, pushVpc] = await packagedVariants('dev', 'prod', 'kms', 'no-sftp', 'more-sftp', 'push', 'push-vpc');
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(removeCopies);

describe('sls package --stage dev', () => {
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
});

describe('every function', () => {
  test('has a role of its own, and no role in the stack allows a wildcard action or resource', () => {
    const roles = resourcesOfType(dev.template, 'AWS::IAM::Role').map(([logicalId]) => logicalId).sort();
    // The functions' roles, and the S3-drop partners' write roles (see 'partner write access').
    expect(roles).toEqual(['CheckExpectationsRole', 'IngestFileRole', 'OperatorApiRole', 'PartnerAcmeWriteRole', 'ReplayRole', 'SendRangeRole', 'SftpPullRole', 'SftpPushHandoffRole']);
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
      expect(functions).toHaveLength(7);
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

describe('stage differences', () => {
  test('prod keeps logs longer and names everything for its stage', () => {
    const retention = (t: CfnTemplate) => resource(t, 'IngestFileLogGroup').Properties.RetentionInDays as number;
    expect(retention(prod.template)).toBeGreaterThan(retention(dev.template));
    expect(ingestFunction(prod.template).Properties.Environment.Variables.STAGE).toBe('prod');
    expect(resource(prod.template, 'EventBus').Properties.Name).toBe('partner-ingest-prod');
  });
});

describe('cfn-lint', () => {
  // On PATH, or where dev/setup.sh pip-installs it (the project's .venv).
  const cfnLint = [...(process.env.PATH ?? '').split(path.delimiter), path.join(PROJECT_ROOT, '.venv', 'bin')]
    .map((dir) => path.join(dir, 'cfn-lint'))
    .find((file) => path.isAbsolute(file) && existsSync(file));

  test(
    'the dev, prod, SSE-KMS, SFTP-variant and SFTP push (public and VPC) templates have no cfn-lint errors',
    async () => {
      if (!cfnLint) {
        console.warn('cfn-lint is not installed: skipping the CloudFormation lint (bash dev/setup.sh test installs it)');
        return;
      }
      const results = await Promise.all(
        [dev, prod, kms, noSftp, moreSftp, push, pushVpc].map((packaged) =>
          run(
            cfnLint,
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
