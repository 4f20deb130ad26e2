/**
 * Deploys the packaged dev stack into moto_server through its CloudFormation API,
 * the way `sls deploy` does: create the stack from
 * cloudformation-template-create-stack.json (the deployment bucket), upload the
 * function zip where the update template expects it, update the stack with
 * cloudformation-template-update-stack.json. Then checks, through each service's
 * own API, that the resources exist and are wired as the template says: queues and
 * their dead-letter redrive, the ledger table and its indexes, the functions (code
 * from the uploaded zip, their roles, their environment resolved to the stack's
 * resources, their log groups), file events -> ingestFile, the SFTP schedule ->
 * sftpPull, the operator API, the partner write role, the bus's archive.
 *
 * What moto's CloudFormation does not do (README, "Deploying", lists it too):
 * - it skips resource types it does not implement: AWS::CloudWatch::Alarm,
 *   AWS::S3::BucketPolicy, AWS::SQS::QueuePolicy, AWS::SNS::TopicPolicy (and
 *   AWS::SNS::Subscription, absent on dev: no alarm email). The test asserts that
 *   exactly these are missing, and that every alarm's dimensions name a queue or
 *   function the stack did create;
 * - of AWS::S3::Bucket it applies the name and BucketEncryption only (no versioning,
 *   public access block, ownership controls, lifecycle or notifications): the test
 *   applies the template's own NotificationConfiguration through the S3 API and
 *   shows uploads under inbound/, pulled/ and pushed/ reaching the file-events queue, and nothing else
 *   (not pushed-uploads/, where SFTP push uploads arrive, partial ones included);
 * - of AWS::DynamoDB::Table it ignores point-in-time recovery, TTL and SSE; of
 *   AWS::Lambda::Function, Architectures (it reports x86_64) and reserved concurrency;
 * - it needs two equivalent rewrites of the template (motoRewrites, dev/stack-from-template.ts): Ref of an
 *   AWS::Events::EventBus resolves to an internal object, not the bus name, and an
 *   AWS::Events::Archive EventPattern must be a JSON string, not an object;
 * - it keeps an `Fn::If` -> `AWS::NoValue` policy statement as null and returns that
 *   inline policy as Python text, so role policies are checked in the template
 *   (package-*.test.ts), here only their resolved resource ARNs;
 * - an SQS event source mapping would invoke the function in Docker on every message:
 *   the test disables it (after checking it) before sending anything to the queue.
 * It enforces no IAM, bucket or queue policy, so permissions are not exercised here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { APIGatewayClient, GetResourcesCommand } from '@aws-sdk/client-api-gateway';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  UpdateStackCommand,
  type Stack,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeArchiveCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import {
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import {
  GetBucketEncryptionCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
  type QueueConfiguration,
} from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CompletionEventDetail } from '../../src/completion/completion-event';
import { EventPublisher } from '../../src/completion/publisher';
import { startMotoServer, type MotoServer } from '../../dev/moto-server';
import { evaluateConditions, motoRewrites } from '../../dev/stack-from-template';
import { type CfnTemplate, output, PACKAGE_TIMEOUT_MS, type Packaged, removeCopies, slsPackage } from './packaging';

const STACK = 'partner-ingest-dev';
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012'; // moto's default account
const LANDING_BUCKET = `partner-ingest-dev-landing-${ACCOUNT}-${REGION}`;
const BUS = 'partner-ingest-dev';
const STACK_TIMEOUT_MS = 60_000;

/** What moto's CloudFormation skips: it implements no model for these types. */
const MOTO_SKIPS = ['AWS::CloudWatch::Alarm', 'AWS::S3::BucketPolicy', 'AWS::SNS::TopicPolicy', 'AWS::SQS::QueuePolicy'];

/**
 * The README's example consumer subscriptions ("Deploying", consumers): an SNS
 * filter policy and an EventBridge rule pattern, each for acme's failed or rejected
 * order batches.
 */
