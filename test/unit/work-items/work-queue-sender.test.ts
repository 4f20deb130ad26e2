import { SQS_LIMITS } from '../../../src/platform/sqs-limits';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  stagedRecord,
  WORK_QUEUE_MAX_MESSAGE_BYTES,
  workItemContext,
  WorkItemEnvelopes,
  type StagedRecord,
} from '../../../src/work-items/envelopes';
import type { ChunkLimits, StagingManifest } from '../../../src/work-items/staging-writer';
import { ordersFeed } from '../../support/csv-cases';
import { WorkQueueSendError } from '../../../src/work-items/errors';
import { sendStagedItems, type SendOptions } from '../../../src/work-items/sender';
import { csvRowOf, itemIdsOf, memoryS3, MemoryStagingSink, rawOf, recordingSqs, type SentMessage } from './staged-fixture';

const BATCH_ID = '0123456789abcdef0123456789abcdef';
const FEED = ordersFeed();
const COLUMNS = FEED.schema.columns;
const CONTEXT = workItemContext(BATCH_ID, FEED);
const FAST = { attempts: 4, baseMs: 1, maxMs: 2 };
const envelopes = new WorkItemEnvelopes(CONTEXT);

/** The item envelope of a record as the contract documents it (README), field for field: what the sender's splicing must produce. */
function itemEnvelope(recordNumber: number, line: number, record: Record<string, unknown>): string {
  return JSON.stringify({ envelopeVersion: 1, itemId: `${CONTEXT.batchId}:${recordNumber}`, ...CONTEXT, recordNumber, line, record });
}

/** A staged record as the sender reads it. */
function stagedOf(recordNumber: number, line: number, record: Record<string, unknown>): StagedRecord {
  const text = stagedRecord(recordNumber, line, JSON.stringify(record));
  return { recordNumber, text, bytes: Buffer.byteLength(text) };
}

function order(n: number, customer = `CUST-${n % 97}`): Record<string, unknown> {
  return {
    order_id: `ORD-${String(n).padStart(9, '0')}`,
    customer_id: customer,
    sku: `SKU-${n % 13}`,
    quantity: 1 + (n % 9),
    unit_price: `${1 + (n % 50)}.${String(n % 100).padStart(2, '0')}`,
    currency: ['EUR', 'USD', 'GBP'][n % 3],
    order_date: '2026-11-20',
    ...(n % 2 ? { email: `buyer${n}@example.com` } : {}),
  };
}

interface Staged {
  readonly options: Omit<SendOptions, 'onChunkSent'>;
  /** Each record's item envelope, built independently of the sender. */
  readonly bodies: Map<number, string>;
}

/**
 * Stages records `numbers` (record numbers; gaps are invalid rows) as the
 * validation pass does — each record's CSV row — with the given chunk limits.
 */
function stage(
  numbers: readonly number[],
  limits: Partial<ChunkLimits> = {},
  recordOf: (n: number) => Record<string, unknown> = order,
  feed = FEED,
): Staged {
  const sink = new MemoryStagingSink(feed, BATCH_ID, { maxItems: 1000, maxBytes: 4 * 1024 * 1024, ...limits });
  sink.layout(COLUMNS, '\n');
  const bodies = new Map<number, string>();
  for (const n of numbers) {
    bodies.set(n, itemEnvelope(n, n + 1, recordOf(n)));
    sink.write(n, n + 1, rawOf(csvRowOf(recordOf(n), COLUMNS)));
  }
  const { manifest, data } = sink.close();
  return {
    options: { s3: memoryS3(data), sqs: recordingSqs(), queueUrl: 'q', manifest, fromChunk: 0, backoff: FAST, concurrency: 1 },
    bodies,
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

/** Each SendMessageBatch request held at most SQS's 1 MiB in all. */
function expectRequestsWithinSqsLimit({ messages, sqs }: { messages: readonly SentMessage[]; sqs: { batchSizes: readonly number[] } }): void {
  let sent = 0;
  for (const size of sqs.batchSizes) {
    const batch = messages.slice(sent, (sent += size));
    expect(batch.reduce((sum, message) => sum + messageBytes(message), 0)).toBeLessThanOrEqual(SQS_LIMITS.maxBatchBytes);
  }
  expect(sent).toBe(messages.length);
}

async function send(staged: Staged, overrides: Partial<SendOptions> = {}) {
  const sqs = recordingSqs();
  const checkpoints: number[] = [];
  const progress = await sendStagedItems({
    ...staged.options,
    sqs,
    onChunkSent: async (next) => {
      checkpoints.push(next);
    },
    ...overrides,
  });
  return { progress, sqs, messages: sqs.messages, checkpoints };
}

const bodyOf = (message: SentMessage) => JSON.parse(message.body);
const messageBytes = (message: SentMessage) =>
  Buffer.byteLength(message.body) +
  Object.entries(message.attributes).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value), 0);
