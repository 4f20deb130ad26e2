/**
 * The push sweep against moto's S3 with an injected clock, run as
 * sftpPushHandoff under the IAM harness: an upload no event handed off is
 * reported (a log line and SftpPushUnreported) once it is 30 minutes old and
 * until the 7-day window ends; handed-off uploads are not, including one handed
 * off as `x.filepart` just before the client renamed it. An operator's hand-off
 * of a reported upload ends its report, and its late event then hands off
 * nothing twice; a hand-off that failed between its copy and its record is
 * recorded by the retry.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { loadPartnerRegistry } from '../../src/config/load-partners';
import { handOffUpload } from '../../src/sftp-push/handoff';
import { handOffByKey } from '../../src/sftp-push/manual-handoff';
import { sftpPushHandoffDeps, transferHostOf } from '../../src/sftp-push/runtime';
import { sweepPushUploads, UNREPORTED_METRIC, type SweepResult } from '../../src/sftp-push/sweep';
import { UPLOAD_COMPLETED } from '../../src/sftp-push/upload-event';
import { awsError, withFault } from '../support/faults';
import { invoke } from '../support/harness/invoke';
import { recordingMetrics } from '../support/metrics';
import { ordersFile } from '../support/orders';
import { drainFileEvents, PROJECT_ROOT, useTestStack } from '../support/stack';

const stack = useTestStack();
const SERVER_ID = 's-0123456789abcdef0';
const MINUTE = 60_000;
const logger = new Logger({ serviceName: 'sftp-push-sweep-test', logLevel: (process.env.TEST_LOG_LEVEL ?? 'SILENT') as 'SILENT' });

/** The shipped partners, acme also pushing (as in sftp-push-handoff.test.ts). */
let configRoot: string;
beforeAll(() => {
  configRoot = mkdtempSync(path.join(tmpdir(), 'partner-ingest-push-sweep-'));
  cpSync(path.join(PROJECT_ROOT, 'schemas'), path.join(configRoot, 'schemas'), { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'partners'), path.join(configRoot, 'partners'), { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'acme', '-f', path.join(configRoot, 'acme_key')]);
  const key = readFileSync(path.join(configRoot, 'acme_key.pub'), 'utf8').trim();
  const acme = path.join(configRoot, 'partners', 'acme.yml');
  writeFileSync(acme, readFileSync(acme, 'utf8').replace(/^ {2}s3: \{\}.*$/m, `  s3: {}\n  sftpPush:\n    publicKeys: [${JSON.stringify(key)}]`));
});
afterAll(() => rmSync(configRoot, { recursive: true, force: true }));

/** Each test starts with an empty push folder and no hand-off records: the sweep sees them all. */
afterEach(async () => {
  const Bucket = stack.resources.landingBucket;
  for (const Prefix of ['pushed-uploads/', 'push-handoffs/']) {
    const listed = await stack.clients.s3.send(new ListObjectVersionsCommand({ Bucket, Prefix }));
    const Objects = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map(({ Key, VersionId }) => ({ Key: Key!, VersionId: VersionId! }));
    if (Objects.length) await stack.clients.s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } }));
  }
});

const handoffDeps = (s3: S3Client = stack.clients.s3) =>
  sftpPushHandoffDeps(
    { s3 },
    loadPartnerRegistry({ root: configRoot }),
    { landingBucket: stack.resources.landingBucket, hostOf: (serverId) => transferHostOf(serverId, 'eu-west-1') },
    logger,
    recordingMetrics(),
  );

const handOff = (event: unknown, s3?: S3Client) => invoke('sftpPushHandoff', () => handOffUpload(event, handoffDeps(s3)), { configRoot });

/** One sweep run at `now`, as the schedule runs it; with the metrics it emitted. */
async function sweepAt(now: Date): Promise<SweepResult & { metrics: { name: string; value: number; dimensions: Record<string, string> }[] }> {
  const metrics = recordingMetrics();
  const { s3, landingBucket, registry } = handoffDeps();
  const result = await invoke('sftpPushHandoff', () => sweepPushUploads({ s3, landingBucket, registry, logger, metrics, now: () => now }), { configRoot });
  return { ...result, metrics: metrics.recorded };
}

