import { PassThrough, type Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** Buffered text is handed to the destination once this much has accumulated. */
const FLUSH_BYTES = 1024 * 1024;
/** Room past FLUSH_BYTES, so the append that crosses it usually still fits in the same buffer. */
const BUFFER_BYTES = FLUSH_BYTES + 64 * 1024;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;
/** lib-storage holds about partSize × (queueSize + 1) bytes at most. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;
const NO_BUFFER = Buffer.alloc(0);
/** 16 digits of a safe integer and a separator. */
const MAX_NUMBER_BYTES = 17;

/**
 * Streams text into a destination in bounded memory: callers append
 * synchronously and await `flush()` when `backlogged`; the destination's own
 * backpressure then slows them down. Text is encoded straight into a byte
 * buffer as it is appended — one copy, and each append's UTF-8 size comes back
 * for free. `finished` settles when the destination has everything (or has failed).
 */
export class TextWriter {
  private readonly done: Promise<unknown>;
  private failure: unknown;
  /** Filled buffers not yet handed to the destination, then the one being filled. */
  private readonly filled: Buffer[] = [];
  private buffer = NO_BUFFER;
  private used = 0;
  /** Bytes written so far, including pending ones. */
  bytes = 0;

  constructor(
    private readonly destination: Writable,
    finished: Promise<unknown>,
  ) {
    this.done = finished.catch((error: unknown) => {
      this.failure = error;
      this.destination.destroy();
    });
  }

  get backlogged(): boolean {
    return this.used >= FLUSH_BYTES || this.filled.length > 0;
  }

  /** Appends `text` in `encoding` (UTF-8 unless said otherwise); returns its size in bytes. */
  append(text: string, encoding: 'utf8' | 'latin1' = 'utf8'): number {
    const room = text.length * MAX_UTF8_PER_UNIT;
    if (this.buffer.length - this.used < room) this.nextBuffer(room);
    const bytes = this.buffer.write(text, this.used, encoding);
    this.used += bytes;
    this.bytes += bytes;
    return bytes;
  }

  /**
   * Appends the decimal digits of `value` (a non-negative safe integer), then
   * the byte `separator`; returns the bytes written. For the two numbers that
   * start every staged row: cheaper than formatting a string and encoding it.
   */
  appendNumber(value: number, separator: number): number {
    if (this.buffer.length - this.used < MAX_NUMBER_BYTES) this.nextBuffer(MAX_NUMBER_BYTES);
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.used + digits;
    for (let rest = value; at > this.used; rest = Math.floor(rest / 10)) this.buffer[--at] = 0x30 + (rest % 10);
    this.buffer[this.used + digits] = separator;
    this.used += digits + 1;
    this.bytes += digits + 1;
    return digits + 1;
  }

  /** Appends `bytes[start, end)` as they are (already encoded); returns their size. */
  appendBytes(bytes: Buffer, start = 0, end = bytes.length): number {
    const length = end - start;
    if (this.buffer.length - this.used < length) this.nextBuffer(length);
    bytes.copy(this.buffer, this.used, start, end);
    this.used += length;
    this.bytes += length;
    return length;
  }

  async flush(): Promise<void> {
    this.throwIfFailed();
    // Handed over buffers are never written again: the next append starts a new one.
    this.takeBuffer();
    for (const bytes of this.filled.splice(0)) {
      if (!this.destination.write(bytes)) {
        await Promise.race([new Promise((resolve) => this.destination.once('drain', resolve)), this.done]);
        this.throwIfFailed();
      }
    }
  }

  /** Ends the destination; throws if writing it failed. */
  async close(): Promise<void> {
    await this.flush();
    this.destination.end();
    await this.done;
    this.throwIfFailed();
  }

  /** Gives up: the destination is destroyed (a multipart upload is aborted, no object is left behind). */
  abort(reason: Error): void {
    this.filled.length = 0;
    this.used = 0;
    this.destination.destroy(reason);
  }

  private nextBuffer(room: number): void {
    this.takeBuffer();
    this.buffer = Buffer.allocUnsafe(Math.max(BUFFER_BYTES, room));
  }

  private takeBuffer(): void {
    if (this.used) this.filled.push(this.buffer.subarray(0, this.used));
    this.buffer = NO_BUFFER;
    this.used = 0;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/** A TextWriter into one S3 object, through a multipart upload. */
export class S3TextWriter extends TextWriter {
  constructor(s3: S3Client, bucket: string, key: string, contentType: string) {
    const body = new PassThrough();
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    super(body, upload.done());
  }
}
