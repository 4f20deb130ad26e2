/**
 * A control file beside each data file (`controlFile`, the done-file
 * convention), end to end on the emulator: the data file waits for its
 * control file, whose count and sum are checked like a trailer's; without one
 * within waitMinutes the batch is REJECTED CONTROL_FILE_MISSING. The control
 * file is no batch of its own. Every REJECTED batch sends nothing.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { resumeMessageBody } from '../../src/ingest/file-event-messages';
import { orderRow, ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, expectSingleEvent, putInbound, useTestStack } from '../support/stack';
import { useInitechFeed } from '../support/test-partner';

const stack = useTestStack();
const config = useInitechFeed({
  id: 'orders',
  files: ['orders_*.csv'],
  format: { type: 'csv', encoding: 'utf-8' },
  schema: { id: 'orders', version: 1 },
  key: 'order_id',
  errorPolicy: { maxInvalidRatio: 0.1 },
  controlFile: { name: '{name}.ctl', format: 'json', fields: { recordCount: 'rows', controlSum: { field: 'total', column: 'unit_price' } }, waitMinutes: 30 },
});

const DATA = ordersFile(5); // unit_price of orderRow(n): (1 + n).<n>: 2.01 + 3.02 + 4.03 + 5.04 + 6.05
const TOTAL = '20.15';
const control = (rows: number, total: string) => JSON.stringify({ rows, total });

async function outcome(key: string) {
  const state = (await stack.ledger.get(await batchIdOfKey(stack, key)))!;
  const sent = await drainQueue(stack, stack.resources.workQueueUrl);
  return { state, sent };
}

const ingestDeps = (extra: object = {}) => stack.deps({ registry: config.registry, ...extra });

test('the control file first, then the data file: checked and completed; the control file is no batch', async () => {
  await putInbound(stack, 'inbound/initech/orders_1.csv.ctl', control(5, TOTAL));
  await putInbound(stack, 'inbound/initech/orders_1.csv', DATA);
  await drainFileEvents(stack, ingestDeps(), { configRoot: config.root });
  const { state, sent } = await outcome('inbound/initech/orders_1.csv');
  expect(state).toMatchObject({ status: 'COMPLETED', counts: { records: 5, workItemsSent: 5 } });
  expect(sent).toHaveLength(5);
  await expectSingleEvent(stack, 'COMPLETED');
  expect(await stack.ledger.get(await batchIdOfKey(stack, 'inbound/initech/orders_1.csv.ctl'))).toBeUndefined();
});

test('the data file first: it waits, sending nothing; once the control file has come it completes', async () => {
  const key = 'inbound/initech/orders_2.csv';
  await putInbound(stack, key, DATA);
  // The waiting message comes back in two minutes: past this test.
  await drainFileEvents(stack, ingestDeps({ busyRetrySeconds: 120 }), { configRoot: config.root });
  const waiting = await outcome(key);
  expect(waiting.state.status).not.toMatch(/COMPLETED|REJECTED/);
  expect(waiting.state.lastError).toBe('waiting for its control file orders_2.csv.ctl');
  expect(waiting.sent).toHaveLength(0);
  await putInbound(stack, `${key}.ctl`, control(5, TOTAL));
  await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.resources.fileEventsQueueUrl, MessageBody: resumeMessageBody(waiting.state.batchId, waiting.state.attempt) }));
  await drainFileEvents(stack, ingestDeps(), { configRoot: config.root });
  const done = await outcome(key);
  expect(done.state).toMatchObject({ status: 'COMPLETED', counts: { workItemsSent: 5 } });
  expect(done.sent).toHaveLength(5);
});

test.each([
  ['CONTROL_COUNT_MISMATCH', control(6, TOTAL), 'the control file "orders_3.csv.ctl" gives 6 data rows; the file has 5'],
  ['CONTROL_SUM_MISMATCH', control(5, '20.16'), 'gives 20.16 as the sum of unit_price; the data rows sum to 20.15'],
  ['CONTROL_RECORD_INVALID', JSON.stringify({ rows: 5, total: 20.15 }), 'write a fractional sum as a JSON string'],
])('%s: REJECTED, nothing sent', async (code, content, message) => {
  await putInbound(stack, 'inbound/initech/orders_3.csv.ctl', content);
  await putInbound(stack, 'inbound/initech/orders_3.csv', DATA);
  await drainFileEvents(stack, ingestDeps(), { configRoot: config.root });
  const { state, sent } = await outcome('inbound/initech/orders_3.csv');
  expect(state).toMatchObject({ status: 'REJECTED', reason: { code, message: expect.stringContaining(message) } });
  // A control file that cannot be read rejects the data file unread (no counts), as an unknown feed does.
  expect(state.counts?.workItemsSent ?? 0).toBe(0);
  expect(sent).toHaveLength(0);
  expect((await expectSingleEvent(stack, 'REJECTED')).reason.code).toBe(code);
});

test('CONTROL_FILE_MISSING once waitMinutes have passed without it; nothing sent', async () => {
  // Each look at the clock is ten minutes later: the batch waits, and gives up past 30 minutes.
  let now = Date.parse('2026-11-20T08:00:00Z');
  const clock = () => new Date((now += 10 * 60_000));
  await putInbound(stack, 'inbound/initech/orders_4.csv', ordersFile(3, [orderRow(4)]));
  await drainFileEvents(stack, ingestDeps({ clock, busyRetrySeconds: 0 }), { configRoot: config.root });
  const { state, sent } = await outcome('inbound/initech/orders_4.csv');
  expect(state).toMatchObject({
    status: 'REJECTED',
    reason: { code: 'CONTROL_FILE_MISSING', message: 'the control file "orders_4.csv.ctl" did not come within 30 minutes of the data file (controlFile.waitMinutes)' },
  });
  expect(state.counts).toBeUndefined(); // rejected unread: the rows were never looked at
  expect(sent).toHaveLength(0);
  await expectSingleEvent(stack, 'REJECTED');
});