const allIds = (messages: readonly SentMessage[]) => messages.flatMap(itemIdsOf);

describe('sendStagedItems with one record per message', () => {
  it('sends each staged record as its item envelope, exactly as the contract lays it out, with envelope = item', async () => {
    const staged = stage(range(1, 25), { maxItems: 10 });
    const { progress, messages } = await send(staged);
    expect(messages.map((message) => message.body)).toEqual([...staged.bodies.values()]);
    for (const message of messages) {
      expect(message.attributes).toEqual({ partner: 'acme', feed: 'orders', schema: 'orders.v1', batchId: BATCH_ID, envelope: 'item' });
    }
    expect(allIds(messages)).toEqual(range(1, 25).map((n) => `${BATCH_ID}:${n}`));
    // 3 chunks (10, 10, 5): 1 + 1 + 1 requests of up to 10 entries.
    expect(progress).toEqual({ nextChunk: 3, itemsSent: 25, done: true, messagesSent: 25, requests: 3 });
  });

  it('is the default', async () => {
    const staged = stage(range(1, 5));
    const explicit = await send(staged, { recordsPerMessage: 1 });
    const implicit = await send(staged);
    expect(implicit.messages).toEqual(explicit.messages);
  });
});

describe('sendStagedItems packing records', () => {
  it('packs up to N consecutive records of a chunk, valid against the pack schema, with the single-mode item ids', async () => {
    const numbers = [...range(1, 12), ...range(14, 26)]; // record 13 was invalid
    const staged = stage(numbers);
    const { progress, messages } = await send(staged, { recordsPerMessage: 10 });
    expect(progress).toEqual({ nextChunk: 1, itemsSent: 25, done: true, messagesSent: 3, requests: 1 });
    expect(messages.map((message) => message.attributes.envelope)).toEqual(['pack', 'pack', 'pack']);
    const packs = messages.map(bodyOf);
    expect(packs.map((pack) => pack.packId)).toEqual([`${BATCH_ID}:1-10`, `${BATCH_ID}:11-21`, `${BATCH_ID}:22-26`]);
    expect(packs.map((pack) => [pack.firstRecord, pack.lastRecord, pack.items.length])).toEqual([
      [1, 10, 10],
      [11, 21, 10],
      [22, 26, 5],
    ]);
    expect(allIds(messages)).toEqual(numbers.map((n) => `${BATCH_ID}:${n}`));
    // Each entry is exactly the item envelope's per-record part; the batch-level fields are the pack's.
    for (const pack of packs) {
      expect(pack).toMatchObject({ envelopeVersion: 1, envelope: 'pack', batchId: BATCH_ID, partner: 'acme', feed: 'orders', schema: CONTEXT.schema });
      for (const entry of pack.items) {
        const { itemId, recordNumber, line, record } = JSON.parse(staged.bodies.get(entry.recordNumber)!);
        expect(entry).toEqual({ itemId, recordNumber, line, record });
      }
    }
    expect(Object.keys(packs[0])).toEqual([
      'envelopeVersion', 'envelope', 'packId', 'batchId', 'partner', 'feed', 'schema', 'firstRecord', 'lastRecord', 'items',
    ]);
  });

  it('never packs across a chunk boundary; a lone record goes out as its item envelope', async () => {
    const staged = stage(range(1, 23), { maxItems: 11 }); // chunks of 11, 11, 1
    const { progress, messages, checkpoints } = await send(staged, { recordsPerMessage: 10 });
    expect(checkpoints).toEqual([1, 2, 3]);
    const shapes = messages.map((message) => {
      const body = bodyOf(message);
      return message.attributes.envelope === 'pack' ? `${body.firstRecord}-${body.lastRecord}` : `${body.recordNumber}`;
    });
    expect(shapes).toEqual(['1-10', '11', '12-21', '22', '23']);
    expect(messages[1]!.body).toBe(staged.bodies.get(11));
    expect(messages[1]!.attributes.envelope).toBe('item');
    expect(progress).toMatchObject({ itemsSent: 23, messagesSent: 5, requests: 3 });
    expect(allIds(messages)).toEqual(range(1, 23).map((n) => `${BATCH_ID}:${n}`));
  });

  it('honours N up to 1000, and the SendMessageBatch limits on the packs', async () => {
    const small = (n: number) => ({ order_id: `ORD-${String(n).padStart(9, '0')}`, quantity: n % 7 });
    const staged = stage(range(1, 2500), { maxItems: 1000 }, small);
    const { progress, messages, sqs } = await send(staged, { recordsPerMessage: 1000 });
    expect(messages.map((message) => bodyOf(message).items.length)).toEqual([1000, 1000, 500]);
    expect(progress).toMatchObject({ messagesSent: 3, requests: 3 });
    for (const message of messages) expect(messageBytes(message)).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
    expect(sqs.batchSizes).toEqual([1, 1, 1]);
    const hundred = await send(stage(range(1, 2500)), { recordsPerMessage: 200 });
    // 13 packs of about 50 KB, never across a chunk of 1000 records: each
    // chunk's packs fit one SendMessageBatch's 1 MiB (a 256 KiB request took four).
    expect(hundred.progress).toMatchObject({ messagesSent: 13, requests: 3 });
    expect(hundred.sqs.batchSizes).toEqual([5, 5, 3]);
    expectRequestsWithinSqsLimit(hundred);
    expect(allIds(hundred.messages)).toHaveLength(2500);
  });

  it("packs up to a feed's 1 MiB cap, each SendMessageBatch within 1 MiB", async () => {
    const roomy = { ...FEED, workItems: { recordsPerMessage: 1000, maxMessageBytes: WORK_QUEUE_MAX_MESSAGE_BYTES } };
    const wide = (n: number) => order(n, `note ${n} `.repeat(100));
    const packed = await send(stage(range(1, 3000), { maxItems: 3000, maxBytes: 16 * 1024 * 1024 }, wide, roomy), { recordsPerMessage: 1000 });
    const sizes = packed.messages.map(messageBytes);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(WORK_QUEUE_MAX_MESSAGE_BYTES);
    // Packs are cut by size, not count: each is past the default 256 KiB and most are close to 1 MiB.
    expect(Math.min(...sizes.slice(0, -1))).toBeGreaterThan(0.9 * WORK_QUEUE_MAX_MESSAGE_BYTES);
    expect(packed.messages.every((message) => bodyOf(message).items.length < 1000)).toBe(true);
    expectRequestsWithinSqsLimit(packed);
    expect(allIds(packed.messages)).toHaveLength(3000);
  });

  it('starts a new message when the next record would take the pack, attributes included, over 256 KiB', async () => {
    // Multi-byte text: é is 2 bytes, 🙂 is 4 (2 UTF-16 units), a quote escapes to 2.
    const big = (n: number) => order(n, `${'é🙂"'.repeat(n % 3 === 0 ? 9000 : 4000)}${n}`);
    const staged = stage(range(1, 40), {}, big);
    const { messages } = await send(staged, { recordsPerMessage: 10 });
    const byRecord = (n: number) => {
      const { recordNumber, line, record } = JSON.parse(staged.bodies.get(n)!);
      return { bytes: envelopes.entryBytes(stagedOf(recordNumber, line, record)) };
    };
    let expectedNext = 1;
    for (const [index, message] of messages.entries()) {
      expect(messageBytes(message)).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
      const numbers = itemIdsOf(message).map((id) => Number(id.split(':')[1]));
      expect(numbers[0]).toBe(expectedNext);
      expectedNext = numbers[numbers.length - 1]! + 1;
      if (message.attributes.envelope === 'pack') {
        const entries = numbers.map(byRecord);
        // The size arithmetic is the real size.
        expect(Buffer.byteLength(message.body)).toBe(envelopes.packBytes(numbers[0]!, numbers[numbers.length - 1]!, entries.length, entries.reduce((sum, entry) => sum + entry.bytes, 0)));
      }
      // Greedy: the next record of the chunk would not have fitted.
      if (index + 1 < messages.length && numbers.length < 10) {
        const next = messages[index + 1]!;
        const nextBody = bodyOf(next);
        const nextNumber = next.attributes.envelope === 'pack' ? nextBody.firstRecord : nextBody.recordNumber;
        const packAttrs = messageBytes({ body: '', attributes: { ...message.attributes, envelope: 'pack' } });
        const withNext = [...numbers, nextNumber].map(byRecord);
        const bytes = envelopes.packBytes(numbers[0]!, nextNumber, withNext.length, withNext.reduce((sum, entry) => sum + entry.bytes, 0));
        expect(bytes + packAttrs).toBeGreaterThan(DEFAULT_MAX_MESSAGE_BYTES);
      }
    }
    expect(expectedNext).toBe(41);
    expect(new Set(messages.map((message) => message.attributes.envelope))).toEqual(new Set(['pack']));
  });

  it('sends a record too big to share a message as its item envelope', async () => {
    // Record 3's item envelope is 10 bytes under the limit, its attributes included.
    const probe = Buffer.byteLength(itemEnvelope(3, 4, order(3, ''))) + envelopes.itemAttributesBytes;
    const huge = (n: number) => order(n, n === 3 ? 'x'.repeat(DEFAULT_MAX_MESSAGE_BYTES - 10 - probe) : `C-${n}`);
    const staged = stage(range(1, 6), {}, huge);
    const { messages } = await send(staged, { recordsPerMessage: 10 });
    expect(messages.map((message) => message.attributes.envelope)).toEqual(['pack', 'item', 'pack']);
    expect(messages[1]!.body).toBe(staged.bodies.get(3));
    expect(messageBytes(messages[1]!)).toBe(DEFAULT_MAX_MESSAGE_BYTES - 10);
    expect(allIds(messages)).toEqual(range(1, 6).map((n) => `${BATCH_ID}:${n}`));
  });

  it('is deterministic: a resume from a chunk checkpoint re-creates exactly the same messages', async () => {
    const staged = stage(range(1, 95), { maxItems: 20 }); // chunks 20,20,20,20,15
    const reference = await send(staged, { recordsPerMessage: 7 });

    // A crash in the middle of chunk 2: some of its messages went out, its checkpoint was not written.
    // Chunks of 20 records make 3 packs (7, 7, 6), one request per chunk: request 3 is chunk 2's.
    const crashing = recordingSqs((entries, call) =>
      call === 3 ? entries.slice(1).map((entry) => ({ Id: entry.Id!, SenderFault: true, Code: 'Injected', Message: 'crash' })) : [],
    );
    const checkpoints: number[] = [];
    const failed = sendStagedItems({
      ...staged.options,
      sqs: crashing,
      recordsPerMessage: 7,
      onChunkSent: async (next) => {
        checkpoints.push(next);
      },
    });
    await expect(failed).rejects.toBeInstanceOf(WorkQueueSendError);
    const checkpoint = checkpoints[checkpoints.length - 1]!;
    expect(checkpoint).toBe(2);
    const resumed = await send(staged, { recordsPerMessage: 7, fromChunk: checkpoint });
    expect(resumed.progress).toMatchObject({ nextChunk: 5, itemsSent: 95, done: true });

    // Same messages, byte for byte, from the checkpoint on; the resent part of chunk 2 repeats messages already seen.
    const fromCheckpoint = reference.messages.slice(reference.messages.length - resumed.messages.length);
    expect(resumed.messages).toEqual(fromCheckpoint);
    const seen = new Set(crashing.messages.map((message) => message.body));
    const again = resumed.messages.filter((message) => seen.has(message.body));
    expect(again.length).toBeGreaterThan(0);
    for (const message of again) expect(bodyOf(message).firstRecord).toBeGreaterThan(40);
    // A consumer de-duplicating on itemId sees every record exactly once.
    const delivered = [...crashing.messages, ...resumed.messages].flatMap(itemIdsOf);
    expect(new Set(delivered)).toEqual(new Set(range(1, 95).map((n) => `${BATCH_ID}:${n}`)));
  });

  it('sends a range of chunks [fromChunk, toChunk); consecutive ranges add up to one full send', async () => {
    const staged = stage(range(1, 95), { maxItems: 20 });
    const whole = await send(staged, { recordsPerMessage: 10 });
    const parts = [];
    for (const [fromChunk, toChunk] of [
      [0, 2],
      [2, 2],
      [2, 4],
      [4, 99],
    ] as const) {
      parts.push(await send(staged, { recordsPerMessage: 10, fromChunk, toChunk }));
    }
    expect(parts.map((part) => part.progress)).toEqual([
      { nextChunk: 2, itemsSent: 40, done: true, messagesSent: 4, requests: 2 },
      { nextChunk: 2, itemsSent: 40, done: true, messagesSent: 0, requests: 0 },
      { nextChunk: 4, itemsSent: 80, done: true, messagesSent: 4, requests: 2 },
      { nextChunk: 5, itemsSent: 95, done: true, messagesSent: 2, requests: 1 },
    ]);
    expect(parts.map((part) => part.checkpoints)).toEqual([[1, 2], [], [3, 4], [5]]);
    expect(parts.flatMap((part) => part.messages)).toEqual(whole.messages);
    await expect(send(staged, { fromChunk: 3, toChunk: 2 })).rejects.toThrow(RangeError);
  });

  it('pauses at a chunk boundary when asked to stop, reporting what this call sent', async () => {
    const staged = stage(range(1, 60), { maxItems: 20 });
    let asked = 0;
    const { progress } = await send(staged, { recordsPerMessage: 10, shouldStop: () => ++asked > 2 });
    expect(progress).toEqual({ nextChunk: 2, itemsSent: 40, done: false, messagesSent: 4, requests: 2 });
  });

  it('counts retried requests, resending only the failed messages', async () => {
    const staged = stage(range(1, 100));
    const flaky = recordingSqs((entries, call) =>
      call <= 2 ? entries.slice(0, 3).map((entry) => ({ Id: entry.Id!, SenderFault: false, Code: 'ServiceUnavailable' })) : [],
    );
    const progress = await sendStagedItems({ ...staged.options, sqs: flaky, recordsPerMessage: 10, onChunkSent: async () => {} });
    // 10 packs in one request; its first 3 entries refused twice.
    expect(progress).toMatchObject({ messagesSent: 10, requests: 3 });
    expect(flaky.batchSizes).toEqual([10, 3, 3]);
    expect(allIds(flaky.messages).sort()).toEqual(range(1, 100).map((n) => `${BATCH_ID}:${n}`).sort());
  });

  it('refuses a recordsPerMessage outside 1..1000', async () => {
    const staged = stage(range(1, 3));
    for (const bad of [0, 1001, 2.5]) await expect(send(staged, { recordsPerMessage: bad })).rejects.toThrow(RangeError);
  });
});

