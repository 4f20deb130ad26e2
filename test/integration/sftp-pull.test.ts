import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { startSshd, type SshdServer } from '../../dev/sshd';
import { pullAll, SFTP_PULL_STOP_MARGIN_MS, type PartnerOutcome } from '../../src/sftp/pull-all';
import { RemoteFileLedger } from '../../src/sftp/remote-file-ledger';
import { sftpPullDeps } from '../../src/sftp/runtime';
import { awsError, withFault } from '../support/faults';
import { invoke, type Clock } from '../support/harness/invoke';
import { sftpConfigRoot, storeLogin } from '../support/sftp';
import { drainFileEvents, drainQueue, PROJECT_ROOT, receivedEvents, startTestStack, type TestStack } from '../support/stack';
import { createMetrics } from '../../src/platform/telemetry';

let stack: TestStack;
let sshd: SshdServer;
type SftpConfig = ReturnType<typeof sftpConfigRoot>;
let config: SftpConfig;
const logger = new Logger({ serviceName: 'sftp-pull-test', logLevel: (process.env.TEST_LOG_LEVEL ?? 'SILENT') as 'SILENT' });
let runs = 0;

const HEADER = 'shipment_id;order_id;carrier;shipped_at;weight_kg;destination_country;destination_city';

/** A globex shipments file: Latin-1, semicolons, gzip — with accented city names. */
function shipments(first: number, count: number): Buffer {
  const cities = ['Besançon', 'Düsseldorf', 'Cádiz', 'Wien'];
  const rows = Array.from({ length: count }, (_, index) => {
    const n = first + index;
    return `SHP-${String(n).padStart(9, '0')};ORD-${String(n).padStart(9, '0')};DHL;2026-11-02T08:15:00Z;1.5;FR;${cities[n % 4]}`;
  });
  return gzipSync(Buffer.from(`${[HEADER, ...rows].join('\r\n')}\r\n`, 'latin1'));
}

function remoteDir(partner: string): string {
  return path.join(sshd.rootDir, partner, 'outbound');
}

/** Writes a remote file as the partner would, with an mtime in the past so minimum age is not what holds it. */
function publish(partner: string, name: string, content: Buffer, mtimeSecondsAgo = 600): string {
  const file = path.join(remoteDir(partner), name);
  writeFileSync(file, content);
  const when = Date.now() / 1000 - mtimeSecondsAgo;
  utimesSync(file, when, when);
  return file;
}

/**
 * One scheduled run of sftpPull, with its packaged timeout and stop margin. Its role is packaged
 * from this suite's partners (their secrets are what it may read), as a deploy of them would.
 */
async function pull(
  overrides: Partial<ReturnType<typeof sftpPullDeps>> & { config?: SftpConfig } = {},
  only?: string[],
  clock?: Clock,
): Promise<PartnerOutcome[]> {
  const { config: partners = config, ...rest } = overrides;
  const deps = {
    ...sftpPullDeps(stack.clients, partners.registry(), {
      landingBucket: stack.resources.landingBucket,
      ledgerTable: stack.resources.ledgerTable,
      eventsTopicArn: stack.resources.eventsTopicArn,
      eventBusName: stack.resources.eventBusName,
    }, logger, createMetrics()),
    ...rest,
  };
  const id = `run-${++runs}`;
  return invoke(
    'sftpPull',
    (context) => pullAll(deps, { runId: id, owner: id, remainingMs: () => context.getRemainingTimeInMillis(), stopMarginMs: SFTP_PULL_STOP_MARGIN_MS }, only),
    { configRoot: partners.root, ...(clock ? { clock } : {}) },
  );
}

/** A partner's pull status as the console reads it. */
function pullStatus(partner: string) {
  return new RemoteFileLedger(stack.clients.dynamo, stack.resources.ledgerTable).pullStatus(partner);
}

function pulled(outcomes: PartnerOutcome[], partner: string) {
  const outcome = outcomes.find((candidate) => candidate.partner === partner)!;
  if (outcome.outcome !== 'pulled') throw new Error(`${partner} failed: ${outcome.code} ${outcome.error}`);
  return outcome;
}

