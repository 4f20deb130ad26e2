import type { S3Client } from '@aws-sdk/client-s3';
import { manifestKeyOf, rowsKeyOf, segmentKeyOf } from '../landing/layout';
import { readJson, writeJson } from '../landing/objects';
import type { FeedConfig } from '../config/types';
import type { ItemSink, RawRecord } from '../validate/sinks';
import { workItemContext, type WorkItemContext } from './envelopes';
import { S3TextWriter, type TextWriter } from '../platform/s3-text-writer';
import { appendStagedRow, stagedRowFormat, type StagedRowFormat } from './staged-rows';

/** A run of consecutive staged work items that is sent, and checkpointed, as one unit. */
export interface StagedChunk {
  readonly index: number;
  /** The rows object holding the chunk (one per validation segment). */
  readonly key: string;
  readonly firstRecord: number;
  readonly lastRecord: number;
  readonly items: number;
  /** Byte range of the chunk's rows in the rows object. */
  readonly offset: number;
  readonly length: number;
}

export const STAGING_MANIFEST_VERSION = 3;

/**
 * Describes a staged batch: the rows objects (`rows.csv`, then `rows.<n>.csv`
 * for each further validation segment) hold the staged rows of its valid
 * records (staged-rows.ts), in record order; the chunks index them so sending
 * can resume from a checkpoint or be split across invocations with ranged reads.
 */
export interface StagingManifest {
  readonly manifestVersion: typeof STAGING_MANIFEST_VERSION;
  readonly batchId: string;
  /** The batch-level envelope fields, as of validation: the sender adds them to every record. */
  readonly envelope: WorkItemContext;
  /**
   * The message cap the validation pass proved every record's item fits
   * (the feed's `workItems.maxMessageBytes` then); absent in manifests staged
   * before the setting, which used the default.
   */
  readonly maxMessageBytes?: number;
  /**
   * How to read the staged rows back into the records validated. Absent when
   * the file's header was never read (a file rejected before its first
   * record): nothing is staged then.
   */
  readonly rows?: StagedRowFormat;
  readonly bucket: string;
  readonly items: number;
  readonly bytes: number;
  readonly chunks: readonly StagedChunk[];
}

/** What a paused validation segment staged; the next segment continues after it. */
export interface StagedSegment {
  /** The next segment's number. */
  readonly next: number;
  /** Chunks and items staged by all segments so far. */
  readonly chunks: number;
  readonly items: number;
  readonly bytes: number;
}

const FIRST_SEGMENT: StagedSegment = { next: 0, chunks: 0, items: 0, bytes: 0 };

export interface ChunkLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxItems: 1000, maxBytes: 4 * 1024 * 1024 };

/**
 * Cuts the rows of one rows object into chunks — at most `maxItems` items
 * and `maxBytes` bytes each — and records where each chunk lies.
 */
export class ChunkIndex {
  readonly chunks: StagedChunk[] = [];
  private open: { firstRecord: number; lastRecord: number; items: number; offset: number; length: number } | undefined;

  constructor(
    private readonly key: string,
    /** The index of this object's first chunk among all of the batch's chunks. */
    private readonly firstIndex: number,
    private readonly limits: ChunkLimits,
  ) {}

  /** Notes the row of record `recordNumber`, `rowBytes` long, starting at `offset` in the object. */
  add(recordNumber: number, offset: number, rowBytes: number): void {
    if (this.open && (this.open.items >= this.limits.maxItems || this.open.length + rowBytes > this.limits.maxBytes)) this.close();
    this.open ??= { firstRecord: recordNumber, lastRecord: recordNumber, items: 0, offset, length: 0 };
    this.open.lastRecord = recordNumber;
    this.open.items++;
    this.open.length += rowBytes;
  }

  /** Closes the open chunk, if any: the object is complete (or pauses here). */
  close(): readonly StagedChunk[] {
    if (this.open) this.chunks.push({ index: this.firstIndex + this.chunks.length, key: this.key, ...this.open });
    this.open = undefined;
    return this.chunks;
  }

  get items(): number {
    return this.chunks.reduce((sum, chunk) => sum + chunk.items, 0) + (this.open?.items ?? 0);
  }
}

