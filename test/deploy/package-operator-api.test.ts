/**
 * The operator functions, as packaged: replay (invoked directly) and the
 * IAM-authorized operator API, their environment and their roles.
 */
import {
  asList,
  expectNoWildcards,
  grants,
  LANDING_ARN,
  operatorApiFunction,
  packagedVariants,
  replayFunction,
} from './package-variants';
import { type CfnTemplate, PACKAGE_TIMEOUT_MS, type Packaged, removeCopies, resource, resourcesOfType } from './packaging';

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

let dev: Packaged;
let prod: Packaged;

beforeAll(async () => {
  [dev, prod] = await packagedVariants('dev', 'prod');
}, PACKAGE_TIMEOUT_MS + 30_000);

afterAll(removeCopies);

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
  const ROUTES = ['GET /batches', 'GET /batches/{batchId}', 'POST /batches/{batchId}/replay', 'POST /redrive', 'GET /expectations'];

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

  test('a REST API with its five routes, each a Lambda proxy to the function, IAM-authorized', () => {
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
