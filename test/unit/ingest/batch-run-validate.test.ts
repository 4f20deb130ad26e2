/**
 * BatchRun's validation step against an in-memory S3: a file HEAD already
 * showed to be past the feed's maxFileBytes is REJECTED without a byte of it
 * read, and a validation paused over many invocations opens the archived file
 * with ranged GETs where the pass asks, yet ends with the file facts of one
 * pass. (The end-to-end paths through moto are in test/integration.)
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type GetObjectCommandInput,
} from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import type { FeedConfig } from '../../../src/config/types';
import { BatchRun } from '../../../src/ingest/batch-run';
import type { IngestDeps } from '../../../src/ingest/types';
import type { BatchState } from '../../../src/ledger/types';
import { RejectionCode } from '../../../src/validate/errors';
import { HEADER, line, order, ordersFeedWith } from '../../support/csv-cases';

const BUCKET = 'landing';
const ARCHIVE = { bucket: BUCKET, key: 'archive/acme/2026-12-03/b1/orders_1.csv' };

/** S3 in memory: objects by key; every GetObject of the archive is noted with its range. */
function memoryS3(objects: Map<string, Buffer>) {
  // A real client (lib-storage reads its config), its sends answered here.
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const s3 = mockClient(client);
  const archiveReads: (string | undefined)[] = [];
  const parts = new Map<string, Buffer[]>();
  const body = async (input: { Body?: unknown }): Promise<Buffer> => {
    const value = input.Body;
    if (value instanceof Readable) {
      const chunks: Buffer[] = [];
      for await (const chunk of value) chunks.push(Buffer.from(chunk as Uint8Array));
      return Buffer.concat(chunks);
    }
    if (value instanceof Uint8Array) return Buffer.from(value);
    return Buffer.from(String(value ?? ''));
  };
  s3.on(PutObjectCommand).callsFake(async (input) => {
    objects.set(input.Key, await body(input));
    return {};
  });
  s3.on(CreateMultipartUploadCommand).callsFake((input) => {
    parts.set(input.Key, []);
    return { UploadId: input.Key };
  });
  s3.on(UploadPartCommand).callsFake(async (input) => {
    parts.get(input.Key)![input.PartNumber - 1] = await body(input);
    return { ETag: `"${input.PartNumber}"` };
  });
  s3.on(CompleteMultipartUploadCommand).callsFake((input) => {
    objects.set(input.Key, Buffer.concat(parts.get(input.Key)!));
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
    const bytes = objects.get(input.Key!);
    if (!bytes) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
    if (input.Key === ARCHIVE.key) archiveReads.push(input.Range);
    const from = input.Range ? Number(/^bytes=(\d+)-$/.exec(input.Range)![1]) : 0;
    const slice = bytes.subarray(from);
    return {
      // A stream, with the SDK's helper for reading it whole.
      Body: Object.assign(Readable.from([slice]), { transformToByteArray: async () => new Uint8Array(slice) }),
      ...(input.Range ? { ContentRange: `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {}),
    };
  });
  return { s3: client, archiveReads };
}

const logger = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger;

function deps(s3: S3Client, ledger: { state: BatchState }, feed: FeedConfig): IngestDeps {
  const merge = (fields: Partial<BatchState>) => {
    ledger.state = { ...ledger.state, ...fields };
    for (const [key, value] of Object.entries(fields)) if (value === undefined) delete (ledger.state as unknown as Record<string, unknown>)[key];
    return ledger.state;
  };
  return {
    s3,
    sqs: new SQSClient({ region: 'us-east-1' }),
    ledger: {
      update: async (_id: string, _owner: string, fields: Partial<BatchState>) => merge(fields),
      finish: async (_id: string, _owner: string, status: BatchState['status'], fields: Partial<BatchState>) =>
        merge({ ...fields, status, finishedAt: '2026-12-03T10:00:00.000Z' }),
      release: async () => undefined,
      markAnnounced: async () => undefined,
    },
    ranges: {},
    publisher: { publishSns: async () => undefined, publishEventBridge: async () => undefined },
    registry: { partners: new Map([['acme', { id: 'acme', feeds: [feed] }]]) },
    settings: { landingBucket: BUCKET, workQueueUrl: 'https://sqs.local/work' },
    logger,
  } as unknown as IngestDeps;
}

function batch(bytes: number | undefined): BatchState {
  return {
    batchId: 'b1',
    status: 'PROCESSING',
    attempt: 1,
    partner: 'acme',
    feed: 'orders',
    source: { type: 's3', uri: 's3://landing/inbound/acme/orders_1.csv', bucket: BUCKET, key: 'inbound/acme/orders_1.csv' },
    file: { name: 'orders_1.csv', ...(bytes === undefined ? {} : { bytes }) },
    archive: ARCHIVE,
    receivedAt: '2026-12-03T09:00:00.000Z',
    updatedAt: '2026-12-03T09:00:00.000Z',
  };
}

const csv = (() => {
  const rows = [HEADER];
  for (let n = 1; n <= 20_000; n++) rows.push(n % 997 === 0 ? line(order(n, { quantity: 'many' })) : n % 503 === 0 ? `\n${line(order(n))}` : line(order(n)));
  return Buffer.from(`${rows.join('\n')}\n`);
})();

describe('BatchRun: validation', () => {
  it('rejects a file whose registered size is past maxFileBytes as FILE_TOO_LARGE without reading it', async () => {
    const objects = new Map([[ARCHIVE.key, csv]]);
    const { s3, archiveReads } = memoryS3(objects);
    const feed = ordersFeedWith({ limits: { maxFileBytes: csv.length - 1 } });
    const ledger = { state: batch(csv.length) };
    const run = new BatchRun(deps(s3, ledger, feed), { owner: 'i1', remainingMs: () => 900_000 }, logger, ledger.state, undefined, feed);

    const result = await run.execute();

    expect(result.outcome).toBe('finished');
    expect(ledger.state.status).toBe('REJECTED');
    expect(ledger.state.reason).toEqual({
      code: RejectionCode.FILE_TOO_LARGE,
      message: `the file is ${csv.length} bytes, larger than the feed's maxFileBytes (${csv.length - 1}); it was not read`,
    });
    expect(archiveReads).toEqual([]);
    expect(ledger.state.file).toEqual({ name: 'orders_1.csv', bytes: csv.length });
    expect(ledger.state.counts).toEqual({ records: 0, valid: 0, invalid: 0, workItemsSent: 0 });
    // The partner's rejects report says why.
    const report = objects.get(ledger.state.validation!.rejects!.key)!.toString();
    expect(report).toContain('FILE_TOO_LARGE');
  });

  it.each([
    ['plain', 'where each segment asks (ranged GETs)', csv, true],
    ['gzip', 'from byte 0 every time', gzipSync(csv), false],
  ])('%s: a validation paused at every chance reads the archive from byte 0 twice, then %s', async (_name, _how, file, ranged) => {
    const objects = new Map([[ARCHIVE.key, file]]);
    const { s3, archiveReads } = memoryS3(objects);
    const feed = ordersFeedWith({});
    const ledger = { state: batch(file.length) };
    const checkpoints: NonNullable<BatchState['validationProgress']>['checkpoint'][] = [];
    // No time left: the pass pauses at every chance (every 4,096 records).
    for (let invocation = 1; invocation < 50 && !ledger.state.validation; invocation++) {
      const run = new BatchRun(deps(s3, ledger, feed), { owner: `i${invocation}`, remainingMs: () => 0 }, logger, ledger.state, undefined, feed);
      await (run as unknown as { validate(feed: FeedConfig): Promise<boolean> }).validate(feed);
      if (ledger.state.validationProgress) checkpoints.push(ledger.state.validationProgress.checkpoint);
    }

    expect(ledger.state.validation?.status).toBe('COMPLETED');
    expect(ledger.state.counts).toEqual({ records: 20_000, valid: 19_980, invalid: 20, workItemsSent: 0 });
    expect(ledger.state.file).toEqual({ name: 'orders_1.csv', bytes: file.length, sha256: createHash('sha256').update(file).digest('hex'), compressed: !ranged });
    expect(checkpoints.length).toBeGreaterThan(3);
    // Segments 1 and 2 read the whole object; from the third on, a plain file is opened where
    // the checkpoint (or the saved hash, a few bytes before it) stands, a gzip file at byte 0.
    expect(archiveReads.slice(0, 2)).toEqual([undefined, undefined]);
    expect(archiveReads.slice(2)).toEqual(
      checkpoints.slice(1).map((checkpoint) => (ranged ? `bytes=${Math.min(checkpoint.offset, checkpoint.hashedBytes!)}-` : undefined)),
    );
  });
});
