import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ItemSink } from '../pipeline/sinks';
import { S3TextWriter } from './s3-text-writer';

/** A run of consecutive staged work items that is sent, and checkpointed, as one unit. */
export interface StagedChunk {
  readonly index: number;
  readonly firstRecord: number;
  readonly lastRecord: number;
  readonly items: number;
  /** Byte range of the chunk's lines in the items object. */
  readonly offset: number;
  readonly length: number;
}

/**
 * Describes a staged batch: `items.ndjson` holds one work item body per line,
 * in record order; the chunks index it so sending can resume from a checkpoint
 * or be split across invocations with ranged reads.
 */
export interface StagingManifest {
  readonly manifestVersion: 1;
  readonly batchId: string;
  readonly bucket: string;
  readonly itemsKey: string;
  readonly items: number;
  readonly bytes: number;
  readonly chunks: readonly StagedChunk[];
}

export interface ChunkLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxItems: 1000, maxBytes: 4 * 1024 * 1024 };

/** The validation pass's item sink in the ingest function: work items are staged in S3, not sent. */
export class StagingWriter implements ItemSink {
  readonly wantsBodies = true;
  private readonly writer: S3TextWriter;
  private readonly chunks: StagedChunk[] = [];
  private open: { firstRecord: number; lastRecord: number; items: number; offset: number; length: number } | undefined;
  private items = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly batchId: string,
    private readonly limits: ChunkLimits = DEFAULT_CHUNK_LIMITS,
  ) {
    this.writer = new S3TextWriter(s3, bucket, `${prefix}items.ndjson`, 'application/x-ndjson');
  }

  get backlogged(): boolean {
    return this.writer.backlogged;
  }

  write(recordNumber: number, body: string, bytes: number): void {
    const lineBytes = bytes + 1;
    if (this.open && (this.open.items >= this.limits.maxItems || this.open.length + lineBytes > this.limits.maxBytes)) {
      this.closeChunk();
    }
    this.open ??= { firstRecord: recordNumber, lastRecord: recordNumber, items: 0, offset: this.writer.bytes, length: 0 };
    this.open.lastRecord = recordNumber;
    this.open.items++;
    this.open.length += lineBytes;
    this.items++;
    this.writer.append(`${body}\n`, lineBytes);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Completes the items object and writes the manifest next to it. */
  async close(): Promise<StagingManifest> {
    this.closeChunk();
    await this.writer.close();
    const manifest: StagingManifest = {
      manifestVersion: 1,
      batchId: this.batchId,
      bucket: this.bucket,
      itemsKey: `${this.prefix}items.ndjson`,
      items: this.items,
      bytes: this.writer.bytes,
      chunks: this.chunks,
    };
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: manifestKeyOf(this.prefix),
        Body: JSON.stringify(manifest),
        ContentType: 'application/json',
      }),
    );
    return manifest;
  }

  abort(reason: Error): void {
    this.writer.abort(reason);
  }

  private closeChunk(): void {
    if (!this.open) return;
    this.chunks.push({ index: this.chunks.length, ...this.open });
    this.open = undefined;
  }
}

export function manifestKeyOf(prefix: string): string {
  return `${prefix}manifest.json`;
}
