import { PassThrough, type Writable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** Buffered text is handed to the destination once this much has accumulated. */
const FLUSH_BYTES = 1024 * 1024;
/** lib-storage holds about partSize × (queueSize + 1) bytes at most. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/**
 * Streams text into a destination in bounded memory: callers append
 * synchronously and await `flush()` when `backlogged`; the destination's own
 * backpressure then slows them down. `finished` settles when the destination
 * has everything (or has failed).
 */
export class TextWriter {
  private readonly done: Promise<unknown>;
  private failure: unknown;
  private pending: string[] = [];
  private pendingBytes = 0;
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
    return this.pendingBytes >= FLUSH_BYTES;
  }

  /** Appends `text` whose UTF-8 length is `bytes`. */
  append(text: string, bytes: number): void {
    this.pending.push(text);
    this.pendingBytes += bytes;
    this.bytes += bytes;
  }

  async flush(): Promise<void> {
    this.throwIfFailed();
    if (!this.pending.length) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.destination.write(text)) {
      await Promise.race([new Promise((resolve) => this.destination.once('drain', resolve)), this.done]);
      this.throwIfFailed();
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
    this.pending = [];
    this.destination.destroy(reason);
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
