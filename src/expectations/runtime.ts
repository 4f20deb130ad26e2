import { EventPublisher } from '../completion/publisher';
import { loadPartnerRegistry, type PartnerRegistry } from '../config/load-partners';
import { Ledger } from '../ledger/batches';
import { awsClients, type AwsClients } from '../platform/aws-clients';
import type { BackoffOptions } from '../platform/backoff';
import { systemClock, type Clock } from '../platform/clock';
import { requiredEnv } from '../platform/env';
import { createMetrics, type ServiceMetrics } from '../platform/telemetry';
import type { CheckExpectationsDeps } from './check';
import { FeedEventPublisher } from './publish';
import { ExpectationRecords } from './records';

export interface ExpectationSettings {
  readonly ledgerTable: string;
  readonly eventsTopicArn: string;
  readonly eventBusName: string;
}

/** The checker's dependencies over a set of clients (the Lambda's, a local stack's or a test's). */
export function checkExpectationsDeps(
  clients: AwsClients,
  registry: PartnerRegistry,
  settings: ExpectationSettings,
  metrics: ServiceMetrics,
  clock: Clock = systemClock,
  backoff?: BackoffOptions,
): CheckExpectationsDeps {
  const eventBridge = new EventPublisher(clients.sns, clients.eventBridge, { topicArn: settings.eventsTopicArn, busName: settings.eventBusName }, backoff);
  return {
    registry,
    ledger: new Ledger(clients.dynamo, settings.ledgerTable, clock),
    records: new ExpectationRecords(clients.dynamo, settings.ledgerTable),
    channels: new FeedEventPublisher(clients.sns, settings.eventsTopicArn, eventBridge, backoff),
    metrics,
    clock,
  };
}

let cached: CheckExpectationsDeps | undefined;

/** Built once per cold start from the environment serverless.yml sets; a bad `expect` block fails here. */
export function checkExpectationsRuntime(): CheckExpectationsDeps {
  cached ??= checkExpectationsDeps(
    awsClients(),
    loadPartnerRegistry(),
    {
      ledgerTable: requiredEnv('LEDGER_TABLE'),
      eventsTopicArn: requiredEnv('EVENTS_TOPIC_ARN'),
      eventBusName: requiredEnv('EVENT_BUS_NAME'),
    },
    createMetrics(),
  );
  return cached;
}
