import { Transform, type TransformCallback } from 'node:stream';
import { FileRejectedError, RejectionCode } from './errors';

/**
 * Decompressed bytes a file may produce before its compression ratio is
 * judged. Small files of repetitive text (or mostly blank lines) can compress
 * far beyond any sane ratio; they cost nothing to read, so only output past
 * this floor counts as a possible bomb.
 */
export const INFLATE_GUARD_FLOOR_BYTES = 16 * 1024 * 1024;

/** Where the guard reads the compressed bytes the decompressor has consumed so far (a zlib stream's `bytesWritten`). */
export interface CompressedCounter {
  readonly bytesWritten: number;
}

const MIB = 1024 * 1024;

/**
 * Sits right after the decompressor and stops a decompression bomb early: it
 * counts the decompressed bytes passing through and compares them with the
 * compressed bytes the decompressor has consumed. Once more than `floorBytes`
 * came out and output ÷ input exceeds the feed's `maxCompressionRatio`, the
 * file is REJECTED with DECOMPRESSION_BOMB. gzip tops out at about 1032:1, so
 * a bomb is caught after reading roughly `floorBytes` ÷ 1000 compressed bytes —
 * long before `maxDecompressedBytes` would be reached. Chunks pass through
 * unchanged and nothing is kept, so memory stays what the streams buffer.
 *
 * The consumed count is read when a chunk arrives; the decompressor may
 * already have consumed input for output still queued in its buffer, which
 * only makes the ratio look smaller — the guard errs towards accepting and
 * catches up on the next chunks.
 */
export class InflateGuard extends Transform {
  private output = 0;

  constructor(
    private readonly compressed: CompressedCounter,
    private readonly maxRatio: number,
    private readonly floorBytes: number = INFLATE_GUARD_FLOOR_BYTES,
    /** What is being expanded, for the rejection's message. */
    private readonly what: string = 'gzip data',
  ) {
    super();
  }

  /** Decompressed bytes seen so far. */
  get bytes(): number {
    return this.output;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.output += chunk.length;
    if (this.output > this.floorBytes) {
      const consumed = Math.max(1, this.compressed.bytesWritten);
      const ratio = this.output / consumed;
      if (ratio > this.maxRatio) {
        callback(
          new FileRejectedError(
            RejectionCode.DECOMPRESSION_BOMB,
            `the ${this.what} expands ${Math.floor(ratio)}:1 (${(this.output / MIB).toFixed(1)} MiB from ${consumed} compressed bytes), ` +
              `beyond the feed's maxCompressionRatio of ${this.maxRatio}:1`,
          ),
        );
        return;
      }
    }
    callback(null, chunk);
  }
}
