import { setExpression } from '../../../src/ledger/table';

test('an update expression has one SET and one REMOVE section at most (DynamoDB rejects a repeated section)', () => {
  expect(setExpression({ status: 'COMPLETED', lastError: undefined, updatedAt: 'now', leaseOwner: undefined })).toEqual({
    expression: 'SET #f0 = :f0, #f2 = :f2 REMOVE #f1, #f3',
    names: { '#f0': 'status', '#f1': 'lastError', '#f2': 'updatedAt', '#f3': 'leaseOwner' },
    values: { ':f0': 'COMPLETED', ':f2': 'now' },
  });
  expect(setExpression({ lastError: undefined }).expression).toBe('REMOVE #f0');
  expect(setExpression({ status: 'FAILED' }).expression).toBe('SET #f0 = :f0');
});
