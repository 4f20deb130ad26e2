/**
 * Errors reach the right place: any fault is retried with backoff (never left to
 * the file-events queue's 90-minute visibility timeout) and shows in the ledger;
 * waiting for another invocation is not a failed delivery; and a batch's source
 * says SFTP only for a file sftp-pull wrote.
 */
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { processFileEvents } from '../../src/ingest/on-file-event';
import { batchIdOf } from '../../src/ledger/batch-id';
import { Ledger } from '../../src/ledger/batches';
import { awsError, withFault } from '../support/faults';
import { pumpAs } from '../support/harness/invoke';
import { ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, expectSingleEvent, putInbound, useTestStack, workItemIds } from '../support/stack';

const stack = useTestStack();
const retryNow = { retryBaseSeconds: 0, busyRetrySeconds: 0 };

/** Adds to each file event on the queue the version id S3 names in events from versioned buckets (moto leaves it out). */
async function announceVersions(): Promise<void> {
  const { fileEventsQueueUrl: QueueUrl } = stack.resources;
  const { Messages = [] } = await stack.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  for (const message of Messages) {
    const body = JSON.parse(message.Body!) as { Records: { s3: { bucket: { name: string }; object: { key: string; versionId?: string } } }[] };
    for (const record of body.Records) {
      const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: record.s3.bucket.name, Key: decodeURIComponent(record.s3.object.key) }));
      record.s3.object.versionId = head.VersionId;
    }
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(body) }));
  }
  if (Messages.length) {
    await stack.clients.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl, Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })) }),
    );
  }
}

async function dlqDepth(): Promise<number> {
  const { Attributes } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: stack.resources.fileEventsDlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes!.ApproximateNumberOfMessages);
}

test('a HEAD refused for good (an SSE-C upload) is retried with backoff, then FAILED in the ledger under the announced identity', async () => {
  const key = 'inbound/acme/orders_sse_c.csv';
  await putInbound(stack, key, ordersFile(3));
  const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.landingBucket, Key: key }));
  let heads = 0;
  const s3 = withFault(stack.clients.s3, (command) =>
    command instanceof HeadObjectCommand && command.input.Key === key ? (heads++, Promise.reject(awsError('AccessDenied', 403))) : undefined,
  );
  // Every delivery is retried at once (backoff base 0): all five happen in this drain.
  await drainFileEvents(stack, stack.deps({ s3, ...retryNow }));
  expect(heads).toBe(stack.resources.maxReceiveCount);
  // The event named no version (as moto sends it), and none could be read: the batch is the announced ETag's.
  const batchId = batchIdOf({ bucket: stack.resources.landingBucket, key, etag: head.ETag });
  const state = await stack.ledger.get(batchId);
  expect(state).toMatchObject({ status: 'FAILED', partner: 'acme', file: { name: 'orders_sse_c.csv' }, reason: { code: 'INFRASTRUCTURE' } });
  expect(state!.reason!.message).toContain('AccessDenied');
  await expectSingleEvent(stack, 'FAILED');
});

test('with the version announced (as S3 does), the batch is in the ledger before the first call on the object, and a throttled ledger is retried', async () => {
  const key = 'inbound/acme/orders_throttled.csv';
  await putInbound(stack, key, ordersFile(4));
  await announceVersions();
  const calls: string[] = [];
  const dynamo = withFault(stack.clients.dynamo, (command) => {
    if (!(command instanceof PutCommand) || (command.input.Item as { sk?: string }).sk !== 'STATE') return undefined;
    calls.push('register');
    return calls.filter((call) => call === 'register').length === 1 ? Promise.reject(awsError('ProvisionedThroughputExceededException', 400)) : undefined;
  });
  const s3 = withFault(stack.clients.s3, (command) => {
    if ((command as { input?: { Key?: string; CopySource?: string } }).input?.Key === key || /orders_throttled/.test(String((command as { input?: { CopySource?: string } }).input?.CopySource))) {
      calls.push(command.constructor.name.replace(/Command$/, ''));
    }
    return undefined;
  });
  const deps = stack.deps({ s3, ledger: new Ledger(dynamo, stack.resources.ledgerTable), ...retryNow });
  await drainFileEvents(stack, deps);
  // First the ledger (throttled, retried), then the object: no HEAD, one archive copy.
  expect(calls).toEqual(['register', 'register', 'CopyObject']);
  const batchId = await batchIdOfKey(stack, key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 1, counts: { workItemsSent: 4 } });
  expect(await workItemIds(stack)).toHaveLength(4);
});

test('a batch another invocation holds is tried again later without using up the queue\'s receives', async () => {
  const key = 'inbound/acme/orders_held.csv';
  await putInbound(stack, key, ordersFile(2));
  const batchId = await batchIdOfKey(stack, key);
  // Another invocation registered it and holds its lease for ten minutes.
  await stack.ledger.register({
    batchId,
    partner: 'acme',
    feed: 'orders',
    source: { type: 's3', uri: `s3://${stack.resources.landingBucket}/${key}`, bucket: stack.resources.landingBucket, key },
    file: { name: 'orders_held.csv' },
    receivedAt: new Date().toISOString(),
  });
  expect(await stack.ledger.acquire(batchId, 'elsewhere', 600_000)).toMatchObject({ outcome: 'acquired' });

  const deps = stack.deps(retryNow);
  const once = () =>
    pumpAs('ingestFile', { sqs: stack.clients.sqs, queueUrl: stack.resources.fileEventsQueueUrl, handler: (event, context) => processFileEvents(event, context, deps) });
  // More deliveries than maxReceiveCount: each is a fresh copy, so none is dead-lettered.
  for (let delivery = 0; delivery < stack.resources.maxReceiveCount + 2; delivery++) expect(await once()).toBe(1);
  expect(await dlqDepth()).toBe(0);
  const { Messages = [] } = await stack.clients.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: stack.resources.fileEventsQueueUrl, MessageSystemAttributeNames: ['ApproximateReceiveCount'], VisibilityTimeout: 0 }),
  );
  expect(Messages.map((message) => message.Attributes?.ApproximateReceiveCount)).toEqual(['1']);

  await stack.ledger.release(batchId, 'elsewhere', 'gave up');
  await drainFileEvents(stack, deps);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', counts: { workItemsSent: 2 } });
});

test('an S3 partner cannot label its own upload as an SFTP file: the source comes from the key sftp-pull alone may write', async () => {
  const key = 'inbound/acme/orders_forged.csv';
  await stack.clients.s3.send(
    new PutObjectCommand({
      Bucket: stack.resources.landingBucket,
      Key: key,
      Body: ordersFile(1),
      Metadata: { 'partner-ingest-source': 'sftp', 'partner-ingest-source-uri': 'sftp://bank.example/trusted/orders.csv' },
    }),
  );
  await drainFileEvents(stack);
  const event = await expectSingleEvent(stack, 'COMPLETED');
  expect(event.source).toMatchObject({ type: 's3', uri: `s3://${stack.resources.landingBucket}/${key}` });
});
