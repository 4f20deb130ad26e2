import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { PartnerIngestError } from '../errors/base';
import {
  ENVELOPE_ATTRIBUTE,
  EnvelopeShape,
  messageAttributesBytes,
  WORK_QUEUE_MAX_MESSAGE_BYTES,
  WorkItemPacker,
  type MessageAttribute,
  type PackEntry,
} from '../pipeline/work-item';
import type { StagedChunk, StagingManifest } from '../staging/staging-writer';
import { mapConcurrently } from '../util/concurrency';
import { backoffDelay, DEFAULT_BACKOFF, withRetries, type BackoffOptions } from '../util/backoff';

/** SendMessageBatch takes at most 10 entries, and their total size is capped like one message. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = WORK_QUEUE_MAX_MESSAGE_BYTES;
/** The feed setting's bounds (schemas/partner.schema.json `workItems.recordsPerMessage`). */
export const MAX_RECORDS_PER_MESSAGE = 1000;

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
  /** Attributes of every message; the sender sets `envelope` (`item` or `pack`) itself. */
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
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

/** One work queue message, ready to send. */
interface OutgoingMessage {
  readonly body: string;
  /** Body plus attributes, as SQS counts a message's size. */
  readonly bytes: number;
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
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
  const shapes = new MessageShapes(options.attributes, recordsPerMessage);
  const counters = { requests: 0 };
  let itemsSent = itemsBefore(manifest, options.fromChunk);
  let messagesSent = 0;
  for (let index = options.fromChunk; index < toChunk; index++) {
    if (options.shouldStop?.()) return { nextChunk: index, itemsSent, done: false, messagesSent, requests: counters.requests };
    const chunk = manifest.chunks[index]!;
    const bodies = await readChunk(options.s3, manifest, chunk);
    const messages = shapes.messagesOf(bodies, manifest.batchId, chunkKeyOf(manifest, chunk));
    await sendMessages(options, messages, counters);
    itemsSent += chunk.items;
    messagesSent += messages.length;
    await options.onChunkSent(index + 1, itemsSent);
  }
  return { nextChunk: toChunk, itemsSent, done: true, messagesSent, requests: counters.requests };
}

/**
 * Turns one chunk's staged item bodies into messages. Deterministic: the
 * messages depend only on the chunk's bodies, the attributes and
 * `recordsPerMessage`. A run of records is cut when it holds
 * `recordsPerMessage` records or the next record would take the pack (with its
 * attributes) over the queue's limit; a run of one record goes out as its item
 * envelope, exactly as staged — which the validation pass proved fits.
 */
class MessageShapes {
  private readonly itemAttributes: Readonly<Record<string, MessageAttribute>>;
  private readonly packAttributes: Readonly<Record<string, MessageAttribute>>;
  private readonly itemAttributesBytes: number;
  private readonly packAttributesBytes: number;
  private packer: WorkItemPacker | undefined;

  constructor(
    attributes: Readonly<Record<string, MessageAttribute>>,
    private readonly recordsPerMessage: number,
  ) {
    this.itemAttributes = { ...attributes, [ENVELOPE_ATTRIBUTE]: { DataType: 'String', StringValue: EnvelopeShape.ITEM } };
    this.packAttributes = { ...attributes, [ENVELOPE_ATTRIBUTE]: { DataType: 'String', StringValue: EnvelopeShape.PACK } };
    this.itemAttributesBytes = messageAttributesBytes(this.itemAttributes);
    this.packAttributesBytes = messageAttributesBytes(this.packAttributes);
  }

  messagesOf(bodies: readonly string[], batchId: string, source: string): OutgoingMessage[] {
    if (this.recordsPerMessage === 1) return bodies.map((body) => this.item(body, Buffer.byteLength(body)));
    if (!bodies.length) return [];
    if (!this.packer) {
      this.packer = WorkItemPacker.fromItemBody(bodies[0]!);
      if (this.packer.context.batchId !== batchId) {
        throw new WorkQueueSendError(`staged items of ${source} belong to batch ${this.packer.context.batchId}, not ${batchId}`);
      }
    }
    const packer = this.packer;
    const limit = WORK_QUEUE_MAX_MESSAGE_BYTES - this.packAttributesBytes;
    const messages: OutgoingMessage[] = [];
    let run: PackEntry[] = [];
    let runBodies: { body: string; bytes: number }[] = [];
    let runEntryBytes = 0;
    const close = () => {
      if (run.length === 1) messages.push(this.item(runBodies[0]!.body, runBodies[0]!.bytes));
      else if (run.length > 1) {
        const body = packer.pack(run);
        messages.push({ body, bytes: Buffer.byteLength(body) + this.packAttributesBytes, attributes: this.packAttributes });
      }
      run = [];
      runBodies = [];
      runEntryBytes = 0;
    };
    for (const body of bodies) {
      const bodyBytes = Buffer.byteLength(body);
      const entry = packer.entryOf(body, bodyBytes);
      if (
        run.length === this.recordsPerMessage ||
        (run.length && packer.packBytes(run[0]!.recordNumber, entry.recordNumber, run.length + 1, runEntryBytes + entry.bytes) > limit)
      ) {
        close();
      }
      run.push(entry);
      runBodies.push({ body, bytes: bodyBytes });
      runEntryBytes += entry.bytes;
    }
    close();
    return messages;
  }

  private item(body: string, bodyBytes: number): OutgoingMessage {
    return { body, bytes: bodyBytes + this.itemAttributesBytes, attributes: this.itemAttributes };
  }
}

/** The items object holding a chunk: its own `key`, or the single `itemsKey` of a version 1 manifest staged before segments. */
function chunkKeyOf(manifest: StagingManifest, chunk: StagedChunk): string {
  return (chunk as { key?: string }).key ?? (manifest as { itemsKey?: string }).itemsKey!;
}

async function readChunk(s3: S3Client, manifest: StagingManifest, chunk: StagedChunk): Promise<string[]> {
  const key = chunkKeyOf(manifest, chunk);
  const text = await withRetries(async () => {
    const { Body } = await s3.send(
      new GetObjectCommand({
        Bucket: manifest.bucket,
        Key: key,
        Range: `bytes=${chunk.offset}-${chunk.offset + chunk.length - 1}`,
      }),
    );
    return Body!.transformToString('utf-8');
  });
  const bodies = text.split('\n');
  bodies.pop(); // the chunk ends with a newline
  if (bodies.length !== chunk.items) {
    throw new WorkQueueSendError(
      `staged chunk ${chunk.index} of ${key} holds ${bodies.length} items, the manifest says ${chunk.items}`,
    );
  }
  return bodies;
}

/** Groups messages into SendMessageBatch requests: at most 10 entries and MAX_BATCH_BYTES each. */
function planBatches(messages: readonly OutgoingMessage[]): SendMessageBatchRequestEntry[][] {
  const batches: SendMessageBatchRequestEntry[][] = [];
  let current: SendMessageBatchRequestEntry[] = [];
  let currentBytes = 0;
  messages.forEach((message, position) => {
    if (current.length === MAX_BATCH_ENTRIES || (current.length && currentBytes + message.bytes > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push({
      Id: `i${position}`,
      MessageBody: message.body,
      MessageAttributes: message.attributes as SendMessageBatchRequestEntry['MessageAttributes'],
    });
    currentBytes += message.bytes;
  });
  if (current.length) batches.push(current);
  return batches;
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
