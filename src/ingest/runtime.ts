import { awsClients } from '../platform/aws-clients';
import { loadPartnerRegistry } from '../config/load-partners';
import { ingestDeps } from './deps';
import { logger } from '../platform/telemetry';
import type { FileEventDeps } from './on-file-event';

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
  cached = ingestDeps(
    awsClients(),
    {
      landingBucket: requiredEnv('LANDING_BUCKET'),
      workQueueUrl: requiredEnv('WORK_QUEUE_URL'),
      fileEventsQueueUrl: process.env.FILE_EVENTS_QUEUE_URL ?? '',
      ledgerTable: requiredEnv('LEDGER_TABLE'),
      eventsTopicArn: requiredEnv('EVENTS_TOPIC_ARN'),
      eventBusName: requiredEnv('EVENT_BUS_NAME'),
      maxReceiveCount: Number(process.env.MAX_RECEIVE_COUNT ?? '5'),
      ...(process.env.SEND_RANGES_QUEUE_URL ? { sendRangesQueueUrl: process.env.SEND_RANGES_QUEUE_URL } : {}),
      maxSendRanges: Number(process.env.MAX_SEND_RANGES ?? '1'),
    },
    loadPartnerRegistry(),
    logger,
  );
  return cached;
}
