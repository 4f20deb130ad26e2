import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { BatchStatus } from '../ledger/types';
import { recordBatchMetrics } from '../observability/telemetry';
import { sendRange, type RangeMessage } from '../send/range-sender';
import type { StagingManifest } from '../staging/staging-writer';
import { readJson } from '../staging/s3-objects';
import { BatchRun, rangeContextOf } from './batch-run';
import {
  BUSY_RETRY_SECONDS,
  continueInNewMessage,
  redeliverIn,
  retryDelaySeconds,
  RetryLaterError,
  type FileEventDeps,
} from './file-events';
import { failBatch, feedOfBatch, type Invocation } from './ingest-object';

const LEASE_GRACE_MS = 30_000;
/** How soon the last range retries completing its batch when the batch's lease is briefly held. */
const COMPLETE_RETRY_SECONDS = 5;

/**
 * The send-range function's core: each message names one range of a batch's
 * staged chunks. The range is sent under its own lease from its checkpoint;
 * whichever range finishes last completes the batch — one completion event,
 * after every range is acknowledged. A range that fails is retried with
 * backoff; on its last delivery the range and the batch become FAILED, keeping
 * every range's checkpoint for a replay.
 */
export async function processSendRanges(event: SQSEvent, context: Context, deps: FileEventDeps): Promise<SQSBatchResponse> {
  const invocation: Invocation = { owner: context.awsRequestId, remainingMs: () => context.getRemainingTimeInMillis() };
  return processPartialResponse(event, (record: SQSRecord) => handleRange(record, deps, invocation), new BatchProcessor(EventType.SQS), {
    context,
    processInParallel: false,
    throwOnFullBatchFailure: false,
  });
}

async function handleRange(record: SQSRecord, deps: FileEventDeps, invocation: Invocation): Promise<void> {
  const message = JSON.parse(record.body) as RangeMessage;
  const queueUrl = deps.settings.sendRangesQueueUrl;
  const logger = deps.logger.createChild({ persistentKeys: { batchId: message.batchId, range: message.index } });
  const state = await deps.ledger.get(message.batchId);
  if (!state || state.status !== BatchStatus.PROCESSING || state.sendPlan?.plan !== message.plan) {
    logger.info('stale send-range message: the batch is no longer sending this plan', { status: state?.status });
    return;
  }
  const feed = feedOfBatch(deps.registry, state);
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  let outcome;
  try {
    if (!feed) throw new Error(`partner ${state.partner} has no feed for ${state.file.name} any more`);
    const manifest = await readJson<StagingManifest>(deps.s3, state.validation!.staging!);
    outcome = await sendRange(message, feed, manifest, rangeContextOf(deps, invocation));
  } catch (error) {
    const reason = String((error as Error)?.message ?? error);
    if (receiveCount < deps.maxReceiveCount) {
      logger.error('send range interrupted; retrying it', { error: error as Error });
      await redeliverIn(record, deps, retryDelaySeconds(receiveCount, deps), queueUrl);
      throw error;
    }
    logger.error('send range failed on its last delivery; the batch is FAILED and can be replayed', { error: error as Error });
    await deps.ranges.fail(message, reason);
    const failed = await failBatch(message.batchId, { code: 'INFRASTRUCTURE', message: `send range ${message.index}: ${reason}` }, deps, invocation);
    if (failed) recordBatchMetrics(failed);
    return;
  }
  switch (outcome) {
    case 'busy':
      await redeliverIn(record, deps, BUSY_RETRY_SECONDS, queueUrl);
      throw new RetryLaterError(`send range ${message.index} of ${message.batchId} is being sent elsewhere`);
    case 'paused':
      logger.info('send range paused: invocation time is running out');
      await continueInNewMessage(record, deps, queueUrl);
      return;
    case 'gone':
      logger.info('send range is gone (failed, or planned by another attempt)');
      return;
    case 'done':
      await completeBatch(record, message, deps, invocation);
  }
}

/** Completes the batch if every range is done; the batch's lease decides who does it. */
async function completeBatch(record: SQSRecord, message: RangeMessage, deps: FileEventDeps, invocation: Invocation): Promise<void> {
  const lease = await deps.ledger.acquire(message.batchId, invocation.owner, invocation.remainingMs() + LEASE_GRACE_MS);
  if (lease.outcome === 'finished') return;
  if (lease.outcome === 'busy') {
    // The dispatcher or another range holds it for a moment: check again soon, or nobody may complete the batch.
    await redeliverIn(record, deps, COMPLETE_RETRY_SECONDS, deps.settings.sendRangesQueueUrl);
    throw new RetryLaterError(`batch ${message.batchId} is busy; its completion is checked again`);
  }
  const logger = deps.logger.createChild({ persistentKeys: { batchId: message.batchId } });
  const run = new BatchRun(deps, invocation, logger, lease.state, undefined, feedOfBatch(deps.registry, lease.state));
  const result = await run.completeRanges(lease.state.sendPlan!);
  if (result.outcome === 'finished') recordBatchMetrics(result.state);
}
