/**
 * A feed whose files must be applied in order (`sequence`), end to end on the
 * emulator: the sequence number in each file's header record must follow the
 * last accepted one, read from and claimed in the ledger table with
 * ingestFile's packaged role (the harness checks every call against it). A
 * repeat or a gap is REJECTED and sends nothing; a file rejected for another
 * reason does not use up its number.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { feedSequenceKey } from '../../src/ledger/feed-sequences';
import { orderRow, ORDERS_HEADER } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, expectSingleEvent, putInbound, useTestStack } from '../support/stack';
import { useInitechFeed } from '../support/test-partner';

const stack = useTestStack();
const config = useInitechFeed({
  id: 'orders',
  files: ['orders_*.txt'],
  format: { type: 'csv', encoding: 'utf-8', headerRecord: { match: '^HDR\\|(?<seq>\\d+)$', fields: { sequence: 'seq' } } },
  schema: { id: 'orders', version: 1 },
  key: 'order_id',
  errorPolicy: { maxInvalidCount: 0 },
  sequence: { first: 1 },
});

const file = (sequence: string, { bad = false } = {}) =>
  [`HDR|${sequence}`, ORDERS_HEADER, orderRow(1), orderRow(2), ...(bad ? [orderRow(3, { quantity: 'many' })] : [])].join('\n') + '\n';

async function ingest(name: string, content: string) {
  const key = `inbound/initech/${name}`;
  await putInbound(stack, key, content);
  await drainFileEvents(stack, stack.deps({ registry: config.registry }), { configRoot: config.root });
  const state = (await stack.ledger.get(await batchIdOfKey(stack, key)))!;
  const sent = await drainQueue(stack, stack.resources.workQueueUrl);
  const event = await expectSingleEvent(stack, state.status as 'COMPLETED' | 'REJECTED');
  return { state, sent, event };
}

async function lastAccepted(): Promise<string | undefined> {
  const { Item } = await stack.clients.dynamo.send(new GetCommand({ TableName: stack.resources.ledgerTable, Key: feedSequenceKey('initech', 'orders') }));
  return Item?.lastSequence as string | undefined;
}

test('files in order complete; a repeat and a gap are REJECTED and send nothing; a file rejected otherwise keeps its number free', async () => {
  const gapFirst = await ingest('orders_a.txt', file('000002'));
  expect(gapFirst.state).toMatchObject({ status: 'REJECTED', reason: { code: 'SEQUENCE_GAP' }, counts: { records: 2, workItemsSent: 0 } });
  expect(gapFirst.state.reason!.message).toBe("the file's sequence number is 000002; 1 is expected as the feed's first file (sequence.first), so a file is missing");
  expect(gapFirst.sent).toHaveLength(0);
  expect(await lastAccepted()).toBeUndefined();

  const one = await ingest('orders_b.txt', file('000001'));
  expect(one.state).toMatchObject({ status: 'COMPLETED', counts: { workItemsSent: 2 } });
  expect(one.sent).toHaveLength(2);
  expect(await lastAccepted()).toBe('1');

  const repeat = await ingest('orders_c.txt', file('1'));
  expect(repeat.state).toMatchObject({ status: 'REJECTED', reason: { code: 'SEQUENCE_REPEAT' }, counts: { workItemsSent: 0 } });
  expect(repeat.event.reason.code).toBe('SEQUENCE_REPEAT');
  expect(repeat.sent).toHaveLength(0);

  const gap = await ingest('orders_d.txt', file('3'));
  expect(gap.state).toMatchObject({ status: 'REJECTED', reason: { code: 'SEQUENCE_GAP' } });
  expect(gap.state.reason!.message).toBe("the file's sequence number is 3; 2 is expected after 1, the last file accepted, so a file is missing");
  expect(gap.sent).toHaveLength(0);

  // Too many invalid rows: rejected for that, and 2 is still the next number.
  const invalid = await ingest('orders_e.txt', file('2', { bad: true }));
  expect(invalid.state).toMatchObject({ status: 'REJECTED', reason: { code: 'TOO_MANY_INVALID_ROWS' } });
  expect(await lastAccepted()).toBe('1');

  const two = await ingest('orders_f.txt', file('2'));
  expect(two.state).toMatchObject({ status: 'COMPLETED', counts: { workItemsSent: 2 } });
  expect(await lastAccepted()).toBe('2');
});
