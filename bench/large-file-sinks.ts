/**
 * Local-disk stand-ins for the ingest function's StagingWriter (work items as
 * ndjson + a chunk list) and rejects report, for bench/large-file.bench.ts.
 * Same chunking rule as StagingWriter (close a chunk at 1,000 items or 4 MiB),
 * one items file per validation segment (`items.ndjson`, `items.<n>.ndjson`),
 * and the same backpressure contract: writes are buffered, `backlogged` at
 * 1 MiB, `flush()` awaits the disk.
 */
import { openSync, closeSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { BatchReason } from '../src/pipeline/file-rejection';
import type { InvalidRow, ItemSink, RejectSink } from '../src/pipeline/sinks';
import { DEFAULT_CHUNK_LIMITS, type ChunkLimits, type StagedChunk, type StagingManifest } from '../src/staging/staging-writer';

const FLUSH_BYTES = 1024 * 1024;

/** Buffered appends to one local file. */
class LocalTextWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private handle: Promise<FileHandle>;
  bytes = 0;

  constructor(file: string) {
    this.handle = open(file, 'w');
  }

  get backlogged(): boolean {
    return this.pendingBytes >= FLUSH_BYTES;
  }

  append(text: string, bytes: number): void {
    this.pending.push(text);
    this.pendingBytes += bytes;
    this.bytes += bytes;
  }

  async flush(): Promise<void> {
    if (!this.pending.length) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    await (await this.handle).write(text);
  }

  async close(): Promise<void> {
    await this.flush();
    await (await this.handle).close();
  }
}

/** What the staged segments so far hold (kept in the bench's state file between invocations). */
export interface LocalStaged {
  /** The next segment's number. */
  readonly next: number;
  readonly chunks: readonly StagedChunk[];
  readonly items: number;
  readonly bytes: number;
}

export const NOTHING_STAGED: LocalStaged = { next: 0, chunks: [], items: 0, bytes: 0 };

/** The validation pass's item sink: work item bodies staged in `<root>/staging/`, chunked like StagingWriter. */
export class LocalStagingSink implements ItemSink {
  readonly wantsBodies = true;
  readonly key: string;
  private readonly writer: LocalTextWriter;
  private readonly chunks: StagedChunk[] = [];
  private open: { firstRecord: number; lastRecord: number; items: number; offset: number; length: number } | undefined;
  private items = 0;

  constructor(
    root: string,
    private readonly batchId: string,
    private readonly before: LocalStaged = NOTHING_STAGED,
    private readonly limits: ChunkLimits = DEFAULT_CHUNK_LIMITS,
  ) {
    this.key = `staging/items${before.next ? `.${before.next}` : ''}.ndjson`;
    this.writer = new LocalTextWriter(path.join(root, this.key));
  }

  get backlogged(): boolean {
    return this.writer.backlogged;
  }

  write(recordNumber: number, body: string, bytes: number): void {
    const lineBytes = bytes + 1;
    if (this.open && (this.open.items >= this.limits.maxItems || this.open.length + lineBytes > this.limits.maxBytes)) this.closeChunk();
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

  /** Ends this segment; the next invocation continues in a new items file. */
  async closeSegment(): Promise<LocalStaged> {
    this.closeChunk();
    await this.writer.close();
    return {
      next: this.before.next + 1,
      chunks: [...this.before.chunks, ...this.chunks],
      items: this.before.items + this.items,
      bytes: this.before.bytes + this.writer.bytes,
    };
  }

  /** Ends the last segment: the manifest of every segment's chunks, as StagingWriter.close() writes it. */
  async close(bucket: string): Promise<StagingManifest> {
    const staged = await this.closeSegment();
    return { manifestVersion: 2, batchId: this.batchId, bucket, items: staged.items, bytes: staged.bytes, chunks: staged.chunks };
  }

  private closeChunk(): void {
    if (!this.open) return;
    this.chunks.push({ index: this.before.chunks.length + this.chunks.length, key: this.key, ...this.open });
    this.open = undefined;
  }
}

/**
 * The rejects "report": one line per invalid row, `recordNumber,line,code[;code…]`,
 * every row kept (the real report stops at maxReportedErrors) so the bench can
 * reconcile record numbers. `rejects.csv`, `rejects.<n>.csv` per segment.
 */
export class LocalRejectSink implements RejectSink {
  readonly file: string;
  rows = 0;
  reason: BatchReason | undefined;
  private readonly writer: LocalTextWriter;

  constructor(root: string, segment: number) {
    this.file = path.join(root, `rejects${segment ? `.${segment}` : ''}.csv`);
    this.writer = new LocalTextWriter(this.file);
  }

  get backlogged(): boolean {
    return this.writer.backlogged;
  }

  write(row: InvalidRow): void {
    this.rows++;
    const line = `${row.recordNumber},${row.line},${row.errors.map((error) => error.code).join(';')}\n`;
    this.writer.append(line, line.length);
  }

  fileRejected(reason: BatchReason): void {
    this.reason = reason;
    const line = `0,${reason.line ?? 0},${reason.code}\n`;
    this.writer.append(line, line.length);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** Writes a file synchronously in one go, from a view (no copy): for the key set's table. */
export function writeBytesSync(file: string, chunks: readonly Uint8Array[]): void {
  const fd = openSync(file, 'w');
  try {
    for (const bytes of chunks) {
      let at = 0;
      while (at < bytes.byteLength) at += writeSync(fd, bytes, at, bytes.byteLength - at);
    }
  } finally {
    closeSync(fd);
  }
}