let sessions = 0;
function completedEvent(key: string, etag: string, bytes: number) {
  return {
    source: 'aws.transfer',
    'detail-type': UPLOAD_COMPLETED,
    detail: {
      'status-code': 'COMPLETED',
      bytes,
      etag,
      'file-path': `/${stack.resources.landingBucket}/${key}`,
      'server-id': SERVER_ID,
      username: 'acme',
      'session-id': `sweep-session-${++sessions}`,
    },
  };
}

async function endpointWrites(key: string, body: string): Promise<string> {
  const { ETag } = await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.resources.landingBucket, Key: key, Body: body }));
  return ETag!.replace(/"/g, '');
}

async function renames(from: string, to: string): Promise<void> {
  const bucket = stack.resources.landingBucket;
  await stack.clients.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: `${bucket}/${from}` }));
  await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: from }));
}

const later = (ms: number) => new Date(Date.now() + ms);

test('reports only the upload no event handed off, from 30 minutes on and within the 7-day window; an operator hand-off ends it and its late event hands off nothing', async () => {
  // Handed off by its event.
  const reported = 'pushed-uploads/acme/orders_2026-12-10.csv';
  const reportedBody = ordersFile(2);
  expect((await handOff(completedEvent(reported, await endpointWrites(reported, reportedBody), reportedBody.length))).outcome).toBe('handed-off');
  // Handed off as .filepart, the client's rename to the final name coming just after (a copy: a new object).
  const temporary = 'pushed-uploads/acme/orders_2026-12-11.csv.filepart';
  const renamedBody = ordersFile(3);
  expect((await handOff(completedEvent(temporary, await endpointWrites(temporary, renamedBody), renamedBody.length))).outcome).toBe('handed-off');
  await renames(temporary, 'pushed-uploads/acme/orders_2026-12-11.csv');
  // Its event never came.
  const lost = 'pushed-uploads/acme/orders_2026-12-12.csv';
  const lostBody = ordersFile(4);
  const lostEtag = await endpointWrites(lost, lostBody);
  expect(await drainFileEvents(stack)).toBe(2);

  // Younger than 30 minutes: its event may still come.
  const young = await sweepAt(later(10 * MINUTE));
  expect(young.unreported).toEqual([]);
  expect(young.metrics).toEqual([{ name: UNREPORTED_METRIC, value: 0, dimensions: { partner: 'acme' } }]);

  const due = await sweepAt(later(31 * MINUTE));
  expect(due.partners).toEqual(['acme']);
  expect(due.unreported).toEqual([{ partner: 'acme', key: lost, bytes: lostBody.length, lastModified: expect.any(String) }]);
  expect(due.metrics).toEqual([{ name: UNREPORTED_METRIC, value: 1, dimensions: { partner: 'acme' } }]);
  // Past the window (pushed-uploads/ expires a week later): no longer reported.
  expect((await sweepAt(later(8 * 24 * 60 * MINUTE))).unreported).toEqual([]);

  // The sweep ingests nothing; the operator hands it off once the partner confirms it is complete.
  expect(await drainFileEvents(stack)).toBe(0);
  const manual = await invoke('sftpPushHandoff', () => handOffByKey({ partner: 'acme', key: lost, serverId: SERVER_ID }, handoffDeps()), { configRoot });
  expect(manual).toMatchObject({ outcome: 'handed-off', key: expect.stringMatching(/^pushed\/acme\/[0-9a-f]{32}\/orders_2026-12-12\.csv$/) });
  expect(await drainFileEvents(stack)).toBe(1);
  expect((await sweepAt(later(31 * MINUTE))).unreported).toEqual([]);
  // Again, or the event turning up after all: the same upload, so nothing more.
  expect(await invoke('sftpPushHandoff', () => handOffByKey({ partner: 'acme', key: lost, serverId: SERVER_ID }, handoffDeps()), { configRoot })).toEqual({
    outcome: 'already-handed-off',
    partner: 'acme',
    key: manual.key,
  });
  expect(await handOff(completedEvent(lost, lostEtag, lostBody.length))).toEqual({ outcome: 'already-handed-off', partner: 'acme', key: manual.key });
  expect(await drainFileEvents(stack)).toBe(0);
});

