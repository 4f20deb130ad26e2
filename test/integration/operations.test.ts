import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { loadPartnerRegistry } from '../../src/config/load-partners';
import { OperatorError } from '../../src/operations/errors';
import { awsError, withFault } from '../support/faults';
import { orderRow, ordersFile } from '../support/orders';
import {
  batchIdOfKey as batchIdOfKeyIn,
  drainFileEvents,
  drainQueue,
  PROJECT_ROOT,
  putInbound,
  receivedEvents,
  requestReplay,
  useTestStack,
  withIngestFileRunning,
  workItemIds,
} from '../support/stack';

const stack = useTestStack();

/** Runs the real CLI against the test's moto_server, as an operator would against a stage. */
function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return cliWith({}, ...args);
}

function cliWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/partner-ingest.js', ...args, '--stage', 'test', '--region', 'eu-west-1', '--endpoint-url', stack.moto.endpoint], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

const batchIdOfKey = (key: string) => batchIdOfKeyIn(stack, key);

const itemIds = () => workItemIds(stack);

test('a FAILED batch is listed, replayed by the CLI to COMPLETED from its progress, and announced as attempt 2', async () => {
  let sends = 0;
  const sqs = withFault(stack.clients.sqs, (command) =>
    command instanceof SendMessageBatchCommand && ++sends === 3 ? Promise.reject(awsError('AccessDenied', 403)) : undefined,
  );
  const key = 'inbound/acme/orders_replay.csv';
  await putInbound(stack, key, ordersFile(50));
  await drainFileEvents(stack, stack.deps({ sqs, maxReceiveCount: 1, settings: { ...stack.deps().settings, chunkItems: 10 } }));
  const batchId = await batchIdOfKey(key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'FAILED', counts: { workItemsSent: 20 } });
  const firstAttempt = await itemIds();
  expect(firstAttempt).toHaveLength(20);
  expect((await receivedEvents(stack)).sns.map((event) => event.detail.status)).toEqual(['FAILED']);

  const listed = await cli('batches', '--status', 'FAILED', '--json');
  expect(listed.stderr).toBe('');
  expect(listed.status).toBe(0);
  expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ batchId, status: 'FAILED', partner: 'acme', sent: 20 })]);

  // The CLI queues the attempt for the stage's ingestFile and follows it to its end.
  const replayed = await withIngestFileRunning(stack, cli('replay', batchId, '--json'));
  expect(replayed.stderr).toBe('');
  expect(JSON.parse(replayed.stdout)).toMatchObject({ batchId, status: 'COMPLETED', attempt: 2, counts: { valid: 50, workItemsSent: 50 } });
  // The replay carried on from the checkpoint: the 30 items SQS never acknowledged, with their ids.
  const secondAttempt = await itemIds();
  expect(secondAttempt).toHaveLength(30);
  expect(new Set([...firstAttempt, ...secondAttempt])).toEqual(new Set(Array.from({ length: 50 }, (_, index) => `${batchId}:${index + 1}`)));
  const { sns, eventBridge } = await receivedEvents(stack);
  expect(sns.map((event) => [event.detail.status, event.detail.attempt, event.detail.eventId])).toEqual([['COMPLETED', 2, `${batchId}:2`]]);
  expect(eventBridge).toHaveLength(1);

  const shown = await cli('batch', batchId, '--json');
  const view = JSON.parse(shown.stdout);
  expect(view.attempts.map((attempt: { attempt: number; status: string }) => [attempt.attempt, attempt.status])).toEqual([
    [1, 'FAILED'],
    [2, 'COMPLETED'],
  ]);
  expect(view.audit.map((entry: { action: string; outcome: string }) => entry.outcome)).toEqual(["queued attempt 2 (resuming the previous attempt's progress)"]);
  expect(view.audit[0].actor).toMatch(/^arn:aws:/);
  expect(view.locations.rawFile).toMatch(/^s3:\/\/.+\/archive\/acme\//);

  // --no-wait: queued, and the CLI returns at once.
  const forced = await cli('replay', batchId, '--force', '--no-wait', '--json');
  expect(JSON.parse(forced.stdout)).toEqual({ dryRun: false, batchId, attempt: 3, status: 'QUEUED', tookOver: false });
  await drainFileEvents(stack);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 3 });
  expect(await itemIds()).toHaveLength(50);
  await receivedEvents(stack);

  const again = await cli('replay', batchId);
  expect(again.status).toBe(2);
  expect(again.stderr.trim().split('\n')).toHaveLength(1);
  expect(again.stderr).toContain('COMPLETED');
  expect(again.stderr).toContain('--force');
}, 90_000);