/** The object versions sftp-pull landed for a partner's remote file name, whatever the fetch id folder. */
async function landedVersions(partner: string, name: string) {
  const { Versions = [] } = await stack.clients.s3.send(
    new ListObjectVersionsCommand({ Bucket: stack.resources.landingBucket, Prefix: `pulled/${partner}/` }),
  );
  return Versions.filter((version) => version.Key!.endsWith(`/${name}`));
}

/** A ledger whose DynamoDB client lets `fault` see (and disturb) each call: the hook between listing and transfer. */
function ledgerWith(fault: Parameters<typeof withFault>[1]): RemoteFileLedger {
  return new RemoteFileLedger(withFault(stack.clients.dynamo, fault), stack.resources.ledgerTable);
}

/** The conditional write that claims a remote file version: made after the listing, just before its transfer. */
const isClaim = (command: object) => command instanceof PutCommand && String(command.input.Item?.sk).startsWith('FETCH#');

beforeAll(async () => {
  stack = await startTestStack();
  sshd = await startSshd();
  for (const partner of ['globex', 'umbrella']) mkdirSync(remoteDir(partner), { recursive: true });
  config = sftpConfigRoot([
    { id: 'globex', port: sshd.port, hostKeys: [sshd.hostKeyFingerprint], remoteDir: remoteDir('globex') },
    { id: 'umbrella', port: sshd.port, hostKeys: [sshd.hostKeyFingerprint], remoteDir: remoteDir('umbrella'), postFetch: { action: 'leave' } },
  ]);
  await storeLogin(stack, 'globex', sshd);
  await storeLogin(stack, 'umbrella', sshd);
}, 60_000);

afterAll(async () => {
  await sshd?.dispose();
  await stack?.stop();
  config?.dispose();
});

afterEach(async () => {
  for (const url of [stack.resources.fileEventsQueueUrl, stack.resources.workQueueUrl, stack.snsConsumerUrl, stack.eventBridgeConsumerUrl]) {
    await drainQueue(stack, url);
  }
});

test('a stable remote file is fetched once, lands in S3, is ingested naming its SFTP source, and is moved', async () => {
  publish('globex', 'shipments_2026-11-02.csv.gz', shipments(1, 8));

  const first = pulled(await pull({}, ['globex']), 'globex');
  expect(first.fetched).toEqual([]);
  expect(first.waiting).toEqual(['shipments_2026-11-02.csv.gz']); // seen once: not yet known to be stable

  const second = pulled(await pull({}, ['globex']), 'globex');
  expect(second.fetched.map((file) => file.name)).toEqual(['shipments_2026-11-02.csv.gz']);
  // Landed under the fetch id of this version of the file (partner, path, size, mtime).
  expect(second.fetched[0]!.key).toMatch(/^pulled\/globex\/[0-9a-f]{32}\/shipments_2026-11-02\.csv\.gz$/);
  expect(existsSync(path.join(remoteDir('globex'), 'shipments_2026-11-02.csv.gz'))).toBe(false);
  expect(readdirSync(path.join(remoteDir('globex'), 'processed'))).toEqual(['shipments_2026-11-02.csv.gz']);
  const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.landingBucket, Key: second.fetched[0]!.key }));
  expect(head.Metadata).toMatchObject({ 'partner-ingest-source-uri': `sftp://127.0.0.1:${sshd.port}${remoteDir('globex')}/shipments_2026-11-02.csv.gz` });

  // The landed object goes through the same ingest path as an S3 drop.
  await drainFileEvents(stack, stack.deps({ registry: config.registry() }));
  const { sns } = await receivedEvents(stack);
  expect(sns).toHaveLength(1);
  expect(sns[0]!.detail).toMatchObject({
    status: 'COMPLETED',
    partner: 'globex',
    feed: 'shipments',
    source: { type: 'sftp', uri: `sftp://127.0.0.1:${sshd.port}${remoteDir('globex')}/shipments_2026-11-02.csv.gz` },
    counts: { records: 8, valid: 8, invalid: 0, workItemsSent: 8 },
  });
  const items = (await drainQueue(stack, stack.resources.workQueueUrl)).map((message) => JSON.parse(message.Body!));
  expect(items.map((item) => item.record.destination_city).sort()).toEqual(
    ['Besançon', 'Besançon', 'Cádiz', 'Cádiz', 'Düsseldorf', 'Düsseldorf', 'Wien', 'Wien'],
  );
  expect(items[0].record.weight_kg).toBe(1.5);

  const third = pulled(await pull({}, ['globex']), 'globex');
  expect(third.fetched).toEqual([]);
  // What operators see of the partner's pulls (the console's overview).
  const status = await pullStatus('globex');
  expect(status).toEqual({ lastPullAt: expect.any(String), lastSuccessAt: status?.lastPullAt });
});

