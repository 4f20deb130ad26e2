/**
 * What AWS would refuse used to end batches FAILED (or operations broken) while
 * moto let it through. Each case runs the real path against the strict harness
 * and asserts the outcome a real account gives now.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handleOperatorRequest } from '../../src/operations/api';
import { MAX_MESSAGE_BYTES } from '../../src/platform/text';
import { invoke } from '../support/harness/invoke';
import { ORDERS_HEADER, ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, expectSingleEvent, putInbound, useTestStack, workItemIds } from '../support/stack';

const stack = useTestStack();

test('a header of 60,000 unexpected columns is REJECTED with a reason of a few KB, not FAILED on an item too large', async () => {
  const extra = Array.from({ length: 60_000 }, (_, index) => `x${index + 1}`);
  const key = 'inbound/acme/orders_wide.csv';
  await putInbound(stack, key, `${[ORDERS_HEADER, ...extra].join(',')}\n`);
  await drainFileEvents(stack);
  const state = (await stack.ledger.get(await batchIdOfKey(stack, key)))!;
  expect(state).toMatchObject({ status: 'REJECTED', attempt: 1, reason: { code: 'HEADER_MISMATCH', line: 1 } });
  expect(Buffer.byteLength(state.reason!.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  expect(state.reason!.message).toContain('"x1"');
  expect(state.reason!.message).toMatch(/…and [\d,]+ more/);
  const event = await expectSingleEvent(stack, 'REJECTED');
  expect(event.reason).toEqual(state.reason);
});

test('an inbound key too long for its archive key is archived under a shortened name and REJECTED naming the lengths', async () => {
  // 1,000 bytes of key: fine for S3, but archive/<partner>/<day>/<batch id>/ adds 44.
  const name = `orders_${'x'.repeat(1000 - 'inbound/acme/orders_.csv'.length)}.csv`;
  const key = `inbound/acme/${name}`;
  expect(Buffer.byteLength(key)).toBe(1000);
  await putInbound(stack, key, ordersFile(3));
  await drainFileEvents(stack);
  const state = (await stack.ledger.get(await batchIdOfKey(stack, key)))!;
  expect(state).toMatchObject({ status: 'REJECTED', attempt: 1, reason: { code: 'FILE_NAME_TOO_LONG' } });
  expect(state.reason!.message).toContain(`the file name is ${Buffer.byteLength(name)} bytes: its archive key would be 1044 bytes, over S3's 1024`);
  // Nothing lost: the raw file is in the archive, under a key S3 takes, ending in the file's extension.
  expect(Buffer.byteLength(state.archive!.key)).toBeLessThanOrEqual(1024);
  expect(state.archive!.key).toMatch(/~x+\.csv$/);
  const archived = await stack.clients.s3.send(new GetObjectCommand({ Bucket: state.archive!.bucket, Key: state.archive!.key }));
  expect(await archived.Body!.transformToString()).toBe(ordersFile(3));
  expect(state.file.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(await workItemIds(stack)).toEqual([]);
  await expectSingleEvent(stack, 'REJECTED');
});

/** One request to the operator API, as API Gateway hands it to the operatorApi function. */
function operatorRequest(method: string, resource: string, body: unknown) {
  return invoke('operatorApi', (context) =>
    handleOperatorRequest(
      {
        httpMethod: method,
        resource,
        pathParameters: null,
        queryStringParameters: null,
        body: JSON.stringify(body),
        isBase64Encoded: false,
        requestContext: { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/operators/alice' } },
      } as unknown as APIGatewayProxyEvent,
      { operator: stack.operator(), remainingMs: () => context.getRemainingTimeInMillis() },
    ),
  ).then((response) => ({ status: response.statusCode, body: JSON.parse(response.body) }));
}

test('redrive moves dead-lettered packs of 250 KiB, ten received at once, in requests SQS takes', async () => {
  const batchId = 'c'.repeat(32);
  const pack = (n: number) => JSON.stringify({ envelopeVersion: 1, envelope: 'pack', packId: `${batchId}:${n}`, batchId, items: [], pad: 'p'.repeat(250 * 1024) });
  for (let n = 1; n <= 10; n++) {
    await stack.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: stack.resources.workDlqUrl, MessageBody: pack(n), MessageAttributes: { batchId: { DataType: 'String', StringValue: batchId } } }),
    );
  }
  // Another batch's work item and file event wait in the DLQs: a redrive of this batch leaves them there.
  await stack.clients.sqs.send(
    new SendMessageCommand({ QueueUrl: stack.resources.workDlqUrl, MessageBody: '{}', MessageAttributes: { batchId: { DataType: 'String', StringValue: 'd'.repeat(32) } } }),
  );
  const fileEvent = JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: stack.resources.landingBucket }, object: { key: 'inbound/acme/other.csv', eTag: 'e1' } } }] });
  await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.resources.fileEventsDlqUrl, MessageBody: fileEvent }));
  // And one of its send ranges in the send-ranges DLQ, which goes back too, next to another batch's, which stays.
  const range = JSON.stringify({ batchId, plan: 1, index: 0 });
  const otherRange = JSON.stringify({ batchId: 'd'.repeat(32), plan: 1, index: 0 });
  for (const body of [range, otherRange]) await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.resources.sendRangesDlqUrl, MessageBody: body }));

  expect(await operatorRequest('POST', '/redrive', { queue: 'all', batchId })).toEqual({
    status: 200,
    body: {
      results: [
        { queue: 'work', moved: 10, kept: 1, complete: true },
        { queue: 'file-events', moved: 0, kept: 1, complete: true },
        { queue: 'send-ranges', moved: 1, kept: 1, complete: true },
      ],
    },
  });
  expect(await drainQueue(stack, stack.resources.workQueueUrl)).toHaveLength(10);
  expect((await drainQueue(stack, stack.resources.workDlqUrl)).map((message) => message.Body)).toEqual(['{}']);
  expect((await drainQueue(stack, stack.resources.sendRangesQueueUrl)).map((message) => message.Body)).toEqual([range]);
  expect((await drainQueue(stack, stack.resources.sendRangesDlqUrl)).map((message) => message.Body)).toEqual([otherRange]);
  // The file event is back in its DLQ at once, and a redrive of the file-events queue moves it.
  expect(await operatorRequest('POST', '/redrive', { queue: 'file-events', all: true })).toEqual({
    status: 200,
    body: { results: [{ queue: 'file-events', moved: 1, kept: 0, complete: true }] },
  });
  expect((await drainQueue(stack, stack.resources.fileEventsQueueUrl)).map((message) => message.Body)).toEqual([fileEvent]);
});