test('a newer upload of a handed-off name, its event lost, is reported', async () => {
  const key = 'pushed-uploads/acme/orders_2026-12-13.csv';
  const first = ordersFile(2);
  expect((await handOff(completedEvent(key, await endpointWrites(key, first), first.length))).outcome).toBe('handed-off');
  await endpointWrites(key, ordersFile(5));
  const { unreported } = await sweepAt(later(31 * MINUTE));
  expect(unreported.map((upload) => upload.key)).toEqual([key]);
  await drainFileEvents(stack);
});

test('a hand-off that failed after its copy, before its record, is recorded by the retry and not reported', async () => {
  const key = 'pushed-uploads/acme/orders_2026-12-14.csv';
  const body = ordersFile(2);
  const event = completedEvent(key, await endpointWrites(key, body), body.length);
  const failingRecord = withFault(stack.clients.s3, (command) =>
    command instanceof PutObjectCommand && String(command.input.Key).startsWith('push-handoffs/') ? Promise.reject(awsError('SlowDown', 503)) : undefined,
  );
  await expect(handOff(event, failingRecord)).rejects.toMatchObject({ name: 'SlowDown' });
  expect((await sweepAt(later(31 * MINUTE))).unreported.map((upload) => upload.key)).toEqual([key]);
  // Lambda's retry of the event.
  expect((await handOff(event)).outcome).toBe('already-handed-off');
  expect((await sweepAt(later(31 * MINUTE))).unreported).toEqual([]);
  expect(await drainFileEvents(stack)).toBe(1);
});

/** The real CLI against the test's moto_server, as an operator would run it against a stage. */
function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/partner-ingest.js', ...args, '--stage', 'test', '--region', 'eu-west-1', '--endpoint-url', stack.moto.endpoint], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', PARTNER_INGEST_CONFIG_ROOT: configRoot },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

test('`partner-ingest push-handoff` hands off a reported upload once, and refuses a key outside the partner folder', async () => {
  const key = 'pushed-uploads/acme/orders_2026-12-15.csv';
  await endpointWrites(key, ordersFile(3));
  expect((await sweepAt(later(31 * MINUTE))).unreported.map((upload) => upload.key)).toEqual([key]);

  const first = await cli('push-handoff', '--partner', 'acme', '--key', key, '--server-id', SERVER_ID, '--json');
  expect(first).toMatchObject({ status: 0, stderr: '' });
  const result = JSON.parse(first.stdout) as { outcome: string; key: string };
  expect(result).toMatchObject({ outcome: 'handed-off', key: expect.stringMatching(/^pushed\/acme\/[0-9a-f]{32}\/orders_2026-12-15\.csv$/) });
  expect((await sweepAt(later(31 * MINUTE))).unreported).toEqual([]);
  expect(await drainFileEvents(stack)).toBe(1);

  const again = await cli('push-handoff', '--partner', 'acme', '--key', key, '--server-id', SERVER_ID);
  expect(again).toMatchObject({ status: 0, stdout: `${key} was handed off already, to ${result.key}; nothing done\n` });
  expect(await drainFileEvents(stack)).toBe(0);

  const foreign = await cli('push-handoff', '--partner', 'acme', '--key', 'inbound/acme/orders_2026-12-15.csv', '--server-id', SERVER_ID);
  expect(foreign.status).toBe(2);
  expect(foreign.stderr).toContain('not under pushed-uploads/acme/');
  const missing = await cli('push-handoff', '--partner', 'acme', '--key', 'pushed-uploads/acme/nothing.csv', '--server-id', SERVER_ID);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain('no object pushed-uploads/acme/nothing.csv');
}, 120_000);
