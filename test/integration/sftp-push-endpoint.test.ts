/**
 * The local push endpoint (dev/sftp-push-endpoint.ts) with OpenSSH's own `sftp`
 * client as the partner, against moto and the real hand-off and ingest: a
 * complete upload is ingested once as an sftp-push batch; a client killed
 * mid-upload leaves one quarantined partial and nothing ingested; a `.filepart`
 * upload renamed at the end is ingested once under its final name; a wrong key
 * is refused; a partner cannot list or write another partner's folder.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { startPushEndpoint, type PushEndpoint, type PushEndpointOptions } from '../../dev/sftp-push-endpoint';
import type { Dispatched } from '../../dev/push-upload-dispatch';
import { loadPartnerRegistry } from '../../src/config/load-partners';
import { handOffUpload, UPLOAD_FAILED_METRIC } from '../../src/sftp-push/handoff';
import { sftpPushHandoffDeps } from '../../src/sftp-push/runtime';
import { invoke } from '../support/harness/invoke';
import { packagedStack } from '../support/harness/packaged-stack';
import { recordingMetrics } from '../support/metrics';
import { ordersFile } from '../support/orders';
import { drainFileEvents, expectSingleEvent, PROJECT_ROOT, receivedEvents, useTestStack } from '../support/stack';

const stack = useTestStack();
const logger = new Logger({ serviceName: 'sftp-push-endpoint-test', logLevel: (process.env.TEST_LOG_LEVEL ?? 'SILENT') as 'SILENT' });
const chrooted = process.getuid?.() === 0;

let work: string;
let configRoot: string;
const keys: Record<string, string> = {};
let metrics = recordingMetrics();
const dispatched: Dispatched[] = [];
const endpoints: Record<string, PushEndpoint> = {};

/** The shipped partners, acme and globex also pushing, each with a key made here. */
function writeConfig(): void {
  configRoot = path.join(work, 'config');
  cpSync(path.join(PROJECT_ROOT, 'schemas'), path.join(configRoot, 'schemas'), { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'partners'), path.join(configRoot, 'partners'), { recursive: true });
  for (const partner of ['acme', 'globex', 'stranger']) {
    keys[partner] = path.join(work, `${partner}_key`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', partner, '-f', keys[partner]!]);
  }
  for (const partner of ['acme', 'globex']) {
    const file = path.join(configRoot, 'partners', `${partner}.yml`);
    const key = readFileSync(`${keys[partner]}.pub`, 'utf8').trim();
    const text = readFileSync(file, 'utf8').replace(/^sources:\n/m, `sources:\n  sftpPush:\n    publicKeys: [${JSON.stringify(key)}]\n`);
    writeFileSync(file, text);
  }
  const registry = loadPartnerRegistry({ root: configRoot });
  expect(registry.partners.get('acme')?.sources.sftpPush).toBeDefined();
  expect(registry.partners.get('globex')?.sources.sftpPush).toBeDefined();
}

/** Transfer Family's event goes to sftpPushHandoff: the same core, under that function's packaged role. */
const handOff: PushEndpointOptions['handOff'] = (event) => {
  const registry = loadPartnerRegistry({ root: configRoot });
  const settings = { landingBucket: stack.resources.landingBucket, hostOf: (serverId: string) => serverId };
  return invoke('sftpPushHandoff', () => handOffUpload(event, sftpPushHandoffDeps(stack.clients, registry, settings, logger, metrics)), { configRoot });
};

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'partner-ingest-push-endpoint-'));
  writeConfig();
  // The packaged stack (each function's timeout, for its invocations) is built once, here, not inside the first hand-off the tests wait for.
  await packagedStack();
  const registry = loadPartnerRegistry({ root: configRoot });
  for (const partner of ['acme', 'globex']) {
    endpoints[partner] = await startPushEndpoint({
      partner,
      publicKeys: registry.partners.get(partner)!.sources.sftpPush!.publicKeys,
      s3: stack.clients.s3,
      bucket: stack.resources.landingBucket,
      handOff,
      onDispatched: (entry) => dispatched.push(entry),
    });
  }
}, 120_000);