const SNS_FILTER_POLICY = { partner: ['acme'], feed: ['orders'], status: ['FAILED', 'REJECTED'] };
const EVENT_PATTERN = { source: ['partner-ingest'], 'detail-type': ['Batch Failed', 'Batch Rejected'], detail: { partner: ['acme'] } };

type Json = any;

let moto: MotoServer;
let packaged: Packaged;
let template: CfnTemplate;
let rewrites: string[];
let stack: Stack;
let resources: StackResourceSummary[];
let clients: {
  cfn: CloudFormationClient;
  s3: S3Client;
  sqs: SQSClient;
  sns: SNSClient;
  events: EventBridgeClient;
  dynamo: DynamoDBClient;
  lambda: LambdaClient;
  iam: IAMClient;
  logs: CloudWatchLogsClient;
  apigateway: APIGatewayClient;
};

async function stackSettled(): Promise<Stack> {
  const deadline = Date.now() + STACK_TIMEOUT_MS;
  for (;;) {
    const { Stacks } = await clients.cfn.send(new DescribeStacksCommand({ StackName: STACK }));
    const current = Stacks![0]!;
    if (!current.StackStatus!.endsWith('_IN_PROGRESS')) return current;
    if (Date.now() > deadline) throw new Error(`stack still ${current.StackStatus} after ${STACK_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stackResources(): Promise<StackResourceSummary[]> {
  const all: StackResourceSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await clients.cfn.send(new ListStackResourcesCommand({ StackName: STACK, NextToken }));
    all.push(...(page.StackResourceSummaries ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  // moto lists a resource it skipped as an entry with an empty logical id.
  return all.filter((summary) => summary.LogicalResourceId);
}

function physicalId(logicalId: string): string {
  const found = resources.find((summary) => summary.LogicalResourceId === logicalId);
  if (!found) throw new Error(`moto created no ${logicalId}`);
  return found.PhysicalResourceId!;
}

const queueName = (logicalId: string) => physicalId(logicalId).split('/').pop()!;

/** A queue's URL on moto (the stack's physical ids name sqs.<region>.amazonaws.com). */
async function queueUrl(logicalId: string): Promise<string> {
  return (await clients.sqs.send(new GetQueueUrlCommand({ QueueName: queueName(logicalId) }))).QueueUrl!;
}

async function queueAttributes(logicalId: string): Promise<Record<string, string>> {
  const QueueUrl = await queueUrl(logicalId);
  return (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes!;
}

/** The Properties of a resource of the packaged (deployed) template. */
const properties = (logicalId: string): Json => template.Resources[logicalId]!.Properties ?? {};

beforeAll(async () => {
  const [pkg, server] = await Promise.all([slsPackage('moto', ['--stage', 'dev']), startMotoServer()]);
  packaged = pkg;
  moto = server;
  if (packaged.result.code !== 0) throw new Error(`sls package failed in ${packaged.dir}:\n${output(packaged.result)}`);
  const config = {
    endpoint: moto.endpoint,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  clients = {
    cfn: new CloudFormationClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    sqs: new SQSClient(config),
    sns: new SNSClient(config),
    events: new EventBridgeClient(config),
    dynamo: new DynamoDBClient(config),
    lambda: new LambdaClient(config),
    iam: new IAMClient(config),
    logs: new CloudWatchLogsClient(config),
    apigateway: new APIGatewayClient(config),
  };

  // `sls deploy`, step by step.
  const serverless = path.join(packaged.dir, '.serverless');
  const Capabilities = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] as const;
  await clients.cfn.send(
    new CreateStackCommand({
      StackName: STACK,
      TemplateBody: readFileSync(path.join(serverless, 'cloudformation-template-create-stack.json'), 'utf8'),
      Capabilities: [...Capabilities],
    }),
  );
  const created = await stackSettled();
  if (created.StackStatus !== 'CREATE_COMPLETE') throw new Error(`create-stack: ${created.StackStatus} ${created.StackStatusReason ?? ''}`);
  resources = await stackResources();
  template = packaged.template;
  const codeKeys = new Set(
    Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::Lambda::Function')
      .map((resource) => resource.Properties!.Code.S3Key as string),
  );
  expect(codeKeys.size).toBe(1);
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: physicalId('ServerlessDeploymentBucket'),
      Key: [...codeKeys][0]!,
      Body: packaged.zip!,
    }),
  );
  const forMoto = motoRewrites(template);
  rewrites = forMoto.applied;
  await clients.cfn.send(
    new UpdateStackCommand({ StackName: STACK, TemplateBody: JSON.stringify(forMoto.template), Capabilities: [...Capabilities] }),
  );
  stack = await stackSettled();
  resources = await stackResources();
}, PACKAGE_TIMEOUT_MS + STACK_TIMEOUT_MS);

afterAll(async () => {
  await moto?.stop();
  removeCopies();
});

describe('the packaged dev stack in moto_server', () => {
  test('deploys (create-stack, upload, update-stack) with every resource type moto implements', () => {
    expect([stack.StackStatus, stack.StackStatusReason]).toEqual(['UPDATE_COMPLETE', undefined]);
    expect(rewrites).toEqual(['Archive EventPattern object -> JSON text', 'Ref EventBus -> Fn::GetAtt EventBus.Name']);
    const conditions = evaluateConditions(template);
    const expected = Object.entries(template.Resources).filter(([, resource]) => !resource.Condition || conditions[resource.Condition]);
    const created = new Map(resources.map((summary) => [summary.LogicalResourceId!, summary]));
    const skipped = expected.filter(([logicalId]) => !created.has(logicalId));
    // Only whole types moto does not implement are missing, and all of each.
    expect([...new Set(skipped.map(([, resource]) => resource.Type))].sort()).toEqual(MOTO_SKIPS);
    expect(skipped).toHaveLength(expected.filter(([, resource]) => MOTO_SKIPS.includes(resource.Type)).length);
    for (const [logicalId, resource] of expected.filter(([id]) => created.has(id))) {
      const summary = created.get(logicalId)!;
      expect([logicalId, summary.ResourceType, summary.ResourceStatus]).toEqual([logicalId, resource.Type, expect.stringMatching(/^(CREATE|UPDATE)_COMPLETE$/)]);
    }
    // Conditional resources whose condition is false on dev were not created.
    expect(created.has('LandingKey')).toBe(false);
    expect(created.has('AlarmEmailSubscription')).toBe(false);
    expect(Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]))).toMatchObject({
      LandingBucketName: LANDING_BUCKET,
      EventBusName: BUS,
      EventBusArn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${BUS}`,
      EventArchiveArn: `arn:aws:events:${REGION}:${ACCOUNT}:archive/${BUS}`,
      PartnerAcmeWriteRoleArn: `arn:aws:iam::${ACCOUNT}:role/partner-ingest-dev-partner-acme`,
      AlarmTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:partner-ingest-dev-alarms`,
      PartnerIds: 'acme,globex',
    });
  });

  test('queues: each redrives to its dead-letter queue, with the template\'s timeouts, sizes and encryption', async () => {
    for (const [queue, dlq] of [['FileEventsQueue', 'FileEventsDLQ'], ['WorkQueue', 'WorkDLQ']] as const) {
      const attributes = await queueAttributes(queue);
      const dlqAttributes = await queueAttributes(dlq);
      const redrive = properties(queue).RedrivePolicy;
      expect(JSON.parse(attributes.RedrivePolicy!)).toEqual({
        deadLetterTargetArn: dlqAttributes.QueueArn,
        maxReceiveCount: redrive.maxReceiveCount,
      });
      expect(attributes.SqsManagedSseEnabled).toBe('true');
      expect(dlqAttributes.SqsManagedSseEnabled).toBe('true');
      expect(attributes.MessageRetentionPeriod).toBe(String(properties(queue).MessageRetentionPeriod));
      expect(dlqAttributes.MessageRetentionPeriod).toBe(String(14 * 24 * 3600));
    }
    expect((await queueAttributes('FileEventsQueue')).VisibilityTimeout).toBe('5400');
    expect((await queueAttributes('WorkQueue')).MaximumMessageSize).toBe('1048576');
    expect((await queueAttributes('WorkQueue')).VisibilityTimeout).toBe('180');
  });

  test('the ledger table, keyed pk/sk, with the byStatus, byPartner and byDay indexes', async () => {
    const { Table } = await clients.dynamo.send(new DescribeTableCommand({ TableName: physicalId('LedgerTable') }));
    expect(Table!.TableName).toBe('partner-ingest-dev-ledger');
    expect(Table!.KeySchema).toEqual(properties('LedgerTable').KeySchema);
    expect(Table!.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(
      Table!.GlobalSecondaryIndexes!.map((index) => ({ IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection })),
    ).toEqual(properties('LedgerTable').GlobalSecondaryIndexes);
  });

  test('the landing bucket exists, encrypted as the template says', async () => {
    expect(physicalId('LandingBucket')).toBe(LANDING_BUCKET);
    const { ServerSideEncryptionConfiguration } = await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: LANDING_BUCKET }));
    expect(ServerSideEncryptionConfiguration!.Rules![0]!.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
  });

  test('functions: the uploaded code, their own roles, the environment resolved to the stack\'s resources, their log groups', async () => {
    const functions = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(7);
    const { logGroups } = await clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/partner-ingest-dev-' }));
    for (const [logicalId, resource] of functions) {
      const props = resource.Properties!;
      const configuration = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalId(logicalId) }));
      const roleLogicalId = props.Role['Fn::GetAtt'][0] as string;
      const { Role } = await clients.iam.send(new GetRoleCommand({ RoleName: physicalId(roleLogicalId) }));
      expect({
        name: configuration.FunctionName,
        runtime: configuration.Runtime,
        handler: configuration.Handler,
        timeout: configuration.Timeout,
        memory: configuration.MemorySize,
        role: configuration.Role,
      }).toEqual({
        name: props.FunctionName,
        runtime: 'nodejs24.x',
        handler: props.Handler,
        timeout: props.Timeout,
        memory: props.MemorySize,
        role: Role!.Arn,
      });
      expect(configuration.CodeSize).toBe(packaged.zip!.length);
      // Every reference resolved to what the stack created; literals as they are.
      const expected = Object.fromEntries(
        Object.entries(props.Environment.Variables as Record<string, Json>).map(([name, value]) => {
          if (typeof value === 'string') return [name, value];
          const ref = value.Ref as string;
          return [name, template.Resources[ref]!.Type === 'AWS::Events::EventBus' ? properties(ref).Name : physicalId(ref)];
        }),
      );
      expect([logicalId, configuration.Environment?.Variables]).toEqual([logicalId, expected]);
      expect(logGroups).toContainEqual(
        expect.objectContaining({ logGroupName: `/aws/lambda/${props.FunctionName as string}`, retentionInDays: 30 }),
      );
    }
    const ingest = (await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalId('IngestFileLambdaFunction') })))
      .Environment!.Variables!;
    expect(ingest).toMatchObject({
      LANDING_BUCKET,
      WORK_QUEUE_URL: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/partner-ingest-dev-work`,
      LEDGER_TABLE: 'partner-ingest-dev-ledger',
      EVENTS_TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:partner-ingest-dev-events`,
      EVENT_BUS_NAME: BUS,
    });
  });

  test('file events -> ingestFile and send ranges -> sendRange: one message at a time, reporting partial failures', async () => {
    const { EventSourceMappings = [] } = await clients.lambda.send(new ListEventSourceMappingsCommand({}));
    const byQueue = [...EventSourceMappings].sort((a, b) => a.EventSourceArn!.localeCompare(b.EventSourceArn!));
    expect(byQueue).toEqual([
      expect.objectContaining({
        EventSourceArn: (await queueAttributes('FileEventsQueue')).QueueArn,
        FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:partner-ingest-dev-ingestFile`,
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        State: 'Enabled',
      }),
      expect.objectContaining({
        EventSourceArn: (await queueAttributes('SendRangesQueue')).QueueArn,
        FunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:partner-ingest-dev-sendRange`,
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 4 },
        State: 'Enabled',
      }),
    ]);
  });

  test('the SFTP schedule rule -> sftpPull with its partner, and EventBridge may invoke it from that rule only', async () => {
    const { Rules } = await clients.events.send(new ListRulesCommand({}));
    // The other schedule is checkExpectations' (test/deploy/package-expectations.test.ts).
    const schedules = Rules!.filter((rule) => rule.ScheduleExpression && rule.ScheduleExpression !== 'rate(5 minutes)');
    expect(Rules!.filter((rule) => rule.ScheduleExpression === 'rate(5 minutes)')).toHaveLength(1);
    expect(schedules.map((rule) => [rule.ScheduleExpression, rule.State])).toEqual([['rate(15 minutes)', 'ENABLED']]);
    const { Targets } = await clients.events.send(new ListTargetsByRuleCommand({ Rule: schedules[0]!.Name! }));
    const sftpPullArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:partner-ingest-dev-sftpPull`;
    expect(Targets!.map((target) => ({ arn: target.Arn, input: JSON.parse(target.Input!) }))).toEqual([
      { arn: sftpPullArn, input: { partners: ['globex'] } },
    ]);
    const policy = JSON.parse((await clients.lambda.send(new GetPolicyCommand({ FunctionName: sftpPullArn }))).Policy!);
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnLike: { 'AWS:SourceArn': schedules[0]!.Arn } },
      }),
    ]);
  });

  test('the operator API: its five routes, IAM-authorized, each a proxy to operatorApi', async () => {
    const { items } = await clients.apigateway.send(new GetResourcesCommand({ restApiId: physicalId('ApiGatewayRestApi'), embed: ['methods'] }));
    const routes = items!.flatMap((item) =>
      Object.entries(item.resourceMethods ?? {}).map(([method, definition]) => ({
        route: `${method} ${item.path}`,
        authorization: definition.authorizationType,
        integration: definition.methodIntegration?.type,
        uri: definition.methodIntegration?.uri,
      })),
    );
    expect(routes.map((route) => route.route).sort()).toEqual(
      ['GET /batches', 'GET /batches/{batchId}', 'POST /batches/{batchId}/replay', 'POST /redrive', 'GET /expectations'].sort(),
    );
    for (const route of routes) {
      expect(route).toEqual({
        route: route.route,
        authorization: 'AWS_IAM',
        integration: 'AWS_PROXY',
        uri: expect.stringContaining(`function:partner-ingest-dev-operatorApi/invocations`),
      });
    }
  });

  test('the partner write role: its name, trusted by this account, its policy on the landing bucket\'s inbound/acme/', async () => {
    const roleName = physicalId('PartnerAcmeWriteRole');
    expect(roleName).toBe('partner-ingest-dev-partner-acme');
    const { Role } = await clients.iam.send(new GetRoleCommand({ RoleName: roleName }));
    expect(JSON.parse(decodeURIComponent(Role!.AssumeRolePolicyDocument!)).Statement).toEqual([
      { Sid: 'ThisAccountHandsItOut', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' },
    ]);
    const { PolicyNames } = await clients.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
    expect(PolicyNames).toEqual(['write-inbound-acme']);
    // Python text, not JSON, in moto (see above): its resolved resource is what counts here.
    const { PolicyDocument } = await clients.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'write-inbound-acme' }));
    const text = decodeURIComponent(PolicyDocument!);
    expect(text).toContain(`arn:aws:s3:::${LANDING_BUCKET}/inbound/acme/*`);
    expect(text.match(/arn:aws:s3:::[^'"]+/g)).toEqual([`arn:aws:s3:::${LANDING_BUCKET}/inbound/acme/*`]);
  });

  test('alarms (which moto skips) name queues and functions the stack created, and a topic encrypted with its own key', async () => {
    const alarms = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(17); // 16, and one per SFTP partner (globex)
    for (const [logicalId, alarm] of alarms) {
      expect([logicalId, alarm.Properties!.AlarmActions]).toEqual([logicalId, [{ Ref: 'AlarmTopic' }]]);
      for (const dimension of alarm.Properties!.Dimensions as { Name: string; Value: Json }[]) {
        if (dimension.Name === 'QueueName') {
          const [queue, attribute] = dimension.Value['Fn::GetAtt'] as [string, string];
          expect(attribute).toBe('QueueName');
          expect(await queueUrl(queue)).toMatch(new RegExp(`/${queueName(queue)}$`));
        } else if (dimension.Name === 'FunctionName') {
          const fn = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalId(dimension.Value.Ref) }));
          expect(fn.FunctionName).toBe(physicalId(dimension.Value.Ref));
        } else {
          expect(typeof dimension.Value).toBe('string'); // the code's own metrics: literal dimensions
        }
      }
    }
    const { Attributes } = await clients.sns.send(new GetTopicAttributesCommand({ TopicArn: physicalId('AlarmTopic') }));
    expect(Attributes!.KmsMasterKeyId).toBe(physicalId('AlarmTopicKey'));
  });
});

