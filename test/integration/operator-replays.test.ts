/**
 * Replays and redrives through their real entry points — the operator API's
 * handler with its 29 s, the replay function with its 15 minutes — built from
 * the environment serverless.yml sets, on clients as strict as AWS. A replay is
 * queued for ingestFile and answered at once; ingestFile runs it like any file,
 * so it always finishes, with the same item ids and one completion event per attempt.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { awsClients } from '../../src/platform/aws-clients';
import { resourceEnvironment } from '../../src/platform/stage-resources';
import type { FileEventDeps } from '../../src/ingest/types';
import { replayBatch } from '../../src/operations/replay';
import { processSendRanges } from '../../src/ingest/on-send-range';
import { tempDir } from '../support/csv-cases';
import { awsError, withFault } from '../support/faults';
import { instrumentClients } from '../support/harness/instrument';
import { invoke, pumpAs, spendPerRead } from '../support/harness/invoke';
import { orderRow, ordersFile, ORDERS_HEADER, packedOrdersRegistry } from '../support/orders';
import {
  batchIdOfKey,
  drainFileEvents,
  drainQueue,
  expectExactlyOnce,
  putInbound,
  receivedEvents,
  useTestStack,
  validateEvent,
  workItemIds,
} from '../support/stack';

const stack = useTestStack();
const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/operators/alice';
let uninstrument: (() => void) | undefined;
let operatorApi: (event: APIGatewayProxyEvent, context: Context) => Promise<{ statusCode: number; body: string }>;
let replayFunction: (event: unknown, context: Context) => Promise<unknown>;

beforeAll(async () => {
  // What serverless.yml gives the operator functions, pointing at this stack.
  Object.assign(process.env, { AWS_ENDPOINT_URL: stack.moto.endpoint, ...resourceEnvironment(stack.resources) });
  uninstrument = instrumentClients(awsClients(), stack.moto.endpoint);
  ({ handler: operatorApi } = await import('../../functions/operator-api'));
  ({ handler: replayFunction } = await import('../../functions/replay'));
}, 60_000);

afterAll(() => uninstrument?.());

/** A request to the operator API, as API Gateway hands it over after SigV4 authentication. */
async function api(method: string, resource: string, options: { path?: Record<string, string>; body?: unknown } = {}) {
  const response = await invoke('operatorApi', (context) =>
    operatorApi(
      {
        httpMethod: method,
        resource,
        pathParameters: options.path ?? null,
        queryStringParameters: null,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        isBase64Encoded: false,
        requestContext: { identity: { userArn: OPERATOR } },
      } as unknown as APIGatewayProxyEvent,
      context,
    ),
  );
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

const replayInvoke = (event: unknown) => invoke('replay', (context) => replayFunction(event, context));

/** Each finished attempt's completion event, as [status, attempt], in the order the consumer got them. */
async function announced(): Promise<[string, number][]> {
  const { sns, eventBridge } = await receivedEvents(stack);
  expect(eventBridge.map((event) => event.detail.eventId)).toEqual(sns.map((event) => event.detail.eventId));
  for (const event of sns) expect(validateEvent(event.detail)).toBe(true);
  return sns.map((event) => [event.detail.status as string, event.detail.attempt as number]);
}

test('the API replays a COMPLETED batch only when forced, queued and answered at once; ingestFile sends the same ids again', async () => {
  const key = 'inbound/acme/orders_forced.csv';
  await putInbound(stack, key, ordersFile(20));
  await drainFileEvents(stack);
  const batchId = await batchIdOfKey(stack, key);
  const first = await workItemIds(stack);
  expectExactlyOnce(first, batchId, 20);

  expect(await api('POST', '/batches/{batchId}/replay', { path: { batchId }, body: {} })).toEqual({
    status: 409,
    body: { code: 'NEEDS_FORCE', message: `batch ${batchId} is COMPLETED; a replay sends its work items again (with the same item ids)`, hint: 'add {"force":true} if that is what you want' },
  });
  expect(await api('POST', '/batches/{batchId}/replay', { path: { batchId }, body: { force: true } })).toEqual({
    status: 202,
    body: { dryRun: false, batchId, attempt: 2, status: 'QUEUED', tookOver: false },
  });
  await drainFileEvents(stack);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 2, counts: { workItemsSent: 20 } });
  expectExactlyOnce(await workItemIds(stack), batchId, 20);
  expect(await announced()).toEqual([
    ['COMPLETED', 1],
    ['COMPLETED', 2],
  ]);
  const audit = await stack.ledger.auditTrail(batchId);
  expect(audit.map((entry) => [entry.actor, entry.outcome])).toEqual([
    [OPERATOR, 'refused: NEEDS_FORCE'],
    [OPERATOR, 'queued attempt 2'],
  ]);
});

