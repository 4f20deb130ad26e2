/**
 * The ledger's own writes, against moto_server's DynamoDB: the update
 * expressions it builds must be ones DynamoDB accepts.
 */
import { BatchStatus } from '../../src/ledger/types';
import { useTestStack } from '../support/stack';

const stack = useTestStack();

/** A registered batch whose first attempt `owner` holds. */
async function leased(batchId: string, owner: string): Promise<void> {
  const bucket = stack.resources.landingBucket;
  const key = `inbound/acme/${batchId}.csv`;
  await stack.ledger.register({
    batchId,
    partner: 'acme',
    feed: 'orders',
    source: { type: 's3', uri: `s3://${bucket}/${key}`, bucket, key },
    file: { name: `${batchId}.csv` },
    receivedAt: new Date().toISOString(),
  });
  expect(await stack.ledger.acquire(batchId, owner, 600_000)).toMatchObject({ outcome: 'acquired' });
}

test('finish removes a field given as undefined together with the lease (one REMOVE section)', async () => {
  const batchId = 'ledger-finish-removes';
  await leased(batchId, 'me');
  await stack.ledger.update(batchId, 'me', { lastError: 'throttled, retrying' });

  const finished = await stack.ledger.finish(batchId, 'me', BatchStatus.COMPLETED, { lastError: undefined });

  expect(finished).toMatchObject({ status: 'COMPLETED', attempt: 1 });
  expect(finished.lastError).toBeUndefined();
  const stored = await stack.ledger.get(batchId);
  expect(stored).toMatchObject({ status: 'COMPLETED', attempt: 1 });
  expect(stored).not.toHaveProperty('lastError');
  expect(stored).not.toHaveProperty('leaseOwner');
  expect(stored).not.toHaveProperty('leaseExpiresAt');
  expect(await stack.ledger.attempts(batchId)).toMatchObject([{ attempt: 1, status: 'COMPLETED' }]);
});
