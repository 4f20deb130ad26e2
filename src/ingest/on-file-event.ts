import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { messageOf } from '../platform/errors';
import { recordBatchMetrics } from '../platform/telemetry';
import { LeaseLostError } from '../ledger/errors';
import { parseLandingKey } from '../landing/layout';
import type { CreatedObject } from '../landing/s3-event';
import { INFRASTRUCTURE_FAILURE, type AttemptInterruptedError, type IngestFaultError } from './errors';
import { workOf } from './file-event-messages';
import { failBatch, ingestObject, registerBatch, resumeBatch } from './ingest-object';
import { busyRetrySeconds, continueLater, eachMessage, receiveCountOf, redeliverIn, retryDelaySeconds } from './sqs-retry';
import type { FileEventDeps, IngestResult, Invocation } from './types';

/**
 * The ingest-file function's core: each SQS message carries an S3 event, whose
 * announced objects are ingested, or asks to carry on a batch (a replay). A
 * message whose batch must be retried is reported as a partial-batch failure,
 * so only it is redelivered.
 */
export function processFileEvents(event: SQSEvent, context: Context, deps: FileEventDeps): Promise<SQSBatchResponse> {
  return eachMessage(event, context, (record, invocation) => handleRecord(record, deps, invocation));
}

async function handleRecord(record: SQSRecord, deps: FileEventDeps, invocation: Invocation): Promise<void> {
  const receiveCount = receiveCountOf(record);
  for (const work of workOf(record.body)) {
    let result: IngestResult;
    try {
      result = work.kind === 'object' ? await ingestObject(work.object, deps, invocation) : await resumeBatch(work.batchId, deps, invocation);
    } catch (error) {
      const { batchId, cause } = error as AttemptInterruptedError | IngestFaultError;
      // Another invocation took the batch over: it is not this delivery's failure.
      if (cause instanceof LeaseLostError) {
        await continueLater(record, deps, busyRetrySeconds(deps));
        return;
      }
      if (receiveCount < deps.maxReceiveCount) {
        await redeliverIn(record, deps, retryDelaySeconds(receiveCount, deps));
        throw error;
      }
      await failOnLastDelivery(work.kind === 'object' ? work.object : undefined, batchId, cause, deps, invocation);
      continue;
    }
    switch (result.outcome) {
      case 'finished':
        recordBatchMetrics(deps.metrics, result.state);
        break;
      case 'busy':
        // Not a failure of this delivery: a fresh copy comes back later, so waiting never uses up maxReceiveCount.
        await continueLater(record, deps, busyRetrySeconds(deps));
        return;
      case 'waiting':
        // Like 'busy': the batch waits for its control file without using up maxReceiveCount.
        await continueLater(record, deps, busyRetrySeconds(deps));
        return;
      case 'control-file':
        deps.logger.info('control file: read by its data file\'s batch', { feed: result.feed });
        break;
      case 'paused':
        await continueLater(record, deps, 0);
        break;
      case 'dispatched':
        break;
      case 'ignored':
        deps.logger.warn('ignored object', { reason: result.reason });
        break;
      case 'duplicate':
        break;
    }
  }
}

/**
 * The last delivery failed too: the batch ends FAILED (announced, progress kept,
 * replayable). A batch not yet in the ledger — its object's version could not
 * even be read — is registered under the identity the event announced, so it shows.
 */
async function failOnLastDelivery(
  object: CreatedObject | undefined,
  batchId: string | undefined,
  cause: unknown,
  deps: FileEventDeps,
  invocation: Invocation,
): Promise<void> {
  const id = batchId ?? (await registerBatch(object!, parseLandingKey(object!.key)!, undefined, deps)).batchId;
  deps.logger.error('retries exhausted; the batch is FAILED and can be replayed', { batchId: id, error: cause as Error });
  const named = cause as { code?: string; name?: string; message?: string } | undefined;
  const failed = await failBatch(id, { code: INFRASTRUCTURE_FAILURE, message: `${named?.code ?? named?.name ?? 'Error'}: ${messageOf(cause)}` }, deps, invocation);
  if (failed) recordBatchMetrics(deps.metrics, failed);
}
