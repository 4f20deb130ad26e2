/**
 * The SFTP push hand-off against moto's S3, run as sftpPushHandoff under the
 * IAM harness (its packaged role, with this suite's push partner): a completed
 * upload is copied to pushed/ and ingested once as an sftp-push batch, a
 * repeated event hands nothing off again, a .filepart upload renamed before the
 * hand-off runs is ingested under its final name, and a failed upload is
 * quarantined, counted and never ingested. The events are shaped as Transfer
 * Family documents them. The same hand-off behind the local endpoint, with
 * OpenSSH's sftp client as the partner: sftp-push-endpoint.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { loadPartnerRegistry } from '../../src/config/load-partners';
import { handOffUpload, UPLOAD_FAILED_METRIC, type HandoffResult } from '../../src/sftp-push/handoff';
import { sftpPushHandoffDeps, transferHostOf } from '../../src/sftp-push/runtime';
import { UPLOAD_COMPLETED, UPLOAD_FAILED } from '../../src/sftp-push/upload-event';
import { invoke } from '../support/harness/invoke';
import { outsideFunction } from '../support/harness/function-scope';
import { recordingMetrics } from '../support/metrics';
import { drainFileEvents, expectSingleEvent, PROJECT_ROOT, receivedEvents, useTestStack } from '../support/stack';
import { ordersFile } from '../support/orders';
import { awsError, withFault } from '../support/faults';
import type { CopyOptions } from '../../src/landing/multipart-copy';

const stack = useTestStack();
const SERVER_ID = 's-0123456789abcdef0';
const logger = new Logger({ serviceName: 'sftp-push-test', logLevel: (process.env.TEST_LOG_LEVEL ?? 'SILENT') as 'SILENT' });

/** The shipped partners, acme also pushing (with a key made here): ingest routes its files as it would any acme file. */
let configRoot: string;
beforeAll(() => {
  configRoot = mkdtempSync(path.join(tmpdir(), 'partner-ingest-push-config-'));
  cpSync(path.join(PROJECT_ROOT, 'schemas'), path.join(configRoot, 'schemas'), { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'partners'), path.join(configRoot, 'partners'), { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'acme', '-f', path.join(configRoot, 'acme_key')]);
  const key = readFileSync(path.join(configRoot, 'acme_key.pub'), 'utf8').trim();
  const acme = path.join(configRoot, 'partners', 'acme.yml');
  const text = readFileSync(acme, 'utf8').replace(/^ {2}s3: \{\}.*$/m, `  s3: {}\n  sftpPush:\n    publicKeys: [${JSON.stringify(key)}]`);
  expect(text).toContain('sftpPush:');
  writeFileSync(acme, text);
});
afterAll(() => rmSync(configRoot, { recursive: true, force: true }));

let metrics: ReturnType<typeof recordingMetrics>;
beforeEach(() => {
  metrics = recordingMetrics();
});

/** The hand-off as sftpPushHandoff runs it, optionally over a faulty S3 client or with a lowered multipart threshold. */
function handOff(event: unknown, options: { s3?: S3Client; copyOptions?: Partial<CopyOptions> } = {}): Promise<HandoffResult> {
  const deps = sftpPushHandoffDeps(
    { s3: options.s3 ?? stack.clients.s3 },
    loadPartnerRegistry({ root: configRoot }),
    {
      landingBucket: stack.resources.landingBucket,
      hostOf: (serverId) => transferHostOf(serverId, 'eu-west-1'),
      ...(options.copyOptions ? { copyOptions: options.copyOptions } : {}),
    },
    logger,
    metrics,
  );
  return invoke('sftpPushHandoff', () => handOffUpload(event, deps), { configRoot });
}

