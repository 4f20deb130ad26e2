import type { S3Client } from '@aws-sdk/client-s3';
import { readJson, writeJson } from './s3-objects';
import type { ItemSink } from '../pipeline/sinks';
import { S3TextWriter } from './s3-text-writer';

/** A run of consecutive staged work items that is sent, and checkpointed, as one unit. */
export interface StagedChunk {
  readonly index: number;
  /** The items object holding the chunk (one per validation segment). */
  readonly key: string;
  readonly firstRecord: number;
  readonly lastRecord: number;
  readonly items: number;
  /** Byte range of the chunk's lines in the items object. */
  readonly offset: number;
  readonly length: number;
}

/**
 * Describes a staged batch: the items objects (`items.ndjson`, then
 * `items.<n>.ndjson` for each further validation segment) hold one work item
 * body per line, in record order; the chunks index them so sending can resume
 * from a checkpoint or be split across invocations with ranged reads.
 */
export interface StagingManifest {
  readonly manifestVersion: 2;
  readonly batchId: string;
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

/** The items object of validation segment `segment`: `items.ndjson`, then `items.<n>.ndjson`. */
export function itemsKeyOf(prefix: string, segment: number): string {
  return `${prefix}items${segment ? `.${segment}` : ''}.ndjson`;
}

/**
 * Cuts the lines of one items object into chunks — at most `maxItems` items
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

  /** Notes the line of record `recordNumber`, `lineBytes` long, starting at `offset` in the object. */
  add(recordNumber: number, offset: number, lineBytes: number): void {
    if (this.open && (this.open.items >= this.limits.maxItems || this.open.length + lineBytes > this.limits.maxBytes)) this.close();
    this.open ??= { firstRecord: recordNumber, lastRecord: recordNumber, items: 0, offset, length: 0 };
    this.open.lastRecord = recordNumber;
    this.open.items++;
    this.open.length += lineBytes;
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

/** The validation pass's item sink in the ingest function: work items are staged in S3, not sent. */
export class StagingWriter implements ItemSink {
  readonly wantsBodies = true;
  private readonly writer: S3TextWriter;
  private readonly index: ChunkIndex;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly batchId: string,
    limits: ChunkLimits = DEFAULT_CHUNK_LIMITS,
    /** Where earlier segments of the same pass left off. */
    private readonly before: StagedSegment = FIRST_SEGMENT,
  ) {
    const itemsKey = itemsKeyOf(prefix, before.next);
    this.writer = new S3TextWriter(s3, bucket, itemsKey, 'application/x-ndjson');
    this.index = new ChunkIndex(itemsKey, before.chunks, limits);
  }

  get backlogged(): boolean {
    return this.writer.backlogged;
  }

  write(recordNumber: number, body: string, bytes: number): void {
    this.index.add(recordNumber, this.writer.bytes, bytes + 1);
    this.writer.append(`${body}\n`, bytes + 1);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Completes this segment's items object and its chunk list; the pass continues in a later invocation. */
  async closeSegment(): Promise<StagedSegment> {
    const chunks = this.index.close();
    await this.writer.close();
    await this.put(segmentKeyOf(this.prefix, this.before.next), chunks);
    return {
      next: this.before.next + 1,
      chunks: this.before.chunks + chunks.length,
      items: this.before.items + this.index.items,
      bytes: this.before.bytes + this.writer.bytes,
    };
  }

  /** Completes the items object and writes the manifest of every segment's chunks next to it. */
  async close(): Promise<StagingManifest> {
    const chunks = this.index.close();
    await this.writer.close();
    const earlier: StagedChunk[] = [];
    for (let segment = 0; segment < this.before.next; segment++) {
      earlier.push(...(await readJson<StagedChunk[]>(this.s3, { bucket: this.bucket, key: segmentKeyOf(this.prefix, segment) })));
    }
    const manifest: StagingManifest = {
      manifestVersion: 2,
      batchId: this.batchId,
      bucket: this.bucket,
      items: this.before.items + this.index.items,
      bytes: this.before.bytes + this.writer.bytes,
      chunks: [...earlier, ...chunks],
    };
    await this.put(manifestKeyOf(this.prefix), manifest);
    return manifest;
  }

  private put(key: string, value: unknown): Promise<void> {
    return writeJson(this.s3, { bucket: this.bucket, key }, value);
  }

  abort(reason: Error): void {
    this.writer.abort(reason);
  }
}

export function manifestKeyOf(prefix: string): string {
  return `${prefix}manifest.json`;
}

function segmentKeyOf(prefix: string, segment: number): string {
  return `${prefix}segment.${segment}.json`;
}