test('a growing file waits until it is stable; a replaced file is fetched again as a new version', async () => {
  const name = 'shipments_2026-11-03.csv.gz';
  const file = publish('umbrella', name, shipments(100, 3));
  expect(pulled(await pull({}, ['umbrella']), 'umbrella').waiting).toEqual([name]);
  appendFileSync(file, shipments(200, 3)); // still being written: size and mtime change
  expect(pulled(await pull({}, ['umbrella']), 'umbrella').waiting).toEqual([name]);
  const fetched = pulled(await pull({}, ['umbrella']), 'umbrella').fetched;
  expect(fetched.map((entry) => [entry.name, entry.bytes])).toEqual([[name, statSync(file).size]]);
  // postFetch "leave": the file stays, and the ledger keeps it from being fetched again.
  expect(pulled(await pull({}, ['umbrella']), 'umbrella').fetched).toEqual([]);

  publish('umbrella', name, shipments(300, 5), 300); // new content, new size and mtime
  expect(pulled(await pull({}, ['umbrella']), 'umbrella').waiting).toEqual([name]);
  const again = pulled(await pull({}, ['umbrella']), 'umbrella').fetched;
  expect(again).toHaveLength(1);
  const versions = await landedVersions('umbrella', name);
  expect(versions).toHaveLength(2);
  expect(new Set(versions.map((version) => version.Key)).size).toBe(2);
});

test('a file younger than the minimum age is not fetched even when unchanged', async () => {
  const young = sftpConfigRoot([
    { id: 'globex', port: sshd.port, hostKeys: [sshd.hostKeyFingerprint], remoteDir: remoteDir('globex'), minAgeSeconds: 3600 },
  ]);
  try {
    publish('globex', 'shipments_young.csv.gz', shipments(400, 2), 60);
    const deps = { config: young };
    expect(pulled(await pull(deps, ['globex']), 'globex').waiting).toEqual(['shipments_young.csv.gz']);
    expect(pulled(await pull(deps, ['globex']), 'globex').waiting).toEqual(['shipments_young.csv.gz']);
  } finally {
    young.dispose();
  }
});

test('a host key that is not pinned is refused before authentication, fetches nothing, and raises an alert', async () => {
  const wrong = sftpConfigRoot([
    { id: 'globex', port: sshd.port, hostKeys: ['SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], remoteDir: remoteDir('globex') },
  ]);
  try {
    publish('globex', 'shipments_2026-11-04.csv.gz', shipments(500, 2));
    const outcomes = await pull({ config: wrong }, ['globex']);
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'failed', partner: 'globex', code: 'SFTP_HOST_KEY_MISMATCH' })]);
    const { eventBridge } = await receivedEvents(stack);
    expect(eventBridge).toEqual([
      expect.objectContaining({
        detailType: 'SFTP Host Key Mismatch',
        detail: expect.objectContaining({ partner: 'globex', presentedFingerprint: sshd.hostKeyFingerprint }),
      }),
    ]);
    expect(await landedVersions('globex', 'shipments_2026-11-04.csv.gz')).toEqual([]);
    const status = await pullStatus('globex');
    expect(status).toMatchObject({ lastError: { code: 'SFTP_HOST_KEY_MISMATCH', at: status?.lastPullAt }, hostKeyMismatches: 1, lastHostKeyMismatchAt: status?.lastPullAt });
    expect(status?.lastError?.message).toContain('is not pinned');
  } finally {
    wrong.dispose();
  }
});

