/**
 * In-memory stand-ins for the send pass's inputs and its queue: staged items
 * (chunked exactly as StagingWriter chunks them) behind a ranged-GET S3 stub,
 * and an SQS stub that acknowledges (or refuses) entries and counts everything.
 * Shared by the send unit tests and bench/packing.bench.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { ItemSink, RawRecord } from '../../../src/validate/sinks';
import { createAjv } from '../../../src/records/ajv';
import { stringify } from 'csv-stringify/sync';
import type { FeedConfig } from '../../../src/config/types';
import { workItemContext, type WorkItemContext } from '../../../src/work-items/envelopes';
import { stagedRowFormat, stagedRowPrefix, textEncodingOf, type StagedRowFormat } from '../../../src/work-items/staged-rows';
import {
  ChunkIndex,
  DEFAULT_CHUNK_LIMITS,
  stagingManifest,
  type ChunkLimits,
  type StagingManifest,
} from '../../../src/work-items/staging-writer';

/** An ItemSink that stages rows in memory exactly as StagingWriter does (staged rows, chunked by ChunkIndex). */
export class MemoryStagingSink implements ItemSink {
  readonly backlogged = false;
  private readonly parts: Buffer[] = [];
  private readonly index: ChunkIndex;
  private readonly envelope: WorkItemContext;
  private format: StagedRowFormat | undefined;
  private bytes = 0;

  constructor(
    private readonly feed: FeedConfig,
    batchId: string,
    limits: ChunkLimits = DEFAULT_CHUNK_LIMITS,
  ) {
    this.envelope = workItemContext(batchId, feed);
    this.index = new ChunkIndex(`staging/test/${batchId}/attempt-1/rows.csv`, 0, limits);
  }

  layout(header: readonly string[], recordDelimiter: string): void {
    this.format = stagedRowFormat(this.feed, header, recordDelimiter);
  }

  write(recordNumber: number, line: number, raw: RawRecord): void {
    const { delimiter, encoding } = this.feed.format;
    const prefix = Buffer.from(stagedRowPrefix(recordNumber, line, delimiter), textEncodingOf(encoding));
    const row = Buffer.concat([prefix, raw.bytes.subarray(raw.start, raw.end)]);
    this.index.add(recordNumber, this.bytes, row.length);
    this.parts.push(row);
    this.bytes += row.length;
  }

  async flush(): Promise<void> {}

  close(): { manifest: StagingManifest; data: Buffer } {
    const chunks = this.index.close();
    const manifest = stagingManifest(this.envelope.batchId, this.feed, this.format!, 'staging-bucket', { chunks, items: this.index.items, bytes: this.bytes });
    return { manifest, data: Buffer.concat(this.parts) };
  }
}

/** All of `bytes`, as the validation pass hands a record to its item sink. */
export function rawOf(bytes: Buffer): RawRecord {
  return { bytes, start: 0, end: bytes.length };
}

/** One CSV row (with its line break) of a record's values in `columns` order; absent values are empty fields. */
export function csvRowOf(record: Record<string, unknown>, columns: readonly string[]): Buffer {
  return Buffer.from(stringify([columns.map((column) => (record[column] === undefined ? '' : String(record[column])))]));
}

/** An S3 client that answers ranged GETs of the (one) staged items object from memory; `gets` counts them. */
export function memoryS3(data: Buffer): S3Client & { gets: number } {
  const stub = {
    gets: 0,
    async send(command: unknown) {
      if (!(command instanceof GetObjectCommand)) throw new Error(`unexpected S3 command ${(command as object).constructor.name}`);
      stub.gets++;
      const match = /^bytes=(\d+)-(\d+)$/.exec(command.input.Range ?? '');
      const slice = match ? data.subarray(Number(match[1]), Number(match[2]) + 1) : data;
      return { Body: { transformToByteArray: async () => new Uint8Array(slice) } };
    },
  };
  return stub as unknown as S3Client & { gets: number };
}

export interface SentMessage {
  readonly body: string;
  readonly attributes: Record<string, string>;
}

/**
 * An SQS client that acknowledges every SendMessageBatch entry and records the
 * messages. `refuse(entries, call)` may return entries to report as failed
 * (retryable unless `SenderFault`), as SQS does inside a successful response.
 */
export function recordingSqs(
  refuse?: (entries: readonly SendMessageBatchRequestEntry[], call: number) => BatchResultErrorEntry[],
): SQSClient & { calls: number; messages: SentMessage[]; batchSizes: number[] } {
  const stub = {
    calls: 0,
    messages: [] as SentMessage[],
    batchSizes: [] as number[],
    async send(command: unknown) {
      if (!(command instanceof SendMessageBatchCommand)) throw new Error(`unexpected SQS command ${(command as object).constructor.name}`);
      const entries = command.input.Entries ?? [];
      stub.calls++;
      const failed = refuse?.(entries, stub.calls) ?? [];
      const failedIds = new Set(failed.map((entry) => entry.Id));
      const accepted = entries.filter((entry) => !failedIds.has(entry.Id));
      stub.batchSizes.push(entries.length);
      for (const entry of accepted) {
        stub.messages.push({
          body: entry.MessageBody!,
          attributes: Object.fromEntries(Object.entries(entry.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue!])),
        });
      }
      return { Successful: accepted.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}`, MD5OfMessageBody: '' })), Failed: failed };
    },
  };
  return stub as unknown as SQSClient & { calls: number; messages: SentMessage[]; batchSizes: number[] };
}

const SCHEMAS = path.resolve(__dirname, '..', '..', '..', 'schemas', 'work-items');
const ajv = createAjv();
const itemSchema = JSON.parse(readFileSync(path.join(SCHEMAS, 'item.v1.schema.json'), 'utf8'));
const packSchema = JSON.parse(readFileSync(path.join(SCHEMAS, 'pack.v1.schema.json'), 'utf8'));
ajv.addSchema(itemSchema);
/** The published work item contracts, compiled once. */
export const validateItemEnvelope = ajv.getSchema(itemSchema.$id)!;
export const validatePackEnvelope = ajv.compile(packSchema);

/** Item ids carried by a message of either shape, after checking its body against its shape's schema. */
export function itemIdsOf(message: { body: string; attributes: Record<string, string> }): string[] {
  const body = JSON.parse(message.body);
  const validate = message.attributes.envelope === 'pack' ? validatePackEnvelope : validateItemEnvelope;
  if (!validate(body)) throw new Error(`message does not match the ${message.attributes.envelope} schema: ${JSON.stringify(validate.errors)}`);
  return message.attributes.envelope === 'pack' ? body.items.map((item: { itemId: string }) => item.itemId) : [body.itemId];
}