afterAll(async () => {
  for (const endpoint of Object.values(endpoints)) await endpoint.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  metrics = recordingMetrics();
  dispatched.length = 0;
});

interface SftpRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** OpenSSH's sftp in batch mode (`-b -`): no prompts, the endpoint's host key pinned, only the given key offered. */
function sftpArgs(endpoint: PushEndpoint, key: string, extra: string[] = []): string[] {
  return [
    '-b', '-',
    '-i', key,
    '-P', String(endpoint.port),
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${endpoint.knownHostsFile}`,
    ...extra,
    `${endpoint.username}@${endpoint.host}`,
  ];
}

function sftp(endpoint: PushEndpoint, key: string, commands: string[], extra: string[] = []) {
  const child = spawn('sftp', sftpArgs(endpoint, key, extra), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(`${commands.join('\n')}\n`);
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<SftpRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

const run = (endpoint: PushEndpoint, key: string, commands: string[]) => sftp(endpoint, key, commands).done;

/** Waits until the endpoint has dispatched what `match` finds (its log line travels on its own), then until it is idle. */
async function dispatchedEntry<T extends Dispatched>(endpoint: PushEndpoint, match: (entry: Dispatched) => entry is T, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await endpoint.idle();
    const found = dispatched.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`not dispatched in ${timeoutMs} ms; dispatched: ${JSON.stringify(dispatched)}`);
    await sleep(50);
  }
}

const upload = (name: string) => (entry: Dispatched): entry is Extract<Dispatched, { kind: 'upload' }> =>
  entry.kind === 'upload' && entry.key.endsWith(`/${name}`);

async function keysUnder(prefix: string): Promise<string[]> {
  const { Contents = [] } = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.resources.landingBucket, Prefix: prefix }));
  return Contents.map((object) => object.Key!);
}

function localFile(name: string, content: string | Buffer): string {
  const file = path.join(work, name);
  writeFileSync(file, content);
  return file;
}

test('a complete upload with the sftp client is ingested once, as an sftp-push batch of the partner', async () => {
  const acme = endpoints.acme!;
  const body = ordersFile(4);
  const result = await run(acme, keys.acme!, [`put ${localFile('a.csv', body)} orders_2026-12-10.csv`]);
  expect(result).toMatchObject({ code: 0 });

  const entry = await dispatchedEntry(acme, upload('orders_2026-12-10.csv'));
  expect(entry).toMatchObject({ outcome: 'completed', key: 'pushed-uploads/acme/orders_2026-12-10.csv', bytes: Buffer.byteLength(body) });
  expect(entry.result).toMatchObject({ outcome: 'handed-off', partner: 'acme', key: expect.stringMatching(/^pushed\/acme\/[0-9a-f]{32}\/orders_2026-12-10\.csv$/) });

  expect(await drainFileEvents(stack)).toBe(1);
  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail).toMatchObject({
    partner: 'acme',
    feed: 'orders',
    source: { type: 'sftp-push', uri: `sftp://127.0.0.1:${acme.port}/orders_2026-12-10.csv`, user: 'acme' },
    file: { name: 'orders_2026-12-10.csv', bytes: Buffer.byteLength(body) },
    counts: { records: 4, valid: 4, invalid: 0 },
  });
  const { Body } = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: entry.result.key }));
  expect(await Body!.transformToString()).toBe(body);
  // Once: nothing more arrives for it.
  expect(await drainFileEvents(stack)).toBe(0);
  expect(metrics.recorded).toEqual([]);
});