test('a connection dropped mid-transfer leaves no object and no ledger entry; the next run fetches the whole file', async () => {
  const name = 'shipments_big.csv.gz';
  // Large enough for a multipart upload (parts of 8 MiB); the content does not matter to the transfer.
  const big = randomBytes(20 * 1024 * 1024);
  publish('umbrella', name, big);
  expect(pulled(await pull({}, ['umbrella']), 'umbrella').waiting).toContain(name);

  let killed = 0;
  // The first part is on its way to S3 when the SSH connection is cut.
  const s3 = withFault(stack.clients.s3, (command, real) => {
    if (!(command instanceof UploadPartCommand) || killed) return undefined;
    killed = 1;
    return sshd.killSessions().then(() => real(command));
  });
  const interrupted = pulled(await pull({ s3 }, ['umbrella']), 'umbrella');
  expect(killed).toBe(1);
  expect(interrupted.fetched).toEqual([]);
  expect(interrupted.failed.map((failure) => failure.name)).toEqual([name]);
  expect(await landedVersions('umbrella', name)).toEqual([]);
  const file = statSync(path.join(remoteDir('umbrella'), name));
  const files = new RemoteFileLedger(stack.clients.dynamo, stack.resources.ledgerTable);
  expect(await files.fetchRecord({ partner: 'umbrella', path: path.join(remoteDir('umbrella'), name), size: file.size, mtime: Math.floor(file.mtimeMs / 1000) * 1000 })).toBeUndefined();

  const resumed = pulled(await pull({}, ['umbrella']), 'umbrella');
  expect(resumed.fetched.map((entry) => [entry.name, entry.bytes])).toEqual([[name, big.length]]);
  const { Body } = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: resumed.fetched[0]!.key }));
  expect(Buffer.from(await Body!.transformToByteArray()).equals(big)).toBe(true);
}, 60_000);

test('hostile remote names are skipped and reported; an unreachable partner does not block another', async () => {
  for (const hostile of ['shipments_a\u0001b.csv.gz', 'shipments_..evil.csv.gz', 'shipments_a\\b.csv.gz']) {
    publish('globex', hostile, shipments(600, 1));
  }
  publish('globex', 'shipments_2026-11-05.csv.gz', shipments(700, 2));
  const withDeadPartner = sftpConfigRoot([
    { id: 'globex', port: sshd.port, hostKeys: [sshd.hostKeyFingerprint], remoteDir: remoteDir('globex') },
    { id: 'initech', port: 1, hostKeys: [sshd.hostKeyFingerprint], remoteDir: '/nowhere' },
  ]);
  try {
    await storeLogin(stack, 'initech', sshd);
    const deps = { config: withDeadPartner };
    await pull(deps);
    const outcomes = await pull(deps);
    expect(outcomes.find((outcome) => outcome.partner === 'initech')).toMatchObject({ outcome: 'failed' });
    const globex = pulled(outcomes, 'globex');
    expect(globex.fetched.map((entry) => entry.name)).toContain('shipments_2026-11-05.csv.gz');
    expect(globex.skipped.map((entry) => entry.name).sort()).toEqual(
      ['shipments_a\u0001b.csv.gz', 'shipments_..evil.csv.gz', 'shipments_a\\b.csv.gz'].sort(),
    );
    const versions = await stack.clients.s3.send(
      new ListObjectVersionsCommand({ Bucket: stack.resources.landingBucket, Prefix: 'pulled/globex/' }),
    );
    expect(versions.Versions!.map((version) => version.Key).filter((key) => /\.\.|\\|\u0001/.test(key!))).toEqual([]);
  } finally {
    withDeadPartner.dispose();
  }
}, 60_000);

test('a 200 MB remote file streams into the landing bucket holding far less than its size in memory', async () => {
  const size = 200 * 1024 * 1024;
  const file = path.join(remoteDir('umbrella'), 'large_file.bin');
  const handle = openSync(file, 'w');
  const block = randomBytes(1024 * 1024);
  for (let written = 0; written < size; written += block.length) writeSync(handle, block);
  closeSync(handle);
  const job = {
    endpoint: stack.moto.endpoint,
    bucket: stack.resources.landingBucket,
    key: 'pulled/umbrella/large_file.bin',
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.privateKey,
    fingerprint: sshd.hostKeyFingerprint,
    path: file,
    size,
  };
  const child = spawnSync(process.execPath, ['--expose-gc', 'bin/run-ts.js', 'test/support/fetch-child.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FETCH_JOB: JSON.stringify(job) },
    encoding: 'utf8',
    timeout: 240_000,
  });
  rmSync(file);
  expect(child.stderr).toBe('');
  const result = JSON.parse(child.stdout) as { bytes: number; baselineLive: number; peakLive: number };
  expect(result.bytes).toBe(size);
  const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.landingBucket, Key: job.key }));
  expect(head.ContentLength).toBe(size);
  // What the transfer holds on top of the process: the multipart upload's 8 MiB
  // parts (two in flight, one filling, lib-storage's concatenation copies) and
  // the READ window — 50–70 MiB measured for files of 40–400 MB. Buffering the
  // file would hold all 200 MiB.
  expect(result.peakLive - result.baselineLive).toBeLessThan(96 * 1024 * 1024);
}, 300_000);

