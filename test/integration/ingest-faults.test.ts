import { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand } from '@aws-sdk/client-sns';
import { EventPublisher } from '../../src/completion/publisher';
import { processFileEvents } from '../../src/ingest/on-file-event';
import {
  batchIdOfKey as batchIdOfKeyIn,
  drainFileEvents,
  expectExactlyOnce,
  FAST_BACKOFF,
  putInbound,
  receivedEvents,
  replayToEnd,
  useTestStack,
  validateEvent,
  workItemIds,
} from '../support/stack';
import { awsError, withFault } from '../support/faults';
import { pumpAs } from '../support/harness/invoke';
import { ordersFile } from '../support/orders';

const stack = useTestStack();

const batchIdOfKey = (key: string) => batchIdOfKeyIn(stack, key);

const itemIds = () => workItemIds(stack);


/** Retries happen at once in tests: the redelivery delay is set to zero. */
const retryNow = { retryBaseSeconds: 0 };

test('a partial SendMessageBatch failure resends only the failed entries', async () => {
  let injected = 0;
  const sqs = withFault(stack.clients.sqs, (command, real) => {
    if (!(command instanceof SendMessageBatchCommand) || injected >= 3) return undefined;
    injected++;
    const entries = command.input.Entries as SendMessageBatchRequestEntry[];
    const [kept, refused] = [entries.slice(0, 4), entries.slice(4)];
    return real(new SendMessageBatchCommand({ ...command.input, Entries: kept })).then((response) => ({
      ...response,
      Failed: refused.map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'ServiceUnavailable', Message: 'injected' })),
    }));
  });
  const key = 'inbound/acme/orders_partial.csv';
  await putInbound(stack, key, ordersFile(40));
  await drainFileEvents(stack, stack.deps({ sqs, ...retryNow }));
  expect(injected).toBe(3);
  expectExactlyOnce(await itemIds(), await batchIdOfKey(key), 40);
  const { sns, eventBridge } = await receivedEvents(stack);
  expect(sns.map((event) => event.detail.status)).toEqual(['COMPLETED']);
  expect(eventBridge).toHaveLength(1);
});

test('EventBridge reporting FailedEntryCount > 0 is retried until the event is accepted, once', async () => {
  let refusals = 0;
  const eventBridge = withFault(stack.clients.eventBridge, (command) => {
    if (!(command instanceof PutEventsCommand) || refusals >= 2) return undefined;
    refusals++;
    return Promise.resolve({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'injected' }] });
  });
  const publisher = new EventPublisher(
    stack.clients.sns,
    eventBridge,
    { topicArn: stack.resources.eventsTopicArn, busName: stack.resources.eventBusName },
    FAST_BACKOFF,
  );
  await putInbound(stack, 'inbound/acme/orders_eventbridge.csv', ordersFile(5));
  await drainFileEvents(stack, stack.deps({ publisher }));
  expect(refusals).toBe(2);
  const events = await receivedEvents(stack);
  expect(events.eventBridge).toHaveLength(1);
  expect(events.sns).toHaveLength(1);
});

test('an S3 read error in the middle of the file interrupts the attempt; the retry resumes and sends each item once', async () => {
  let broken = 0;
  const s3 = withFault(stack.clients.s3, (command, real) => {
    if (!(command instanceof GetObjectCommand) || !command.input.Key!.startsWith('archive/') || broken) return undefined;
    broken++;
    return real(command).then(async (response) => {
      const whole = Buffer.from(await response.Body.transformToByteArray());
      async function* failing() {
        yield whole.subarray(0, 500);
        throw awsError('ECONNRESET', 0);
      }
      return { ...response, Body: Readable.from(failing()) };
    });
  });
  const key = 'inbound/acme/orders_s3error.csv';
  await putInbound(stack, key, ordersFile(60));
  const deps = stack.deps({ s3, ...retryNow });
  await drainFileEvents(stack, deps);
  expect(broken).toBe(1);
  const batchId = await batchIdOfKey(key);
  const state = await stack.ledger.get(batchId);
  expect(state).toMatchObject({ status: 'COMPLETED', attempt: 1, counts: { records: 60, valid: 60, workItemsSent: 60 } });
  expect(state!.lastError).toContain('ECONNRESET');
  expectExactlyOnce(await itemIds(), batchId, 60);
  expect((await receivedEvents(stack)).sns).toHaveLength(1);
});

