import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { parse, stringify } from 'yaml';
import { loadPartnerRegistry, type PartnerRegistry } from '../../src/config/load-partners';
import { awsError, withFault } from '../support/faults';
import { orderRow, ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, putInbound, PROJECT_ROOT, receivedEvents, useTestStack, validateEvent } from '../support/stack';
import { itemIdsOf } from '../unit/work-items/staged-fixture';

const stack = useTestStack();

/** A config root whose acme orders feed packs 10 records per message. */
let root: string;
let registry: PartnerRegistry;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'partner-ingest-packing-'));
  cpSync(path.join(PROJECT_ROOT, 'partners'), path.join(root, 'partners'), { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
  const file = path.join(root, 'partners', 'acme.yml');
  const acme = parse(readFileSync(file, 'utf8'));
  acme.feeds.find((feed: { id: string }) => feed.id === 'orders').workItems = { recordsPerMessage: 10 };
  writeFileSync(file, stringify(acme));
  registry = loadPartnerRegistry({ root });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The work queue as a consumer sees it: each message checked against its shape's schema, with the item ids it carries. */
async function consume() {
  const messages = await drainQueue(stack, stack.resources.workQueueUrl);
  return messages.map((message) => {
    const attributes = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue!]));
    return { attributes, body: JSON.parse(message.Body!), ids: itemIdsOf({ body: message.Body!, attributes }) };
  });
}

test('a feed with recordsPerMessage 10 sends packs: every valid record arrives exactly once and the counts reconcile', async () => {
  expect(registry.partners.get('acme')!.feeds.find((feed) => feed.id === 'orders')!.workItems.recordsPerMessage).toBe(10);
  const key = 'inbound/acme/orders_packed.csv';
  // 45 valid rows, then 2 invalid ones (records 46 and 47) and 3 more valid rows (48–50).
  const bad = [orderRow(900, { quantity: 'lots' }), orderRow(901, { currency: 'JPY' })];
  const extra = [orderRow(902), orderRow(903), orderRow(904)];
  await putInbound(stack, key, ordersFile(45, [...bad, ...extra]));
  const settings = { ...stack.deps().settings, chunkItems: 11 };
  expect(await drainFileEvents(stack, stack.deps({ registry, settings }))).toBe(1);

  const batchId = await batchIdOfKey(stack, key);
  const valid = [...Array.from({ length: 45 }, (_, index) => index + 1), 48, 49, 50];
  const messages = await consume();
  const ids = messages.flatMap((message) => message.ids);
  expect(ids).toHaveLength(valid.length);
  expect(new Set(ids)).toEqual(new Set(valid.map((n) => `${batchId}:${n}`)));

  // Chunks of 11 staged records (1–11, 12–22, 23–33, 34–44, then 45 48 49 50): packs never cross them, a lone record is an item.
  const shapes = messages
    .map((message) => (message.attributes.envelope === 'pack' ? `${message.body.firstRecord}-${message.body.lastRecord}` : `${message.body.recordNumber}`))
    .sort((a, b) => parseInt(a) - parseInt(b));
  expect(shapes).toEqual(['1-10', '11', '12-21', '22', '23-32', '33', '34-43', '44', '45-50']);
  for (const message of messages) {
    expect(message.attributes).toMatchObject({ partner: 'acme', feed: 'orders', schema: 'orders.v1', batchId });
    if (message.attributes.envelope === 'pack') {
      expect(message.body.packId).toBe(`${batchId}:${message.body.firstRecord}-${message.body.lastRecord}`);
      expect(message.body.items.length).toBeLessThanOrEqual(10);
    }
  }
  const first = messages.find((message) => message.body.firstRecord === 1)!.body.items[0];
  expect(first).toEqual({
    itemId: `${batchId}:1`,
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

  const state = await stack.ledger.get(batchId);
  expect(state).toMatchObject({ status: 'COMPLETED', sendCheckpoint: 5, counts: { records: 50, valid: 48, invalid: 2, workItemsSent: 48 } });
  const { sns } = await receivedEvents(stack);
  expect(sns).toHaveLength(1);
  expect(validateEvent(sns[0]!.detail)).toBe(true);
  expect(sns[0]!.detail).toMatchObject({ status: 'COMPLETED', counts: { records: 50, valid: 48, invalid: 2, workItemsSent: 48 } });
});

test('a crash in the middle of a packed send resumes from the checkpoint; de-duplicating on itemId leaves each record once', async () => {
  let requests = 0;
  const sqs = withFault(stack.clients.sqs, (command, real) => {
    if (!(command instanceof SendMessageBatchCommand)) return undefined;
    requests++;
    if (requests !== 3) return undefined;
    // Chunk 3's request: its first pack is delivered, then the invocation dies.
    const entries = command.input.Entries as SendMessageBatchRequestEntry[];
    return real(new SendMessageBatchCommand({ ...command.input, Entries: entries.slice(0, 1) })).then(() => {
      throw awsError('AccessDenied', 403);
    });
  });
  const key = 'inbound/acme/orders_packed_crash.csv';
  await putInbound(stack, key, ordersFile(100));
  const settings = { ...stack.deps().settings, chunkItems: 20 };
  await drainFileEvents(stack, stack.deps({ registry, settings, sqs, retryBaseSeconds: 0 }));
  const batchId = await batchIdOfKey(stack, key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', sendCheckpoint: 5, counts: { valid: 100, workItemsSent: 100 } });

  const messages = await consume();
  const ids = messages.flatMap((message) => message.ids);
  // The interrupted chunk's first pack (records 41–50) arrived twice, identical; nothing else repeats.
  expect(ids).toHaveLength(110);
  expect(new Set(ids)).toEqual(new Set(Array.from({ length: 100 }, (_, index) => `${batchId}:${index + 1}`)));
  const twice = messages.filter((message) => message.body.packId === `${batchId}:41-50`);
  expect(twice).toHaveLength(2);
  expect(twice[0]!.body).toEqual(twice[1]!.body);
  expect(messages).toHaveLength(11);
});
