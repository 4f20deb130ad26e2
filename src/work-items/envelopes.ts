/**
 * The work item contract (README "Work item contract"). A message
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
 *
 * The sender turns each staged row (staged-rows.ts) into a *staged
 * record*: the record-specific tail of its item envelope, as a JSON object of
 * its own — {"recordNumber":7,"line":8,"record":{…}}. Both envelopes are built
 * from it by string splicing, with sizes known without encoding them.
 */

import { sqsMessageBytes } from '../platform/sqs-limits';
import type { FeedConfig } from '../config/types';

export const WORK_ITEM_ENVELOPE_VERSION = 1;

/** The message attribute naming a message's shape, so consumers can dispatch without parsing. */
export const ENVELOPE_ATTRIBUTE = 'envelope';

export const EnvelopeShape = { ITEM: 'item', PACK: 'pack' } as const;
export type EnvelopeShape = (typeof EnvelopeShape)[keyof typeof EnvelopeShape];

/**
 * The work queue's MaximumMessageSize (resources/queues.yml), SQS's largest
 * since 2025: the most any feed's `workItems.maxMessageBytes` may be. A queue
 * setting and this constant change together.
 */
export const WORK_QUEUE_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * A feed's cap on a work item message, body plus attributes, unless it sets
 * `workItems.maxMessageBytes`: 256 KiB, the size consumers were built for. A
 * Lambda consumer's batch of 10 such messages fits its 6 MB invocation payload
 * (10 × 1 MiB does not), and a message can be forwarded to SNS, which still
 * takes 256 KiB. Feeds whose consumers take more opt in to up to 1 MiB.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 262_144;

export interface WorkItemContext {
  readonly batchId: string;
  readonly partner: string;
  readonly feed: string;
  readonly schema: { readonly id: string; readonly version: number; readonly uri: string };
}

/** The envelope fields of a feed's batch. */
export function workItemContext(batchId: string, feed: FeedConfig): WorkItemContext {
  const { id, version, uri } = feed.schema;
  return { batchId, partner: feed.partnerId, feed: feed.id, schema: { id, version, uri } };
}

export interface MessageAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

export type MessageAttributes = Readonly<Record<string, MessageAttribute>>;

/** SQS counts attribute names, types and values toward a message's size. */
export function messageAttributesBytes(attributes: MessageAttributes): number {
  return sqsMessageBytes('', attributes);
}

/** The staged record of record `recordNumber` (1-based data row) starting on physical `line`; `recordJson` is the typed record. */
export function stagedRecord(recordNumber: number, line: number, recordJson: string): string {
  return `{"recordNumber":${recordNumber},"line":${line},"record":${recordJson}}`;
}

/** One staged record, as the sender builds it. */
export interface StagedRecord {
  readonly recordNumber: number;
  readonly text: string;
  /** UTF-8 length of `text`. */
  readonly bytes: number;
}

/**
 * Builds a batch's envelopes from its staged records. The constant parts are
 * serialized once per batch; a record's envelope is those parts spliced with
 * its staged record, and its size is known without encoding it.
 */
export class WorkItemEnvelopes {
  readonly itemAttributes: MessageAttributes;
  readonly packAttributes: MessageAttributes;
  readonly itemAttributesBytes: number;
  readonly packAttributesBytes: number;
  /** `{"envelopeVersion":1,"itemId":"<batchId>:` — JSON-escaped, without the closing quote. */
  private readonly idPrefix: string;
  /** `,"batchId":…,"partner":…,"feed":…,"schema":{…}` */
  private readonly constantFields: string;
  private readonly entryPrefix: string;
  private readonly packPrefix: string;
  /** UTF-8 bytes an item body has beyond its staged record and its record number's digits. */
  private readonly itemExtraBytes: number;
  private readonly entryExtraBytes: number;
  private readonly packFrameBytes: number;

