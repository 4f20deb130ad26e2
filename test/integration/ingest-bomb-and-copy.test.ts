/**
 * Against moto_server: a gzip bomb dropped into the landing bucket ends
 * REJECTED (DECOMPRESSION_BOMB) through the real ingest path, and the archive
 * step's multipart copy (used beyond CopyObject's 5 GiB) keeps the exact
 * bytes, version and metadata of the source — or leaves nothing when a part fails.
 */
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { archiveObject } from '../../src/landing/archive';
import { SourceUnavailableError } from '../../src/landing/errors';
import type { CreatedObject } from '../../src/landing/s3-event';
import { awsError, withFault } from '../support/faults';
import { ordersGzipBomb } from '../support/gzip-bomb';
import { gzip, ordersFile } from '../support/orders';
import { outsideFunction } from '../support/harness/function-scope';
import { invoke } from '../support/harness/invoke';
import { batchIdOfKey, drainFileEvents, drainQueue, expectSingleEvent, putInbound, useTestStack } from '../support/stack';

const stack = useTestStack();
const MIB = 1024 * 1024;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function readObject(key: string, versionId?: string): Promise<Uint8Array> {
  const { Body } = await stack.clients.s3.send(
    new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }),
  );
  return Body!.transformToByteArray();
}

describe('a decompression bomb dropped into the landing bucket', () => {
  it('is REJECTED as DECOMPRESSION_BOMB: archived, nothing sent, one valid event per channel', async () => {
    const bomb = ordersGzipBomb(); // 4 GiB of rows, about 6 MB of gzip
    const key = 'inbound/acme/orders_2026-11-30.csv.gz';
    await putInbound(stack, key, bomb.gz);
    expect(await drainFileEvents(stack)).toBe(1);

    const batchId = await batchIdOfKey(stack, key);
    const state = await stack.ledger.get(batchId);
    expect(state).toMatchObject({
      status: 'REJECTED',
      reason: { code: 'DECOMPRESSION_BOMB', message: expect.stringContaining("maxCompressionRatio of 200:1") },
      counts: { workItemsSent: 0 },
      file: { name: 'orders_2026-11-30.csv.gz', bytes: bomb.gz.length, sha256: sha256(bomb.gz), compressed: true },
    });
    expect(await drainQueue(stack, stack.resources.workQueueUrl)).toHaveLength(0);

    // The raw file is archived as it was received.
    expect(sha256(await readObject(state!.archive!.key))).toBe(sha256(bomb.gz));

    const detail = await expectSingleEvent(stack, 'REJECTED');
    expect(detail).toMatchObject({
      batchId,
      status: 'REJECTED',
      reason: { code: 'DECOMPRESSION_BOMB' },
      counts: { workItemsSent: 0 },
      archive: { key: state!.archive!.key },
      file: { sha256: sha256(bomb.gz), compressed: true },
    });
  }, 180_000);

  it('a legitimate gzip file of the same feed completes', async () => {
    const key = 'inbound/acme/orders_2026-12-01.csv.gz';
    await putInbound(stack, key, gzip(ordersFile(40)));
    await drainFileEvents(stack);
    const state = await stack.ledger.get(await batchIdOfKey(stack, key));
    expect(state).toMatchObject({ status: 'COMPLETED', counts: { records: 40, valid: 40, workItemsSent: 40 }, file: { compressed: true } });
    expect(await drainQueue(stack, stack.resources.workQueueUrl)).toHaveLength(40);
  });
});

