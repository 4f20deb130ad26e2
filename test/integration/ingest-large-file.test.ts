/**
 * A file too big for one invocation (issue 7): ingestFile runs with its packaged
 * timeout and stop margin on a clock that advances with the work — every read of
 * the remaining time spends 42 s of it, so an invocation runs out after about 20
 * reads (the validation pass reads it every 4096 records, the sender before every
 * chunk), whatever the machine's speed. A 200,000-row file takes several
 * invocations — validation pauses at record boundaries and resumes from the
 * ledger's checkpoint, sending pauses at chunk boundaries — and still ends with
 * exact counts, every item id exactly once on the work queue, and one completion event.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { processFileEvents } from '../../src/ingest/on-file-event';
import { tempDir } from '../support/csv-cases';
import { pumpAs, spendPerRead } from '../support/harness/invoke';
import { ORDERS_HEADER, orderRow, packedOrdersRegistry } from '../support/orders';
import { batchIdOfKey, drainQueue, putInbound, receivedEvents, useTestStack, validateEvent } from '../support/stack';

const stack = useTestStack();
const config = tempDir();

afterAll(() => config.cleanup());

const ROWS = 200_000;
/** Every 1000th row is invalid (quantity "many"); the feed allows 10%. */
function largeFile(): string {
  const rows = [ORDERS_HEADER];
  for (let n = 1; n <= ROWS; n++) rows.push(orderRow(n, n % 1000 === 0 ? { quantity: 'many' } : {}));
  return `${rows.join('\n')}\n`;
}

interface Packed {
  items: { itemId: string; recordNumber: number }[];
}

test('a 200,000-row file completes across several invocations with exact counts, each item once, one event', async () => {
  const key = 'inbound/acme/orders_large.csv';
  const file = largeFile();
  await putInbound(stack, key, file);
  const batchId = await batchIdOfKey(stack, key);
  const deps = stack.deps({
    registry: packedOrdersRegistry(config.dir),
    retryBaseSeconds: 0,
    settings: { ...stack.deps().settings, chunkItems: 2000 },
  });

  let invocations = 0;
  const segmentsSeen = new Set<number>();
  for (; invocations < 500; invocations++) {
    const handled = await pumpAs(
      'ingestFile',
      { sqs: stack.clients.sqs, queueUrl: stack.resources.fileEventsQueueUrl, handler: (event, context) => processFileEvents(event, context, deps) },
      { clock: spendPerRead(42_000) },
    );
    if (!handled) break;
    const state = await stack.ledger.get(batchId);
    if (state?.validationProgress) segmentsSeen.add(state.validationProgress.staged.next);
  }

  const state = (await stack.ledger.get(batchId))!;
  expect(state.validationProgress).toBeUndefined(); // the pass is over: no checkpoint left behind
  expect(state).toMatchObject({
    status: 'COMPLETED',
    attempt: 1,
    counts: { records: ROWS, valid: ROWS - ROWS / 1000, invalid: ROWS / 1000, workItemsSent: ROWS - ROWS / 1000 },
  });
  // Validation itself paused and resumed, and sending took further invocations.
  expect(segmentsSeen.size).toBeGreaterThanOrEqual(2);
  expect(invocations).toBeGreaterThan(segmentsSeen.size + 1);

  // Every valid record's item id exactly once across the packed messages, none of the invalid ones.
  const messages = await drainQueue(stack, stack.resources.workQueueUrl);
  const seen = new Uint8Array(ROWS + 1);
  let duplicates = 0;
  for (const message of messages) {
    for (const item of (JSON.parse(message.Body!) as Packed).items) {
      expect(item.itemId).toBe(`${batchId}:${item.recordNumber}`);
      if (seen[item.recordNumber]!++) duplicates++;
    }
  }
  expect(duplicates).toBe(0);
  const missing = [];
  for (let n = 1; n <= ROWS; n++) if (!seen[n] !== (n % 1000 === 0)) missing.push(n);
  expect(missing).toEqual([]);

  // The rejects report gathered the invalid rows of every segment, in file order.
  const report = await stack.clients.s3.send(
    new GetObjectCommand({ Bucket: state.validation!.rejects!.bucket, Key: state.validation!.rejects!.key }),
  );
  const reportLines = (await report.Body!.transformToString()).trim().split('\r\n');
  expect(reportLines.slice(1).map((line) => Number(line.split(',')[1]))).toEqual(
    Array.from({ length: ROWS / 1000 }, (_, index) => (index + 1) * 1000),
  );

  const { sns, eventBridge } = await receivedEvents(stack);
  expect(sns).toHaveLength(1);
  expect(eventBridge).toHaveLength(1);
  expect(validateEvent(sns[0]!.detail)).toBe(true);
  expect(sns[0]!.detail.counts).toMatchObject({ records: ROWS, valid: ROWS - ROWS / 1000, invalid: ROWS / 1000 });
  // The file's facts cover all of it, though no single invocation read it whole through the parser.
  expect(sns[0]!.detail.file).toMatchObject({ bytes: Buffer.byteLength(file), sha256: createHash('sha256').update(file).digest('hex') });
}, 600_000);
