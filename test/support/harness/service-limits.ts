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
 * - DynamoDB: an item at most 400 KB, attribute names included.
 * - S3: an object key at most 1,024 bytes of UTF-8.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export const SERVICE_LIMITS = {
  sqsMaxMessageBytes: 1_048_576,
  sqsMaxBatchBytes: 1_048_576,
  sqsMaxBatchEntries: 10,
  eventBridgeMaxEntryBytes: 1_048_576,
  eventBridgeMaxEntries: 10,
  snsMaxMessageBytes: 262_144,
  dynamoMaxItemBytes: 409_600,
  s3MaxKeyBytes: 1024,
} as const;

/** An error shaped like the one the service returns (name, HTTP status, client fault). */
export function serviceError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode }, harnessLimit: true });
}

const utf8 = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text));

/** SQS and SNS count each attribute's name, data type and value. */
function attributesBytes(attributes: Record<string, { DataType?: string; StringValue?: string; BinaryValue?: Uint8Array }> | undefined): number {
  return Object.entries(attributes ?? {}).reduce(
    (sum, [name, value]) => sum + utf8(name) + utf8(value.DataType) + (value.StringValue !== undefined ? utf8(value.StringValue) : (value.BinaryValue?.byteLength ?? 0)),
    0,
  );
}

/** DynamoDB's item size: attribute names plus values (numbers about one byte per two digits). */
export function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|e.*$/gi, '').replace(/^0+/, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, item) => sum + utf8(item), 0);
  if (value.NS) return value.NS.reduce((sum, item) => sum + attributeValueBytes({ N: item }), 0);
  if (value.BS) return value.BS.reduce((sum, item) => sum + item.byteLength, 0);
  if (value.L) return 3 + value.L.reduce((sum, item) => sum + attributeValueBytes(item) + 1, 0);
  if (value.M) return 3 + itemBytes(value.M) + Object.keys(value.M).length;
  return 0;
}

export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + attributeValueBytes(value), 0);
}

function checkItem(item: Record<string, AttributeValue> | undefined, what: string): void {
  const bytes = item ? itemBytes(item) : 0;
  if (bytes > SERVICE_LIMITS.dynamoMaxItemBytes) {
    throw serviceError('ValidationException', `Item size has exceeded the maximum allowed size (${what}: ${bytes} bytes; at most ${SERVICE_LIMITS.dynamoMaxItemBytes})`);
  }
}

/**
 * An update's new values alone (key included) already past 400 KB: AWS refuses it
 * whatever the item held before. (A smaller update that grows a big item past the
 * limit is caught on the returned item when the caller asks for ALL_NEW.)
 */
function checkUpdate(input: { Key?: Record<string, AttributeValue>; ExpressionAttributeValues?: Record<string, AttributeValue> }, what: string): void {
  checkItem({ ...(input.Key ?? {}), ...(input.ExpressionAttributeValues ?? {}) }, what);
}

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
      const bytes = utf8(input.MessageBody) + attributesBytes(input.MessageAttributes);
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
        const bytes = utf8(entry.MessageBody) + attributesBytes(entry.MessageAttributes);
        if (bytes > max) throw serviceError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes (an entry is ${bytes}).`);
        total += bytes;
      }
      if (total > SERVICE_LIMITS.sqsMaxBatchBytes) {
        throw serviceError('AWS.SimpleQueueService.BatchRequestTooLong', `Batch requests cannot be longer than ${SERVICE_LIMITS.sqsMaxBatchBytes} bytes. You have sent ${total} bytes.`);
      }
      return;
    }
    case 'sns:Publish': {
      const bytes = utf8(input.Message) + attributesBytes(input.MessageAttributes);
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
    case 'dynamodb:PutItem':
      return checkItem(input.Item, 'PutItem');
    case 'dynamodb:UpdateItem':
      return checkUpdate(input, 'UpdateItem');
    case 'dynamodb:TransactWriteItems':
      for (const item of input.TransactItems as Record<string, any>[]) {
        if (item.Put) checkItem(item.Put.Item, 'TransactWriteItems Put');
        if (item.Update) checkUpdate(item.Update, 'TransactWriteItems Update');
      }
      return;
    case 'dynamodb:BatchWriteItem':
      for (const writes of Object.values(input.RequestItems as Record<string, { PutRequest?: { Item: Record<string, AttributeValue> } }[]>)) {
        for (const write of writes) checkItem(write.PutRequest?.Item, 'BatchWriteItem');
      }
      return;
    case 's3:PutObject':
    case 's3:CreateMultipartUpload':
    case 's3:CopyObject':
      return checkS3Key(input.Key);
    default:
      return;
  }
}

/** The size of an item as the document client returns it (plain values), by the same rules. */
function plainValueBytes(value: unknown): number {
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number' || typeof value === 'bigint') return attributeValueBytes({ N: String(value) });
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, item) => sum + plainValueBytes(item), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, item) => sum + plainValueBytes(item) + 1, 0);
  return 3 + Object.entries(value as object).reduce((sum, [name, item]) => sum + utf8(name) + plainValueBytes(item) + 1, 0);
}

/** An UpdateItem that asked for the new item back: its size is known only now (the write already happened in the emulator). */
export function checkReturnedItem(service: string, operation: string, output: Record<string, any> | undefined): void {
  if (service !== 'dynamodb' || operation !== 'UpdateItem' || !output?.Attributes) return;
  const bytes = Object.entries(output.Attributes as object).reduce((sum, [name, value]) => sum + utf8(name) + plainValueBytes(value), 0);
  if (bytes > SERVICE_LIMITS.dynamoMaxItemBytes) {
    throw serviceError('ValidationException', `Item size has exceeded the maximum allowed size (UpdateItem result: ${bytes} bytes; at most ${SERVICE_LIMITS.dynamoMaxItemBytes})`);
  }
}
