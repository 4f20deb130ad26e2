import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { PartnerIngestError } from '../platform/errors';
import { recordBatchMetrics } from '../platform/telemetry';
import { LeaseLostError } from '../ledger/errors';
import { workOf } from './file-event-messages';
import {
  failBatch,
  ingestObject,
  registerBatch,
  resumeBatch,
  type AttemptInterruptedError,
  type IngestDeps,
  type IngestFaultError,
  type IngestResult,
  type Invocation,
} from './ingest-object';
import { parseLandingKey } from '../landing/layout';
import type { CreatedObject } from '../landing/s3-event';

export interface FileEventDeps extends IngestDeps {
  /** The file-events queue's maxReceiveCount: the last delivery ends a failing batch as FAILED. */
  readonly maxReceiveCount: number;
  /** Lets the function choose when a message is redelivered; without it SQS waits out the visibility timeout. */
  readonly fileEventsQueueUrl?: string;
  /** First retry delay after a fault; doubles with each delivery. */
  readonly retryBaseSeconds?: number;
  /** How long a batch another invocation holds waits before it is tried again. */
  readonly busyRetrySeconds?: number;
}

const DEFAULT_RETRY_BASE_SECONDS = 30;
const BUSY_RETRY_SECONDS = 60;
/** ChangeMessageVisibility accepts at most 12 hours; a retry waits no more than 15 minutes. */
const MAX_RETRY_SECONDS = 900;
/** SendMessage's DelaySeconds takes at most 15 minutes. */
const MAX_DELAY_SECONDS = 900;

/** Tells SQS to deliver the message again (busy batch, retryable fault). */
export class RetryLaterError extends PartnerIngestError {
  constructor(message: string) {
    super('RETRY_LATER', message);
  }
}

/**
 * The ingest-file function's core: each SQS message carries an S3 event, whose
 * announced objects are ingested, or asks to carry on a batch (a replay). A
 * message whose batch must be retried is reported as a partial-batch failure,
 * so only it is redelivered.
 */
export async function processFileEvents(event: SQSEvent, context: Context, deps: FileEventDeps): Promise<SQSBatchResponse> {
  const invocation: Invocation = { owner: context.awsRequestId, remainingMs: () => context.getRemainingTimeInMillis() };
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, (record: SQSRecord) => handleRecord(record, deps, invocation), processor, {
    context,
    processInParallel: false,
    throwOnFullBatchFailure: false,
  });
}

async function handleRecord(record: SQSRecord, deps: FileEventDeps, invocation: Invocation): Promise<void> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
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
        recordBatchMetrics(result.state);
        break;
      case 'busy':
        // Not a failure of this delivery: a fresh copy comes back later, so waiting never uses up maxReceiveCount.
        await continueLater(record, deps, busyRetrySeconds(deps));
        return;
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
  const failed = await failBatch(id, { code: 'INFRASTRUCTURE', message: `${named?.code ?? named?.name ?? 'Error'}: ${named?.message ?? String(cause)}` }, deps, invocation);
  if (failed) recordBatchMetrics(failed);
}

/**
 * Hands the event on to a later invocation through a fresh copy of its message
 * (after `delaySeconds`, at most SQS's 15 minutes), and lets this delivery
 * succeed: a batch paused for time, or waiting on another invocation, continues
 * without counting as a failed receive — redelivering the same message would,
 * and a big or busy batch would land in the DLQ with a false "failed every
 * attempt" alarm.
 */
export async function continueLater(record: SQSRecord, deps: FileEventDeps, delaySeconds: number, queueUrl = deps.fileEventsQueueUrl): Promise<void> {
  if (!queueUrl) throw new RetryLaterError('continues when the message comes back');
  await deps.sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: record.body, ...(delaySeconds ? { DelaySeconds: Math.min(delaySeconds, MAX_DELAY_SECONDS) } : {}) }),
  );
}

export function busyRetrySeconds(deps: FileEventDeps): number {
  return deps.busyRetrySeconds ?? BUSY_RETRY_SECONDS;
}

/** Backoff after a fault: doubles with each delivery, at most 15 minutes. */
export function retryDelaySeconds(receiveCount: number, deps: FileEventDeps): number {
  const base = deps.retryBaseSeconds ?? DEFAULT_RETRY_BASE_SECONDS;
  return Math.min(MAX_RETRY_SECONDS, base * 2 ** (receiveCount - 1));
}

/**
 * Sets when a message comes back: a paused batch continues at once, a fault is
 * retried with backoff — instead of after the queue's long visibility timeout
 * (sized for the longest invocation). Best effort: if it fails, SQS still redelivers.
 */
export async function redeliverIn(record: SQSRecord, deps: FileEventDeps, seconds: number, queueUrl = deps.fileEventsQueueUrl): Promise<void> {
  if (!queueUrl) return;
  await deps.sqs
    .send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.round(seconds),
      }),
    )
    .catch((error: unknown) => deps.logger.warn('could not schedule the redelivery', { error: error as Error }));
}