test('a failing post-fetch action is retried on later runs and never causes a second fetch', async () => {
  const stuck = sftpConfigRoot([
    { id: 'globex', port: sshd.port, hostKeys: [sshd.hostKeyFingerprint], remoteDir: remoteDir('globex'), postFetch: { action: 'move', to: '/proc/no-such-place' } },
  ]);
  try {
    const name = 'shipments_2026-11-06.csv.gz';
    publish('globex', name, shipments(800, 2));
    const deps = { config: stuck };
    await pull(deps, ['globex']);
    const first = pulled(await pull(deps, ['globex']), 'globex');
    expect(first.fetched.map((entry) => entry.name)).toContain(name);
    expect(first.postFetchFailed).toContain(name);
    const second = pulled(await pull(deps, ['globex']), 'globex');
    expect(second.fetched.map((entry) => entry.name)).not.toContain(name);
    expect(second.postFetchFailed).toContain(name); // tried again, still failing
    expect(existsSync(path.join(remoteDir('globex'), name))).toBe(true);
    expect(await landedVersions('globex', name)).toHaveLength(1);
    // Once the action can succeed (here: the default move), the file is moved and nothing is fetched.
    const third = pulled(await pull({}, ['globex']), 'globex');
    expect(third.fetched.map((entry) => entry.name)).not.toContain(name);
    expect(existsSync(path.join(remoteDir('globex'), 'processed', name))).toBe(true);
  } finally {
    stuck.dispose();
  }
});

test('with little invocation time left no new transfer starts; the next run takes the file', async () => {
  const name = 'shipments_2026-11-07.csv.gz';
  publish('globex', name, shipments(900, 2));
  await pull({}, ['globex']);
  // A run that starts with 30 s left, less than the stop margin.
  const late = await pull({}, ['globex'], () => () => 30_000);
  expect(pulled(late, 'globex')).toMatchObject({ stoppedEarly: true, fetched: [] });
  expect(pulled(await pull({}, ['globex']), 'globex').fetched.map((entry) => entry.name)).toContain(name);
});

test('a fetch whose hand-off is not recorded lands once: the next fetch finds its object, and ingest sees one batch', async () => {
  const name = 'shipments_2026-11-08.csv.gz';
  publish('globex', name, shipments(1000, 3));
  await pull({}, ['globex']);
  // The upload completes, then recording it in the ledger is throttled (or the invocation is killed).
  let refused = 0;
  const files = ledgerWith((command) => {
    if (!(command instanceof UpdateCommand) || command.input.ExpressionAttributeValues?.[':fetched'] !== 'FETCHED' || refused) return undefined;
    refused = 1;
    return Promise.reject(awsError('ProvisionedThroughputExceededException', 400));
  });
  const unrecorded = pulled(await pull({ files }, ['globex']), 'globex');
  expect(refused).toBe(1);
  expect(unrecorded.failed.map((failure) => failure.name)).toEqual([name]);
  expect(existsSync(path.join(remoteDir('globex'), name))).toBe(true); // no post-fetch action without a recorded hand-off

  const again = pulled(await pull({}, ['globex']), 'globex');
  expect(again.fetched.map((entry) => entry.name)).toEqual([name]);
  expect(existsSync(path.join(remoteDir('globex'), 'processed', name))).toBe(true);
  expect(await landedVersions('globex', name)).toHaveLength(1);
  await drainFileEvents(stack, stack.deps({ registry: config.registry() }));
  const { sns } = await receivedEvents(stack);
  expect(sns).toEqual([expect.objectContaining({ detail: expect.objectContaining({ status: 'COMPLETED', file: expect.objectContaining({ name }) }) })]);
});

