import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { processFileEvents } from '../../src/ingest/on-file-event';
import { invoke } from '../support/harness/invoke';
import {
  batchIdOfKey as batchIdOfKeyIn,
  drainFileEvents,
  drainQueue,
  expectSingleEvent,
  putInbound,
  receivedEvents,
  useTestStack,
} from '../support/stack';
import { gzip, orderRow, ordersFile, ORDERS_HEADER } from '../support/orders';
import { pushedKeyOf } from '../../src/landing/layout';
import { SOURCE_URI_METADATA } from '../../src/landing/archive';

const stack = useTestStack();

const batchIdOfKey = (key: string) => batchIdOfKeyIn(stack, key);

async function readText(key: string): Promise<string> {
  const { Body } = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: key }));
  return Body!.transformToString();
}

async function workItems() {
  const messages = await drainQueue(stack, stack.resources.workQueueUrl);
  return messages.map((message) => ({ body: JSON.parse(message.Body!), attributes: message.MessageAttributes ?? {} }));
}


test('a clean file becomes one work item per row, a ledger row and one completion event per channel', async () => {
  const key = 'inbound/acme/orders_2026-11-20.csv';
  const content = ordersFile(25);
  await putInbound(stack, key, content);
  expect(await drainFileEvents(stack)).toBe(1);

  const batchId = await batchIdOfKey(key);
  const items = await workItems();
  expect(items).toHaveLength(25);
  const ids = items.map((item) => item.body.itemId).sort();
  expect(new Set(ids).size).toBe(25);
  const first = items.find((item) => item.body.recordNumber === 1)!;
  expect(first.body).toEqual({
    envelopeVersion: 1,
    itemId: `${batchId}:1`,
    batchId,
    partner: 'acme',
    feed: 'orders',
    schema: { id: 'orders', version: 1, uri: 'urn:partner-ingest:schema:records:orders:v1' },
    recordNumber: 1,
    line: 2,
    record: {
      order_id: 'ORD-000000001',
      customer_id: 'CUST-1',
      sku: 'SKU-1',
      quantity: 2,
      unit_price: '2.01',
      currency: 'USD',
      order_date: '2026-11-20',
      email: 'buyer1@example.com',
    },
  });
  expect(first.attributes.partner?.StringValue).toBe('acme');
  expect(first.attributes.feed?.StringValue).toBe('orders');
  expect(first.attributes.schema?.StringValue).toBe('orders.v1');

  const state = await stack.ledger.get(batchId);
  expect(state).toMatchObject({
    status: 'COMPLETED',
    attempt: 1,
    counts: { records: 25, valid: 25, invalid: 0, workItemsSent: 25 },
    file: { name: 'orders_2026-11-20.csv', bytes: Buffer.byteLength(content) },
  });
  expect(state!.validation!.rejects).toBeUndefined();
  expect(await readText(state!.archive!.key)).toBe(content);
  expect(state!.archive!.key).toMatch(new RegExp(`^archive/acme/\\d{4}-\\d{2}-\\d{2}/${batchId}/orders_2026-11-20.csv$`));

  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail).toMatchObject({
    batchId,
    attempt: 1,
    status: 'COMPLETED',
    partner: 'acme',
    feed: 'orders',
    source: { type: 's3', uri: `s3://${stack.resources.landingBucket}/${key}` },
    file: { name: 'orders_2026-11-20.csv', bytes: Buffer.byteLength(content), sha256: state!.file.sha256 },
    counts: { records: 25, valid: 25, invalid: 0, workItemsSent: 25 },
    rejectsReport: null,
    reason: null,
  });
});

