import { isAscii, isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import type { CsvFormat } from '../config/types';
import { FileRejectedError, RejectionCode } from './errors';

const NEWLINE = 0x0a;

/** Length of a UTF-8 sequence that starts with `lead`, or 0 when `lead` cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Bytes at the end of `bytes` that begin a UTF-8 sequence the next chunk completes. */
function incompleteTail(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    return sequenceLength(byte) > back ? back : 0;
  }
  return 0;
}

/** Offset of the first byte of `bytes` that is not part of valid UTF-8 (only called on the error path). */
function firstInvalidUtf8(bytes: Buffer): number {
  let at = 0;
  while (at < bytes.length) {
    const length = sequenceLength(bytes[at]!);
    if (length === 0 || at + length > bytes.length || !isUtf8(bytes.subarray(at, at + length))) return at;
    at += length;
  }
  return bytes.length;
}

function countNewlines(bytes: Buffer, end = bytes.length): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1 && at < end; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}

/**
 * Passes bytes through unchanged after proving they are valid in the feed's
 * declared encoding. Invalid bytes reject the file — never replaced by U+FFFD —
 * and the error names the byte offset and line. Also enforces the cap on
 * decompressed size, because it sees the bytes after decompression.
 */
export class EncodingGuard extends Transform {
  private carry: Buffer = Buffer.alloc(0);
  private offset = 0;
  private lines = 1;

  constructor(
    private readonly encoding: CsvFormat['encoding'],
    private readonly maxBytes: number,
    /** Where the bytes start in the file: a resumed pass starts past the part already validated. */
    start: { readonly offset: number; readonly line: number } = { offset: 0, line: 1 },
  ) {
    super();
    this.offset = start.offset;
    this.lines = start.line;
  }

  /** Bytes seen so far (decompressed). */
  get bytes(): number {
    return this.offset + this.carry.length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.offset + this.carry.length + chunk.length > this.maxBytes) {
      callback(
        new FileRejectedError(
          RejectionCode.DECOMPRESSED_TOO_LARGE,
          `file decompresses to more than ${this.maxBytes} bytes (the feed's maxDecompressedBytes)`,
        ),
      );
      return;
    }
    const bytes = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const keep = this.encoding === 'utf-8' ? incompleteTail(bytes) : 0;
    const complete = keep ? bytes.subarray(0, bytes.length - keep) : bytes;
    const problem = this.check(complete);
    if (problem) {
      callback(problem);
      return;
    }
    this.lines += countNewlines(complete);
    this.offset += complete.length;
    this.carry = keep ? Buffer.from(bytes.subarray(bytes.length - keep)) : Buffer.alloc(0);
    callback(null, complete);
  }

  override _flush(callback: TransformCallback): void {
    if (this.carry.length) {
      callback(this.invalidAt(this.carry, 0, 'the file ends in the middle of a UTF-8 character'));
      return;
    }
    callback();
  }

  private check(bytes: Buffer): FileRejectedError | undefined {
    if (this.encoding === 'latin1') return undefined;
    if (this.encoding === 'ascii') {
      if (isAscii(bytes)) return undefined;
      const at = bytes.findIndex((byte) => byte >= 0x80);
      return this.invalidAt(bytes, at, `byte 0x${bytes[at]!.toString(16)} is not ASCII`);
    }
    if (isUtf8(bytes)) return undefined;
    const at = firstInvalidUtf8(bytes);
    return this.invalidAt(bytes, at, `byte 0x${bytes[at]!.toString(16).padStart(2, '0')} is not valid UTF-8`);
  }

  private invalidAt(bytes: Buffer, at: number, what: string): FileRejectedError {
    const line = this.lines + countNewlines(bytes, at);
    return new FileRejectedError(
      RejectionCode.INVALID_ENCODING,
      `${what} (byte offset ${this.offset + at}); the feed declares ${this.encoding}`,
      line,
    );
  }
}