test('a file appended to after its listing lands no truncated object and is not moved; it is fetched whole once stable', async () => {
  const name = 'shipments_2026-11-09.csv.gz';
  const file = publish('globex', name, shipments(1100, 3));
  await pull({}, ['globex']);
  // The partner appends after the run listed the file, as its transfer starts.
  const files = ledgerWith((command) => {
    if (isClaim(command)) appendFileSync(file, shipments(1200, 3));
    return undefined;
  });
  const appended = pulled(await pull({ files }, ['globex']), 'globex');
  expect(appended).toMatchObject({ fetched: [], failed: [], waiting: [name] });
  expect(await landedVersions('globex', name)).toEqual([]);
  expect(existsSync(file)).toBe(true);

  const whole = readFileSync(file);
  expect(pulled(await pull({}, ['globex']), 'globex').waiting).toEqual([name]); // its new size and mtime, seen once
  const fetched = pulled(await pull({}, ['globex']), 'globex').fetched;
  expect(fetched.map((entry) => [entry.name, entry.bytes])).toEqual([[name, whole.length]]);
  const { Body } = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: fetched[0]!.key }));
  expect(Buffer.from(await Body!.transformToByteArray()).equals(whole)).toBe(true);
  expect(existsSync(path.join(remoteDir('globex'), 'processed', name))).toBe(true);
});

test('a file written to after its fetch is not moved: it stays, to be fetched as its new version', async () => {
  const name = 'shipments_2026-11-10.csv.gz';
  const file = publish('globex', name, shipments(1300, 2));
  await pull({}, ['globex']);
  const files = ledgerWith((command) => {
    if (command instanceof UpdateCommand && command.input.ExpressionAttributeValues?.[':fetched'] === 'FETCHED') {
      appendFileSync(file, shipments(1400, 2));
    }
    return undefined;
  });
  const run = pulled(await pull({ files }, ['globex']), 'globex');
  expect(run.fetched.map((entry) => entry.name)).toEqual([name]);
  expect(run.postFetchFailed).toEqual([]);
  expect(existsSync(file)).toBe(true);
  expect(existsSync(path.join(remoteDir('globex'), 'processed', name))).toBe(false);

  expect(pulled(await pull({}, ['globex']), 'globex').waiting).toEqual([name]);
  const next = pulled(await pull({}, ['globex']), 'globex');
  expect(next.fetched.map((entry) => [entry.name, entry.bytes])).toEqual([[name, statSync(path.join(remoteDir('globex'), 'processed', name)).size]]);
  expect(await landedVersions('globex', name)).toHaveLength(2);
});

test('a server that stops answering at open costs the run its deadlines, not its invocation; the next run fetches the file', async () => {
  const hanging = sftpConfigRoot([
    { id: 'globex', port: sshd.port, hostKeys: [sshd.hostKeyFingerprint], remoteDir: remoteDir('globex'), stallSeconds: 2 },
  ]);
  try {
    const name = 'shipments_2026-11-11.csv.gz';
    const file = publish('globex', name, shipments(1500, 2));
    await pull({ config: hanging }, ['globex']);
    // Listed and claimed; then the server's session hangs, its connection open, before the file is opened.
    let frozen = 0;
    const files = ledgerWith((command, real) => {
      if (!isClaim(command) || frozen) return undefined;
      return sshd.freezeSessions().then((sessions) => {
        frozen = sessions;
        return real(command);
      });
    });
    const started = Date.now();
    const hung = pulled(await pull({ config: hanging, files }, ['globex']), 'globex');
    const seconds = (Date.now() - started) / 1000;
    expect(frozen).toBeGreaterThanOrEqual(1);
    expect(hung.failed).toEqual([{ name, error: `opening ${file} did not finish within 2 s` }]);
    // Its budget: the open's 2 s, then closing the connection at once. Generous for a loaded
    // machine, and far under the 15 minutes a hung open would hold the invocation.
    expect(seconds).toBeLessThan(30);
    await sshd.killSessions();

    expect(await landedVersions('globex', name)).toEqual([]);
    const next = pulled(await pull({ config: hanging }, ['globex']), 'globex');
    expect(next.fetched.map((entry) => entry.name)).toEqual([name]);
  } finally {
    await sshd.killSessions();
    hanging.dispose();
  }
});
