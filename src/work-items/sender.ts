import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { WorkQueueSendError } from './errors';
import { WorkItemEnvelopes, type StagedRecord } from './envelopes';
import { MessageShapes, type OutgoingMessage } from './packing';
import { StagedRowDecoder } from './staged-rows';
import { STAGING_MANIFEST_VERSION, type StagedChunk, type StagingManifest } from './staging-writer';
import { batchesBySize } from '../platform/sqs-limits';
import { mapConcurrently } from '../platform/concurrency';
import { backoffDelay, DEFAULT_BACKOFF, withRetries, type BackoffOptions } from '../platform/backoff';

/** The feed setting's bounds (schemas/partner.schema.json `workItems.recordsPerMessage`). */
export const MAX_RECORDS_PER_MESSAGE = 1000;

export interface SendOptions {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly manifest: StagingManifest;
  /** Index of the first chunk to send (the ledger's checkpoint). */
  readonly fromChunk: number;
  /** Index after the last chunk to send (exclusive; default: every chunk), so [fromChunk, toChunk) can go to one invocation. */
  readonly toChunk?: number;
  /**
   * Records per message (default 1: one item envelope per record, exactly as staged).
   * Above 1, up to this many consecutive records of one chunk go out as one pack envelope.
   */
  readonly recordsPerMessage?: number;
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
  /** Records sent in chunks before `nextChunk` (all calls, derived from the checkpoint). */
  readonly itemsSent: number;
  /** True when every chunk of the range was sent (false: `shouldStop` paused it). */
  readonly done: boolean;
  /** Messages (item or pack envelopes) this call sent in fully acknowledged chunks. */
  readonly messagesSent: number;
  /** SendMessageBatch calls this call made, retries included. */
  readonly requests: number;
}

/** Items in chunks before `chunk`: sent counts derive from the checkpoint, so resumes never double-count. */
export function itemsBefore(manifest: StagingManifest, chunk: number): number {
  return manifest.chunks.slice(0, chunk).reduce((sum, staged) => sum + staged.items, 0);
}

/**
 * Sends staged work items to the work queue, chunk by chunk from the
 * checkpoint. With `recordsPerMessage` above 1, consecutive records of a chunk
 * are packed into messages (never across chunks, so a resume re-creates the
 * same messages). Within a chunk, batches of up to 10 messages (never over the
 * size cap) go out `concurrency` at a time; entries SQS reports as failed are
 * retried when retryable, with backoff. A chunk is checkpointed only when every
 * message in it is acknowledged, so a crash resends at most one chunk — with
 * the same item ids.
 */
export async function sendStagedItems(options: SendOptions): Promise<SendProgress> {
  const { manifest } = options;
  const toChunk = Math.min(options.toChunk ?? manifest.chunks.length, manifest.chunks.length);
  const recordsPerMessage = options.recordsPerMessage ?? 1;
  if (!Number.isInteger(options.fromChunk) || options.fromChunk < 0 || !Number.isInteger(toChunk) || options.fromChunk > toChunk) {
    throw new RangeError(`invalid chunk range [${options.fromChunk}, ${options.toChunk}) of ${manifest.chunks.length} chunks`);
  }
  if (!Number.isInteger(recordsPerMessage) || recordsPerMessage < 1 || recordsPerMessage > MAX_RECORDS_PER_MESSAGE) {
    throw new RangeError(`recordsPerMessage must be an integer from 1 to ${MAX_RECORDS_PER_MESSAGE}, not ${recordsPerMessage}`);
  }
  if (manifest.manifestVersion !== STAGING_MANIFEST_VERSION) {
    throw new WorkQueueSendError(
      `batch ${manifest.batchId} was staged in format ${String(manifest.manifestVersion)}, this sender reads format ${STAGING_MANIFEST_VERSION}: replay it from scratch`,
    );
  }
  const shapes = new MessageShapes(new WorkItemEnvelopes(manifest.envelope, manifest.maxMessageBytes), recordsPerMessage);
  if (!manifest.rows && toChunk > options.fromChunk) {
    throw new WorkQueueSendError(`batch ${manifest.batchId} has staged chunks but no row format in its manifest`);
  }
  const rows = manifest.rows && new StagedRowDecoder(manifest.rows);
  const counters = { requests: 0 };
  let itemsSent = itemsBefore(manifest, options.fromChunk);
  let messagesSent = 0;
  for (let index = options.fromChunk; index < toChunk; index++) {
    if (options.shouldStop?.()) return { nextChunk: index, itemsSent, done: false, messagesSent, requests: counters.requests };
    const chunk = manifest.chunks[index]!;
    const messages = shapes.messagesOf(await readChunk(options.s3, manifest, chunk, rows!));
    await sendMessages(options, messages, counters);
    itemsSent += chunk.items;
    messagesSent += messages.length;
    await options.onChunkSent(index + 1, itemsSent);
  }
  return { nextChunk: toChunk, itemsSent, done: true, messagesSent, requests: counters.requests };
}

