/**
 * Header and trailer records end to end on the emulator: a partner whose files
 * start with a preamble and a header record and end with a trailer giving the
 * row count and the sum of unit_price. A file whose totals agree sends its
 * rows; one whose count or sum differs, or whose trailer is missing, is
 * REJECTED with its code after the validation pass, and sends nothing.
 */
import { orderRow, ORDERS_HEADER } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, expectSingleEvent, putInbound, useTestStack } from '../support/stack';
import { useInitechFeed } from '../support/test-partner';

const stack = useTestStack();
const config = useInitechFeed({
  id: 'orders',
  files: ['orders_*.txt'],
  format: {
    type: 'csv',
    encoding: 'utf-8',
    skipLeadingLines: 1,
    headerRecord: { match: '^HDR\\|(?<date>\\d{8})\\|(?<seq>\\d+)$', fields: { fileDate: 'date', sequence: 'seq' } },
    trailerRecord: {
      match: '^TRL\\|(?<count>\\d+)\\|(?<sum>-?\\d+(?:\\.\\d+)?)$',
      fields: { recordCount: 'count', controlSum: { group: 'sum', column: 'unit_price' } },
    },
  },
  schema: { id: 'orders', version: 1 },
  key: 'order_id',
  errorPolicy: { maxInvalidRatio: 0.1 },
});

async function ingest(name: string, file: string) {
  const key = `inbound/initech/${name}`;
  await putInbound(stack, key, file);
  await drainFileEvents(stack, stack.deps({ registry: config.registry }), { configRoot: config.root });
  const state = (await stack.ledger.get(await batchIdOfKey(stack, key)))!;
  const sent = await drainQueue(stack, stack.resources.workQueueUrl);
  return { state, sent };
}

/** 20 rows, the 20th invalid (counted in the totals all the same); orderRow(n)'s unit_price is `1+(n%50).<n%100>`. */
const ROWS = Array.from({ length: 20 }, (_, index) => orderRow(index + 1, index === 19 ? { quantity: 'many' } : {}));
const SUM = '232.10'; // Σ (1 + n) + n/100 for n = 1..20: 230 + 2.10
const file = (trailer: string | undefined) =>
  ['Orders export, Initech "ERP"', 'HDR|20261120|000007', ORDERS_HEADER, ...ROWS, ...(trailer === undefined ? [] : [trailer])].join('\n') + '\n';

test('a file whose trailer agrees with its rows completes and sends its valid rows', async () => {
  const { state, sent } = await ingest('orders_1.txt', file(`TRL|20|${SUM}`));
  expect(state).toMatchObject({ status: 'COMPLETED', counts: { records: 20, valid: 19, invalid: 1, workItemsSent: 19 } });
  expect(sent).toHaveLength(19);
  // Lines are the file's own: the preamble and header record come first.
  expect(JSON.parse(sent.map((message) => message.Body!).find((body) => JSON.parse(body).recordNumber === 1)!).line).toBe(4);
  await expectSingleEvent(stack, 'COMPLETED');
});

test.each([
  ['CONTROL_COUNT_MISMATCH', `TRL|21|${SUM}`, 'gives 21 data rows; the file has 20'],
  ['CONTROL_SUM_MISMATCH', 'TRL|20|232.11', `gives 232.11 as the sum of unit_price; the data rows sum to ${SUM}`],
  ['TRAILER_MISSING', undefined, 'the file has no trailer record'],
])('%s: REJECTED after the validation pass, nothing sent', async (code, trailer, message) => {
  const { state, sent } = await ingest(`orders_${code}.txt`, file(trailer));
  expect(state.status).toBe('REJECTED');
  expect(state.reason).toMatchObject({ code, message: expect.stringContaining(message) });
  expect(state.counts).toMatchObject({ records: 20, valid: 19, invalid: 1, workItemsSent: 0 });
  expect(sent).toHaveLength(0);
  const event = await expectSingleEvent(stack, 'REJECTED');
  expect(event.reason.code).toBe(code);
});