test('bad replay requests are 400s naming the field, and change nothing', async () => {
  const batchId = 'a'.repeat(32);
  const replay = (body: unknown) => api('POST', '/batches/{batchId}/replay', { path: { batchId }, body });
  expect(await replay({ force: 'yes' })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST', message: 'force must be true or false, got "yes"' } });
  expect(await replay({ forse: true })).toMatchObject({ status: 400, body: { message: expect.stringContaining('unknown field "forse"') } });
  expect(await replay({ actor: 'mallory' })).toMatchObject({ status: 400, body: { message: expect.stringContaining('unknown field "actor"') } });
  expect(await replay([])).toMatchObject({ status: 400 });
  expect(await replayInvoke({ batchId: 'nope' })).toEqual({ refused: { code: 'BAD_REQUEST', message: 'batchId must be a batch id (32 hex digits), got "nope"' } });
  expect(await replayInvoke({ batchId, actor: 'mallory' })).toMatchObject({ refused: { code: 'BAD_REQUEST' } });
  expect(await drainQueue(stack, stack.resources.fileEventsQueueUrl)).toEqual([]);
});

test('the replay function resumes a big batch that FAILED mid-validation: more segments, parallel ranges, COMPLETED', async () => {
  const config = tempDir();
  try {
    const ROWS = 12_000;
    const registry = packedOrdersRegistry(config.dir);
    const key = 'inbound/acme/orders_big_failed.csv';
    await putInbound(stack, key, `${[ORDERS_HEADER, ...Array.from({ length: ROWS }, (_, index) => orderRow(index + 1))].join('\n')}\n`);
    const batchId = await batchIdOfKey(stack, key);
    // Each invocation's clock runs out after its third read: a validation segment covers about 8,000 rows.
    const clock = { clock: spendPerRead(420_000) };
    const base = stack.deps({ registry, retryBaseSeconds: 0, busyRetrySeconds: 0 });
    const settings = { ...base.settings, chunkItems: 1000, maxSendRanges: 4, minChunksPerRange: 3 };
    // The first attempt: its first segment pauses, then the archive cannot be read again on the last delivery.
    let archiveReads = 0;
    const s3 = withFault(stack.clients.s3, (command) =>
      command instanceof GetObjectCommand && command.input.Key!.startsWith('archive/') && ++archiveReads > 1 ? Promise.reject(awsError('InternalError', 500)) : undefined,
    );
    await drainFileEvents(stack, { ...base, s3, settings, maxReceiveCount: 1 }, clock);
    const failed = (await stack.ledger.get(batchId))!;
    expect(failed).toMatchObject({ status: 'FAILED', attempt: 1 });
    expect(failed.validationProgress!.checkpoint.counts.records).toBeGreaterThan(0);
    expect(failed.validationProgress!.checkpoint.counts.records).toBeLessThan(ROWS);

    expect(await replayInvoke({ batchId })).toEqual({ dryRun: false, batchId, attempt: 2, status: 'QUEUED', tookOver: false });
    const deps: FileEventDeps = { ...base, settings };
    await drainFileEvents(stack, deps, clock);
    let senders = 0;
    for (;;) {
      const handled = await pumpAs('sendRange', { sqs: stack.clients.sqs, queueUrl: stack.resources.sendRangesQueueUrl, handler: (event, context) => processSendRanges(event, context, deps) });
      if (!handled) break;
      senders++;
    }
    expect(senders).toBe(4);
    const state = (await stack.ledger.get(batchId))!;
    expect(state).toMatchObject({ status: 'COMPLETED', attempt: 2, sendPlan: { ranges: 4 }, counts: { records: ROWS, valid: ROWS, workItemsSent: ROWS } });
    const ids = (await drainQueue(stack, stack.resources.workQueueUrl)).flatMap((message) => (JSON.parse(message.Body!) as { items: { itemId: string }[] }).items.map((item) => item.itemId));
    expectExactlyOnce(ids, batchId, ROWS);
    expect(await announced()).toEqual([
      ['FAILED', 1],
      ['COMPLETED', 2],
    ]);
    const audit = await stack.ledger.auditTrail(batchId);
    expect(audit.map((entry) => [entry.actor, entry.outcome])).toEqual([[expect.stringMatching(/^arn:aws:lambda:.*:function:replay$/), "queued attempt 2 (resuming the previous attempt's progress)"]]);
  } finally {
    config.cleanup();
  }
}, 300_000);

test('a replay whose run was lost is taken over once its lease has expired; a live lease is refused, naming holder and expiry', async () => {
  // A batch FAILED before sending anything: the work queue refused every send.
  const sqs = withFault(stack.clients.sqs, (command) =>
    command instanceof SendMessageBatchCommand && command.input.QueueUrl === stack.resources.workQueueUrl ? Promise.reject(awsError('AccessDenied', 403)) : undefined,
  );
  const key = 'inbound/acme/orders_lost_run.csv';
  await putInbound(stack, key, ordersFile(6));
  await drainFileEvents(stack, stack.deps({ sqs, maxReceiveCount: 1 }));
  const batchId = await batchIdOfKey(stack, key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'FAILED', counts: { workItemsSent: 0 } });

  // Replayed, then lost: the message never reaches ingestFile (as if the invocation that took it died).
  expect(await api('POST', '/batches/{batchId}/replay', { path: { batchId } })).toMatchObject({ status: 202, body: { attempt: 2 } });
  const { Messages = [] } = await stack.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.resources.fileEventsQueueUrl, WaitTimeSeconds: 1 }));
  expect(Messages).toHaveLength(1);
  await stack.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: stack.resources.fileEventsQueueUrl, ReceiptHandle: Messages[0]!.ReceiptHandle! }));
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'PROCESSING', attempt: 2 });

  // Within the grace after its lease expired, it is still refused, saying whose lease and until when.
  const early = await api('POST', '/batches/{batchId}/replay', { path: { batchId } });
  expect(early).toMatchObject({ status: 409, body: { code: 'BATCH_BUSY', message: expect.stringMatching(/attempt 2 holds its lease \(replay-request:.*\) until \d{4}-\d\d-\d\dT/) } });

  // Past the grace (the operator's clock a minute later): taken over, and ingestFile finishes the attempt.
  const later = { ...stack.operator(), clock: () => new Date(Date.now() + 60_000) };
  expect(await replayBatch({ batchId, actor: OPERATOR }, later, { remainingMs: () => 29_000, optionStyle: 'json' })).toEqual({
    dryRun: false,
    batchId,
    attempt: 2,
    status: 'QUEUED',
    tookOver: true,
  });
  await drainFileEvents(stack);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 2, counts: { workItemsSent: 6 } });
  expectExactlyOnce(await workItemIds(stack), batchId, 6);
  expect(await announced()).toEqual([
    ['FAILED', 1],
    ['COMPLETED', 2],
  ]);
  expect((await stack.ledger.auditTrail(batchId)).map((entry) => entry.outcome)).toEqual([
    "queued attempt 2 (resuming the previous attempt's progress)",
    'refused: BATCH_BUSY',
    expect.stringMatching(/^took over attempt 2: its lease had expired at .*; queued to carry on$/),
  ]);
});