test('a crash between two sends resumes from the checkpoint: no gap, no duplicate outside the interrupted chunk', async () => {
  let batches = 0;
  const sqs = withFault(stack.clients.sqs, (command) => {
    if (!(command instanceof SendMessageBatchCommand)) return undefined;
    batches++;
    // Chunks hold 10 items (one SendMessageBatch each); the 3rd chunk's send dies.
    return batches === 3 ? Promise.reject(awsError('AccessDenied', 403)) : undefined;
  });
  const key = 'inbound/acme/orders_crash.csv';
  await putInbound(stack, key, ordersFile(50));
  const settings = { ...stack.deps().settings, chunkItems: 10 };
  await drainFileEvents(stack, stack.deps({ sqs, settings, ...retryNow }));
  const batchId = await batchIdOfKey(key);
  const state = await stack.ledger.get(batchId);
  expect(state).toMatchObject({ status: 'COMPLETED', attempt: 1, sendCheckpoint: 5, counts: { workItemsSent: 50 } });
  expectExactlyOnce(await itemIds(), batchId, 50);
});

test('running out of invocation time pauses at a checkpoint and the next invocation finishes', async () => {
  const key = 'inbound/acme/orders_pause.csv';
  await putInbound(stack, key, ordersFile(30));
  const batchId = await batchIdOfKey(key);
  let sends = 0;
  const sqs = withFault(stack.clients.sqs, (command) => {
    if (command instanceof SendMessageBatchCommand) sends++;
    return undefined;
  });
  // A stop margin longer than the whole invocation: it stops after validating, before sending.
  const pausing = stack.deps({ sqs, settings: { ...stack.deps().settings, chunkItems: 10, stopMarginMs: 10_000_000 } });
  await pumpAs('ingestFile', {
    sqs: stack.clients.sqs,
    queueUrl: stack.resources.fileEventsQueueUrl,
    handler: (event, context) => processFileEvents(event, context, pausing),
  });
  expect(sends).toBe(0);
  const paused = await stack.ledger.get(batchId);
  expect(paused).toMatchObject({ status: 'PROCESSING', sendCheckpoint: 0, validation: { status: 'COMPLETED' } });
  await drainFileEvents(stack);
  expectExactlyOnce(await itemIds(), batchId, 30);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 1 });
});

test('a failed publish never leaves a finished batch unannounced: the redelivery publishes what is missing', async () => {
  let refused = 0;
  const sns = withFault(stack.clients.sns, (command) => {
    if (!(command instanceof PublishCommand) || refused) return undefined;
    refused++;
    return Promise.reject(awsError('AuthorizationError', 403));
  });
  const deps = stack.deps({ ...retryNow });
  const publisher = new EventPublisher(sns, stack.clients.eventBridge, {
    topicArn: stack.resources.eventsTopicArn,
    busName: stack.resources.eventBusName,
  });
  const key = 'inbound/acme/orders_publish.csv';
  await putInbound(stack, key, ordersFile(4));
  await drainFileEvents(stack, { ...deps, publisher });
  expect(refused).toBe(1);
  const { sns: viaSns, eventBridge } = await receivedEvents(stack);
  expect(viaSns).toHaveLength(1);
  expect(eventBridge).toHaveLength(1);
  expect(validateEvent(viaSns[0]!.detail)).toBe(true);
  expect(await itemIds()).toHaveLength(4);
  const state = await stack.ledger.get(await batchIdOfKey(key));
  expect(state).toMatchObject({ status: 'COMPLETED', announcedSns: 1, announcedEventBridge: 1 });
});

