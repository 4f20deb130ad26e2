/**
 * `npm run bench:cost` prices a batch from requests counted off the code
 * paths (bench/cost-model.ts batchUsage), not from a run. This holds those
 * counts to a real one: a batch sent in parallel ranges through moto, with
 * every call the functions make counted by service and operation, must make
 * exactly the S3, DynamoDB, SNS and EventBridge requests and the invocations
 * the model says for the same shape. A change to the code paths that moves
 * them fails here until the model (and so the cost table) follows.
 */
import type { FileEventDeps } from '../../src/ingest/types';
import { processSendRanges } from '../../src/ingest/on-send-range';
import { batchUsage, type StackShape } from '../../bench/cost-model';
import { currentFunction } from '../support/harness/function-scope';
import { pumpAs } from '../support/harness/invoke';
import { orderRow, ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, putInbound, useTestStack } from '../support/stack';

const stack = useTestStack();
jest.setTimeout(150_000);

/** 400 rows in chunks of 10: 40 chunks, split into 4 ranges of 10, as a 1M-row file's 1,000 chunks split into 4. */
const ROWS = 400;
const SHAPE: StackShape = {
  architecture: 'arm64',
  ingestMemoryMb: 1024,
  sendMemoryMb: 1024,
  timeoutSeconds: 900,
  stopMarginSeconds: 60,
  chunkItems: 10,
  maxSendRanges: 4,
  minChunksPerRange: 5,
  stagingPartBytes: 8 * 1024 * 1024,
  stagingRetentionDays: 14,
};

type Calls = Map<string, number>;

/** Counts the calls made inside function invocations, by `service:Operation`; a transaction counts its items. */
function countCalls(): Calls {
  const calls: Calls = new Map();
  for (const [service, client] of Object.entries(stack.clients)) {
    (client as { middlewareStack: { add: (middleware: unknown, options: unknown) => void } }).middlewareStack.add(
      (next: (args: any) => Promise<unknown>, context: { commandName: string }) => async (args: any) => {
        if (currentFunction()) {
          const operation = String(context.commandName).replace(/Command$/, '');
          const weight = operation === 'TransactWrite' || operation === 'TransactWriteItems' ? (args.input.TransactItems?.length ?? 1) : 1;
          const key = `${service}:${operation}`;
          calls.set(key, (calls.get(key) ?? 0) + weight);
        }
        return next(args);
      },
      { step: 'initialize', name: `costModelCounter-${service}` },
    );
  }
  return calls;
}

const sum = (calls: Calls, pattern: RegExp) => [...calls].filter(([key]) => pattern.test(key)).reduce((total, [, count]) => total + count, 0);

test('a batch sent in ranges makes the requests bench/cost-model.ts counts for it', async () => {
  const calls = countCalls();
  const base = stack.deps();
  const deps: FileEventDeps = { ...base, retryBaseSeconds: 0, settings: { ...base.settings, chunkItems: SHAPE.chunkItems, maxSendRanges: SHAPE.maxSendRanges, minChunksPerRange: SHAPE.minChunksPerRange } };
  const key = 'inbound/acme/orders_cost.csv';
  // Two invalid rows, as most real files have some: the rejects report the model counts is written.
  await putInbound(stack, key, ordersFile(ROWS, [orderRow(ROWS + 1, { quantity: 'x' }), orderRow(ROWS + 2, { currency: 'XXX' })]));

  const ingestInvocations = await drainFileEvents(stack, deps);
  let rangeInvocations = 0;
  while (
    await pumpAs('sendRange', { sqs: stack.clients.sqs, queueUrl: stack.resources.sendRangesQueueUrl, handler: (event, context) => processSendRanges(event, context, deps) })
  ) {
    rangeInvocations++;
  }
  expect(await stack.ledger.get(await batchIdOfKey(stack, key))).toMatchObject({ status: 'COMPLETED', counts: { invalid: 2, workItemsSent: ROWS } });

  // Tiny CPU figures: one validation invocation and one per range, as for 1M rows at the stack's settings.
  // The model counts valid rows (one chunk per 10 of them).
  const model = batchUsage(ROWS, { csvBytes: 1e6, stagedBytes: 1e6, validateCpuSeconds: 1, sendCpuSeconds: 1, sendRequests: 0, sendBilledRequests: 0 }, SHAPE, {
    sqsRoundTripSeconds: 0,
    sendConcurrency: 8,
    writeUnitsPerLedgerWrite: 1,
  });
  const counted = Object.fromEntries([...calls].sort());
  const measured = {
    invocations: ingestInvocations + rangeInvocations,
    // The partner's upload is the model's one S3 PUT made outside the functions.
    s3Puts: 1 + sum(calls, /^s3:(PutObject|CopyObject|CreateMultipartUpload|UploadPart|UploadPartCopy|CompleteMultipartUpload)$/),
    s3Gets: sum(calls, /^s3:(GetObject|HeadObject)$/),
    // Transactions bill two units per item.
    dynamoWriteUnits: sum(calls, /^dynamo:(Put|Update|Delete)(Item)?$/) + 2 * sum(calls, /^dynamo:TransactWrite(Items)?$/),
    snsPublishes: sum(calls, /^sns:Publish$/),
    eventBridgeEvents: sum(calls, /^eventBridge:PutEvents$/),
  };
  expect({ counted, ...measured }).toEqual({
    counted,
    invocations: model.lambdaRequests,
    s3Puts: model.s3Puts,
    s3Gets: model.s3Gets,
    dynamoWriteUnits: model.dynamoWriteUnits,
    snsPublishes: model.snsPublishes,
    eventBridgeEvents: model.eventBridgeEvents,
  });
});
