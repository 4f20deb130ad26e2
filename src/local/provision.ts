import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand } from '@aws-sdk/client-eventbridge';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../aws/clients';
import { LEDGER_INDEXES } from '../ledger/ledger';
import { stageNames } from '../operations/stage';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';

/** The names and addresses of one stage's resources. */
export interface StackResources {
  readonly landingBucket: string;
  readonly fileEventsQueueUrl: string;
  readonly fileEventsDlqUrl: string;
  readonly workQueueUrl: string;
  readonly workDlqUrl: string;
  readonly ledgerTable: string;
  readonly eventsTopicArn: string;
  readonly eventBusName: string;
  readonly maxReceiveCount: number;
}

const MAX_RECEIVE_COUNT = 5;

async function queueArn(clients: AwsClients, url: string): Promise<string> {
  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

async function queueWithDlq(clients: AwsClients, name: string, extra: Record<string, string> = {}) {
  const dlq = await clients.sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = await queueArn(clients, dlq.QueueUrl!);
  const queue = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        ...extra,
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
      },
    }),
  );
  return { url: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

/**
 * Creates a stage's resources in an emulator (moto_server), named as
 * serverless.yml names them: bucket with notifications to the file-events
 * queue, queues with DLQs, ledger table, SNS topic and EventBridge bus.
 */
export async function provisionStack(clients: AwsClients, stage = 'local'): Promise<StackResources> {
  const prefix = `partner-ingest-${stage}`;
  const region = await clients.s3.config.region();
  const { Account } = await clients.sts.send(new GetCallerIdentityCommand({}));
  const { landingBucket } = stageNames(stage, Account!, region);
  await clients.s3.send(new CreateBucketCommand({ Bucket: landingBucket }));
  // Versioned like the deployed bucket: each upload is its own object version, hence its own batch.
  await clients.s3.send(new PutBucketVersioningCommand({ Bucket: landingBucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const fileEvents = await queueWithDlq(clients, `${prefix}-file-events`, { VisibilityTimeout: '60' });
  const work = await queueWithDlq(clients, `${prefix}-work`, { MaximumMessageSize: '262144' });
  await clients.s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: landingBucket,
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            QueueArn: await queueArn(clients, fileEvents.url),
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'inbound/' }] } },
          },
        ],
      },
    }),
  );
  const ledgerTable = `${prefix}-ledger`;
  await clients.dynamo.send(
    new CreateTableCommand({
      TableName: ledgerTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        ...['status', 'partner', 'receivedDay', 'receivedAt'].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: Object.values(LEDGER_INDEXES).map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      })),
    }),
  );
  const topic = await clients.sns.send(new CreateTopicCommand({ Name: `${prefix}-events` }));
  const eventBusName = prefix;
  await clients.eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
  return {
    landingBucket,
    fileEventsQueueUrl: fileEvents.url,
    fileEventsDlqUrl: fileEvents.dlqUrl,
    workQueueUrl: work.url,
    workDlqUrl: work.dlqUrl,
    ledgerTable,
    eventsTopicArn: topic.TopicArn!,
    eventBusName,
    maxReceiveCount: MAX_RECEIVE_COUNT,
  };
}