/** The staged records of one chunk: its rows, read with a ranged GET and turned back into typed records. */
async function readChunk(s3: S3Client, manifest: StagingManifest, chunk: StagedChunk, rows: StagedRowDecoder): Promise<StagedRecord[]> {
  const bytes = await withRetries(async () => {
    const { Body } = await s3.send(
      new GetObjectCommand({
        Bucket: manifest.bucket,
        Key: chunk.key,
        Range: `bytes=${chunk.offset}-${chunk.offset + chunk.length - 1}`,
      }),
    );
    return Buffer.from(await Body!.transformToByteArray());
  });
  let records: StagedRecord[];
  try {
    records = rows.decode(bytes);
  } catch (error) {
    throw new WorkQueueSendError(`staged chunk ${chunk.index} of ${chunk.key} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  const first = records[0]?.recordNumber;
  const last = records[records.length - 1]?.recordNumber;
  if (records.length !== chunk.items || first !== chunk.firstRecord || last !== chunk.lastRecord) {
    throw new WorkQueueSendError(
      `staged chunk ${chunk.index} of ${chunk.key} holds ${records.length} items (records ${first}–${last}), the manifest says ${chunk.items} (${chunk.firstRecord}–${chunk.lastRecord})`,
    );
  }
  return records;
}

/** Groups messages into SendMessageBatch requests: at most 10 entries and SQS's 1 MiB each. */
function planBatches(messages: readonly OutgoingMessage[]): SendMessageBatchRequestEntry[][] {
  const entries = messages.map((message, position) => ({
    bytes: message.bytes,
    entry: { Id: `i${position}`, MessageBody: message.body, MessageAttributes: message.attributes as SendMessageBatchRequestEntry['MessageAttributes'] },
  }));
  return batchesBySize(entries, (planned) => planned.bytes).map((batch) => batch.map((planned) => planned.entry));
}

async function sendMessages(options: SendOptions, messages: readonly OutgoingMessage[], counters: { requests: number }): Promise<void> {
  await mapConcurrently(planBatches(messages), options.concurrency ?? 8, (batch) => sendBatch(options, batch, counters));
}

async function sendBatch(options: SendOptions, entries: SendMessageBatchRequestEntry[], counters: { requests: number }): Promise<void> {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  let pending = entries;
  for (let attempt = 1; ; attempt++) {
    const { Failed = [] } = await withRetries(
      () => {
        counters.requests++;
        return options.sqs.send(new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: pending }));
      },
      backoff,
    );
    if (!Failed.length) return;
    const permanent = Failed.filter((failure) => failure.SenderFault);
    if (permanent.length) {
      const first = permanent[0]!;
      throw new WorkQueueSendError(
        `SQS refused ${permanent.length} message(s): ${first.Code ?? 'unknown'} ${first.Message ?? ''}`.trim(),
      );
    }
    if (attempt >= backoff.attempts) {
      throw new WorkQueueSendError(`${Failed.length} message(s) still failing after ${attempt} attempts (${Failed[0]!.Code})`);
    }
    const failedIds = new Set(Failed.map((failure) => failure.Id));
    pending = pending.filter((entry) => failedIds.has(entry.Id));
    await backoffDelay(attempt, backoff);
  }
}
