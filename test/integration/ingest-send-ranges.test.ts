/**
 * The send phase fanned out (issue 7): a batch's staged chunks are split into
 * ranges sent by parallel invocations, each under its own lease and checkpoint;
 * the batch completes, with one completion event, only when every range is
 * acknowledged. A range that cannot finish makes the batch FAILED with the
 * progress kept, and a replay resumes from it.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { FileEventDeps } from '../../src/ingest/types';
import { processSendRanges } from '../../src/ingest/on-send-range';
import { enqueueRanges } from '../../src/work-items/range-sender';
import { awsError, withFault } from '../support/faults';
import { pumpAs } from '../support/harness/invoke';
import { ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, expectExactlyOnce, putInbound, receivedEvents, requestReplay, useTestStack, validateEvent, workItemIds } from '../support/stack';

const stack = useTestStack();
// Each test drives several invocations against moto (about 25 s alone); a loaded machine doubles that.
jest.setTimeout(150_000);

/** 400 rows in chunks of 10: 40 chunks, split into 4 ranges of 10 chunks. */
const ROWS = 400;
function fanOutDeps(overrides: Partial<FileEventDeps> = {}): FileEventDeps {
  const base = stack.deps();
  return {
    ...base,
    retryBaseSeconds: 0,
    ...overrides,
    settings: { ...base.settings, chunkItems: 10, maxSendRanges: 4, minChunksPerRange: 5 },
  };
}

/** Runs the range senders like the event source mapping with `parallel` concurrent invocations, until the queue is empty. */
async function drainSendRanges(deps: FileEventDeps, parallel = 4): Promise<number> {
  let invocations = 0;
  const worker = async () => {
    for (;;) {
      const handled = await pumpAs('sendRange', {
        sqs: stack.clients.sqs,
        queueUrl: stack.resources.sendRangesQueueUrl,
        handler: (event, context) => processSendRanges(event, context, deps),
      });
      if (!handled) return;
      invocations++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return invocations;
}


test('a big batch is sent in parallel ranges and completes once, when every range is acknowledged', async () => {
  const key = 'inbound/acme/orders_ranges.csv';
  await putInbound(stack, key, ordersFile(ROWS));
  const batchId = await batchIdOfKey(stack, key);
  const deps = fanOutDeps();

  await drainFileEvents(stack, deps);
  const dispatched = await stack.ledger.get(batchId);
  expect(dispatched).toMatchObject({ status: 'PROCESSING', sendPlan: { plan: 1, ranges: 4 }, leaseExpiresAt: 0 });
  const planned = await deps.ranges.list(batchId, 1);
  expect(planned.map((range) => [range.fromChunk, range.toChunk, range.status])).toEqual([
    [0, 10, 'PENDING'],
    [10, 20, 'PENDING'],
    [20, 30, 'PENDING'],
    [30, 40, 'PENDING'],
  ]);
  expect((await receivedEvents(stack)).sns).toHaveLength(0); // nothing announced before the ranges are sent

  expect(await drainSendRanges(deps)).toBe(4);
  const state = await stack.ledger.get(batchId);
  expect(state).toMatchObject({ status: 'COMPLETED', counts: { records: ROWS, valid: ROWS, workItemsSent: ROWS } });
  expect((await deps.ranges.list(batchId, 1)).every((range) => range.status === 'DONE' && range.nextChunk === range.toChunk)).toBe(true);
  expectExactlyOnce(await workItemIds(stack), batchId, ROWS);
  const { sns, eventBridge } = await receivedEvents(stack);
  expect(sns).toHaveLength(1);
  expect(eventBridge).toHaveLength(1);
  expect(validateEvent(sns[0]!.detail)).toBe(true);
  expect((sns[0]!.detail as { counts: { workItemsSent: number } }).counts.workItemsSent).toBe(ROWS);
});

test('duplicate range messages neither send twice nor complete the batch twice', async () => {
  const key = 'inbound/acme/orders_ranges_dup.csv';
  await putInbound(stack, key, ordersFile(ROWS));
  const batchId = await batchIdOfKey(stack, key);
  const deps = fanOutDeps();
  await drainFileEvents(stack, deps);
  // As a second dispatch of the same plan (a duplicate S3 event) would: every range queued again.
  await enqueueRanges(stack.clients.sqs, stack.resources.sendRangesQueueUrl, [0, 1, 2, 3].map((index) => ({ batchId, plan: 1, index })));

  await drainSendRanges(deps);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', counts: { workItemsSent: ROWS } });
  expectExactlyOnce(await workItemIds(stack), batchId, ROWS);
  expect((await receivedEvents(stack)).sns).toHaveLength(1);
});

test('a range that keeps failing makes the batch FAILED with every range checkpoint kept; a replay resumes from them', async () => {
  const key = 'inbound/acme/orders_ranges_fail.csv';
  await putInbound(stack, key, ordersFile(ROWS));
  const batchId = await batchIdOfKey(stack, key);
  await drainFileEvents(stack, fanOutDeps());

  // Range 2 (records 201–300) gets three chunks out, then SQS refuses everything it sends.
  let range2Batches = 0;
  const sqs = withFault(stack.clients.sqs, (command) => {
    if (!(command instanceof SendMessageBatchCommand) || command.input.QueueUrl !== stack.resources.workQueueUrl) return undefined;
    const first = JSON.parse(command.input.Entries![0]!.MessageBody!) as { recordNumber: number };
    if (first.recordNumber <= 200 || first.recordNumber > 300) return undefined;
    return ++range2Batches > 3 ? Promise.reject(awsError('InternalError', 500)) : undefined;
  });
  await drainSendRanges(fanOutDeps({ sqs, maxReceiveCount: 2 }), 1);

  const failed = await stack.ledger.get(batchId);
  expect(failed).toMatchObject({ status: 'FAILED', reason: { code: 'INFRASTRUCTURE' }, sendPlan: { ranges: 4 } });
  expect(failed!.reason!.message).toContain('send range 2');
  const ranges = await stack.deps().ranges.list(batchId, 1);
  // Range 2 failed after its third chunk; once the batch was FAILED the others stopped where they were.
  expect(ranges[2]).toMatchObject({ status: 'FAILED', fromChunk: 20, nextChunk: 23 });
  expect(ranges.filter((range) => range.index !== 2).every((range) => range.status !== 'FAILED')).toBe(true);
  const sentBefore = await workItemIds(stack);
  const range2 = (id: string) => Number(id.split(':')[1]) > 200 && Number(id.split(':')[1]) <= 300;
  expect(sentBefore.filter(range2).sort()).toEqual(Array.from({ length: 30 }, (_, index) => `${batchId}:${201 + index}`).sort());
  const events = await receivedEvents(stack);
  expect(events.sns.map((event) => event.detail.status)).toEqual(['FAILED']);

  // The replay carries on from the checkpoints: nothing acknowledged before goes out again. ingestFile runs
  // it, reopening the failed range and queuing the open ranges for the range senders again.
  const queued = await requestReplay(stack, { batchId });
  expect(queued).toMatchObject({ dryRun: false, attempt: 2, status: 'QUEUED' });
  await drainFileEvents(stack, fanOutDeps());
  await drainSendRanges(fanOutDeps());
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 2, counts: { workItemsSent: ROWS } });
  const resent = await workItemIds(stack);
  expect(resent.filter(range2)).toHaveLength(70);
  expectExactlyOnce([...sentBefore, ...resent], batchId, ROWS);
  expect((await receivedEvents(stack)).sns.map((event) => event.detail.status)).toEqual(['COMPLETED']);
});