test('when retries run out the batch is FAILED, announced, and keeps its progress', async () => {
  const s3 = withFault(stack.clients.s3, (command) =>
    command instanceof GetObjectCommand && command.input.Key!.startsWith('archive/')
      ? Promise.reject(awsError('InternalError', 500))
      : undefined,
  );
  const key = 'inbound/acme/orders_failed.csv';
  await putInbound(stack, key, ordersFile(3));
  await drainFileEvents(stack, stack.deps({ s3, maxReceiveCount: 2, ...retryNow }));
  const state = await stack.ledger.get(await batchIdOfKey(key));
  expect(state).toMatchObject({ status: 'FAILED', attempt: 1, reason: { code: 'INFRASTRUCTURE' } });
  expect(state!.archive).toBeDefined();
  expect(await itemIds()).toHaveLength(0);
  const { sns } = await receivedEvents(stack);
  expect(sns).toHaveLength(1);
  expect(sns[0]!.detail).toMatchObject({ status: 'FAILED', reason: { code: 'INFRASTRUCTURE' } });
  expect(validateEvent(sns[0]!.detail)).toBe(true);
});

test('a batch FAILED in the middle of sending keeps its progress; a replay resumes from it instead of starting over', async () => {
  let batches = 0;
  const sqs = withFault(stack.clients.sqs, (command) => {
    if (!(command instanceof SendMessageBatchCommand)) return undefined;
    // Chunks hold 10 items (one SendMessageBatch each): two chunks go out, then SQS keeps failing.
    return ++batches > 2 ? Promise.reject(awsError('InternalError', 500)) : undefined;
  });
  const key = 'inbound/acme/orders_failed_midway.csv';
  await putInbound(stack, key, ordersFile(50));
  const settings = { ...stack.deps().settings, chunkItems: 10 };
  await drainFileEvents(stack, stack.deps({ sqs, settings, maxReceiveCount: 2, ...retryNow }));
  const batchId = await batchIdOfKey(key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'FAILED', sendCheckpoint: 2, counts: { workItemsSent: 20 } });
  expectExactlyOnce(await itemIds(), batchId, 20);

  const replayed = await replayToEnd(stack, { batchId }, stack.deps({ settings }));
  expect(replayed).toMatchObject({ status: 'COMPLETED', attempt: 2, sendCheckpoint: 5, counts: { workItemsSent: 50 } });
  // Only the 30 items the failed attempt had not sent: nothing before the checkpoint again.
  const rest = await itemIds();
  expect(rest.sort()).toEqual(Array.from({ length: 30 }, (_, index) => `${batchId}:${index + 21}`).sort());
  const trail = await stack.ledger.auditTrail(batchId);
  expect(trail.map((entry) => entry.outcome)).toContain("queued attempt 2 (resuming the previous attempt's progress)");
});

test('--from-scratch replays a FAILED batch from the raw file, sending everything again with the same ids', async () => {
  const s3 = withFault(stack.clients.s3, (command) =>
    command instanceof GetObjectCommand && command.input.Key!.startsWith('staging/') ? Promise.reject(awsError('InternalError', 500)) : undefined,
  );
  const key = 'inbound/acme/orders_failed_scratch.csv';
  await putInbound(stack, key, ordersFile(12));
  await drainFileEvents(stack, stack.deps({ s3, maxReceiveCount: 2, ...retryNow }));
  const batchId = await batchIdOfKey(key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'FAILED', validation: { status: 'COMPLETED' } });
  const replayed = await replayToEnd(stack, { batchId, fromScratch: true });
  expect(replayed).toMatchObject({ status: 'COMPLETED', attempt: 2, counts: { workItemsSent: 12 } });
  expect(replayed.validation!.staging!.key).toContain('/attempt-2/');
  expectExactlyOnce(await itemIds(), batchId, 12);
});