test('a REJECTED batch replays to COMPLETED once its schema is relaxed; --dry-run decides without sending', async () => {
  const key = 'inbound/acme/orders_yen.csv';
  await putInbound(stack, key, ordersFile(5, [orderRow(90, { currency: 'JPY' }), orderRow(91, { currency: 'JPY' })]));
  await drainFileEvents(stack);
  const batchId = await batchIdOfKey(key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'REJECTED', reason: { code: 'TOO_MANY_INVALID_ROWS' } });
  await receivedEvents(stack);

  // The fix: JPY becomes an allowed currency in the orders schema.
  const root = mkdtempSync(path.join(tmpdir(), 'partner-ingest-relaxed-'));
  try {
    cpSync(path.join(PROJECT_ROOT, 'partners'), path.join(root, 'partners'), { recursive: true });
    cpSync(path.join(PROJECT_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
    const schemaFile = path.join(root, 'schemas', 'records', 'orders.v1.schema.json');
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
    schema.properties.currency.enum.push('JPY');
    writeFileSync(schemaFile, JSON.stringify(schema));
    // The stage deployed with the fix: its functions load the relaxed schema.
    const registry = loadPartnerRegistry({ root });
    const operator = { ...stack.operator(), registry };

    const preview = await requestReplay(stack, { batchId, dryRun: true }, operator);
    expect(preview).toMatchObject({ dryRun: true, status: 'COMPLETED', counts: { records: 7, valid: 7, invalid: 0 } });
    expect(await itemIds()).toHaveLength(0);
    expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'REJECTED', attempt: 1 });

    expect(await requestReplay(stack, { batchId }, operator)).toEqual({ dryRun: false, batchId, attempt: 2, status: 'QUEUED', tookOver: false });
    await drainFileEvents(stack, stack.deps({ registry }));
    expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 2, counts: { valid: 7, workItemsSent: 7 } });
    expect(await itemIds()).toHaveLength(7);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('batches fits the terminal width, cutting the reason with …; batch <id> and --json keep it whole', async () => {
  const key = 'inbound/acme/orders_semicolons.csv';
  await putInbound(stack, key, 'order_id;customer_id;sku;quantity;unit_price;currency;order_date;email\n1;2;3;4;5;6;7;8\n');
  await drainFileEvents(stack);
  const batchId = await batchIdOfKey(key);
  const { reason } = (await stack.ledger.get(batchId))!;
  const fullReason = `${reason!.code}: ${reason!.message}`;
  expect(fullReason.length).toBeGreaterThan(100);

  for (const width of [120, 80]) {
    const listed = await cliWith({ COLUMNS: String(width) }, 'batches');
    expect(listed.status).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines.filter((line) => line.length > width)).toEqual([]);
    const row = lines.find((line) => line.includes(batchId))!;
    expect(row).toMatch(/│ HEADER_MIS[^│]*… *│$/);
    expect(lines.at(-2)).toMatch(new RegExp(`^\\((hidden to fit ${width} columns: .*|\\d+ columns hidden to fit ${width}; --json shows them)\\)$`));
  }
  // Piped, with no COLUMNS: every column, the reason in full.
  const piped = await cliWith({ COLUMNS: '' }, 'batches');
  expect(piped.stdout).toContain(fullReason);
  expect(piped.stdout).not.toContain('hidden to fit');

  expect((await cliWith({ COLUMNS: '80' }, 'batch', batchId)).stdout).toContain(fullReason);
  expect(JSON.parse((await cliWith({ COLUMNS: '80' }, 'batches', '--json')).stdout)).toContainEqual(expect.objectContaining({ batchId, reason: fullReason }));
  await receivedEvents(stack);
});

test('of two concurrent replays of one batch exactly one runs', async () => {
  const key = 'inbound/acme/orders_twice.csv';
  await putInbound(stack, key, ordersFile(3, ['ORD-1,x']));
  await drainFileEvents(stack, stack.deps({ settings: { ...stack.deps().settings } }));
  const batchId = await batchIdOfKey(key);
  expect((await stack.ledger.get(batchId))!.status).toBe('REJECTED');
  await receivedEvents(stack);
  const outcomes = await Promise.allSettled([requestReplay(stack, { batchId }), requestReplay(stack, { batchId })]);
  await drainFileEvents(stack);
  const ran = outcomes.filter((outcome) => outcome.status === 'fulfilled');
  const refused = outcomes.filter((outcome) => outcome.status === 'rejected') as PromiseRejectedResult[];
  expect(ran).toHaveLength(1);
  expect(refused).toHaveLength(1);
  expect(refused[0]!.reason).toBeInstanceOf(OperatorError);
  expect((refused[0]!.reason as OperatorError).code).toBe('BATCH_BUSY');
  expect((await receivedEvents(stack)).sns).toHaveLength(1);
});

test('a replay of a batch whose archived raw file is gone is refused, saying so (S3 answers 404, not 403, to the replay role)', async () => {
  const key = 'inbound/acme/orders_lost.csv';
  await putInbound(stack, key, ordersFile(3, ['ORD-1,x']));
  await drainFileEvents(stack);
  const batchId = await batchIdOfKey(key);
  const state = (await stack.ledger.get(batchId))!;
  expect(state.status).toBe('REJECTED');
  await receivedEvents(stack);
  await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: state.archive!.bucket, Key: state.archive!.key }));
  const refused = await requestReplay(stack, { batchId }).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(OperatorError);
  expect(refused).toMatchObject({ code: 'RAW_FILE_MISSING', message: `batch ${batchId} has no archived raw file to replay` });
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'REJECTED', attempt: 1 });
});