let sessions = 0;
/** Transfer Family's report of an upload's end, as documented (event-detail-server-events.html). */
function uploadEvent(detailType: string, key: string, etag: string | undefined, bytes: number, extra: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: `event-${++sessions}`,
    source: 'aws.transfer',
    'detail-type': detailType,
    detail: {
      'status-code': detailType === UPLOAD_COMPLETED ? 'COMPLETED' : 'FAILED',
      protocol: 'SFTP',
      bytes,
      ...(etag ? { etag } : {}),
      'file-path': `/${stack.resources.landingBucket}/${key}`,
      'server-id': SERVER_ID,
      username: 'acme',
      'session-id': `session-${sessions}`,
      ...extra,
    },
  };
}

/** Writes an object as the endpoint would for the user (test code: no role involved). */
async function endpointWrites(key: string, body: string | Buffer): Promise<string> {
  const { ETag } = await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.resources.landingBucket, Key: key, Body: body }));
  return ETag!;
}

async function exists(key: string): Promise<boolean> {
  try {
    await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.landingBucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

test('a completed upload is handed off to pushed/ and ingested once as an sftp-push batch; the same event again hands off nothing', async () => {
  const key = 'pushed-uploads/acme/orders_2026-12-01.csv';
  const body = ordersFile(4);
  const etag = await endpointWrites(key, body);
  const event = uploadEvent(UPLOAD_COMPLETED, key, etag, Buffer.byteLength(body));
  // Nothing is ingested from pushed-uploads/ itself.
  expect(await drainFileEvents(stack)).toBe(0);

  const result = await handOff(event);
  expect(result).toMatchObject({ outcome: 'handed-off', partner: 'acme', key: expect.stringMatching(/^pushed\/acme\/[0-9a-f]{32}\/orders_2026-12-01\.csv$/) });
  expect(await drainFileEvents(stack)).toBe(1);
  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail).toMatchObject({
    partner: 'acme',
    feed: 'orders',
    source: { type: 'sftp-push', uri: `sftp://${SERVER_ID}.server.transfer.eu-west-1.amazonaws.com/orders_2026-12-01.csv`, user: 'acme', key: result.key },
    file: { name: 'orders_2026-12-01.csv' },
    counts: { records: 4, valid: 4 },
  });
  // The original stays for the client (its closing rename, a listing); it expires with pushed-uploads/.
  expect(await exists(key)).toBe(true);

  // EventBridge delivers at least once, and Lambda retries: the same report again is no new batch.
  expect(await handOff(event)).toEqual({ outcome: 'already-handed-off', partner: 'acme', key: result.key });
  expect(await drainFileEvents(stack)).toBe(0);
  expect(metrics.recorded).toEqual([]);
});

test('a .filepart upload the client renamed before the hand-off ran is ingested once, under its final name', async () => {
  const temporary = 'pushed-uploads/acme/orders_2026-12-02.csv.filepart';
  const final = 'pushed-uploads/acme/orders_2026-12-02.csv';
  const body = ordersFile(3);
  const etag = await endpointWrites(temporary, body);
  // The rename, as Transfer Family does it on S3: a copy, then a delete.
  await stack.clients.s3.send(new CopyObjectCommand({ Bucket: stack.resources.landingBucket, Key: final, CopySource: `${stack.resources.landingBucket}/${temporary}` }));
  await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: stack.resources.landingBucket, Key: temporary }));

  const result = await handOff(uploadEvent(UPLOAD_COMPLETED, temporary, etag, Buffer.byteLength(body)));
  expect(result).toMatchObject({ outcome: 'handed-off', key: expect.stringMatching(/\/orders_2026-12-02\.csv$/) });
  expect(await drainFileEvents(stack)).toBe(1);
  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail).toMatchObject({ feed: 'orders', file: { name: 'orders_2026-12-02.csv' }, counts: { records: 3 } });
  const { Body } = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: result.key }));
  expect(await Body!.transformToString()).toBe(body);
});

