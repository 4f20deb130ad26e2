import { awsClients } from '../platform/aws-clients';
import { loadCheckedPartnerRegistry } from '../config/load-checked';
import { numberEnv, requiredEnv } from '../platform/env';
import { createMetrics, logger } from '../platform/telemetry';
import { ingestDeps } from './deps';
import type { FileEventDeps } from './types';

let cached: Promise<FileEventDeps> | undefined;

/**
 * The ingest functions' dependencies, built once per cold start from the
 * environment serverless.yml sets. Partner config is validated here, its PGP
 * keys included (parsed once, checked for expiry), so a broken configuration
 * fails the cold start loudly instead of one file at a time.
 */
export function ingestRuntime(): Promise<FileEventDeps> {
  cached ??= loadCheckedPartnerRegistry().then((registry) => ingestDeps(
    awsClients(),
    {
      landingBucket: requiredEnv('LANDING_BUCKET'),
      workQueueUrl: requiredEnv('WORK_QUEUE_URL'),
      fileEventsQueueUrl: process.env.FILE_EVENTS_QUEUE_URL ?? '',
      ledgerTable: requiredEnv('LEDGER_TABLE'),
      eventsTopicArn: requiredEnv('EVENTS_TOPIC_ARN'),
      eventBusName: requiredEnv('EVENT_BUS_NAME'),
      maxReceiveCount: numberEnv('MAX_RECEIVE_COUNT', 5),
      ...(process.env.SEND_RANGES_QUEUE_URL ? { sendRangesQueueUrl: process.env.SEND_RANGES_QUEUE_URL } : {}),
      maxSendRanges: numberEnv('MAX_SEND_RANGES', 1),
    },
    registry,
    logger,
    createMetrics(),
  ));
  return cached;
}
