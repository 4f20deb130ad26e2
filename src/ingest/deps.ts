import type { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretFeedKeys } from '../pgp/feed-keys';
import type { AwsClients } from '../platform/aws-clients';
import type { PartnerRegistry } from '../config/load-partners';
import { EventPublisher } from '../completion/publisher';
import { Ledger } from '../ledger/batches';
import { SendRanges } from '../ledger/send-ranges';
import { FeedSequences } from '../ledger/feed-sequences';
import type { StackResources } from '../platform/stage-resources';
import type { BackoffOptions } from '../platform/backoff';
import type { ServiceMetrics } from '../platform/telemetry';
import type { FileEventDeps } from './types';

/** The ingest core's dependencies over one stage's resources — in Lambda, the local stack or the operator CLI. */
export function ingestDeps(
  clients: AwsClients,
  resources: Omit<StackResources, 'workDlqUrl' | 'fileEventsDlqUrl' | 'sendRangesDlqUrl' | 'sendRangesQueueUrl'> & {
    /** Without it, a batch's send ranges go one after another in the invocation (replays, the CLI). */
    readonly sendRangesQueueUrl?: string;
    readonly maxSendRanges?: number;
  },
  registry: PartnerRegistry,
  logger: Logger,
  metrics: ServiceMetrics,
  backoff?: BackoffOptions,
): FileEventDeps {
  return {
    s3: clients.s3,
    sqs: clients.sqs,
    ledger: new Ledger(clients.dynamo, resources.ledgerTable),
    ranges: new SendRanges(clients.dynamo, resources.ledgerTable),
    publisher: new EventPublisher(clients.sns, clients.eventBridge, { topicArn: resources.eventsTopicArn, busName: resources.eventBusName }, backoff),
    registry,
    settings: {
      landingBucket: resources.landingBucket,
      workQueueUrl: resources.workQueueUrl,
      ...(resources.sendRangesQueueUrl ? { sendRangesQueueUrl: resources.sendRangesQueueUrl } : {}),
      ...(resources.maxSendRanges ? { maxSendRanges: resources.maxSendRanges } : {}),
    },
    logger,
    metrics,
    sequences: new FeedSequences(clients.dynamo, resources.ledgerTable),
    feedKeys: new SecretFeedKeys(new SecretsProvider({ awsSdkV3Client: clients.secrets })),
    maxReceiveCount: resources.maxReceiveCount,
    fileEventsQueueUrl: resources.fileEventsQueueUrl,
  };
}
