import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { BUSY_RETRY_SECONDS, DEFAULT_RETRY_BASE_SECONDS, MAX_DELAY_SECONDS, MAX_RETRY_SECONDS } from './constants';
import { RetryLaterError } from './errors';
import type { FileEventDeps, Invocation } from './types';

/**
 * How both SQS consumers (ingest-file, send-range) take their messages: one at
 * a time, each failure reported as a partial-batch failure so only its message
 * is redelivered.
 */
export function eachMessage(
  event: SQSEvent,
  context: Context,
  handle: (record: SQSRecord, invocation: Invocation) => Promise<void>,
): Promise<SQSBatchResponse> {
  const invocation: Invocation = { owner: context.awsRequestId, remainingMs: () => context.getRemainingTimeInMillis() };
  return processPartialResponse(event, (record: SQSRecord) => handle(record, invocation), new BatchProcessor(EventType.SQS), {
    context,
    processInParallel: false,
    throwOnFullBatchFailure: false,
  });
}

/** How many times SQS has delivered this message (1 on the first delivery). */
export function receiveCountOf(record: SQSRecord): number {
  return Number(record.attributes.ApproximateReceiveCount ?? '1');
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
