import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientSettings, type ClientOptions } from '../platform/aws-client-settings';
import type { AwsClients } from '../platform/aws-clients';
import type { StackResources } from '../platform/stage-resources';
import { OperatorError } from './errors';

export interface StageRequest {
  readonly stage: string;
  readonly region: string;
  /** A local emulator (the stack `npm start` runs); unset for AWS. */
  readonly endpoint?: string;
}

/** The clients operator commands use: only their SDK packages load, so the CLI starts sooner. */
export type StageClients = Pick<AwsClients, 's3' | 'sqs' | 'dynamo' | 'sts'>;

function createStageClients(options: ClientOptions): StageClients {
  const { common, s3, documentClient } = clientSettings(options);
  return {
    s3: new S3Client(s3),
    sqs: new SQSClient(common),
    sts: new STSClient(common),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(common), documentClient),
  };
}

export interface StageConnection {
  readonly stage: string;
  readonly region: string;
  readonly clients: StageClients;
  readonly resources: StackResources;
  /** The caller's identity (an IAM ARN), recorded as the actor of operator actions. */
  readonly actor: string;
}

/** Resource names of a stage: the same convention in serverless.yml and in the local stack. */
export function stageNames(stage: string, account: string, region: string, partition = 'aws') {
  const prefix = `partner-ingest-${stage}`;
  return {
    landingBucket: `${prefix}-landing-${account}-${region}`,
    fileEvents: `${prefix}-file-events`,
    work: `${prefix}-work`,
    sendRanges: `${prefix}-send-ranges`,
    ledgerTable: `${prefix}-ledger`,
    eventsTopicArn: `arn:${partition}:sns:${region}:${account}:${prefix}-events`,
    eventBusName: prefix,
  };
}

function describe(error: unknown): string {
  const named = error as { name?: string; message?: string };
  return `${named.name ?? 'Error'}: ${named.message ?? String(error)}`;
}

/**
 * Connects the CLI to a stage with the caller's normal AWS credentials: who
 * they are, and where the stage's table and queues are. A wrong stage or region,
 * or missing credentials, is a one-line OperatorError.
 */
export async function connectStage(request: StageRequest): Promise<StageConnection> {
  const options = { region: request.region, ...(request.endpoint ? { endpoint: request.endpoint } : {}) };
  const clients = createStageClients(options);
  let identity;
  try {
    identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  } catch (error) {
    for (const client of Object.values(clients)) client.destroy();
    const name = (error as { name?: string }).name ?? '';
    if (/Credential/.test(name) || /credential/i.test((error as Error).message)) {
      throw new OperatorError('NO_CREDENTIALS', `no usable AWS credentials (${describe(error)})`, 'set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or log in with aws sso login');
    }
    throw new OperatorError('AWS_UNREACHABLE', `cannot reach AWS in ${request.region} (${describe(error)})`, 'check --region, --endpoint-url and your network');
  }
  const account = identity.Account!;
  // The caller's own ARN names the partition (aws, aws-cn, aws-us-gov).
  const partition = identity.Arn?.split(':')[1] ?? 'aws';
  const names = stageNames(request.stage, account, request.region, partition);
  try {
    await clients.dynamo.send(new DescribeTableCommand({ TableName: names.ledgerTable }));
  } catch (error) {
    for (const client of Object.values(clients)) client.destroy();
    if (error instanceof ResourceNotFoundException || (error as { name?: string }).name === 'ResourceNotFoundException') {
      throw new OperatorError(
        'UNKNOWN_STAGE',
        `stage "${request.stage}" is not deployed in ${request.region} of account ${account} (no table ${names.ledgerTable})`,
        'check --stage and --region',
      );
    }
    throw error;
  }
  const url = async (name: string) => (await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
  return {
    stage: request.stage,
    region: request.region,
    clients,
    actor: identity.Arn ?? account,
    resources: {
      landingBucket: names.landingBucket,
      fileEventsQueueUrl: await url(names.fileEvents),
      fileEventsDlqUrl: await url(`${names.fileEvents}-dlq`),
      workQueueUrl: await url(names.work),
      workDlqUrl: await url(`${names.work}-dlq`),
      sendRangesQueueUrl: await url(names.sendRanges),
      sendRangesDlqUrl: await url(`${names.sendRanges}-dlq`),
      ledgerTable: names.ledgerTable,
      eventsTopicArn: names.eventsTopicArn,
      eventBusName: names.eventBusName,
      maxReceiveCount: 5,
    },
  };
}