test('a failed (partial) upload is quarantined, its partial version deleted, counted, and never ingested', async () => {
  const key = 'pushed-uploads/acme/orders_2026-12-03.csv';
  const partial = ordersFile(50).slice(0, 700);
  const etag = await endpointWrites(key, partial);
  const result = await handOff(uploadEvent(UPLOAD_FAILED, key, etag, 700, { 'failure-code': 'PARTIAL_UPLOAD', 'failure-message': 'connection lost' }));
  expect(result).toMatchObject({ outcome: 'quarantined', partner: 'acme', key: expect.stringMatching(/^quarantine\/acme\/[0-9a-f]{32}\/orders_2026-12-03\.csv$/) });
  const { Body } = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: result.key }));
  expect(await Body!.transformToString()).toBe(partial);
  // That version is gone for good (not merely hidden behind a delete marker).
  const { Versions, DeleteMarkers } = await stack.clients.s3.send(new ListObjectVersionsCommand({ Bucket: stack.resources.landingBucket, Prefix: key }));
  expect([...(Versions ?? []), ...(DeleteMarkers ?? [])]).toEqual([]);
  expect(metrics.recorded).toEqual([{ name: UPLOAD_FAILED_METRIC, value: 1, dimensions: { partner: 'acme' } }]);
  expect(await drainFileEvents(stack)).toBe(0);
  const { sns } = await receivedEvents(stack);
  expect(sns).toEqual([]);
});

test('an upload reported by a user who does not push, or outside the user folder, is refused and nothing is copied', async () => {
  const key = 'pushed-uploads/globex/shipments_1.csv.gz';
  const etag = await endpointWrites(key, 'x');
  await expect(handOff(uploadEvent(UPLOAD_COMPLETED, key, etag, 1, { username: 'globex' }))).rejects.toMatchObject({ code: 'SFTP_PUSH_PATH_FOREIGN' });
  await expect(handOff(uploadEvent(UPLOAD_COMPLETED, key, etag, 1))).rejects.toMatchObject({ code: 'SFTP_PUSH_PATH_FOREIGN' });
  expect(await drainFileEvents(stack)).toBe(0);
});

