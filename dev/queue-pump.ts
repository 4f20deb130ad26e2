import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface PumpOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn?: string;
  readonly handler: SqsHandler;
  readonly batchSize?: number;
  readonly waitSeconds?: number;
  /** The simulated function timeout; the handler sees the time left, like in Lambda. */
  readonly timeoutMs?: number;
  /** The invocation's context, when the caller simulates the function's clock itself. */
  readonly context?: Context;
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: process.env.AWS_REGION ?? 'eu-west-1',
  };
}

/** A Lambda-like context whose remaining time counts down from `timeoutMs` (or is whatever `remainingMs` says). */
export function localContext(functionName: string, timeoutMs: number, remainingMs?: () => number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: remainingMs ?? (() => Math.max(0, deadline - Date.now())),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Does what Lambda's SQS event source mapping does, once: receive a batch,
 * invoke the handler with it, and delete the messages it did not report as
 * failed (those become visible again after the visibility timeout).
 * Returns the number of messages handed to the handler.
 */
export async function pumpOnce(options: PumpOptions): Promise<number> {
  const { Messages = [] } = await options.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: options.queueUrl,
      MaxNumberOfMessages: options.batchSize ?? 1,
      WaitTimeSeconds: options.waitSeconds ?? 0,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  if (!Messages.length) return 0;
  const arn = options.queueArn ?? 'arn:aws:sqs:local:000000000000:queue';
  const event: SQSEvent = { Records: Messages.map((message) => toRecord(message, arn)) };
  const response = await options.handler(event, options.context ?? localContext('ingest-file', options.timeoutMs ?? 900_000));
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  const done = Messages.filter((message) => !failed.has(message.MessageId!));
  if (done.length) {
    await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  return Messages.length;
}
