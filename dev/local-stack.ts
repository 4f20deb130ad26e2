import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createAwsClients, type AwsClients } from '../src/platform/aws-clients';
import { defaultConfigLocation, loadPartnerRegistry, type ConfigLocation, type PartnerRegistry } from '../src/config/load-partners';
import type { FileEventDeps } from '../src/ingest/types';
import { ingestDeps } from '../src/ingest/deps';
import { Ledger } from '../src/ledger/batches';
import { operatorDeps, type OperatorDeps } from '../src/operations/deps';
import type { BackoffOptions } from '../src/platform/backoff';
import { startMotoServer, type MotoServer } from './moto-server';
import type { StackResources } from '../src/platform/stage-resources';
import { provisionStack } from './provision';
import { createMetrics } from '../src/platform/telemetry';

/** The whole service on loopback: moto_server with the stage's resources, plus two example consumers. */
export interface LocalStack {
  readonly moto: MotoServer;
  readonly clients: AwsClients;
  readonly resources: StackResources;
  readonly registry: PartnerRegistry;
  /** The folder with the partners/ and schemas/ the registry was loaded from. */
  readonly configRoot: string;
  readonly ledger: Ledger;
  /** A queue subscribed to the SNS topic, and one targeted by an EventBridge rule — as consumers would. */
  readonly snsConsumerUrl: string;
  readonly eventBridgeConsumerUrl: string;
  /** The ingest function's dependencies against this stack. */
  deps(overrides?: Partial<FileEventDeps>): FileEventDeps;
  /** The operator functions' (API, replay) and the CLI's dependencies against this stack. */
  operator(): OperatorDeps;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  readonly stage?: string;
  readonly logger: Logger;
  readonly config?: ConfigLocation;
  readonly backoff?: BackoffOptions;
  /**
   * Adds to the stack's clients before anything uses them (the tests' harness
   * enforces AWS's limits and records calls for the IAM check); returns what
   * to undo when the stack stops.
   */
  readonly instrument?: (clients: AwsClients, endpoint: string) => () => void;
}

async function arnOf(clients: AwsClients, url: string): Promise<string> {
  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

async function subscribeConsumers(clients: AwsClients, resources: StackResources) {
  const sns = await clients.sqs.send(new CreateQueueCommand({ QueueName: 'consumer-sns' }));
  await clients.sns.send(
    new SubscribeCommand({ TopicArn: resources.eventsTopicArn, Protocol: 'sqs', Endpoint: await arnOf(clients, sns.QueueUrl!) }),
  );
  const bus = await clients.sqs.send(new CreateQueueCommand({ QueueName: 'consumer-eventbridge' }));
  await clients.eventBridge.send(
    new PutRuleCommand({
      Name: 'all-batch-events',
      EventBusName: resources.eventBusName,
      EventPattern: JSON.stringify({ source: ['partner-ingest'] }),
    }),
  );
  await clients.eventBridge.send(
    new PutTargetsCommand({
      Rule: 'all-batch-events',
      EventBusName: resources.eventBusName,
      Targets: [{ Id: 'queue', Arn: await arnOf(clients, bus.QueueUrl!) }],
    }),
  );
  return { snsConsumerUrl: sns.QueueUrl!, eventBridgeConsumerUrl: bus.QueueUrl! };
}

/** Starts a private moto_server and creates everything the ingest function needs in it. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const moto = await startMotoServer();
  try {
    const region = process.env.AWS_REGION ?? 'eu-west-1';
    const clients = createAwsClients({ endpoint: moto.endpoint, region });
    const uninstrument = options.instrument?.(clients, moto.endpoint);
    const cloudFormation = new CloudFormationClient({ endpoint: moto.endpoint, region });
    const resources = await provisionStack(clients, options.stage ?? 'local', cloudFormation).finally(() => cloudFormation.destroy());
    const consumers = await subscribeConsumers(clients, resources);
    // S3 announces a new notification configuration with a test event; start from an empty queue.
    await clients.sqs.send(new PurgeQueueCommand({ QueueUrl: resources.fileEventsQueueUrl }));
    const config = options.config ?? defaultConfigLocation();
    const registry = loadPartnerRegistry(config);
    const metrics = createMetrics();
    return {
      moto,
      clients,
      resources,
      registry,
      configRoot: config.root,
      ledger: new Ledger(clients.dynamo, resources.ledgerTable),
      ...consumers,
      deps(overrides = {}) {
        return { ...ingestDeps(clients, resources, registry, options.logger, metrics, options.backoff), ...overrides };
      },
      operator() {
        return operatorDeps(clients, resources, registry);
      },
      async stop() {
        uninstrument?.();
        for (const client of Object.values(clients)) client.destroy();
        await moto.stop();
      },
    };
  } catch (error) {
    await moto.stop();
    throw error;
  }
}
