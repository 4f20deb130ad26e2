import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LeaseLostError, RangeLeaseLostError } from '../ledger/errors';
import { BatchStatus } from '../ledger/types';
import { messageOf } from '../platform/errors';
import { recordBatchMetrics } from '../platform/telemetry';
import { sendRange, type RangeMessage, type RangeOutcome } from '../work-items/range-sender';
import type { StagingManifest } from '../work-items/staging-writer';
import { readJson } from '../landing/objects';
import { BatchRun, rangeContextOf } from './batch-run';
import { COMPLETE_RETRY_SECONDS, LEASE_GRACE_MS } from './constants';
import { FeedGoneError, INFRASTRUCTURE_FAILURE } from './errors';
import { failBatch } from './ingest-object';
import { feedOfBatch, routeBatch } from './routing';
import { busyRetrySeconds, continueLater, eachMessage, receiveCountOf, redeliverIn, retryDelaySeconds } from './sqs-retry';
import type { FileEventDeps, Invocation } from './types';

/**
 * The send-range function's core: each message names one range of a batch's
 * staged chunks. The range is sent under its own lease from its checkpoint;
 * whichever range finishes last completes the batch — one completion event,
 * after every range is acknowledged. A range that fails is retried with
 * backoff; on its last delivery the range and the batch become FAILED, keeping
 * every range's checkpoint for a replay.
 */
export function processSendRanges(event: SQSEvent, context: Context, deps: FileEventDeps): Promise<SQSBatchResponse> {
  return eachMessage(event, context, (record, invocation) => handleRange(record, deps, invocation));
}

async function handleRange(record: SQSRecord, deps: FileEventDeps, invocation: Invocation): Promise<void> {
  const message = JSON.parse(record.body) as RangeMessage;
  const queueUrl = deps.settings.sendRangesQueueUrl;
  const logger = deps.logger.createChild({ persistentKeys: { batchId: message.batchId, range: message.index } });
  const receiveCount = receiveCountOf(record);
  let outcome: RangeOutcome | 'stale' | 'completing';
  try {
    outcome = await sendOneRange(message, deps, invocation, logger);
    if (outcome === 'done') outcome = await completeBatch(message, deps, invocation);
  } catch (error) {
    if (error instanceof RangeLeaseLostError || error instanceof LeaseLostError) {
      // Another invocation has the range (or the batch) now: not this delivery's failure.
      await continueLater(record, deps, busyRetrySeconds(deps), queueUrl);
      return;
    }
    const reason = messageOf(error);
    if (receiveCount < deps.maxReceiveCount) {
      logger.error('send range interrupted; retrying it', { error: error as Error });
      await redeliverIn(record, deps, retryDelaySeconds(receiveCount, deps), queueUrl);
      throw error;
    }
    logger.error('send range failed on its last delivery; the batch is FAILED and can be replayed', { error: error as Error });
    await deps.ranges.fail(message, reason);
    const failed = await failBatch(message.batchId, { code: INFRASTRUCTURE_FAILURE, message: `send range ${message.index}: ${reason}` }, deps, invocation);
    if (failed) recordBatchMetrics(deps.metrics, failed);
    return;
  }
  switch (outcome) {
    case 'busy':
      // Waiting on another invocation never uses up maxReceiveCount: a fresh copy comes back later.
      await continueLater(record, deps, busyRetrySeconds(deps), queueUrl);
      return;
    case 'completing':
      // The dispatcher or another range holds the batch for a moment: check again soon, or nobody may complete it.
      await continueLater(record, deps, COMPLETE_RETRY_SECONDS, queueUrl);
      return;
    case 'paused':
      logger.info('send range paused: invocation time is running out');
      await continueLater(record, deps, 0, queueUrl);
      return;
    case 'gone':
      logger.info('send range is gone (failed, or planned by another attempt)');
      return;
    default:
      return;
  }
}

/** Sends the range the message names, if its batch is still sending that plan ('stale' otherwise). */
async function sendOneRange(message: RangeMessage, deps: FileEventDeps, invocation: Invocation, logger: FileEventDeps['logger']): Promise<RangeOutcome | 'stale'> {
  const state = await deps.ledger.get(message.batchId);
  if (!state || state.status !== BatchStatus.PROCESSING || state.sendPlan?.plan !== message.plan) {
    logger.info('stale send-range message: the batch is no longer sending this plan', { status: state?.status });
    return 'stale';
  }
  const route = routeBatch(deps.registry, state);
  if (!route.feed) throw new FeedGoneError(route.reason.message);
  const manifest = await readJson<StagingManifest>(deps.s3, state.validation!.staging!);
  return sendRange(message, route.feed, manifest, rangeContextOf(deps, invocation));
}

/**
 * Completes the batch if every range is done; the batch's lease decides who
 * does it. 'completing' when another invocation holds the batch for a moment.
 */
async function completeBatch(message: RangeMessage, deps: FileEventDeps, invocation: Invocation): Promise<'done' | 'completing'> {
  const lease = await deps.ledger.acquire(message.batchId, invocation.owner, invocation.remainingMs() + LEASE_GRACE_MS);
  if (lease.outcome === 'finished') return 'done';
  if (lease.outcome === 'busy') return 'completing';
  const logger = deps.logger.createChild({ persistentKeys: { batchId: message.batchId } });
  const run = new BatchRun(deps, invocation, logger, lease.state, undefined, feedOfBatch(deps.registry, lease.state));
  const result = await run.completeRanges(lease.state.sendPlan!);
  if (result.outcome === 'finished') recordBatchMetrics(deps.metrics, result.state);
  return 'done';
}
