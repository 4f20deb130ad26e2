import { Logger } from '@aws-lambda-powertools/logger';
import { defaultConfigLocation, loadPartnerRegistry } from '../config/load-partners';
import { PartnerIngestError } from '../platform/errors';
import type { ServiceMetrics } from '../platform/telemetry';
import { handOffByKey } from '../sftp-push/manual-handoff';
import { sftpPushHandoffDeps, transferHostOf } from '../sftp-push/runtime';
import { ExitCode, UsageError } from './errors';
import type { Output } from './output';
import { closeStage, parseCommand, stageFrom } from './stage-options';

/** The hand-off emits no metric for a completed upload; a CLI run publishes none either way. */
const NO_METRICS = { singleMetric: () => ({ addDimensions: () => undefined, addMetric: () => undefined }), publishStoredMetrics: () => undefined } as unknown as ServiceMetrics;

const isMissing = (error: unknown) => (error as { name?: string }).name === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

/**
 * `partner-ingest push-handoff --partner P --key K --server-id S --stage X`: hands
 * off an SFTP push upload the sweep reported (SftpPushUnreported), with the
 * caller's credentials, exactly as its event would have (handOffByKey).
 */
export async function pushHandoffCommand(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseCommand(argv, { partner: { type: 'string' }, key: { type: 'string' }, 'server-id': { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.partner) throw new UsageError('--partner is required');
  if (!values.key) throw new UsageError('--key is required (the pushed-uploads/<partner>/<name> key the sweep logged)');
  if (!values['server-id']) throw new UsageError('--server-id is required (the stack output SftpPushServerId)');
  const registry = loadPartnerRegistry(defaultConfigLocation());
  const stage = await stageFrom(values);
  try {
    const deps = sftpPushHandoffDeps(
      { s3: stage.clients.s3 },
      registry,
      { landingBucket: stage.resources.landingBucket, hostOf: (serverId) => transferHostOf(serverId, stage.region) },
      new Logger({ serviceName: 'partner-ingest-cli', logLevel: 'SILENT' }),
      NO_METRICS,
    );
    const result = await handOffByKey({ partner: values.partner, key: values.key, serverId: values['server-id'] }, deps).catch((error: unknown) => {
      if (isMissing(error)) throw new UsageError(`no object ${values.key} in ${stage.resources.landingBucket}`);
      if (error instanceof PartnerIngestError) throw new UsageError(error.message);
      throw error;
    });
    if (values.json) output.stdout(`${JSON.stringify(result)}\n`);
    else if (result.outcome === 'handed-off') output.stdout(`handed off ${values.key} to ${result.key}; it is ingested from there\n`);
    else if (result.outcome === 'already-handed-off') output.stdout(`${values.key} was handed off already, to ${result.key}; nothing done\n`);
    else output.stdout(`${values.key}: ${result.outcome}; nothing done\n`);
    return ExitCode.OK;
  } finally {
    closeStage(stage);
  }
}
