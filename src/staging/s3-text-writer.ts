import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** Buffered text is handed to the upload once this much has accumulated. */
const FLUSH_BYTES = 1024 * 1024;
/** lib-storage holds about partSize × (queueSize + 1) bytes at most. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/**
 * Streams text into one S3 object with a multipart upload, in bounded memory:
 * callers append synchronously and await `flush()` when `backlogged`; the
 * upload's own backpressure then slows them down.
 */
export class S3TextWriter {
  private readonly body = new PassThrough();
  private readonly done: Promise<unknown>;
  private failure: unknown;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Bytes written so far, including pending ones. */
  bytes = 0;

  constructor(s3: S3Client, bucket: string, key: string, contentType: string) {
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: this.body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    this.done = upload.done().catch((error: unknown) => {
      this.failure = error;
      this.body.destroy();
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
    if (!this.body.write(text)) {
      await Promise.race([new Promise((resolve) => this.body.once('drain', resolve)), this.done]);
      this.throwIfFailed();
    }
  }

  /** Completes the upload; throws if any part failed (the multipart upload is then aborted). */
  async close(): Promise<void> {
    await this.flush();
    this.body.end();
    await this.done;
    this.throwIfFailed();
  }

  /** Gives up: the multipart upload is aborted and no object is left behind. */
  abort(reason: Error): void {
    this.pending = [];
    this.body.destroy(reason);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