test('a client killed mid-upload leaves one quarantined partial, counted, and nothing ingested', async () => {
  const acme = endpoints.acme!;
  const size = 24 * 1024 * 1024;
  const big = localFile('big.csv', Buffer.alloc(size, 'x'));
  // -l: 16 Mbit/s, so the transfer is surely still going when the client is killed.
  const client = sftp(acme, keys.acme!, [`put ${big} orders_2026-12-11.csv`], ['-l', '16000']);
  const remote = path.join(acme.folder, 'orders_2026-12-11.csv');
  for (const deadline = Date.now() + 20_000; !(existsSync(remote) && statSync(remote).size > 0); await sleep(20)) {
    if (Date.now() > deadline) throw new Error('the upload never started');
  }
  client.child.kill('SIGKILL');
  await client.done;

  const entry = await dispatchedEntry(acme, upload('orders_2026-12-11.csv'));
  expect(entry.outcome).toBe('failed');
  expect(entry.bytes).toBeGreaterThan(0);
  expect(entry.bytes).toBeLessThan(size);
  expect(entry.result).toMatchObject({ outcome: 'quarantined', partner: 'acme', key: expect.stringMatching(/^quarantine\/acme\/[0-9a-f]{32}\/orders_2026-12-11\.csv$/) });
  expect(await keysUnder('quarantine/acme/')).toEqual([entry.result.key]);
  expect(await keysUnder('pushed-uploads/acme/orders_2026-12-11')).toEqual([]);
  expect((await keysUnder('pushed/acme/')).filter((key) => key.endsWith('orders_2026-12-11.csv'))).toEqual([]);
  expect(metrics.recorded).toEqual([{ name: UPLOAD_FAILED_METRIC, value: 1, dimensions: { partner: 'acme' } }]);
  expect(await drainFileEvents(stack)).toBe(0);
  expect((await receivedEvents(stack)).sns).toEqual([]);
});

test('put to x.filepart, then rename to x: ingested once, under its final name', async () => {
  const acme = endpoints.acme!;
  const body = ordersFile(3);
  const result = await run(acme, keys.acme!, [
    `put ${localFile('c.csv', body)} orders_2026-12-12.csv.filepart`,
    'rename orders_2026-12-12.csv.filepart orders_2026-12-12.csv',
  ]);
  expect(result).toMatchObject({ code: 0 });
  const entry = await dispatchedEntry(acme, upload('orders_2026-12-12.csv.filepart'));
  expect(entry.result).toMatchObject({ outcome: 'handed-off', key: expect.stringMatching(/^pushed\/acme\/[0-9a-f]{32}\/orders_2026-12-12\.csv$/) });
  // The rename reached the bucket as on Transfer Family's S3: the final name, and no temporary one.
  await dispatchedEntry(acme, (e): e is Extract<Dispatched, { kind: 'rename' }> => e.kind === 'rename' && e.applied);
  expect(await keysUnder('pushed-uploads/acme/orders_2026-12-12')).toEqual(['pushed-uploads/acme/orders_2026-12-12.csv']);

  expect(await drainFileEvents(stack)).toBe(1);
  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail).toMatchObject({ feed: 'orders', file: { name: 'orders_2026-12-12.csv' }, source: { type: 'sftp-push', user: 'acme' }, counts: { records: 3 } });
  expect(await drainFileEvents(stack)).toBe(0);
  expect(dispatched.filter((e) => e.kind === 'upload')).toHaveLength(1);
});