describe('WorkItemEnvelopes', () => {
  const records = [
    order(1),
    { ...order(2), customer_id: 'Müller, "Schmidt" & Co\n\t\u0001 🙂 \u2028' },
    { ...order(3), customer_id: 'x'.repeat(5000) },
    { order_id: 'ORD-000000004' },
  ];

  it('splices a staged record into the item envelope and pack entry JSON.stringify would make, and knows their sizes', () => {
    for (const [index, record] of records.entries()) {
      const n = 1_000_000_000 + index;
      const one = stagedOf(n, n + 3, record);
      const item = envelopes.item(one);
      expect(item).toBe(itemEnvelope(n, n + 3, record));
      expect(envelopes.itemBodyBytes(one)).toBe(Buffer.byteLength(item));
      expect(envelopes.itemBytes(n, n + 3, Buffer.byteLength(JSON.stringify(record)))).toBe(Buffer.byteLength(item));
      const pack = envelopes.pack([one, stagedOf(n + 1, n + 4, order(n + 1))]);
      expect(JSON.parse(pack).items[0]).toEqual({ itemId: `${BATCH_ID}:${n}`, recordNumber: n, line: n + 3, record });
      expect(pack).toContain(JSON.stringify({ itemId: `${BATCH_ID}:${n}`, recordNumber: n, line: n + 3, record }));
    }
  });

  it('builds a pack whose size it knows in advance', () => {
    const run = [7, 9].map((n) => stagedOf(n, n + 1, records[1]!));
    const pack = envelopes.pack(run);
    expect(Buffer.byteLength(pack)).toBe(envelopes.packBytes(7, 9, 2, run.reduce((sum, one) => sum + envelopes.entryBytes(one), 0)));
    expect(JSON.parse(pack)).toMatchObject({ packId: `${BATCH_ID}:7-9`, firstRecord: 7, lastRecord: 9, ...CONTEXT });
  });

});

