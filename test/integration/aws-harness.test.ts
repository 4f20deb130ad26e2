/**
 * The harness itself (test/support/harness): what AWS would refuse, the test
 * stack refuses. Each limit below is one moto lets through; each test fails
 * without the guard. And a call a function's packaged role does not allow
 * fails the test that made it, naming the function, the action and the resource.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { checkRecordedCalls } from '../support/harness/iam-check';
import { invoke } from '../support/harness/invoke';
import { SERVICE_LIMITS } from '../support/harness/service-limits';
import { drainQueue, useTestStack } from '../support/stack';

const stack = useTestStack();
const KIB = 1024;

/** The error the guard raised (not the emulator): an AWS-shaped client error. */
const refusedByGuard = (name: string) => expect.objectContaining({ name, harnessLimit: true, $metadata: { httpStatusCode: 400 } });

describe('service limits moto does not enforce', () => {
  test('SQS: a message over its queue\'s MaximumMessageSize, counting attributes (the work queue takes 1 MiB)', async () => {
    const { workQueueUrl } = stack.resources;
    const attributes = { batchId: { DataType: 'String', StringValue: 'b'.repeat(100) } };
    // moto compares the body alone with the limit; SQS counts the attributes too.
    const body = 'x'.repeat(1024 * KIB - 50);
    await expect(stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: workQueueUrl, MessageBody: body, MessageAttributes: attributes }))).rejects.toEqual(
      refusedByGuard('InvalidParameterValue'),
    );
    expect(await drainQueue(stack, workQueueUrl)).toHaveLength(0);
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: workQueueUrl, MessageBody: body.slice(100), MessageAttributes: attributes }));
    expect(await drainQueue(stack, workQueueUrl)).toHaveLength(1);
  });

  test('SQS: SendMessageBatch over 1 MiB in all, though each entry fits', async () => {
    const url = stack.resources.fileEventsQueueUrl; // MaximumMessageSize 1 MiB
    const entries = Array.from({ length: 5 }, (_, index) => ({ Id: String(index), MessageBody: 'y'.repeat(210 * KIB) }));
    await expect(stack.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }))).rejects.toEqual(
      refusedByGuard('AWS.SimpleQueueService.BatchRequestTooLong'),
    );
    await stack.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries.slice(0, 4) }));
    expect(await drainQueue(stack, url)).toHaveLength(4);
  });

  test('SNS: a message over 256 KiB with its attributes', async () => {
    const message = 'z'.repeat(SERVICE_LIMITS.snsMaxMessageBytes - 10);
    await expect(
      stack.clients.sns.send(
        new PublishCommand({ TopicArn: stack.resources.eventsTopicArn, Message: message, MessageAttributes: { status: { DataType: 'String', StringValue: 'COMPLETED' } } }),
      ),
    ).rejects.toEqual(refusedByGuard('InvalidParameter'));
  });

  test('EventBridge: a PutEvents entry over 1 MiB (source, detail-type and detail)', async () => {
    const entry = { EventBusName: stack.resources.eventBusName, Source: 'partner-ingest', DetailType: 'Batch Completed' };
    const detail = (bytes: number) => JSON.stringify({ pad: 'p'.repeat(bytes - 10 - entry.Source.length - entry.DetailType.length) });
    await expect(stack.clients.eventBridge.send(new PutEventsCommand({ Entries: [{ ...entry, Detail: detail(SERVICE_LIMITS.eventBridgeMaxEntryBytes + 1) }] }))).rejects.toEqual(
      refusedByGuard('ValidationException'),
    );
    const accepted = await stack.clients.eventBridge.send(new PutEventsCommand({ Entries: [{ ...entry, Detail: detail(300 * KIB) }] }));
    expect(accepted.FailedEntryCount ?? 0).toBe(0);
  });

  test('DynamoDB: an item over 400 KB — moto refuses it itself, put or grown by an update', async () => {
    const TableName = stack.resources.ledgerTable;
    const Key = { pk: 'HARNESS#limits', sk: 'STATE' };
    await expect(stack.clients.dynamo.send(new PutCommand({ TableName, Item: { ...Key, reason: 'r'.repeat(410 * KIB) } }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await stack.clients.dynamo.send(new PutCommand({ TableName, Item: { ...Key, a: 'a'.repeat(300 * KIB) } }));
    await expect(
      stack.clients.dynamo.send(new UpdateCommand({ TableName, Key, UpdateExpression: 'SET b = :b', ExpressionAttributeValues: { ':b': 'b'.repeat(200 * KIB) } })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  test('S3: a key over 1,024 bytes of UTF-8', async () => {
    const Bucket = stack.resources.landingBucket;
    // 342 three-byte characters: 1,026 bytes, though only 342 characters.
    const key = `inbound/acme/${'€'.repeat(342)}`;
    await expect(stack.clients.s3.send(new PutObjectCommand({ Bucket, Key: key, Body: 'x' }))).rejects.toEqual(refusedByGuard('KeyTooLongError'));
    await stack.clients.s3.send(new PutObjectCommand({ Bucket, Key: key.slice(0, -10), Body: 'x' }));
  });
});

describe('least privilege', () => {
  test('a call the function\'s packaged role does not allow fails the test, naming the function, action and resource', async () => {
    const { landingBucket: Bucket } = stack.resources;
    await stack.clients.s3.send(new PutObjectCommand({ Bucket, Key: 'inbound/acme/harness.csv', Body: 'x' }));
    // ingestFile may read inbound/, never delete there; sendRange may read only staging/.
    await invoke('ingestFile', () => stack.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'inbound/acme/harness.csv' })).then((got) => got.Body!.transformToString()));
    await invoke('ingestFile', () => stack.clients.s3.send(new DeleteObjectCommand({ Bucket, Key: 'inbound/acme/harness.csv' })));
    await invoke('sendRange', () => stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.resources.fileEventsQueueUrl, MessageBody: '{}' })));
    const failure = await checkRecordedCalls().then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).toBeDefined();
    const lines = failure!.split('\n').slice(1).map((line) => line.trim());
    expect(lines).toEqual([
      `ingestFile (IngestFileRole): s3:DeleteObject on arn:aws:s3:::${Bucket}/inbound/acme/harness.csv — ImplicitlyDenied, from DeleteObject`,
      'sendRange (SendRangeRole): sqs:SendMessage on arn:aws:sqs:eu-west-1:123456789012:partner-ingest-test-file-events — ImplicitlyDenied, from SendMessage',
    ]);
  });

  test("a role's dynamodb:LeadingKeys condition is evaluated on the keys each call reads or writes", async () => {
    const TableName = stack.resources.ledgerTable;
    const own = { pk: 'EXPECT#acme#orders', sk: 'WINDOW#2026-12-03T06:00:00Z' };
    // checkExpectations may write and query only its own EXPECT# records (resources/expectations.yml).
    await invoke('checkExpectations', async () => {
      await stack.clients.dynamo.send(new PutCommand({ TableName, Item: own }));
      await stack.clients.dynamo.send(
        new QueryCommand({ TableName, KeyConditionExpression: '#p = :p', ExpressionAttributeNames: { '#p': 'pk' }, ExpressionAttributeValues: { ':p': own.pk } }),
      );
    });
    await expect(checkRecordedCalls()).resolves.toBeUndefined();
    await invoke('checkExpectations', async () => {
      await stack.clients.dynamo.send(new PutCommand({ TableName, Item: { pk: 'BATCH#harness', sk: 'STATE' } }));
      await stack.clients.dynamo.send(new QueryCommand({ TableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'BATCH#harness' } }));
    });
    const failure = await checkRecordedCalls().then(
      () => '',
      (error: Error) => error.message,
    );
    const table = `arn:aws:dynamodb:eu-west-1:123456789012:table/${TableName}`;
    expect(failure.split('\n').slice(1).map((line) => line.trim())).toEqual([
      `checkExpectations (CheckExpectationsRole): dynamodb:PutItem on ${table} with {"dynamodb:LeadingKeys":["BATCH#harness"]} — ImplicitlyDenied, from PutItem`,
      `checkExpectations (CheckExpectationsRole): dynamodb:Query on ${table} with {"dynamodb:LeadingKeys":["BATCH#harness"]} — ImplicitlyDenied, from Query`,
    ]);
  });

  test('S3 tells a missing key (404) from a forbidden one only to a role allowed s3:ListBucket on the bucket', async () => {
    const { landingBucket: Bucket } = stack.resources;
    // sendRange has no ListBucket: in AWS its read of a missing staged object is a 403, not a 404.
    await invoke('sendRange', () =>
      stack.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'staging/acme/none/attempt-1/rows.csv' })).catch((error: unknown) => error),
    );
    await expect(checkRecordedCalls()).rejects.toThrow(`sendRange (SendRangeRole): s3:ListBucket on arn:aws:s3:::${Bucket}`);
    // ingestFile has it.
    await invoke('ingestFile', () =>
      stack.clients.s3.send(new GetObjectCommand({ Bucket, Key: 'archive/acme/none.csv' })).catch((error: unknown) => error),
    );
    await expect(checkRecordedCalls()).resolves.toBeUndefined();
  });
});