test('a key the partner has not configured is refused, and nothing reaches the bucket', async () => {
  const acme = endpoints.acme!;
  const before = await keysUnder('pushed-uploads/');
  for (const key of [keys.stranger!, keys.globex!]) {
    const result = await run(acme, key, [`put ${localFile('d.csv', ordersFile(1))} orders_2026-12-13.csv`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Permission denied \(publickey\)/);
  }
  await sleep(300);
  await acme.idle();
  expect(existsSync(path.join(acme.folder, 'orders_2026-12-13.csv'))).toBe(false);
  expect(await keysUnder('pushed-uploads/')).toEqual(before);
  expect(dispatched).toEqual([]);
});

(chrooted ? test : test.skip)('a partner cannot list or write another partner\'s folder (chrooted, as root)', async () => {
  const acme = endpoints.acme!;
  const globex = endpoints.globex!;
  const probe = localFile('e.csv', ordersFile(1));
  // Every command alone: sftp -b stops at the first failing one.
  const attempts = [
    `ls ${globex.folder}`,
    `ls ../globex`,
    `put ${probe} ${globex.folder}/shipments_x.csv.gz`,
    `put ${probe} ../globex/shipments_x.csv.gz`,
    `cd ${path.dirname(globex.folder)}`,
  ];
  for (const command of attempts) {
    const result = await run(acme, keys.acme!, [command]);
    expect({ command, code: result.code }).toEqual({ command, code: 1 });
  }
  // Its own root is its folder: nothing of globex's in sight.
  const listing = await run(acme, keys.acme!, ['ls -a /']);
  expect(listing.code).toBe(0);
  expect(listing.stdout).not.toMatch(/globex/);
  expect(readdirSync(globex.folder).filter((name) => name !== 'dev')).toEqual([]);
  await acme.idle();
  expect(await keysUnder('pushed-uploads/globex/')).toEqual([]);
  // And globex itself still works, into its own folder only.
  const own = await run(globex, keys.globex!, [`put ${probe} notes.txt`]);
  expect(own.code).toBe(0);
  expect(readdirSync(globex.folder).filter((name) => name !== 'dev')).toEqual(['notes.txt']);
  // Handed off as globex's (no feed takes the name, so its batch is rejected); settled here so the next test starts clean.
  expect((await dispatchedEntry(globex, upload('notes.txt'))).result).toMatchObject({ outcome: 'handed-off', partner: 'globex' });
  expect(await drainFileEvents(stack)).toBe(1);
  expect((await expectSingleEvent(stack, 'REJECTED')).partner).toBe('globex');
});

/**
 * What a developer who is not root gets (forced here with isolation 'none'):
 * no chroot, sftp-server's -e log tailed from a file. Uploads into the folder
 * are ingested the same way; a write elsewhere is not put in the bucket.
 */
test('without a chroot: an upload is ingested the same way, and a write outside the folder reaches no bucket', async () => {
  const registry = loadPartnerRegistry({ root: configRoot });
  const unconfined = await startPushEndpoint({
    partner: 'acme',
    publicKeys: registry.partners.get('acme')!.sources.sftpPush!.publicKeys,
    s3: stack.clients.s3,
    bucket: stack.resources.landingBucket,
    isolation: 'none',
    handOff,
    onDispatched: (entry) => dispatched.push(entry),
  });
  try {
    expect(unconfined.remoteDir).toBe(unconfined.folder);
    const outside = path.join(path.dirname(unconfined.folder), 'outside.csv');
    const body = ordersFile(2);
    const result = await run(unconfined, keys.acme!, [
      `put ${localFile('n.csv', body)} orders_2026-12-14.csv.tmp`,
      'rename orders_2026-12-14.csv.tmp orders_2026-12-14.csv',
      `put ${localFile('o.csv', body)} ${outside}`,
    ]);
    expect(result).toMatchObject({ code: 0 });
    const entry = await dispatchedEntry(unconfined, upload('orders_2026-12-14.csv.tmp'));
    expect(entry.result).toMatchObject({ outcome: 'handed-off', key: expect.stringMatching(/\/orders_2026-12-14\.csv$/) });
    const refused = await dispatchedEntry(unconfined, (e): e is Extract<Dispatched, { kind: 'error' }> => e.kind === 'error');
    expect(refused).toMatchObject({ code: 'LOCAL_PUSH_PATH_OUTSIDE', path: outside });
    expect(await drainFileEvents(stack)).toBe(1);
    const detail = await expectSingleEvent(stack, 'COMPLETED');
    expect(detail).toMatchObject({
      file: { name: 'orders_2026-12-14.csv' },
      source: { type: 'sftp-push', uri: `sftp://127.0.0.1:${unconfined.port}/orders_2026-12-14.csv`, user: 'acme' },
    });
    expect((await keysUnder('pushed-uploads/')).filter((key) => key.includes('outside'))).toEqual([]);
  } finally {
    await unconfined.dispose();
  }
});