describe('sendStagedItems refusing what it cannot read', () => {
  it('refuses a manifest of another staging format, saying how to recover', async () => {
    const { options } = stage(range(1, 3));
    const old = { ...options.manifest, manifestVersion: 2 } as unknown as StagingManifest;
    await expect(send({ options: { ...options, manifest: old }, bodies: new Map() })).rejects.toThrow(
      /staged in format 2, this sender reads format 3: replay it from scratch/,
    );
  });

  it('refuses staged chunks without the format to read them; a manifest with nothing staged needs none', async () => {
    const { options } = stage(range(1, 3));
    const { rows: _format, ...formatless } = options.manifest;
    await expect(send({ options: { ...options, manifest: formatless }, bodies: new Map() })).rejects.toThrow(/has staged chunks but no row format/);
    const empty = { ...formatless, items: 0, bytes: 0, chunks: [] };
    expect((await send({ options: { ...options, manifest: empty }, bodies: new Map() })).progress).toMatchObject({ done: true, itemsSent: 0 });
  });

  it('refuses a chunk that does not hold the staged rows the manifest lists, naming the chunk', async () => {
    const { options } = stage(range(1, 3));
    const chunk = options.manifest.chunks[0]!;
    const withManifest = (data: Buffer, changes: Partial<typeof chunk> = {}) => ({
      options: { ...options, s3: memoryS3(data), manifest: { ...options.manifest, chunks: [{ ...chunk, length: data.length, ...changes }] } },
      bodies: new Map(),
    });
    const chunkName = /staged chunk 0 of staging\/test\/.+\/rows\.csv/;
    // Not a staged row: no record number and line in front.
    await expect(send(withManifest(csvRowOf(order(1), COLUMNS)))).rejects.toThrow(chunkName);
    await expect(send(withManifest(csvRowOf(order(1), COLUMNS)))).rejects.toThrow(/cannot be read: row 1 is not a staged row of 10 fields/);
    // Rows other than the ones listed.
    await expect(send(withManifest(Buffer.from(`2,3,${csvRowOf(order(2), COLUMNS)}`), { items: 1, lastRecord: 1 }))).rejects.toThrow(
      /holds 1 items \(records 2–2\), the manifest says 1 \(1–1\)/,
    );
  });
});
