import { awsClients } from '../aws/clients';
import { loadPartnerRegistry } from '../config/load-partners';
import { EventPublisher } from '../events/publisher';
import { Ledger } from '../ledger/ledger';
import { logger } from '../observability/telemetry';
import type { FileEventDeps } from './file-events';

/** A setting serverless.yml must provide; a missing one fails the cold start by name. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

let cached: FileEventDeps | undefined;

/**
 * The ingest function's dependencies, built once per cold start from the
 * environment serverless.yml sets. Partner config is validated here, so a broken
 * configuration fails the cold start loudly instead of one file at a time.
 */
export function ingestRuntime(): FileEventDeps {
  if (cached) return cached;
  const clients = awsClients();
  cached = {
    s3: clients.s3,
    sqs: clients.sqs,
    ledger: new Ledger(clients.dynamo, requiredEnv('LEDGER_TABLE')),
    publisher: new EventPublisher(clients.sns, clients.eventBridge, {
      topicArn: requiredEnv('EVENTS_TOPIC_ARN'),
      busName: requiredEnv('EVENT_BUS_NAME'),
    }),
    registry: loadPartnerRegistry(),
    settings: { landingBucket: requiredEnv('LANDING_BUCKET'), workQueueUrl: requiredEnv('WORK_QUEUE_URL') },
    logger,
    maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? '5'),
    ...(process.env.FILE_EVENTS_QUEUE_URL ? { fileEventsQueueUrl: process.env.FILE_EVENTS_QUEUE_URL } : {}),
  };
  return cached;
}
