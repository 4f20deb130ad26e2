/**
 * Local-disk stand-ins for the ingest function's StagingWriter (staged rows
 * + a chunk list) and rejects report, for bench/large-file.bench.ts.
 * The same chunking (ChunkIndex) and buffering (TextWriter) as StagingWriter,
 * one rows file per validation segment (`rows.csv`, `rows.<n>.csv`).
 * Writes are buffered, `backlogged` at 1 MiB, and `flush()` awaits the disk.
 */
import { closeSync, createWriteStream, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { BatchReason } from '../src/validate/errors';
import type { InvalidRow, RejectSink } from '../src/validate/sinks';
import type { FeedConfig } from '../src/config/types';
import { TextWriter } from '../src/platform/s3-text-writer';
import { rowsKeyOf } from '../src/landing/layout';
import {
  DEFAULT_CHUNK_LIMITS,
  StagedRowsSink,
  stagingManifest,
  type ChunkLimits,
  type StagedChunk,
  type StagingManifest,
} from '../src/work-items/staging-writer';

/** A TextWriter (the buffering the ingest function's S3 writers use) into a local file. */
function localTextWriter(file: string): TextWriter {
  const stream = createWriteStream(file);
  return new TextWriter(stream, finished(stream));
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

/** The validation pass's item sink: staged rows in `<root>/staging/`, written and chunked by StagingWriter's own StagedRowsSink. */
export class LocalStagingSink extends StagedRowsSink {
  readonly key: string;

  constructor(
    root: string,
    private readonly batchId: string,
    feed: FeedConfig,
    private readonly before: LocalStaged = NOTHING_STAGED,
    limits: ChunkLimits = DEFAULT_CHUNK_LIMITS,
  ) {
    const key = rowsKeyOf('staging/', before.next);
    super(localTextWriter(path.join(root, key)), feed, key, before.chunks.length, limits);
    this.key = key;
  }

  /** Ends this segment; the next invocation continues in a new rows file. */
  async closeSegment(): Promise<LocalStaged> {
    const { chunks, items, bytes } = await this.finish();
    return {
      next: this.before.next + 1,
      chunks: [...this.before.chunks, ...chunks],
      items: this.before.items + items,
      bytes: this.before.bytes + bytes,
    };
  }

  /** Ends the last segment: the manifest of every segment's chunks, as StagingWriter.close() writes it. */
  async close(bucket: string): Promise<StagingManifest> {
    return stagingManifest(this.batchId, this.feed, this.format, bucket, await this.closeSegment());
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
  private readonly writer: TextWriter;

  constructor(root: string, segment: number) {
    this.file = path.join(root, `rejects${segment ? `.${segment}` : ''}.csv`);
    this.writer = localTextWriter(this.file);
  }

  get backlogged(): boolean {
    return this.writer.backlogged;
  }

  write(row: InvalidRow): void {
    this.rows++;
    const line = `${row.recordNumber},${row.line},${row.errors.map((error) => error.code).join(';')}\n`;
    this.writer.append(line);
  }

  fileRejected(reason: BatchReason): void {
    this.reason = reason;
    const line = `0,${reason.line ?? 0},${reason.code}\n`;
    this.writer.append(line);
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
