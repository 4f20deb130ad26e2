import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FeedConfig } from '../config/types';
import { RangeQueueError } from './errors';
import { RangeLeaseLostError } from '../ledger/errors';
import type { SendRange, SendRanges } from '../ledger/send-ranges';
import type { StagingManifest } from './staging-writer';
import { sendStagedItems, type SendOptions } from './sender';

/** What a send-range message names: one range of one batch's send plan. */
export interface RangeMessage {
  readonly batchId: string;
  readonly plan: number;
  readonly index: number;
}

export type RangeOutcome = 'done' | 'paused' | 'busy' | 'gone';

export interface RangeSendContext {
  readonly sqs: SQSClient;
  readonly s3: SendOptions['s3'];
  readonly ranges: SendRanges;
  readonly workQueueUrl: string;
  readonly owner: string;
  readonly leaseMs: number;
  readonly shouldStop: () => boolean;
  readonly concurrency?: number;
}

/**
 * Sends one range of a batch's staged chunks under the range's own lease,
 * from its checkpoint: the chunks before `nextChunk` were acknowledged by SQS
 * earlier, so a retried or resumed range resends at most the chunk it was in.
 */
export async function sendRange(
  message: RangeMessage,
  feed: FeedConfig,
  manifest: StagingManifest,
  context: RangeSendContext,
): Promise<RangeOutcome> {
  const lease = await context.ranges.acquire(message.batchId, message.plan, message.index, context.owner, context.leaseMs);
  if (lease.outcome === 'done') return 'done';
  if (lease.outcome === 'busy') return 'busy';
  if (lease.outcome !== 'acquired') return 'gone';
  const range: SendRange = lease.range;
  try {
    const progress = await sendStagedItems({
      s3: context.s3,
      sqs: context.sqs,
      queueUrl: context.workQueueUrl,
      manifest,
      recordsPerMessage: feed.workItems.recordsPerMessage,
      fromChunk: range.nextChunk,
      toChunk: range.toChunk,
      concurrency: context.concurrency,
      shouldStop: context.shouldStop,
      onChunkSent: (nextChunk) => context.ranges.checkpoint(range, context.owner, nextChunk),
    });
    if (!progress.done) {
      await context.ranges.release(range, context.owner);
      return 'paused';
    }
    await context.ranges.complete(range, context.owner);
    return 'done';
  } catch (error) {
    if (!(error instanceof RangeLeaseLostError)) {
      await context.ranges.release(range, context.owner, String((error as Error)?.message ?? error)).catch(() => undefined);
    }
    throw error;
  }
}

/** Queues one message per range for the parallel range senders (SendMessageBatch, 10 at a time). */
export async function enqueueRanges(sqs: SQSClient, queueUrl: string, messages: readonly RangeMessage[]): Promise<void> {
  for (let at = 0; at < messages.length; at += 10) {
    const batch = messages.slice(at, at + 10);
    const { Failed = [] } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((message) => ({ Id: String(message.index), MessageBody: JSON.stringify(message) })),
      }),
    );
    if (Failed.length) {
      throw new RangeQueueError(Failed.map((failure) => String(failure.Id)), Failed[0]!.Code);
    }
  }
}
