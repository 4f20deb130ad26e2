import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handleOperatorRequest, type OperatorApiDeps } from '../../src/operations/api';
import { batchIdOf } from '../../src/ledger/batch-id';
import { invoke } from '../support/harness/invoke';
import { orderRow, ordersFile } from '../support/orders';
import { drainFileEvents, drainQueue, putInbound, startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
let deps: OperatorApiDeps;

beforeAll(async () => {
  stack = await startTestStack();
  deps = { operator: stack.operator(), remainingMs: () => 0 };
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const OPERATOR = 'arn:aws:sts::123456789012:assumed-role/operators/alice';

/** One request, as the operatorApi function gets it from API Gateway (its time is its own packaged timeout). */
function request(method: string, resource: string, options: { path?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {}) {
  return invoke('operatorApi', (context) => handleOperatorRequest(
    {
      httpMethod: method,
      resource,
      pathParameters: options.path ?? null,
      queryStringParameters: options.query ?? null,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      isBase64Encoded: false,
      requestContext: { identity: { userArn: OPERATOR } },
    } as unknown as APIGatewayProxyEvent,
    { ...deps, remainingMs: () => context.getRemainingTimeInMillis() },
  )).then((response) => ({ status: response.statusCode, body: JSON.parse(response.body) }));
}

test('list, show, dry-run and replay a rejected batch over the operator API, audited under the caller', async () => {
  const key = 'inbound/acme/orders_api.csv';
  await putInbound(stack, key, ordersFile(4, [orderRow(77, { quantity: '0' })]));
  await drainFileEvents(stack);
  const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.landingBucket, Key: key }));
  const batchId = batchIdOf({ bucket: stack.resources.landingBucket, key, versionId: head.VersionId, etag: head.ETag });

  const listed = await request('GET', '/batches', { query: { status: 'rejected', partner: 'acme' } });
  expect(listed.status).toBe(200);
  expect(listed.body.batches.map((batch: { batchId: string }) => batch.batchId)).toEqual([batchId]);

  const shown = await request('GET', '/batches/{batchId}', { path: { batchId } });
  expect(shown.body).toMatchObject({ batch: { batchId, status: 'REJECTED' }, attempts: [{ attempt: 1, status: 'REJECTED' }] });

  const dry = await request('POST', '/batches/{batchId}/replay', { path: { batchId }, body: { dryRun: true } });
  expect(dry).toMatchObject({ status: 200, body: { dryRun: true, status: 'REJECTED' } });

  // Queued for ingestFile, answered at once.
  expect(await request('POST', '/batches/{batchId}/replay', { path: { batchId } })).toEqual({
    status: 202,
    body: { dryRun: false, batchId, attempt: 2, status: 'QUEUED', tookOver: false },
  });
  await drainFileEvents(stack);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'REJECTED', attempt: 2 });

  const audit = (await request('GET', '/batches/{batchId}', { path: { batchId } })).body.audit;
  expect(audit.map((entry: { actor: string }) => entry.actor)).toEqual(Array(audit.length).fill(OPERATOR));
  await drainQueue(stack, stack.resources.workQueueUrl);
});

test('bad requests are 4xx with a code and change nothing', async () => {
  expect(await request('GET', '/batches', { query: { since: 'last tuesday' } })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
  expect(await request('GET', '/batches', { query: { status: 'LOST' } })).toMatchObject({ status: 400 });
  expect(await request('GET', '/batches/{batchId}', { path: { batchId: 'a'.repeat(32) } })).toMatchObject({ status: 404, body: { code: 'UNKNOWN_BATCH' } });
  expect(await request('POST', '/batches/{batchId}/replay', { path: { batchId: 'a'.repeat(32) } })).toMatchObject({ status: 404 });
  expect(await request('POST', '/redrive', { body: { queue: 'everything' } })).toMatchObject({ status: 400 });
  expect(await request('DELETE', '/batches')).toMatchObject({ status: 404, body: { code: 'NO_ROUTE' } });
});

test('a replay of a batch whose raw file is gone is a 409 saying so, and changes nothing', async () => {
  const key = 'inbound/acme/orders_api_lost.csv';
  await putInbound(stack, key, ordersFile(2, [orderRow(78, { quantity: '0' }), orderRow(79, { quantity: '0' })]));
  await drainFileEvents(stack);
  const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.landingBucket, Key: key }));
  const batchId = batchIdOf({ bucket: stack.resources.landingBucket, key, versionId: head.VersionId, etag: head.ETag });
  const state = (await stack.ledger.get(batchId))!;
  expect(state.status).toBe('REJECTED');
  await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: state.archive!.bucket, Key: state.archive!.key }));
  expect(await request('POST', '/batches/{batchId}/replay', { path: { batchId } })).toMatchObject({ status: 409, body: { code: 'RAW_FILE_MISSING' } });
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'REJECTED', attempt: 1 });
});
