/**
 * The local stack's resources come from serverless.yml (resolved by `sls print` for
 * the stage), not from a hand-kept copy: each queue's, the table's and the bucket's
 * settings as moto reports them equal the template's.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetBucketNotificationConfigurationCommand, GetBucketVersioningCommand } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { localTemplate } from '../../dev/provision';
import { evaluateConditions, resolveIfs, subsetForMoto, type CfnTemplate } from '../../dev/stack-from-template';
import { useTestStack } from '../support/stack';

const stack = useTestStack();
let source: CfnTemplate;
let local: CfnTemplate;

beforeAll(async () => {
  ({ source, local } = await localTemplate('test'));
}, 120_000);

const props = (logicalId: string) => source.Resources[logicalId]!.Properties;

async function queueAttributes(QueueUrl: string) {
  return (await stack.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes!;
}

test('only the data path is taken from the template: bucket, six queues, events topic, bus, ledger table', () => {
  expect(
    Object.entries(local.Resources)
      .map(([id, resource]) => `${resource.Type} ${id}`)
      .sort(),
  ).toEqual([
    'AWS::DynamoDB::Table LedgerTable',
    'AWS::Events::EventBus EventBus',
    'AWS::S3::Bucket LandingBucket',
    'AWS::SNS::Topic EventsTopic',
    'AWS::SQS::Queue FileEventsDLQ',
    'AWS::SQS::Queue FileEventsQueue',
    'AWS::SQS::Queue SendRangesDLQ',
    'AWS::SQS::Queue SendRangesQueue',
    'AWS::SQS::Queue WorkDLQ',
    'AWS::SQS::Queue WorkQueue',
  ]);
  // Fn::If resolved for the stage (SSE-S3 on test), DependsOn on the dropped queue policy removed.
  expect(JSON.stringify(local)).not.toMatch(/Fn::If|FileEventsQueuePolicy/);
  expect(local.Resources.LandingBucket!.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({
    SSEAlgorithm: 'AES256',
  });
});

test('the queues have the template\'s sizes, timeouts, retention and redrive', async () => {
  const { resources } = stack;
  for (const [logicalId, url, dlqUrl] of [
    ['FileEventsQueue', resources.fileEventsQueueUrl, resources.fileEventsDlqUrl],
    ['WorkQueue', resources.workQueueUrl, resources.workDlqUrl],
  ] as const) {
    const attributes = await queueAttributes(url);
    const expected = props(logicalId);
    expect(attributes.QueueArn!.split(':').pop()).toBe(expected.QueueName);
    expect(Number(attributes.VisibilityTimeout)).toBe(expected.VisibilityTimeout);
    expect(Number(attributes.MessageRetentionPeriod)).toBe(expected.MessageRetentionPeriod);
    if (expected.MaximumMessageSize) expect(Number(attributes.MaximumMessageSize)).toBe(expected.MaximumMessageSize);
    const redrive = JSON.parse(attributes.RedrivePolicy!);
    expect(Number(redrive.maxReceiveCount)).toBe(expected.RedrivePolicy.maxReceiveCount);
    expect(redrive.deadLetterTargetArn).toBe((await queueAttributes(dlqUrl)).QueueArn);
    expect(redrive.deadLetterTargetArn.split(':').pop()).toBe(props(expected.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0]).QueueName);
  }
  expect(props('WorkQueue').MaximumMessageSize).toBe(1_048_576);
  expect(resources.maxReceiveCount).toBe(props('FileEventsQueue').RedrivePolicy.maxReceiveCount);
});

test('the ledger table has the template\'s keys and indexes', async () => {
  const { Table } = await stack.clients.dynamo.send(new DescribeTableCommand({ TableName: stack.resources.ledgerTable }));
  expect(Table!.TableName).toBe(props('LedgerTable').TableName);
  expect(Table!.KeySchema).toEqual(props('LedgerTable').KeySchema);
  expect(
    Table!.GlobalSecondaryIndexes!.map((index) => ({ IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection })),
  ).toEqual(props('LedgerTable').GlobalSecondaryIndexes);
});

test('the bucket is versioned and notifies the file-events queue as the template says; topic and bus are named by it', async () => {
  const { resources, clients } = stack;
  const versioning = await clients.s3.send(new GetBucketVersioningCommand({ Bucket: resources.landingBucket }));
  expect(versioning.Status).toBe(props('LandingBucket').VersioningConfiguration.Status);
  const notification = await clients.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: resources.landingBucket }));
  const fileEventsArn = (await queueAttributes(resources.fileEventsQueueUrl)).QueueArn;
  expect(
    notification.QueueConfigurations!.map((configuration) => ({
      events: configuration.Events,
      queue: configuration.QueueArn,
      rules: configuration.Filter?.Key?.FilterRules?.map((rule) => ({ Name: rule.Name?.toLowerCase(), Value: rule.Value })),
    })),
  ).toEqual(
    props('LandingBucket').NotificationConfiguration.QueueConfigurations.map((configuration: any) => ({
      events: [configuration.Event],
      queue: fileEventsArn,
      rules: configuration.Filter.S3Key.Rules,
    })),
  );
  expect(resources.eventsTopicArn.split(':').pop()).toBe(props('EventsTopic').TopicName);
  await clients.sns.send(new GetTopicAttributesCommand({ TopicArn: resources.eventsTopicArn }));
  expect(resources.eventBusName).toBe(props('EventBus').Name);
});

test('conditions: Fn::If and conditional resources follow the stage\'s evaluated conditions', () => {
  const template: CfnTemplate = {
    Conditions: { UsesKms: { 'Fn::Equals': ['SSE-KMS', 'SSE-KMS'] }, NoKms: { 'Fn::Not': [{ Condition: 'UsesKms' }] } },
    Resources: {
      Key: { Type: 'AWS::KMS::Key', Condition: 'UsesKms', Properties: {} },
      Policy: { Type: 'AWS::SQS::QueuePolicy', Properties: {} },
      Bucket: {
        Type: 'AWS::S3::Bucket',
        DependsOn: ['Policy'],
        Properties: {
          Tags: { 'Fn::If': ['NoKms', [{ Key: 'a', Value: 'b' }], { Ref: 'AWS::NoValue' }] },
          KeyArn: { 'Fn::If': ['UsesKms', { 'Fn::GetAtt': ['Key', 'Arn'] }, 'none'] },
        },
      },
    },
  };
  expect(evaluateConditions(template)).toEqual({ UsesKms: true, NoKms: false });
  expect(resolveIfs(template.Resources.Bucket!.Properties, evaluateConditions(template))).toEqual({ KeyArn: { 'Fn::GetAtt': ['Key', 'Arn'] } });
  // The key the bucket refers to comes along, without its Condition; the skipped policy does not.
  expect(subsetForMoto(template, (id) => id === 'Bucket').Resources).toEqual({
    Bucket: { Type: 'AWS::S3::Bucket', Properties: { KeyArn: { 'Fn::GetAtt': ['Key', 'Arn'] } } },
    Key: { Type: 'AWS::KMS::Key', Properties: {} },
  });
});
