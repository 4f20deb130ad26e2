import type { Logger } from '@aws-lambda-powertools/logger';
import { loadPartnerRegistry, type PartnerRegistry } from '../config/load-partners';
import { awsClients, type AwsClients } from '../platform/aws-clients';
import { requiredEnv } from '../platform/env';
import { createMetrics, logger, type ServiceMetrics } from '../platform/telemetry';
import type { PushHandoffDeps } from './handoff';
import type { PushSweepDeps } from './sweep';

/** A Transfer Family server's public host name in `region`. */
export function transferHostOf(serverId: string, region: string): string {
  return `${serverId}.server.transfer.${region}.amazonaws.com`;
}

/** The hand-off's dependencies over a set of clients (the Lambda's, or a local stack's). */
export function sftpPushHandoffDeps(
  clients: Pick<AwsClients, 's3'>,
  registry: PartnerRegistry,
  settings: { readonly landingBucket: string; readonly hostOf: (serverId: string) => string; readonly copyOptions?: PushHandoffDeps['copyOptions'] },
  log: Logger,
  metrics: ServiceMetrics,
): PushHandoffDeps {
  return {
    s3: clients.s3,
    landingBucket: settings.landingBucket,
    registry,
    hostOf: settings.hostOf,
    logger: log,
    metrics,
    ...(settings.copyOptions ? { copyOptions: settings.copyOptions } : {}),
  };
}

let cached: PushHandoffDeps | undefined;

/** Built once per cold start from the environment serverless.yml sets. */
export function sftpPushHandoffRuntime(): PushHandoffDeps {
  const region = requiredEnv('AWS_REGION');
  cached ??= sftpPushHandoffDeps(
    awsClients(),
    loadPartnerRegistry(),
    { landingBucket: requiredEnv('LANDING_BUCKET'), hostOf: (serverId) => transferHostOf(serverId, region) },
    logger,
    createMetrics(),
  );
  return cached;
}

/** The sweep's dependencies: the hand-off's, and the clock. */
export function sftpPushSweepRuntime(): PushSweepDeps {
  const { s3, landingBucket, registry, logger: log, metrics } = sftpPushHandoffRuntime();
  return { s3, landingBucket, registry, logger: log, metrics, now: () => new Date() };
}
