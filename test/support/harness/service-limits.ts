/**
 * The service limits AWS enforces and moto does not (or only loosely), checked
 * before a call reaches the emulator and refused with the error AWS returns.
 * Current quotas (December 2026):
 * - SQS: a message, body plus attributes, at most the queue's MaximumMessageSize
 *   (1 KiB–1 MiB; raised from 256 KiB in 2025); SendMessageBatch at most 10 entries
 *   and 1 MiB in all (SQS developer guide, "Amazon SQS message quotas", "batch actions").
 * - EventBridge: a PutEvents entry at most 1 MB, up to 10 entries (raised from
 *   256 KB on 2026-01-29; entry size as "Calculating PutEvents event entry size").
 * - SNS: a message, body plus attributes, at most 256 KiB.
 * - S3: an object key at most 1,024 bytes of UTF-8.
 * DynamoDB's 400 KB per item moto enforces itself.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
// SNS counts a message like SQS: body plus each attribute's name, type and value.
import { SQS_LIMITS, sqsMessageBytes } from '../../../src/platform/sqs-limits';

export const SERVICE_LIMITS = {
  sqsMaxMessageBytes: SQS_LIMITS.maxMessageBytes,
  sqsMaxBatchBytes: SQS_LIMITS.maxBatchBytes,
  sqsMaxBatchEntries: SQS_LIMITS.maxBatchEntries,
  eventBridgeMaxEntryBytes: 1_048_576,
  eventBridgeMaxEntries: 10,
  snsMaxMessageBytes: 262_144,
  s3MaxKeyBytes: 1024,
} as const;

/** An error shaped like the one the service returns (name, HTTP status, client fault). */
export function serviceError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode }, harnessLimit: true });
}

const utf8 = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text));

function checkS3Key(key: string | undefined): void {
  if (utf8(key) > SERVICE_LIMITS.s3MaxKeyBytes) {
    throw serviceError('KeyTooLongError', `Your key is too long (${utf8(key)} bytes; S3 keys take at most ${SERVICE_LIMITS.s3MaxKeyBytes})`);
  }
}

/** The queue's own MaximumMessageSize, read once per queue (outside any function's scope: it is the harness's call). */
export class QueueSizeLimits {
  private readonly known = new Map<string, Promise<number>>();

  constructor(private readonly sqs: SQSClient) {}

  maxBytes(queueUrl: string): Promise<number> {
    let found = this.known.get(queueUrl);
    if (!found) {
      found = this.sqs
        .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['MaximumMessageSize'] }))
        .then(({ Attributes }) => Math.min(Number(Attributes?.MaximumMessageSize ?? SERVICE_LIMITS.sqsMaxMessageBytes), SERVICE_LIMITS.sqsMaxMessageBytes))
        .catch(() => SERVICE_LIMITS.sqsMaxMessageBytes);
      this.known.set(queueUrl, found);
    }
    return found;
  }
}

/** Throws the service's error when `input` breaks a limit AWS enforces; resolves when the call may go ahead. */
export async function checkServiceLimits(service: string, operation: string, input: Record<string, any>, queues: QueueSizeLimits): Promise<void> {
  switch (`${service}:${operation}`) {
    case 'sqs:SendMessage': {
      const max = await queues.maxBytes(input.QueueUrl);
      const bytes = sqsMessageBytes(input.MessageBody ?? '', input.MessageAttributes);
      if (bytes > max) throw serviceError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes (it is ${bytes}).`);
      return;
    }
    case 'sqs:SendMessageBatch': {
      const entries = input.Entries as { MessageBody?: string; MessageAttributes?: Record<string, any> }[];
      if (entries.length > SERVICE_LIMITS.sqsMaxBatchEntries) {
        throw serviceError('AWS.SimpleQueueService.TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${SERVICE_LIMITS.sqsMaxBatchEntries}. You have sent ${entries.length}.`);
      }
      const max = await queues.maxBytes(input.QueueUrl);
      let total = 0;
      for (const entry of entries) {
        const bytes = sqsMessageBytes(entry.MessageBody ?? '', entry.MessageAttributes);
        if (bytes > max) throw serviceError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes (an entry is ${bytes}).`);
        total += bytes;
      }
      if (total > SERVICE_LIMITS.sqsMaxBatchBytes) {
        throw serviceError('AWS.SimpleQueueService.BatchRequestTooLong', `Batch requests cannot be longer than ${SERVICE_LIMITS.sqsMaxBatchBytes} bytes. You have sent ${total} bytes.`);
      }
      return;
    }
    case 'sns:Publish': {
      const bytes = sqsMessageBytes(input.Message ?? '', input.MessageAttributes);
      if (bytes > SERVICE_LIMITS.snsMaxMessageBytes) throw serviceError('InvalidParameter', `Invalid parameter: Message too long (${bytes} bytes; at most ${SERVICE_LIMITS.snsMaxMessageBytes})`);
      return;
    }
    case 'eventbridge:PutEvents': {
      const entries = input.Entries as { Source?: string; DetailType?: string; Detail?: string; Resources?: string[]; Time?: unknown }[];
      if (entries.length > SERVICE_LIMITS.eventBridgeMaxEntries) throw serviceError('ValidationException', `PutEvents takes at most ${SERVICE_LIMITS.eventBridgeMaxEntries} entries (${entries.length} given)`);
      let total = 0;
      for (const entry of entries) {
        const bytes = (entry.Time ? 14 : 0) + utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail) + (entry.Resources ?? []).reduce((sum, resource) => sum + utf8(resource), 0);
        total += bytes;
      }
      if (total > SERVICE_LIMITS.eventBridgeMaxEntryBytes) {
        throw serviceError('ValidationException', `Total size of the entries in the request is over the limit (${total} bytes; at most ${SERVICE_LIMITS.eventBridgeMaxEntryBytes})`);
      }
      return;
    }
    case 's3:PutObject':
    case 's3:CreateMultipartUpload':
    case 's3:CopyObject':
      return checkS3Key(input.Key);
    default:
      return;
  }
}