test('a pushed file (handed off to pushed/ once its SFTP upload completed) is ingested as an sftp-push batch naming its SFTP path and user', async () => {
  const key = pushedKeyOf('acme', '0123456789abcdef0123456789abcdef', 'orders_2026-11-21.csv');
  const uri = 'sftp://s-0123456789abcdef0.server.transfer.eu-west-1.amazonaws.com/orders_2026-11-21.csv';
  // As the push hand-off writes it (only its role may write pushed/): the SFTP path in the metadata.
  await stack.clients.s3.send(
    new PutObjectCommand({ Bucket: stack.resources.landingBucket, Key: key, Body: ordersFile(3), Metadata: { [SOURCE_URI_METADATA]: uri } }),
  );
  expect(await drainFileEvents(stack)).toBe(1);
  expect(await workItems()).toHaveLength(3);
  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail).toMatchObject({
    partner: 'acme',
    feed: 'orders',
    source: { type: 'sftp-push', uri, user: 'acme', bucket: stack.resources.landingBucket, key },
    file: { name: 'orders_2026-11-21.csv' },
  });
  expect((await stack.ledger.get(detail.batchId))!.source).toMatchObject({ type: 'sftp-push', uri, user: 'acme' });
});

test('a file with a few invalid rows completes; the rejects report names line, column and code, with formulas escaped', async () => {
  const key = 'inbound/acme/orders_2026-11-21.csv';
  const bad = [orderRow(900, { quantity: 'lots' }), orderRow(901, { customer_id: '"=HYPERLINK(""http://x"")"' }).replace('SKU-4', 'bad sku')];
  await putInbound(stack, key, ordersFile(20, bad));
  await drainFileEvents(stack);

  expect(await workItems()).toHaveLength(20);
  const batchId = await batchIdOfKey(key);
  const state = await stack.ledger.get(batchId);
  expect(state).toMatchObject({ status: 'COMPLETED', counts: { records: 22, valid: 20, invalid: 2, workItemsSent: 20 } });
  const report = await readText(state!.validation!.rejects!.key);
  const lines = report.trim().split('\r\n');
  expect(lines[0]).toBe('line,record,column,code,message,row');
  expect(lines[1]).toMatch(/^22,21,quantity,INVALID_TYPE,/);
  expect(lines[2]).toMatch(/^23,22,sku,PATTERN_MISMATCH,/);
  // The row cell begins with the order id; the customer cell that began with "=" is inside it, quoted.
  expect(report).toContain(`"ORD-000000901,""=HYPERLINK(""""http://x"""")"",bad sku`);
  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail.rejectsReport).toMatchObject({ key: state!.validation!.rejects!.key, rows: 2, truncated: false });
});

test('a file over the error threshold is REJECTED and sends no work items', async () => {
  const key = 'inbound/acme/orders_2026-11-22.csv';
  await putInbound(stack, key, ordersFile(8, [orderRow(50, { currency: 'JPY' }), orderRow(51, { currency: 'CHF' })]));
  await drainFileEvents(stack);

  expect(await workItems()).toHaveLength(0);
  const state = await stack.ledger.get(await batchIdOfKey(key));
  expect(state).toMatchObject({
    status: 'REJECTED',
    counts: { records: 10, valid: 8, invalid: 2, workItemsSent: 0 },
    reason: { code: 'TOO_MANY_INVALID_ROWS' },
  });
  const detail = await expectSingleEvent(stack, 'REJECTED');
  expect(detail.reason.code).toBe('TOO_MANY_INVALID_ROWS');
  expect(detail.counts.workItemsSent).toBe(0);
  const report = await readText(state!.validation!.rejects!.key);
  expect(report).toContain('NOT_ALLOWED');
  expect(report).toContain('TOO_MANY_INVALID_ROWS');
});

test('a file with the wrong header is REJECTED naming the columns, and the raw file is archived', async () => {
  const key = 'inbound/acme/orders_2026-11-23.csv';
  const content = 'order_id;customer_id;sku\nORD-000000001;C;S\n';
  await putInbound(stack, key, content);
  await drainFileEvents(stack);
  const state = await stack.ledger.get(await batchIdOfKey(key));
  expect(state!.status).toBe('REJECTED');
  expect(state!.reason).toMatchObject({ code: 'HEADER_MISMATCH', line: 1 });
  expect(state!.reason!.message).toContain('order_id;customer_id;sku');
  expect(await readText(state!.archive!.key)).toBe(content);
  expect((await expectSingleEvent(stack, 'REJECTED')).reason.code).toBe('HEADER_MISMATCH');
  expect(await workItems()).toHaveLength(0);
});

