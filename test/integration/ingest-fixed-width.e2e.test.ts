import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { batchIdOfKey, drainFileEvents, drainQueue, expectSingleEvent, PROJECT_ROOT, putInbound, useTestStack } from '../support/stack';

const stack = useTestStack();
const SAMPLE = readFileSync(path.join(PROJECT_ROOT, 'samples', 'acme', 'remittances_2026-11-06.txt'));

test('a fixed-width Latin-1 file becomes typed work items; bad records are reported by line, the file archived as received', async () => {
  const key = 'inbound/acme/remittances_2026-11-06.txt';
  await putInbound(stack, key, SAMPLE);
  expect(await drainFileEvents(stack)).toBe(1);
  const batchId = await batchIdOfKey(stack, key);

  const items = (await drainQueue(stack, stack.resources.workQueueUrl)).map((message) => JSON.parse(message.Body!));
  expect(items.map((item) => item.recordNumber).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const first = items.find((item) => item.recordNumber === 1);
  expect(first).toMatchObject({
    itemId: `${batchId}:1`,
    feed: 'remittances',
    line: 1,
    // Trimmed fields, Latin-1 decoded, the amount an exact decimal string.
    record: { payment_id: 'PAY000000101', value_date: '20261105', amount: '137.50', currency: 'EUR', payer_name: 'Müller Maschinenbau GmbH', invoice_ref: 'INV-20451' },
  });
  // An empty optional field is absent, as in CSV feeds.
  expect(items.find((item) => item.recordNumber === 4).record).not.toHaveProperty('invoice_ref');

  const detail = await expectSingleEvent(stack, 'COMPLETED');
  expect(detail.counts).toMatchObject({ records: 12, valid: 9, invalid: 3, workItemsSent: 9 });
  const read = async (objectKey: string) =>
    Buffer.from(await (await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: objectKey }))).Body!.transformToByteArray());
  expect((await read(detail.archive.key)).equals(SAMPLE)).toBe(true);
  const report = (await read(detail.rejectsReport.key)).toString('latin1');
  expect(report).toContain('RECORD_LENGTH');
  expect(report.split('\n').filter((row) => /^(10|11|12),/.test(row)).map((row) => row.split(',')[3])).toEqual(['INVALID_DECIMAL', 'NOT_ALLOWED', 'RECORD_LENGTH']);
});
