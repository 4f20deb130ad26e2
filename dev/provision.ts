import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { PutBucketNotificationConfigurationCommand, PutBucketVersioningCommand, type QueueConfiguration } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../src/platform/aws-clients';
import type { StackResources } from '../src/platform/stage-resources';
import { type CfnResource, type CfnTemplate, type Json, printedServerless, subsetForMoto } from './stack-from-template';

/** What the local stack takes from the deployed stack's resources: the data path, no IAM, alarms or policies. */
function localResource(logicalId: string, resource: CfnResource): boolean {
  switch (resource.Type) {
    case 'AWS::S3::Bucket':
      return logicalId === 'LandingBucket';
    case 'AWS::SNS::Topic':
      return logicalId === 'EventsTopic';
    case 'AWS::SQS::Queue':
    case 'AWS::Events::EventBus':
    case 'AWS::DynamoDB::Table':
      return true;
    default:
      return false;
  }
}

/** serverless.yml's `resources` for the stage: the local subset, as moto's CloudFormation takes it. */
export async function localTemplate(stage: string): Promise<{ source: CfnTemplate; local: CfnTemplate }> {
  const printed = await printedServerless(stage);
  const source: CfnTemplate = { Conditions: printed.resources?.Conditions ?? {}, Resources: printed.resources.Resources };
  const local = subsetForMoto(source, localResource);
  // moto's bucket model ignores notifications (applied below, through S3) and would wait on the queue for nothing.
  delete local.Resources.LandingBucket!.Properties.NotificationConfiguration;
  return { source, local };
}

async function created(cfn: CloudFormationClient, StackName: string): Promise<StackResourceSummary[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName }))).Stacks![0]!;
    if (stack.StackStatus === 'CREATE_COMPLETE') break;
    if (!stack.StackStatus!.endsWith('_IN_PROGRESS') || Date.now() > deadline) {
      throw new Error(`stack ${StackName}: ${stack.StackStatus} ${stack.StackStatusReason ?? ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const all: StackResourceSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName, NextToken }));
    all.push(...(page.StackResourceSummaries ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return all.filter((summary) => summary.LogicalResourceId);
}

/**
 * Creates a stage's resources in an emulator (moto_server) from the deployed stack's
 * own definitions: serverless.yml resolved for the stage (`sls print`), its landing
 * bucket, queues, ledger table, events topic and bus created as a CloudFormation
 * stack; then what moto's CloudFormation ignores (bucket versioning and
 * notifications to the file-events queue) applied through the S3 API.
 */
export async function provisionStack(clients: AwsClients, stage: string, cloudFormation: CloudFormationClient): Promise<StackResources> {
  const { local } = await localTemplate(stage);
  const StackName = `partner-ingest-${stage}`;
  await cloudFormation.send(new CreateStackCommand({ StackName, TemplateBody: JSON.stringify(local) }));
  const summaries = await created(cloudFormation, StackName);
  const physicalId = (logicalId: string) => {
    const found = summaries.find((summary) => summary.LogicalResourceId === logicalId);
    if (!found?.PhysicalResourceId) throw new Error(`moto created no ${logicalId}`);
    return found.PhysicalResourceId;
  };
  const props = (logicalId: string): Json => local.Resources[logicalId]!.Properties ?? {};
  const only = (type: string) => {
    const ids = Object.keys(local.Resources).filter((id) => local.Resources[id]!.Type === type);
    if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.join(', ') || 'none'}`);
    return ids[0]!;
  };
  // Physical ids of queues name sqs.<region>.amazonaws.com; moto serves them under its own endpoint.
  const queueUrl = async (logicalId: string) =>
    (await clients.sqs.send(new GetQueueUrlCommand({ QueueName: physicalId(logicalId).split('/').pop()! }))).QueueUrl!;
  const queueArn = async (logicalId: string) =>
    (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: await queueUrl(logicalId), AttributeNames: ['QueueArn'] }))).Attributes!
      .QueueArn!;
  const dlqOf = (logicalId: string) => props(logicalId).RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0] as string;

  const landingBucket = physicalId('LandingBucket');
  const bucket = props('LandingBucket');
  if (bucket.VersioningConfiguration) {
    await clients.s3.send(new PutBucketVersioningCommand({ Bucket: landingBucket, VersioningConfiguration: bucket.VersioningConfiguration }));
  }
  const notifications = ((await printedServerless(stage)).resources.Resources.LandingBucket.Properties.NotificationConfiguration ?? {}) as Record<
    string,
    Json[]
  >;
  const unsupported = Object.keys(notifications).filter((key) => key !== 'QueueConfigurations');
  if (unsupported.length) throw new Error(`the local stack applies no bucket ${unsupported.join(', ')}`);
  const QueueConfigurations: QueueConfiguration[] = [];
  for (const configuration of notifications.QueueConfigurations ?? []) {
    QueueConfigurations.push({
      Events: [configuration.Event],
      QueueArn: await queueArn(configuration.Queue['Fn::GetAtt'][0]),
      ...(configuration.Filter ? { Filter: { Key: { FilterRules: configuration.Filter.S3Key.Rules } } } : {}),
    });
  }
  if (QueueConfigurations.length) {
    await clients.s3.send(
      new PutBucketNotificationConfigurationCommand({ Bucket: landingBucket, NotificationConfiguration: { QueueConfigurations } }),
    );
  }
  const bus = only('AWS::Events::EventBus');
  return {
    landingBucket,
    fileEventsQueueUrl: await queueUrl('FileEventsQueue'),
    fileEventsDlqUrl: await queueUrl(dlqOf('FileEventsQueue')),
    workQueueUrl: await queueUrl('WorkQueue'),
    workDlqUrl: await queueUrl(dlqOf('WorkQueue')),
    sendRangesQueueUrl: await queueUrl('SendRangesQueue'),
    sendRangesDlqUrl: await queueUrl(dlqOf('SendRangesQueue')),
    ledgerTable: physicalId(only('AWS::DynamoDB::Table')),
    eventsTopicArn: physicalId('EventsTopic'),
    eventBusName: typeof props(bus).Name === 'string' ? props(bus).Name : physicalId(bus).split('/').pop()!,
    maxReceiveCount: Number(props('FileEventsQueue').RedrivePolicy.maxReceiveCount),
  };
}
