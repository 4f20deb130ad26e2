/**
 * The work item contract (DESIGN §3): one SQS message per valid record.
 *
 * {"envelopeVersion":1,"itemId":"<batchId>:<recordNumber>","batchId":"…","partner":"acme",
 *  "feed":"orders","schema":{"id":"orders","version":1,"uri":"urn:…"},"recordNumber":7,
 *  "line":8,"record":{…typed record…}}
 *
 * `itemId` is deterministic, so a replay or a resend after a crash carries the
 * same id and consumers can drop duplicates.
 */

export const WORK_ITEM_ENVELOPE_VERSION = 1;

/** SQS standard queues accept at most 256 KiB per message (body plus attributes); the work queue is set to this. */
export const WORK_QUEUE_MAX_MESSAGE_BYTES = 262_144;

export interface WorkItemContext {
  readonly batchId: string;
  readonly partner: string;
  readonly feed: string;
  readonly schema: { readonly id: string; readonly version: number; readonly uri: string };
}

export interface MessageAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

/** SQS counts attribute names, types and values toward a message's size. */
export function messageAttributesBytes(attributes: Readonly<Record<string, MessageAttribute>>): number {
  return Object.entries(attributes).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + Buffer.byteLength(value.StringValue),
    0,
  );
}

/** Builds work item bodies quickly: the constant part of the envelope is serialized once per batch. */
export class WorkItemEncoder {
  readonly attributes: Readonly<Record<string, MessageAttribute>>;
  readonly attributesBytes: number;
  private readonly idPrefix: string;
  private readonly constantFields: string;
  private readonly overheadBytes: number;

  constructor(
    readonly context: WorkItemContext,
    columns: readonly string[],
  ) {
    const { batchId, partner, feed, schema } = context;
    this.attributes = {
      partner: { DataType: 'String', StringValue: partner },
      feed: { DataType: 'String', StringValue: feed },
      schema: { DataType: 'String', StringValue: `${schema.id}.v${schema.version}` },
      batchId: { DataType: 'String', StringValue: batchId },
    };
    this.attributesBytes = messageAttributesBytes(this.attributes);
    this.idPrefix = `{"envelopeVersion":${WORK_ITEM_ENVELOPE_VERSION},"itemId":${JSON.stringify(`${batchId}:`).slice(0, -1)}`;
    this.constantFields = `,"batchId":${JSON.stringify(batchId)},"partner":${JSON.stringify(partner)},"feed":${JSON.stringify(
      feed,
    )},"schema":${JSON.stringify(schema)}`;
    // Two numbers of at most 16 digits each, the field names and JSON punctuation.
    const perColumn = columns.reduce((sum, column) => sum + Buffer.byteLength(JSON.stringify(column)) + 4, 0);
    this.overheadBytes =
      Buffer.byteLength(this.idPrefix + this.constantFields) + 2 * 16 + '","recordNumber":,"line":,"record":{}}'.length + perColumn;
  }

  /**
   * A cheap upper bound of a body's UTF-8 size from the record's CSV fields:
   * JSON encodes one UTF-16 unit of text (or a coerced number) in at most 6 bytes.
   */
  upperBoundBytes(fields: readonly string[]): number {
    let bound = this.overheadBytes;
    for (const field of fields) bound += field.length * 6;
    return bound;
  }

  /** The message body of record `recordNumber` (1-based data row), starting on physical `line`. */
  encode(recordNumber: number, line: number, record: Record<string, unknown>): string {
    return `${this.idPrefix}${recordNumber}"${this.constantFields},"recordNumber":${recordNumber},"line":${line},"record":${JSON.stringify(
      record,
    )}}`;
  }
}

/** The item id of a record, as carried in its envelope. */
export function itemIdOf(batchId: string, recordNumber: number): string {
  return `${batchId}:${recordNumber}`;
}