describe('archiveObject beyond the CopyObject limit (multipart copy, made small here)', () => {
  const SMALL_PARTS = { multipartThresholdBytes: 5 * MIB, partBytes: 5 * MIB, concurrency: 2 };

  /** 12 MiB where every 4-byte word is distinct (its index, xor `seed`), so a misplaced range changes the hash. */
  function distinctBytes(bytes: number, seed: number): Buffer {
    const buffer = Buffer.alloc(bytes);
    for (let at = 0; at + 4 <= bytes; at += 4) buffer.writeUInt32LE(((at / 4) ^ seed) >>> 0, at);
    return buffer;
  }

  /** Puts a source object as a partner upload would (its file event is dropped after the test) and returns it as an S3 event would name it. */
  async function putSource(key: string, body: Buffer, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) {
    const put = await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.resources.landingBucket, Key: key, Body: body, ...extra }));
    return { bucket: stack.resources.landingBucket, key, versionId: put.VersionId, etag: put.ETag!.replace(/"/g, '') } satisfies CreatedObject;
  }

  /** The S3 client, recording the name of every command sent. */
  function recording(fault?: (command: object) => Promise<unknown> | undefined): { s3: S3Client; sent: string[] } {
    const sent: string[] = [];
    const s3 = withFault(stack.clients.s3, (command) => {
      sent.push(command.constructor.name);
      return fault?.(command);
    });
    return { s3, sent };
  }

  /** The archive copy as ingestFile makes it: under its role, checked by the harness. */
  const copyAsIngestFile = (s3: S3Client, source: CreatedObject, target: { bucket: string; key: string }) =>
    invoke('ingestFile', () => archiveObject(s3, source, target, SMALL_PARTS));

  async function uploadsIn(prefix: string) {
    const listed = await stack.clients.s3.send(new ListMultipartUploadsCommand({ Bucket: stack.resources.landingBucket, Prefix: prefix }));
    return listed.Uploads ?? [];
  }

  async function exists(key: string): Promise<boolean> {
    try {
      await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.landingBucket, Key: key }));
      return true;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
  }

  it('copies 12 MiB in three 5 MiB ranges of the announced version, with its bytes, metadata and content headers', async () => {
    const original = distinctBytes(12 * MIB, 0x5a5a5a5a);
    const headers = {
      ContentType: 'text/csv; charset=utf-8',
      ContentEncoding: 'gzip',
      ContentDisposition: 'attachment; filename="orders.csv.gz"',
      CacheControl: 'no-store',
      Metadata: { 'partner-ingest-source': 'sftp', 'partner-ingest-source-uri': 'sftp://sftp.globex.example:22/out/orders.csv.gz' },
    };
    const source = await putSource('inbound/test/multipart/orders big.csv.gz', original, headers);
    expect(source.versionId).toBeDefined();
    // A newer upload of the same key must not leak into the archive of the announced one.
    await putSource(source.key, distinctBytes(13 * MIB, 0x12345678), { ContentType: 'application/octet-stream' });

    const target = { bucket: stack.resources.landingBucket, key: 'archive/test/multipart/copy-1/orders_big.csv.gz' };
    const { s3, sent } = recording();
    await copyAsIngestFile(s3, source, target);

    expect(sent.filter((name) => name === UploadPartCopyCommand.name)).toHaveLength(3);
    expect(sent).toContain(CreateMultipartUploadCommand.name);
    expect(sent).toContain(CompleteMultipartUploadCommand.name);
    expect(sent).not.toContain(CopyObjectCommand.name);
    expect(sent).not.toContain(AbortMultipartUploadCommand.name);

    const archived = await readObject(target.key);
    expect(archived.length).toBe(original.length);
    expect(sha256(archived)).toBe(sha256(original));
    const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
    expect(head.Metadata).toEqual(headers.Metadata);
    expect(head).toMatchObject({
      ContentType: headers.ContentType,
      ContentEncoding: headers.ContentEncoding,
      ContentDisposition: headers.ContentDisposition,
      CacheControl: headers.CacheControl,
    });
    expect(await uploadsIn('archive/test/multipart/')).toEqual([]);
  });

  it('keeps one CopyObject (with metadata) for a source up to the threshold', async () => {
    const original = distinctBytes(3 * MIB, 7);
    const source = await putSource('inbound/test/multipart/small.csv', original, { ContentType: 'text/csv', Metadata: { a: 'b' } });
    const target = { bucket: stack.resources.landingBucket, key: 'archive/test/multipart/copy-2/small.csv' };
    const { s3, sent } = recording();
    await copyAsIngestFile(s3, source, target);
    expect(sent).toEqual([HeadObjectCommand.name, CopyObjectCommand.name]);
    expect(sha256(await readObject(target.key))).toBe(sha256(original));
    const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
    expect(head).toMatchObject({ ContentType: 'text/csv', Metadata: { a: 'b' } });
  });

  it('aborts the upload when a part fails, leaving no archive object and no pending upload', async () => {
    const source = await putSource('inbound/test/multipart/fails.bin', distinctBytes(12 * MIB, 3));
    const target = { bucket: stack.resources.landingBucket, key: 'archive/test/multipart/copy-3/fails.bin' };
    let pendingWhenPartFailed = -1;
    const { s3, sent } = recording((command) => {
      if (!(command instanceof UploadPartCopyCommand) || command.input.PartNumber !== 2) return undefined;
      // The upload is really open at this point (so "none pending" afterwards means it was aborted).
      return outsideFunction(() => uploadsIn('archive/test/multipart/copy-3/')).then((uploads) => {
        pendingWhenPartFailed = uploads.length;
        throw awsError('InternalError', 500);
      });
    });
    await expect(copyAsIngestFile(s3, source, target)).rejects.toMatchObject({ name: 'InternalError' });
    expect(pendingWhenPartFailed).toBe(1);

    expect(sent).toContain(AbortMultipartUploadCommand.name);
    expect(sent).not.toContain(CompleteMultipartUploadCommand.name);
    expect(await exists(target.key)).toBe(false);
    expect(await uploadsIn('archive/test/multipart/copy-3/')).toEqual([]);
  });

  it('reports a source that changed under the copy as unavailable, and still aborts', async () => {
    const source = await putSource('inbound/test/multipart/changed.bin', distinctBytes(12 * MIB, 9));
    const target = { bucket: stack.resources.landingBucket, key: 'archive/test/multipart/copy-4/changed.bin' };
    const { s3, sent } = recording((command) =>
      command instanceof UploadPartCopyCommand && command.input.PartNumber === 3 ? Promise.reject(awsError('PreconditionFailed', 412)) : undefined,
    );
    await expect(copyAsIngestFile(s3, source, target)).rejects.toBeInstanceOf(SourceUnavailableError);
    expect(sent).toContain(AbortMultipartUploadCommand.name);
    expect(await exists(target.key)).toBe(false);
    expect(await uploadsIn('archive/test/multipart/copy-4/')).toEqual([]);
  });
});