  constructor(
    readonly context: WorkItemContext,
    /** The feed's cap on one message, body plus attributes. */
    readonly maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    const { batchId, partner, feed, schema } = context;
    const common = {
      partner: { DataType: 'String', StringValue: partner },
      feed: { DataType: 'String', StringValue: feed },
      schema: { DataType: 'String', StringValue: `${schema.id}.v${schema.version}` },
      batchId: { DataType: 'String', StringValue: batchId },
    } as const;
    this.itemAttributes = { ...common, [ENVELOPE_ATTRIBUTE]: { DataType: 'String', StringValue: EnvelopeShape.ITEM } };
    this.packAttributes = { ...common, [ENVELOPE_ATTRIBUTE]: { DataType: 'String', StringValue: EnvelopeShape.PACK } };
    this.itemAttributesBytes = messageAttributesBytes(this.itemAttributes);
    this.packAttributesBytes = messageAttributesBytes(this.packAttributes);
    const escapedId = JSON.stringify(`${batchId}:`).slice(0, -1);
    this.idPrefix = `{"envelopeVersion":${WORK_ITEM_ENVELOPE_VERSION},"itemId":${escapedId}`;
    this.constantFields = `,"batchId":${JSON.stringify(batchId)},"partner":${JSON.stringify(partner)},"feed":${JSON.stringify(
      feed,
    )},"schema":${JSON.stringify(schema)}`;
    this.entryPrefix = `{"itemId":${escapedId}`;
    this.packPrefix = `{"envelopeVersion":${WORK_ITEM_ENVELOPE_VERSION},"envelope":"${EnvelopeShape.PACK}","packId":${escapedId}`;
    // item = idPrefix + N + '"' + constantFields + ',' + staged.slice(1): the ',' replaces the staged record's '{'.
    this.itemExtraBytes = Buffer.byteLength(this.idPrefix) + 1 + Buffer.byteLength(this.constantFields);
    // entry = entryPrefix + N + '",' + staged.slice(1)
    this.entryExtraBytes = Buffer.byteLength(this.entryPrefix) + 1;
    // The frame with four one-digit numbers, less those digits.
    this.packFrameBytes = Buffer.byteLength(this.frame(0, 0)) + 2 - 4;
  }

  /** UTF-8 size of the item body of a record whose JSON is `recordJsonBytes` long (the validation pass's size check). */
  itemBytes(recordNumber: number, line: number, recordJsonBytes: number): number {
    return this.itemExtraBytes + digits(recordNumber) + stagedRecordBytes(recordNumber, line, recordJsonBytes);
  }

  /** The item envelope of a staged record. */
  item(staged: StagedRecord): string {
    return `${this.idPrefix}${staged.recordNumber}"${this.constantFields},${staged.text.slice(1)}`;
  }

  itemBodyBytes(staged: StagedRecord): number {
    return this.itemExtraBytes + digits(staged.recordNumber) + staged.bytes;
  }

  /** UTF-8 size of a staged record's entry in a pack. */
  entryBytes(staged: StagedRecord): number {
    return this.entryExtraBytes + digits(staged.recordNumber) + staged.bytes;
  }

  /** UTF-8 size of a pack of `count` records, `entryBytes` being their entries' bytes summed. */
  packBytes(firstRecord: number, lastRecord: number, count: number, entryBytes: number): number {
    return this.packFrameBytes + 2 * (digits(firstRecord) + digits(lastRecord)) + entryBytes + Math.max(0, count - 1);
  }

  /** The pack envelope of consecutive staged records of one chunk, in record order. */
  pack(records: readonly StagedRecord[]): string {
    let items = '';
    for (const staged of records) items += `${items ? ',' : ''}${this.entryPrefix}${staged.recordNumber}",${staged.text.slice(1)}`;
    return `${this.frame(records[0]!.recordNumber, records[records.length - 1]!.recordNumber)}${items}]}`;
  }

  /** The pack envelope up to and including `"items":[`. */
  private frame(first: number, last: number): string {
    return `${this.packPrefix}${first}-${last}"${this.constantFields},"firstRecord":${first},"lastRecord":${last},"items":[`;
  }
}

/** A staged record's bytes besides its two numbers and the record's JSON. */
const STAGED_RECORD_FRAME_BYTES = stagedRecord(0, 0, '').length - 2;

function stagedRecordBytes(recordNumber: number, line: number, recordJsonBytes: number): number {
  return STAGED_RECORD_FRAME_BYTES + digits(recordNumber) + digits(line) + recordJsonBytes;
}

function digits(value: number): number {
  return String(value).length;
}
