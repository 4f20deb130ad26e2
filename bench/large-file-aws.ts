/**
 * A local sink for the send phase of bench/large-file.bench.ts: the real AWS
 * SDK v3 S3 and SQS clients (signing, serialization, middleware, SQS's MD5
 * check all run as in the Lambda), with custom `requestHandler`s instead of
 * the network. moto is far too slow for millions of messages.
 *
 * - S3: GetObject, ranged or whole, served from files under a local directory
 *   (`/<bucket>/<key>` → `<dir>/<key>`).
 * - SQS: every SendMessageBatch entry is acknowledged, with the MD5 of its body
 *   as real SQS returns it; requests, messages and bytes are counted, and the
 *   record numbers in each body are marked in a bitmap to prove that every
 *   record is sent exactly once.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** The part of the SDK's HttpRequest a handler needs. */
interface LocalRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

interface LocalResponse {
  readonly response: { statusCode: number; headers: Record<string, string>; body: unknown };
}

const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const REGION = 'us-east-1';

function headerOf(headers: Record<string, string>, name: string): string | undefined {
  const found = Object.keys(headers).find((key) => key.toLowerCase() === name);
  return found === undefined ? undefined : headers[found];
}

function xmlError(statusCode: number, code: string, message: string): LocalResponse {
  return {
    response: {
      statusCode,
      headers: { 'content-type': 'application/xml' },
      body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`),
    },
  };
}

/** Serves GetObject (with `Range: bytes=a-b`) from `<root>/<key>`; counts requests and bytes. */
export class LocalS3Handler {
  requests = 0;
  bytes = 0;

  constructor(private readonly root: string) {}

  async handle(request: LocalRequest): Promise<LocalResponse> {
    this.requests++;
    if (request.method !== 'GET') return xmlError(501, 'NotImplemented', `${request.method} is not served by the bench's local S3`);
    // Path style: /<bucket>/<key>
    const [, , ...keyParts] = request.path.split('/');
    const key = keyParts.map(decodeURIComponent).join('/');
    const file = path.join(this.root, key);
    if (!file.startsWith(this.root + path.sep) || !existsSync(file)) return xmlError(404, 'NoSuchKey', key);
    const size = statSync(file).size;
    const range = headerOf(request.headers, 'range');
    let start = 0;
    let end = size - 1;
    if (range) {
      const match = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!match) return xmlError(416, 'InvalidRange', range);
      start = Number(match[1]);
      end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
      if (start > end) return xmlError(416, 'InvalidRange', range);
    }
    const length = end - start + 1;
    this.bytes += length;
    return {
      response: {
        statusCode: range ? 206 : 200,
        headers: {
          'content-length': String(length),
          'content-type': 'application/octet-stream',
          ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
        },
        body: createReadStream(file, { start, end }),
      },
    };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, unknown> {
    return {};
  }

  destroy(): void {}
}

export interface SqsCounts {
  requests: number;
  messages: number;
  /** Records found in message bodies (one per item envelope, several per pack). */
  records: number;
  /** Record numbers seen a second time: must stay 0. */
  duplicates: number;
  /** Record numbers above the bitmap's range: must stay 0. */
  outOfRange: number;
  /** UTF-8 bytes of the SendMessageBatch request bodies (the JSON sent on the wire). */
  requestBytes: number;
  /** UTF-8 bytes of the message bodies alone. */
  bodyBytes: number;
  /** Largest message body, UTF-8 bytes. */
  maxBodyBytes: number;
}

const RECORD_NUMBER = /"recordNumber":(\d+)/g;

/**
 * Acknowledges every SendMessageBatch entry. Keeps a bitmap of the record
 * numbers it has seen (1 bit per record), which the caller persists between
 * invocations with `save()` / `load()`.
 */
export class CountingSqsHandler {
  counts: SqsCounts = { requests: 0, messages: 0, records: 0, duplicates: 0, outOfRange: 0, requestBytes: 0, bodyBytes: 0, maxBodyBytes: 0 };
  private readonly sent: Uint8Array;

  constructor(private readonly maxRecord: number) {
    this.sent = new Uint8Array((maxRecord >> 3) + 1);
  }

  /** Restores counters and bitmap saved by an earlier invocation. */
  load(file: string): void {
    if (!existsSync(file)) return;
    const bytes = readFileSync(file);
    const headerLength = bytes.readUInt32LE(0);
    this.counts = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as SqsCounts;
    this.sent.set(bytes.subarray(4 + headerLength));
  }

  save(file: string): void {
    const header = Buffer.from(JSON.stringify(this.counts));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length);
    writeFileSync(file, Buffer.concat([length, header, this.sent]));
  }

  /** The record numbers seen so far (bit r set: record r was sent). */
  get bitmap(): Uint8Array {
    return this.sent;
  }

  async handle(request: LocalRequest): Promise<LocalResponse> {
    const target = headerOf(request.headers, 'x-amz-target') ?? '';
    // The SDK's JSON body is a Uint8Array subclass whose valueOf() is a string: view its bytes, do not convert it.
    const raw = request.body as Uint8Array | string;
    const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    if (!target.endsWith('.SendMessageBatch')) {
      return {
        response: {
          statusCode: 400,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Buffer.from(JSON.stringify({ __type: 'com.amazonaws.sqs#UnsupportedOperation', message: target })),
        },
      };
    }
    const counts = this.counts;
    counts.requests++;
    counts.requestBytes += Buffer.byteLength(text);
    const input = JSON.parse(text) as { Entries: { Id: string; MessageBody: string }[] };
    const successful = input.Entries.map((entry) => {
      const body = entry.MessageBody;
      const bytes = Buffer.byteLength(body);
      counts.messages++;
      counts.bodyBytes += bytes;
      if (bytes > counts.maxBodyBytes) counts.maxBodyBytes = bytes;
      for (const match of body.matchAll(RECORD_NUMBER)) this.mark(Number(match[1]));
      return {
        Id: entry.Id,
        MessageId: `${counts.requests}-${entry.Id}`,
        MD5OfMessageBody: createHash('md5').update(body).digest('hex'),
      };
    });
    return {
      response: {
        statusCode: 200,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': String(counts.requests) },
        body: Buffer.from(JSON.stringify({ Successful: successful, Failed: [] })),
      },
    };
  }

  private mark(record: number): void {
    this.counts.records++;
    if (record < 1 || record > this.maxRecord) {
      this.counts.outOfRange++;
      return;
    }
    const bit = 1 << (record & 7);
    const at = record >> 3;
    if (this.sent[at]! & bit) this.counts.duplicates++;
    else this.sent[at]! |= bit;
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, unknown> {
    return {};
  }

  destroy(): void {}
}

/** An S3 client whose requests go to `handler` (path-style, fake credentials). */
export function localS3Client(handler: LocalS3Handler): S3Client {
  return new S3Client({
    region: REGION,
    credentials: CREDENTIALS,
    endpoint: 'http://local-s3.bench',
    forcePathStyle: true,
    requestHandler: handler as unknown as S3Client['config']['requestHandler'],
  });
}

/** An SQS client whose requests go to `handler`. The MD5 check of every body stays on, as in the service. */
export function localSqsClient(handler: CountingSqsHandler): SQSClient {
  return new SQSClient({
    region: REGION,
    credentials: CREDENTIALS,
    endpoint: 'http://local-sqs.bench',
    requestHandler: handler as unknown as SQSClient['config']['requestHandler'],
  });
}

export const LOCAL_QUEUE_URL = 'http://local-sqs.bench/000000000000/partner-ingest-bench-work';