test('redrive takes exactly one batch or all: every malformed filter is refused and nothing moves; a dry run counts and moves nothing', async () => {
  const [a, b] = ['a'.repeat(32), 'b'.repeat(32)];
  for (const [batch, n] of [[a, 1], [a, 2], [b, 3]] as const) {
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.resources.workDlqUrl,
        MessageBody: JSON.stringify({ envelopeVersion: 1, itemId: `${batch}:${n}`, batchId: batch }),
        MessageAttributes: { batchId: { DataType: 'String', StringValue: batch } },
      }),
    );
  }
  for (const body of [{ queue: 'work', batchId: '' }, { queue: 'work', batchId: null }, { queue: 'work', batchId: 7 }, { queue: 'work', batchID: a }, { queue: 'work' }, { queue: 'work', batchId: a, all: true }, { queue: 'work', all: 'yes' }, { queue: 'dlq', all: true }, 'all']) {
    const response = await api('POST', '/redrive', { body });
    expect([body, response.status, response.body.code]).toEqual([body, 400, 'BAD_REQUEST']);
  }
  const dry = await api('POST', '/redrive', { body: { queue: 'work', all: true, dryRun: true } });
  expect(dry).toEqual({ status: 200, body: { results: [{ queue: 'work', moved: 3, kept: 0, complete: true, batches: { [a]: 2, [b]: 1 } }] } });
  // Nothing moved, and every message is visible again at once.
  expect(await drainQueue(stack, stack.resources.workQueueUrl)).toEqual([]);
  expect(await drainQueue(stack, stack.resources.workDlqUrl)).toHaveLength(3);
  const audit = await stack.ledger.auditTrail();
  expect(audit.slice(-2).map((entry) => [entry.actor, entry.action, entry.outcome])).toEqual([
    [OPERATOR, 'redrive --queue work --all --dry-run', 'requested'],
    [OPERATOR, 'redrive --queue work --all --dry-run', 'would move 3'],
  ]);
});

test('a redrive of one batch ends, whatever the other batches in the DLQ, with theirs visible again at once', async () => {
  const mine = 'c'.repeat(32);
  const others = Array.from({ length: 25 }, (_, index) => index.toString(16).padStart(32, 'e'));
  for (const batch of [...others.slice(0, 12), mine, ...others.slice(12)]) {
    await stack.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: stack.resources.workDlqUrl, MessageBody: JSON.stringify({ batchId: batch }), MessageAttributes: { batchId: { DataType: 'String', StringValue: batch } } }),
    );
  }
  const moved = await api('POST', '/redrive', { body: { queue: 'work', batchId: mine } });
  expect(moved).toEqual({ status: 200, body: { results: [{ queue: 'work', moved: 1, kept: 25, complete: true }] } });
  expect((await drainQueue(stack, stack.resources.workQueueUrl)).map((message) => JSON.parse(message.Body!).batchId)).toEqual([mine]);
  expect(await drainQueue(stack, stack.resources.workDlqUrl)).toHaveLength(25);
});