describe('an upload beyond the CopyObject limit (made small here: 5 MiB)', () => {
  const MIB = 1024 * 1024;
  const SMALL_PARTS = { multipartThresholdBytes: 5 * MIB, partBytes: 5 * MIB, concurrency: 2 };
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  /** Every 4-byte word distinct, so a misplaced or foreign range changes the hash. */
  function distinctBytes(bytes: number, seed: number): Buffer {
    const buffer = Buffer.alloc(bytes);
    for (let at = 0; at + 4 <= bytes; at += 4) buffer.writeUInt32LE(((at / 4) ^ seed) >>> 0, at);
    return buffer;
  }
  function recording(fault?: (command: object, real: (command: object) => Promise<unknown>) => Promise<unknown> | undefined): { s3: S3Client; sent: string[] } {
    const sent: string[] = [];
    return { s3: withFault(stack.clients.s3, (command, real) => (sent.push(command.constructor.name), fault?.(command, real))), sent };
  }
  async function uploadsIn(prefix: string) {
    return (await stack.clients.s3.send(new ListMultipartUploadsCommand({ Bucket: stack.resources.landingBucket, Prefix: prefix }))).Uploads ?? [];
  }

  test('is copied in byte ranges of the reported version, with the source URI, and handed off once', async () => {
    const key = 'pushed-uploads/acme/bulk_2026-12-04.bin';
    const original = distinctBytes(12 * MIB + 3, 0x5a5a5a5a);
    const etag = await endpointWrites(key, original);
    const event = uploadEvent(UPLOAD_COMPLETED, key, etag, original.length);
    const { s3, sent } = recording();

    const result = await handOff(event, { s3, copyOptions: SMALL_PARTS });
    expect(result).toMatchObject({ outcome: 'handed-off', key: expect.stringMatching(/^pushed\/acme\/[0-9a-f]{32}\/bulk_2026-12-04\.bin$/) });
    expect(sent.filter((name) => name === UploadPartCopyCommand.name)).toHaveLength(3);
    expect(sent).not.toContain(CopyObjectCommand.name);
    expect(sent).not.toContain(AbortMultipartUploadCommand.name);
    const copied = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: result.key }));
    expect(copied.Metadata).toEqual({ 'partner-ingest-source-uri': `sftp://${SERVER_ID}.server.transfer.eu-west-1.amazonaws.com/bulk_2026-12-04.bin` });
    expect(sha256(Buffer.from(await copied.Body!.transformToByteArray()))).toBe(sha256(original));
    expect(await uploadsIn('pushed/')).toEqual([]);
    expect(await handOff(event, { copyOptions: SMALL_PARTS })).toMatchObject({ outcome: 'already-handed-off', key: result.key });
  });

  test('a part that fails aborts the upload: nothing handed off, no parts left, and the retry hands it off whole', async () => {
    const key = 'pushed-uploads/acme/bulk_2026-12-05.bin';
    const original = distinctBytes(11 * MIB, 0x01020304);
    const etag = await endpointWrites(key, original);
    const event = uploadEvent(UPLOAD_COMPLETED, key, etag, original.length);
    const { s3, sent } = recording((command) =>
      command instanceof UploadPartCopyCommand && command.input.PartNumber === 2 ? Promise.reject(awsError('InternalError', 500)) : undefined,
    );
    await expect(handOff(event, { s3, copyOptions: SMALL_PARTS })).rejects.toMatchObject({ name: 'InternalError' });
    expect(sent).toContain(AbortMultipartUploadCommand.name);
    expect(await uploadsIn('pushed/')).toEqual([]);

    // Lambda's retry of the same event.
    const result = await handOff(event, { copyOptions: SMALL_PARTS });
    expect(result.outcome).toBe('handed-off');
    expect(await exists(result.key)).toBe(true);
    const copied = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: result.key }));
    expect(sha256(Buffer.from(await copied.Body!.transformToByteArray()))).toBe(sha256(original));
  });

  test('a failed upload beyond the threshold is quarantined part by part, and its partial version deleted', async () => {
    const key = 'pushed-uploads/acme/bulk_2026-12-07.bin';
    const partial = distinctBytes(6 * MIB, 9);
    const etag = await endpointWrites(key, partial);
    const { s3, sent } = recording();
    const result = await handOff(uploadEvent(UPLOAD_FAILED, key, etag, partial.length, { 'failure-code': 'PARTIAL_UPLOAD' }), { s3, copyOptions: SMALL_PARTS });
    expect(result).toMatchObject({ outcome: 'quarantined', key: expect.stringMatching(/^quarantine\/acme\/[0-9a-f]{32}\/bulk_2026-12-07\.bin$/) });
    expect(sent.filter((name) => name === UploadPartCopyCommand.name)).toHaveLength(2);
    const copied = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: result.key }));
    expect(sha256(Buffer.from(await copied.Body!.transformToByteArray()))).toBe(sha256(partial));
    expect(await exists(key)).toBe(false);
    expect(await uploadsIn('quarantine/')).toEqual([]);
  });

  test('a newer upload of the same name is not mixed into the copy of the reported one', async () => {
    const key = 'pushed-uploads/acme/bulk_2026-12-06.bin';
    const reported = distinctBytes(11 * MIB, 7);
    const etag = await endpointWrites(key, reported);
    // Replaced between the HEAD and the parts: the parts still read the version the HEAD saw.
    let replaced = false;
    const { s3 } = recording((command, real) => {
      if (!(command instanceof UploadPartCopyCommand) || replaced) return undefined;
      replaced = true;
      return outsideFunction(() => endpointWrites(key, distinctBytes(11 * MIB, 8))).then(() => real(command));
    });
    const result = await handOff(uploadEvent(UPLOAD_COMPLETED, key, etag, reported.length), { s3, copyOptions: SMALL_PARTS });
    expect(replaced).toBe(true);
    const copied = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: result.key }));
    expect(sha256(Buffer.from(await copied.Body!.transformToByteArray()))).toBe(sha256(reported));
  });
});
