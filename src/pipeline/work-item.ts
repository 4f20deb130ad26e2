/**
 * The work item contract (DESIGN §3, README "Work item contract"). A message
 * has one of two shapes, named by its `envelope` message attribute:
 *
 * `item` — one record (every message when a feed's `recordsPerMessage` is 1):
 * {"envelopeVersion":1,"itemId":"<batchId>:<recordNumber>","batchId":"…","partner":"acme",
 *  "feed":"orders","schema":{"id":"orders","version":1,"uri":"urn:…"},"recordNumber":7,
 *  "line":8,"record":{…typed record…}}
 *
 * `pack` — 2 or more consecutive records of one staged chunk:
 * {"envelopeVersion":1,"envelope":"pack","packId":"<batchId>:<firstRecord>-<lastRecord>","batchId":"…",
 *  "partner":"acme","feed":"orders","schema":{…},"firstRecord":7,"lastRecord":9,
 *  "items":[{"itemId":"<batchId>:7","recordNumber":7,"line":8,"record":{…}},…]}
 *
 * `itemId` is deterministic and the same in both shapes, so a replay or a
 * resend after a crash carries the same ids and consumers drop duplicates per record.
 * Schemas: schemas/work-items/.
 */

export const WORK_ITEM_ENVELOPE_VERSION = 1;

/** The message attribute naming a message's shape, so consumers can dispatch without parsing. */
export const ENVELOPE_ATTRIBUTE = 'envelope';

export const EnvelopeShape = { ITEM: 'item', PACK: 'pack' } as const;
export type EnvelopeShape = (typeof EnvelopeShape)[keyof typeof EnvelopeShape];

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
      // Counted here so the validation pass's size check covers it.
      [ENVELOPE_ATTRIBUTE]: { DataType: 'String', StringValue: EnvelopeShape.ITEM },
    };
    this.attributesBytes = messageAttributesBytes(this.attributes);
    ({ idPrefix: this.idPrefix, constantFields: this.constantFields } = envelopeParts(context));
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

/** The constant text of a batch's item envelopes, before and after the record number in `itemId`. */
function envelopeParts({ batchId, partner, feed, schema }: WorkItemContext): { idPrefix: string; constantFields: string } {
  return {
    idPrefix: `{"envelopeVersion":${WORK_ITEM_ENVELOPE_VERSION},"itemId":${JSON.stringify(`${batchId}:`).slice(0, -1)}`,
    constantFields: `,"batchId":${JSON.stringify(batchId)},"partner":${JSON.stringify(partner)},"feed":${JSON.stringify(
      feed,
    )},"schema":${JSON.stringify(schema)}`,
  };
}

/** One record of a pack, taken from its staged item body. */
export interface PackEntry {
  readonly recordNumber: number;
  /** `{"itemId":…,"recordNumber":…,"line":…,"record":{…}}` */
  readonly text: string;
  readonly bytes: number;
}

/**
 * Builds pack envelopes from staged item bodies by string slicing: an item body
 * is `idPrefix + recordNumber + '"' + constantFields + ',"recordNumber":…,"line":…,"record":{…}}'`,
 * and its pack entry is the same text without the batch-level fields. A body
 * that does not have that layout (staged by another encoder) is re-encoded
 * through JSON, with the same result.
 */
export class WorkItemPacker {
  private readonly idPrefix: string;
  private readonly constantFields: string;
  private readonly entryPrefix: string;
  /** UTF-8 bytes an entry has fewer than its item body: the cut and added texts are fixed, so measured once. */
  private readonly entrySavings: number;
  private readonly packPrefix: string;
  private readonly packFrameBytes: number;

  constructor(readonly context: WorkItemContext) {
    ({ idPrefix: this.idPrefix, constantFields: this.constantFields } = envelopeParts(context));
    const escapedId = JSON.stringify(`${context.batchId}:`).slice(0, -1);
    this.entryPrefix = `{"itemId":${escapedId}`;
    this.entrySavings =
      Buffer.byteLength(this.idPrefix) + Buffer.byteLength(this.constantFields) - Buffer.byteLength(this.entryPrefix);
    this.packPrefix = `{"envelopeVersion":${WORK_ITEM_ENVELOPE_VERSION},"envelope":"${EnvelopeShape.PACK}","packId":${escapedId}`;
    // The frame with four one-digit numbers, less those digits.
    this.packFrameBytes = Buffer.byteLength(this.frame(0, 0)) + 2 - 4;
  }

  /** A packer for the batch whose item body this is (parsed once; the body's own text gives the layout). */
  static fromItemBody(body: string): WorkItemPacker {
    const { batchId, partner, feed, schema } = JSON.parse(body) as WorkItemContext;
    return new WorkItemPacker({ batchId, partner, feed, schema });
  }

  /** The pack entry of a staged item body; `bodyBytes` is its UTF-8 length. */
  entryOf(body: string, bodyBytes: number): PackEntry {
    const start = this.idPrefix.length;
    const end = body.indexOf('"', start);
    if (body.startsWith(this.idPrefix) && end > start && body.startsWith(this.constantFields, end + 1)) {
      const recordNumber = Number(body.slice(start, end));
      if (Number.isSafeInteger(recordNumber) && recordNumber > 0) {
        return {
          recordNumber,
          text: `${this.entryPrefix}${body.slice(start, end + 1)}${body.slice(end + 1 + this.constantFields.length)}`,
          bytes: bodyBytes - this.entrySavings,
        };
      }
    }
    return this.reencode(body);
  }

  private reencode(body: string): PackEntry {
    const item = JSON.parse(body) as WorkItemContext & { itemId: string; recordNumber: number; line: number; record: unknown };
    const { batchId, partner, feed, schema } = this.context;
    if (
      item.batchId !== batchId ||
      item.partner !== partner ||
      item.feed !== feed ||
      JSON.stringify(item.schema) !== JSON.stringify(schema)
    ) {
      throw new Error(`work item ${item.itemId} does not belong to batch ${batchId} (${partner}/${feed})`);
    }
    const text = JSON.stringify({ itemId: item.itemId, recordNumber: item.recordNumber, line: item.line, record: item.record });
    return { recordNumber: item.recordNumber, text, bytes: Buffer.byteLength(text) };
  }

  /** UTF-8 size of a pack of `entryBytes` (entries' bytes summed) in `count` entries. */
  packBytes(firstRecord: number, lastRecord: number, count: number, entryBytes: number): number {
    return this.packFrameBytes + 2 * (digits(firstRecord) + digits(lastRecord)) + entryBytes + Math.max(0, count - 1);
  }

  /** The pack envelope of consecutive entries of one chunk, in record order. */
  pack(entries: readonly PackEntry[]): string {
    const first = entries[0]!.recordNumber;
    const last = entries[entries.length - 1]!.recordNumber;
    let items = entries[0]!.text;
    for (let index = 1; index < entries.length; index++) items += `,${entries[index]!.text}`;
    return `${this.frame(first, last)}${items}]}`;
  }

  /** The pack envelope up to and including `"items":[`. */
  private frame(first: number, last: number): string {
    return `${this.packPrefix}${first}-${last}"${this.constantFields},"firstRecord":${first},"lastRecord":${last},"items":[`;
  }
}

function digits(value: number): number {
  return String(value).length;
}

/** The message id of a pack, as carried in its envelope. */
export function packIdOf(batchId: string, firstRecord: number, lastRecord: number): string {
  return `${batchId}:${firstRecord}-${lastRecord}`;
}

/** The item id of a record, as carried in its envelope. */
export function itemIdOf(batchId: string, recordNumber: number): string {
  return `${batchId}:${recordNumber}`;
}