/**
 * Stages one validation segment's rows into a TextWriter and indexes them into
 * chunks: the item sink every staging destination shares (S3 here, local disk
 * in the large-file benchmark).
 */
export class StagedRowsSink implements ItemSink {
  /** How to read the rows back, once the pass has told the header and line break. */
  format: StagedRowFormat | undefined;
  protected readonly index: ChunkIndex;

  constructor(
    protected readonly writer: TextWriter,
    protected readonly feed: FeedConfig,
    /** The rows object, and the index of its first chunk among all of the batch's chunks. */
    key: string,
    firstChunk: number,
    limits: ChunkLimits,
  ) {
    this.index = new ChunkIndex(key, firstChunk, limits);
  }

  get backlogged(): boolean {
    return this.writer.backlogged;
  }

  layout(header: readonly string[], recordDelimiter: string): void {
    this.format = stagedRowFormat(this.feed, header, recordDelimiter);
  }

  write(recordNumber: number, line: number, raw: RawRecord): void {
    const offset = this.writer.bytes;
    this.index.add(recordNumber, offset, appendStagedRow(this.writer, this.feed.format, recordNumber, line, raw));
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Completes the rows object; its chunks, items and bytes. */
  protected async finish(): Promise<{ chunks: readonly StagedChunk[]; items: number; bytes: number }> {
    const chunks = this.index.close();
    await this.writer.close();
    return { chunks, items: this.index.items, bytes: this.writer.bytes };
  }

  abort(reason: Error): void {
    this.writer.abort(reason);
  }
}

/** The manifest of a staged batch from all of its segments' chunks. */
export function stagingManifest(
  batchId: string,
  feed: FeedConfig,
  format: StagedRowFormat | undefined,
  bucket: string,
  staged: { chunks: readonly StagedChunk[]; items: number; bytes: number },
): StagingManifest {
  return {
    manifestVersion: STAGING_MANIFEST_VERSION,
    batchId,
    envelope: workItemContext(batchId, feed),
    maxMessageBytes: feed.workItems.maxMessageBytes,
    ...(format ? { rows: format } : {}),
    bucket,
    ...staged,
  };
}

/** The validation pass's item sink in the ingest function: valid records are staged in S3 as staged rows, not sent. */
export class StagingWriter extends StagedRowsSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly batchId: string,
    feed: FeedConfig,
    limits: ChunkLimits = DEFAULT_CHUNK_LIMITS,
    /** Where earlier segments of the same pass left off. */
    private readonly before: StagedSegment = FIRST_SEGMENT,
  ) {
    const rowsKey = rowsKeyOf(prefix, before.next);
    const charset = feed.format.encoding === 'utf-8' ? 'utf-8' : 'iso-8859-1';
    super(new S3TextWriter(s3, bucket, rowsKey, `text/csv; charset=${charset}`), feed, rowsKey, before.chunks, limits);
  }

  /** Completes this segment's rows object and its chunk list; the pass continues in a later invocation. */
  async closeSegment(): Promise<StagedSegment> {
    const { chunks, items, bytes } = await this.finish();
    await this.put(segmentKeyOf(this.prefix, this.before.next), chunks);
    return {
      next: this.before.next + 1,
      chunks: this.before.chunks + chunks.length,
      items: this.before.items + items,
      bytes: this.before.bytes + bytes,
    };
  }

  /** Completes the rows object and writes the manifest of every segment's chunks next to it. */
  async close(): Promise<StagingManifest> {
    const { chunks, items, bytes } = await this.finish();
    const earlier: StagedChunk[] = [];
    for (let segment = 0; segment < this.before.next; segment++) {
      earlier.push(...(await readJson<StagedChunk[]>(this.s3, { bucket: this.bucket, key: segmentKeyOf(this.prefix, segment) })));
    }
    const manifest = stagingManifest(this.batchId, this.feed, this.format, this.bucket, {
      chunks: [...earlier, ...chunks],
      items: this.before.items + items,
      bytes: this.before.bytes + bytes,
    });
    await this.put(manifestKeyOf(this.prefix), manifest);
    return manifest;
  }

  private put(key: string, value: unknown): Promise<void> {
    return writeJson(this.s3, { bucket: this.bucket, key }, value);
  }
}
