import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { PartnerIngestError } from '../errors/base';
import { recordBatchMetrics } from '../observability/telemetry';
import {
  AttemptInterruptedError,
  failBatch,
  ingestObject,
  type IngestDeps,
  type IngestResult,
  type Invocation,
} from './ingest-object';
import { createdObjectsOf } from './s3-event';

export interface FileEventDeps extends IngestDeps {
  /** The file-events queue's maxReceiveCount: the last delivery ends a failing batch as FAILED. */
  readonly maxReceiveCount: number;
  /** Lets the function choose when a message is redelivered; without it SQS waits out the visibility timeout. */
  readonly fileEventsQueueUrl?: string;
  /** First retry delay after a fault; doubles with each delivery. */
  readonly retryBaseSeconds?: number;
}

const DEFAULT_RETRY_BASE_SECONDS = 30;
export const BUSY_RETRY_SECONDS = 60;
/** ChangeMessageVisibility accepts at most 12 hours; a retry waits no more than 15 minutes. */
const MAX_RETRY_SECONDS = 900;

/** Tells SQS to deliver the message again (busy batch, retryable fault). */
export class RetryLaterError extends PartnerIngestError {
  constructor(message: string) {
    super('RETRY_LATER', message);
  }
}

/**
 * The ingest-file function's core: each SQS message carries an S3 event; each
 * announced object is ingested. A message whose batch must be retried is
 * reported as a partial-batch failure, so only it is redelivered.
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
  for (const object of createdObjectsOf(record.body)) {
    let result: IngestResult;
    try {
      result = await ingestObject(object, deps, invocation);
    } catch (error) {
      if (!(error instanceof AttemptInterruptedError)) throw error;
      if (receiveCount < deps.maxReceiveCount) {
        await redeliverIn(record, deps, retryDelaySeconds(receiveCount, deps));
        throw error;
      }
      deps.logger.error('retries exhausted; the batch is FAILED and can be replayed', { batchId: error.batchId });
      const cause = error.cause as { code?: string; name?: string; message?: string } | undefined;
      const failed = await failBatch(
        error.batchId,
        { code: 'INFRASTRUCTURE', message: `${cause?.code ?? cause?.name ?? 'Error'}: ${cause?.message ?? error.message}` },
        deps,
        invocation,
      );
      if (failed) recordBatchMetrics(failed);
      continue;
    }
    switch (result.outcome) {
      case 'finished':
        recordBatchMetrics(result.state);
        break;
      case 'busy':
        await redeliverIn(record, deps, BUSY_RETRY_SECONDS);
        throw new RetryLaterError(`batch ${result.batchId} is being processed elsewhere`);
      case 'paused':
        await continueInNewMessage(record, deps);
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
 * A batch paused for time continues in the next invocation through a fresh
 * copy of its file event. Redelivering the same message instead would count
 * every pause as a failed receive, and a file needing more invocations than
 * the queue's maxReceiveCount would land in the DLQ.
 */
export async function continueInNewMessage(record: SQSRecord, deps: FileEventDeps, queueUrl = deps.fileEventsQueueUrl): Promise<void> {
  if (!queueUrl) throw new RetryLaterError('paused at a checkpoint; continues when the message comes back');
  await deps.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: record.body }));
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