test('a gzip file is decompressed and ingested like a plain one', async () => {
  const key = 'inbound/acme/orders_2026-11-24.csv.gz';
  await putInbound(stack, key, gzip(ordersFile(12)));
  await drainFileEvents(stack);
  expect(await workItems()).toHaveLength(12);
  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail.file.compressed).toBe(true);
  expect(detail.counts).toEqual({ records: 12, valid: 12, invalid: 0, workItemsSent: 12 });
});

test('keys arrive URL-encoded: a file name with spaces and unicode is found and archived', async () => {
  const key = 'inbound/acme/orders_late night é+more.csv';
  await putInbound(stack, key, ordersFile(3));
  await drainFileEvents(stack);
  expect(await workItems()).toHaveLength(3);
  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail.source.key).toBe(key);
  expect(detail.file.name).toBe('orders_late night é+more.csv');
});

test('the same S3 event delivered twice, even concurrently, yields one batch, one set of work items and one event', async () => {
  const key = 'inbound/acme/orders_2026-11-25.csv';
  await putInbound(stack, key, ordersFile(30));
  const { Messages = [] } = await stack.clients.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: stack.resources.fileEventsQueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
  );
  expect(Messages).toHaveLength(1);
  const body = Messages[0]!.Body!;
  const record = (id: string) => ({
    messageId: id,
    receiptHandle: Messages[0]!.ReceiptHandle!,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:file-events',
    awsRegion: 'eu-west-1',
  });
  const deps = stack.deps({ fileEventsQueueUrl: undefined });
  const [a, b] = await Promise.all([
    invoke('ingestFile', (context) => processFileEvents({ Records: [record('a')] }, context, deps)),
    invoke('ingestFile', (context) => processFileEvents({ Records: [record('b')] }, context, deps)),
  ]);
  // One invocation did the work; the other was told the batch is busy (retry later) or already done.
  const failures = [...a.batchItemFailures, ...b.batchItemFailures];
  expect(failures.length).toBeLessThanOrEqual(1);
  // A third, later delivery finds the batch finished.
  const c = await invoke('ingestFile', (context) => processFileEvents({ Records: [record('c')] }, context, deps));
  expect(c.batchItemFailures).toEqual([]);

  const items = await workItems();
  expect(items).toHaveLength(30);
  expect(new Set(items.map((item) => item.body.itemId)).size).toBe(30);
  await expectSingleEvent(stack, 'COMPLETED');
  const state = await stack.ledger.get(await batchIdOfKey(key));
  // One claim won (the harness makes moto's conditional writes atomic, as DynamoDB's are).
  expect(state).toMatchObject({ status: 'COMPLETED', attempt: 1 });

  // The original message is still on the queue: delivering it again changes nothing either.
  await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.resources.fileEventsQueueUrl, MessageBody: body }));
  await drainFileEvents(stack);
  expect(await workItems()).toHaveLength(0);
  const again = await receivedEvents(stack);
  expect(again.sns).toHaveLength(0);
  expect(again.eventBridge).toHaveLength(0);
});

test('an unknown partner and an unknown feed are REJECTED batches with that reason, archived, announced', async () => {
  await putInbound(stack, 'inbound/initech/orders_1.csv', ordersFile(2));
  await drainFileEvents(stack);
  const unknownPartner = await expectSingleEvent(stack, 'REJECTED');
  expect(unknownPartner).toMatchObject({ partner: 'initech', feed: null, schema: null, reason: { code: 'UNKNOWN_PARTNER' } });
  expect(unknownPartner.file.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(unknownPartner.archive.key).toMatch(/^archive\/initech\//);

  await putInbound(stack, 'inbound/acme/invoices_1.csv', `${ORDERS_HEADER}\n`);
  await drainFileEvents(stack);
  const unknownFeed = await expectSingleEvent(stack, 'REJECTED');
  expect(unknownFeed).toMatchObject({ partner: 'acme', feed: null, reason: { code: 'UNKNOWN_FEED' } });
  expect(unknownFeed.reason.message).toContain('orders_*.csv');
  expect(await workItems()).toHaveLength(0);
});
