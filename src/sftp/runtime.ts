import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { awsClients, type AwsClients } from '../platform/aws-clients';
import { loadPartnerRegistry, type PartnerRegistry } from '../config/load-partners';
import { EventPublisher } from '../completion/publisher';
import { requiredEnv } from '../platform/env';
import { createMetrics, logger, type ServiceMetrics } from '../platform/telemetry';
import type { Logger } from '@aws-lambda-powertools/logger';
import { loadSftpLogin } from './credentials';
import type { PullAllDeps } from './pull-all';
import { RemoteFileLedger } from './remote-file-ledger';

export interface SftpPullSettings {
  readonly landingBucket: string;
  readonly ledgerTable: string;
  readonly eventsTopicArn: string;
  readonly eventBusName: string;
}

/** sftp-pull's dependencies over a set of clients (the Lambda's, or a local stack's). */
export function sftpPullDeps(clients: AwsClients, registry: PartnerRegistry, settings: SftpPullSettings, log: Logger, metrics: ServiceMetrics): PullAllDeps {
  const secrets = new SecretsProvider({ awsSdkV3Client: clients.secrets });
  return {
    s3: clients.s3,
    landingBucket: settings.landingBucket,
    files: new RemoteFileLedger(clients.dynamo, settings.ledgerTable),
    registry,
    login: (secretRef) => loadSftpLogin(secrets, secretRef),
    logger: log,
    metrics,
    publisher: new EventPublisher(clients.sns, clients.eventBridge, { topicArn: settings.eventsTopicArn, busName: settings.eventBusName }),
  };
}

let cached: PullAllDeps | undefined;

/** Built once per cold start from the environment serverless.yml sets. */
export function sftpPullRuntime(): PullAllDeps {
  cached ??= sftpPullDeps(
    awsClients(),
    loadPartnerRegistry(),
    {
      landingBucket: requiredEnv('LANDING_BUCKET'),
      ledgerTable: requiredEnv('LEDGER_TABLE'),
      eventsTopicArn: requiredEnv('EVENTS_TOPIC_ARN'),
      eventBusName: requiredEnv('EVENT_BUS_NAME'),
    },
    logger,
    createMetrics(),
  );
  return cached;
}