describe('wiring moto does not apply from the template, applied through the service APIs', () => {
  test('the bucket notification: uploads under inbound/, pulled/ and pushed/ reach the file-events queue, other prefixes (pushed-uploads/ too) do not', async () => {
    // moto would run ingestFile (in Docker) on each message: checked above, now off.
    const { EventSourceMappings } = await clients.lambda.send(new ListEventSourceMappingsCommand({}));
    for (const mapping of EventSourceMappings!) {
      await clients.lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.UUID!, Enabled: false }));
    }
    const fileEventsArn = (await queueAttributes('FileEventsQueue')).QueueArn!;
    const configurations = properties('LandingBucket').NotificationConfiguration as Record<string, Json[]>;
    expect(Object.keys(configurations)).toEqual(['QueueConfigurations']);
    const QueueConfigurations: QueueConfiguration[] = configurations.QueueConfigurations!.map((configuration) => {
      expect(configuration.Queue).toEqual({ 'Fn::GetAtt': ['FileEventsQueue', 'Arn'] });
      return {
        Events: [configuration.Event],
        QueueArn: fileEventsArn,
        Filter: { Key: { FilterRules: configuration.Filter.S3Key.Rules } },
      };
    });
    await clients.s3.send(
      new PutBucketNotificationConfigurationCommand({ Bucket: LANDING_BUCKET, NotificationConfiguration: { QueueConfigurations } }),
    );
    const pushedKey = 'pushed/acme/0123456789abcdef0123456789abcdef/orders_2026-11-28.csv';
    for (const key of [
      'inbound/acme/orders_2026-11-27.csv',
      'pulled/globex/shipments_1.csv.gz',
      pushedKey,
      'pushed-uploads/acme/orders_2026-11-28.csv',
      'archive/acme/2026-11-27/x/orders.csv',
      'rejects/acme/x/rejects.csv',
    ]) {
      await clients.s3.send(new PutObjectCommand({ Bucket: LANDING_BUCKET, Key: key, Body: 'order_id\n1\n' }));
    }
    const QueueUrl = await queueUrl('FileEventsQueue');
    const { Messages } = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const bodies = (Messages ?? []).map((message) => JSON.parse(message.Body!) as Json);
    // S3 sends a test event when the configuration is saved (the function ignores it).
    expect(bodies.filter((body) => body.Event === 's3:TestEvent')).toHaveLength(1);
    const keys = bodies.flatMap((body) => (body.Records ?? []).map((record: Json) => decodeURIComponent(record.s3.object.key)));
    expect(keys.sort()).toEqual(['inbound/acme/orders_2026-11-27.csv', 'pulled/globex/shipments_1.csv.gz', pushedKey]);
  });

  test('consumers: the README\'s SNS filter policy and EventBridge rule receive what the code publishes, and the archive keeps it', async () => {
    // A consumer's two queues, subscribed as the README shows.
    const snsQueue = (await clients.sqs.send(new CreateQueueCommand({ QueueName: 'consumer-sns' }))).QueueUrl!;
    const ebQueue = (await clients.sqs.send(new CreateQueueCommand({ QueueName: 'consumer-eventbridge' }))).QueueUrl!;
    const arnOf = async (QueueUrl: string) =>
      (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const topicArn = physicalId('EventsTopic');
    await clients.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: await arnOf(snsQueue),
        Attributes: { FilterPolicy: JSON.stringify(SNS_FILTER_POLICY), RawMessageDelivery: 'true' },
      }),
    );
    await clients.events.send(new PutRuleCommand({ Name: 'consumer-acme-problems', EventBusName: BUS, EventPattern: JSON.stringify(EVENT_PATTERN) }));
    await clients.events.send(
      new PutTargetsCommand({ Rule: 'consumer-acme-problems', EventBusName: BUS, Targets: [{ Id: 'queue', Arn: await arnOf(ebQueue) }] }),
    );
    expect((await clients.events.send(new DescribeEventBusCommand({ Name: BUS }))).Name).toBe(BUS);

    // What the functions publish: the EventPublisher, at the stack's topic and bus.
    const publisher = new EventPublisher(clients.sns, clients.events, { topicArn, busName: BUS }, { attempts: 2, baseMs: 1, maxMs: 5 });
    const detail = (partner: string, feed: string, status: CompletionEventDetail['status']) =>
      ({ schemaVersion: '1.0', eventId: `${partner}-${status}:1`, batchId: `${partner}-${status}`, attempt: 1, status, partner, feed }) as CompletionEventDetail;
    const published = [
      detail('acme', 'orders', 'FAILED'),
      detail('acme', 'orders', 'COMPLETED'),
      detail('acme', 'orders', 'REJECTED'),
      detail('globex', 'shipments', 'FAILED'),
    ];
    for (const event of published) {
      await publisher.publishSns(event);
      await publisher.publishEventBridge(event);
    }
    await publisher.publishAlert('SFTP Host Key Mismatch', { partner: 'globex' });
    // Another source on the same bus: not archived.
    await clients.events.send(new PutEventsCommand({ Entries: [{ EventBusName: BUS, Source: 'someone-else', DetailType: 'Other', Detail: '{}' }] }));

    const received = async (QueueUrl: string) =>
      ((await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ?? []).map(
        (message) => JSON.parse(message.Body!) as Json,
      );
    const wanted = ['acme-FAILED:1', 'acme-REJECTED:1'];
    expect((await received(snsQueue)).map((body) => body.eventId).sort()).toEqual(wanted);
    const fromBus = await received(ebQueue);
    expect(fromBus.map((event) => event.detail.eventId).sort()).toEqual(wanted);
    expect(fromBus.map((event) => event['detail-type']).sort()).toEqual(['Batch Failed', 'Batch Rejected']);

    const archive = await clients.events.send(new DescribeArchiveCommand({ ArchiveName: BUS }));
    expect(archive).toMatchObject({
      EventSourceArn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${BUS}`,
      RetentionDays: 14,
      State: 'ENABLED',
      // The four completion events and the alert; not the other source's event.
      EventCount: published.length + 1,
    });
    expect(JSON.parse(archive.EventPattern!)).toEqual({ source: ['partner-ingest'] });
  });
});
