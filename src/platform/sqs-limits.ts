/**
 * Amazon SQS quotas (SQS developer guide, "Amazon SQS message quotas" and
 * "Amazon SQS batch actions", December 2026): a message takes up to its queue's
 * MaximumMessageSize, at most 1 MiB (raised from 256 KiB in 2025), body and
 * attributes together; SendMessageBatch takes up to 10 entries and 1 MiB in all.
 */
export const SQS_LIMITS = {
  maxMessageBytes: 1_048_576,
  maxBatchBytes: 1_048_576,
  maxBatchEntries: 10,
} as const;

export interface SqsAttribute {
  readonly DataType?: string;
  readonly StringValue?: string;
  readonly BinaryValue?: Uint8Array;
}

/** A message's size as SQS counts it: the body, and each attribute's name, data type and value. */
export function sqsMessageBytes(body: string, attributes: Readonly<Record<string, SqsAttribute>> = {}): number {
  let bytes = Buffer.byteLength(body);
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    bytes += value.StringValue !== undefined ? Buffer.byteLength(value.StringValue) : (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

/**
 * Splits messages into SendMessageBatch requests of at most 10 entries and
 * `maxBatchBytes` each, in order. A message is never split: one larger than the
 * budget goes in a request of its own (SQS then judges it against the queue's limit).
 */
export function batchesBySize<T>(messages: readonly T[], bytesOf: (message: T) => number, maxBatchBytes: number = SQS_LIMITS.maxBatchBytes): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const bytes = bytesOf(message);
    if (current.length === SQS_LIMITS.maxBatchEntries || (current.length && currentBytes + bytes > maxBatchBytes)) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(message);
    currentBytes += bytes;
  }
  if (current.length) batches.push(current);
  return batches;
}