test('redrive of one batch moves only its dead letters back; the others stay in the DLQ', async () => {
  const message = (batchId: string, n: number) => ({
    QueueUrl: stack.resources.workDlqUrl,
    MessageBody: JSON.stringify({ envelopeVersion: 1, itemId: `${batchId}:${n}`, batchId }),
    MessageAttributes: { batchId: { DataType: 'String', StringValue: batchId } },
  });
  const [a, b] = ['a'.repeat(32), 'b'.repeat(32)];
  for (let n = 1; n <= 12; n++) await stack.clients.sqs.send(new SendMessageCommand(message(n % 3 ? a : b, n)));

  const moved = await cli('redrive', '--queue', 'work', '--batch', a, '--json');
  expect(moved.stderr).toBe('');
  expect(JSON.parse(moved.stdout)).toEqual([{ queue: 'work', moved: 8, kept: 4, complete: true }]);
  const back = (await drainQueue(stack, stack.resources.workQueueUrl)).map((entry) => JSON.parse(entry.Body!).batchId);
  expect(back).toEqual(Array(8).fill(a));
  const left = (await drainQueue(stack, stack.resources.workDlqUrl)).map((entry) => JSON.parse(entry.Body!).batchId);
  expect(left).toEqual(Array(4).fill(b));
  const audit = await stack.ledger.auditTrail(a);
  expect(audit.map((entry) => entry.outcome)).toEqual(['requested', 'moved 8']);
});

test('bad operator input is one line, exit code 2, and changes nothing', async () => {
  const unknown = await cli('replay', 'f'.repeat(32));
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toMatch(/^partner-ingest replay: no batch f{32} in this stage — find batch ids with `partner-ingest batches`\n$/);

  const badRange = await cli('batches', '--since', 'yesterday');
  expect(badRange.status).toBe(2);
  expect(badRange.stderr.split('\n')[0]).toContain('--since "yesterday" is not a time');

  const wrongStage = await new Promise<{ status: number; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['bin/partner-ingest.js', 'batches', '--stage', 'nope', '--region', 'eu-west-1', '--endpoint-url', stack.moto.endpoint], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => resolve({ status: status ?? -1, stderr }));
  });
  expect(wrongStage.status).toBe(2);
  expect(wrongStage.stderr).toMatch(/stage "nope" is not deployed in eu-west-1 .* — check --stage and --region\n$/);
});

test('drop uploads a local file as a partner drop, which is then ingested', async () => {
  const dropped = await cli('drop', '--partner', 'acme', 'samples/acme/orders_2026-11-01.csv', '--as', 'orders_dropped.csv', '--json');
  expect(dropped.stderr).toBe('');
  expect(dropped.status).toBe(0);
  expect(JSON.parse(dropped.stdout)).toMatchObject({ key: 'inbound/acme/orders_dropped.csv', bytes: 272 });
  await drainFileEvents(stack);
  const batchId = await batchIdOfKey('inbound/acme/orders_dropped.csv');
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', counts: { valid: 3, workItemsSent: 3 } });

  const badName = await cli('drop', '--partner', 'acme', 'samples/acme/orders_2026-11-01.csv', '--as', '../escape.csv');
  expect(badName.status).toBe(2);
  expect(badName.stderr.split('\n')[0]).toContain('is not a plain file name');
});

test('drop refuses a partner or file name no feed claims, uploading nothing, unless --force', async () => {
  const unclaimed = await cli('drop', '--partner', 'acme', 'samples/acme/orders_2026-11-01.csv', '--as', 'invoices_1.csv');
  expect(unclaimed.status).toBe(2);
  expect(unclaimed.stderr.split('\n')[0]).toContain('"invoices_1.csv" matches no feed of partner acme (feeds: orders orders_*.csv orders_*.csv.gz; remittances remittances_*.txt)');
  expect(unclaimed.stderr.split('\n')[0]).toContain('REJECTED UNKNOWN_FEED');
  const unknownPartner = await cli('drop', '--partner', 'nobody', 'samples/acme/orders_2026-11-01.csv');
  expect(unknownPartner.status).toBe(2);
  expect(unknownPartner.stderr.split('\n')[0]).toContain('no partner "nobody" is configured');
  const { Contents = [] } = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.resources.landingBucket, Prefix: 'inbound/' }));
  expect(Contents.map((object) => object.Key)).not.toContain('inbound/acme/invoices_1.csv');
  expect(Contents.some((object) => object.Key!.startsWith('inbound/nobody/'))).toBe(false);

  const forced = await cli('drop', '--partner', 'acme', 'samples/acme/orders_2026-11-01.csv', '--as', 'invoices_1.csv', '--force', '--json');
  expect(forced.status).toBe(0);
  await drainFileEvents(stack);
  expect(await stack.ledger.get(await batchIdOfKey('inbound/acme/invoices_1.csv'))).toMatchObject({ status: 'REJECTED', reason: { code: 'UNKNOWN_FEED' } });
});
