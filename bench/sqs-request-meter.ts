/**
 * Counts what a real SQSClient sends, as SQS bills it: SendMessageBatch
 * requests, messages, message bytes (body + attributes, as SQS sizes a
 * message) and billed requests (each started 64 KiB of a request's payload is
 * one request). An SDK middleware, so the client, its signing and its HTTP
 * stay the real ones.
 */
import type { SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { billedSqsRequests } from './cost-model';

export interface SqsRequestCounts {
  requests: number;
  messages: number;
  messageBytes: number;
  billedRequests: number;
}

/** The size SQS gives a message: its body plus each attribute's name, type and value. */
export function sqsMessageBytes(entry: SendMessageBatchRequestEntry): number {
  let bytes = Buffer.byteLength(entry.MessageBody ?? '');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

export function meterSendMessageBatch(sqs: SQSClient): SqsRequestCounts {
  const counts: SqsRequestCounts = { requests: 0, messages: 0, messageBytes: 0, billedRequests: 0 };
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand') {
        const entries = (args.input as { Entries?: SendMessageBatchRequestEntry[] }).Entries ?? [];
        const bytes = entries.reduce((sum, entry) => sum + sqsMessageBytes(entry), 0);
        counts.requests++;
        counts.messages += entries.length;
        counts.messageBytes += bytes;
        counts.billedRequests += billedSqsRequests(bytes);
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchSqsRequestMeter' },
  );
  return counts;
}
