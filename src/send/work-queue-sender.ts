import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { PartnerIngestError } from '../errors/base';
import { messageAttributesBytes, WORK_QUEUE_MAX_MESSAGE_BYTES, type MessageAttribute } from '../pipeline/work-item';
import type { StagedChunk, StagingManifest } from '../staging/staging-writer';
import { backoffDelay, DEFAULT_BACKOFF, withRetries, type BackoffOptions } from '../util/backoff';

/** SendMessageBatch takes at most 10 entries, and their total size is capped like one message. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = WORK_QUEUE_MAX_MESSAGE_BYTES;

/** Work items could not be sent (a non-retryable entry failure, or retries exhausted). */
export class WorkQueueSendError extends PartnerIngestError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WORK_QUEUE_SEND_FAILED', message, options);
  }
}

export interface SendOptions {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly manifest: StagingManifest;
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
  /** Index of the first chunk to send (the ledger's checkpoint). */
  readonly fromChunk: number;
  /** Persists progress after each chunk is fully acknowledged by SQS. */
  readonly onChunkSent: (nextChunk: number, itemsSent: number) => Promise<void>;
  /** Asked before each chunk; true stops sending (e.g. the invocation is running out of time). */
  readonly shouldStop?: () => boolean;
  /** SendMessageBatch requests in flight at once. */
  readonly concurrency?: number;
  readonly backoff?: BackoffOptions;
}

export interface SendProgress {
  readonly nextChunk: number;
  readonly itemsSent: number;
  readonly done: boolean;
}

/** Items in chunks before `chunk`: sent counts derive from the checkpoint, so resumes never double-count. */
export function itemsBefore(manifest: StagingManifest, chunk: number): number {
  return manifest.chunks.slice(0, chunk).reduce((sum, staged) => sum + staged.items, 0);
}

/**
 * Sends staged work items to the work queue, chunk by chunk from the
 * checkpoint. Within a chunk, batches of up to 10 (never over the size cap) go
 * out `concurrency` at a time; entries SQS reports as failed are retried when
 * retryable, with backoff. A chunk is checkpointed only when every item in it
 * is acknowledged, so a crash resends at most one chunk — with the same item ids.
 */
export async function sendStagedItems(options: SendOptions): Promise<SendProgress> {
  const { manifest } = options;
  let itemsSent = itemsBefore(manifest, options.fromChunk);
  for (let index = options.fromChunk; index < manifest.chunks.length; index++) {
    if (options.shouldStop?.()) return { nextChunk: index, itemsSent, done: false };
    const chunk = manifest.chunks[index]!;
    const bodies = await readChunk(options.s3, manifest, chunk);
    await sendBodies(options, bodies);
    itemsSent += chunk.items;
    await options.onChunkSent(index + 1, itemsSent);
  }
  return { nextChunk: manifest.chunks.length, itemsSent, done: true };
}

async function readChunk(s3: S3Client, manifest: StagingManifest, chunk: StagedChunk): Promise<string[]> {
  const text = await withRetries(async () => {
    const { Body } = await s3.send(
      new GetObjectCommand({
        Bucket: manifest.bucket,
        Key: manifest.itemsKey,
        Range: `bytes=${chunk.offset}-${chunk.offset + chunk.length - 1}`,
      }),
    );
    return Body!.transformToString('utf-8');
  });
  const bodies = text.split('\n');
  bodies.pop(); // the chunk ends with a newline
  if (bodies.length !== chunk.items) {
    throw new WorkQueueSendError(
      `staged chunk ${chunk.index} of ${manifest.itemsKey} holds ${bodies.length} items, the manifest says ${chunk.items}`,
    );
  }
  return bodies;
}

/** Groups bodies into SendMessageBatch requests: at most 10 entries and MAX_BATCH_BYTES each. */
function planBatches(bodies: readonly string[], attributes: Readonly<Record<string, MessageAttribute>>) {
  const perMessage = messageAttributesBytes(attributes);
  const batches: SendMessageBatchRequestEntry[][] = [];
  let current: SendMessageBatchRequestEntry[] = [];
  let currentBytes = 0;
  bodies.forEach((body, position) => {
    const bytes = Buffer.byteLength(body) + perMessage;
    if (current.length === MAX_BATCH_ENTRIES || (current.length && currentBytes + bytes > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push({ Id: `i${position}`, MessageBody: body, MessageAttributes: attributes as SendMessageBatchRequestEntry['MessageAttributes'] });
    currentBytes += bytes;
  });
  if (current.length) batches.push(current);
  return batches;
}

async function sendBodies(options: SendOptions, bodies: readonly string[]): Promise<void> {
  const batches = planBatches(bodies, options.attributes);
  const concurrency = options.concurrency ?? 8;
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      await sendBatch(options, batch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
}

async function sendBatch(options: SendOptions, entries: SendMessageBatchRequestEntry[]): Promise<void> {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  let pending = entries;
  for (let attempt = 1; ; attempt++) {
    const { Failed = [] } = await withRetries(
      () => options.sqs.send(new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: pending })),
      backoff,
    );
    if (!Failed.length) return;
    const permanent = Failed.filter((failure) => failure.SenderFault);
    if (permanent.length) {
      const first = permanent[0]!;
      throw new WorkQueueSendError(
        `SQS refused ${permanent.length} work item(s): ${first.Code ?? 'unknown'} ${first.Message ?? ''}`.trim(),
      );
    }
    if (attempt >= backoff.attempts) {
      throw new WorkQueueSendError(`${Failed.length} work item(s) still failing after ${attempt} attempts (${Failed[0]!.Code})`);
    }
    const failedIds = new Set(Failed.map((failure) => failure.Id));
    pending = pending.filter((entry) => failedIds.has(entry.Id));
    await backoffDelay(attempt, backoff);
  }
}
