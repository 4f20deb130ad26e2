import { awsClients } from '../aws/clients';
import { loadPartnerRegistry } from '../config/load-partners';
import { EventPublisher } from '../events/publisher';
import { Ledger } from '../ledger/ledger';
import { logger } from '../observability/telemetry';
import type { FileEventDeps } from './file-events';

function required(name: string): string {
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
    ledger: new Ledger(clients.dynamo, required('LEDGER_TABLE')),
    publisher: new EventPublisher(clients.sns, clients.eventBridge, {
      topicArn: required('EVENTS_TOPIC_ARN'),
      busName: required('EVENT_BUS_NAME'),
    }),
    registry: loadPartnerRegistry(),
    settings: { landingBucket: required('LANDING_BUCKET'), workQueueUrl: required('WORK_QUEUE_URL') },
    logger,
    maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? '5'),
    ...(process.env.FILE_EVENTS_QUEUE_URL ? { fileEventsQueueUrl: process.env.FILE_EVENTS_QUEUE_URL } : {}),
  };
  return cached;
}
