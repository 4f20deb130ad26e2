/**
 * A validation pass split into segments (as across Lambda invocations) must
 * produce exactly what one uninterrupted pass produces: the same items with the
 * same record numbers and lines, the same rejects, the same counts and file
 * facts — whatever the encoding, compression or record shapes.
 */
import { gzipSync } from 'node:zlib';
import { KeyFingerprintSet } from '../../../src/pipeline/key-set';
import {
  validateSegment,
  type PausedValidation,
  type ValidationCheckpoint,
  type ValidationOutcome,
} from '../../../src/pipeline/validate-file';
import { CollectingRejectSink } from '../../../src/report/collecting-reject-sink';
import { CollectingItemSink, HEADER, chunked, line, order, ordersFeed, validate } from '../../support/csv-cases';

interface SegmentedRun {
  final: ValidationOutcome;
  segments: number;
  checkpoints: ValidationCheckpoint[];
  items: CollectingItemSink;
  rejects: CollectingRejectSink;
}

/** Validates `bytes` pausing at every chance, each segment re-reading the file from byte 0 like a new invocation. */
async function validateInSegments(bytes: Buffer, chunkSize = 50_000, backlogEvery = 0): Promise<SegmentedRun> {
  const items = new CollectingItemSink(ordersFeed(), backlogEvery);
  const rejects = new CollectingRejectSink(1000);
  const keys = new KeyFingerprintSet();
  const checkpoints: ValidationCheckpoint[] = [];
  let resume: ValidationCheckpoint | undefined;
  for (let segment = 1; segment < 1000; segment++) {
    const outcome = await validateSegment({
      source: chunked(bytes, chunkSize),
      feed: ordersFeed(),
      batchId: 'batch-1',
      items,
      rejects,
      keys,
      shouldPause: () => true,
      ...(resume ? { resume } : {}),
    });
    if (outcome.status !== 'PAUSED') return { final: outcome, segments: segment, checkpoints, items, rejects };
    resume = (outcome as PausedValidation).checkpoint;
    checkpoints.push(resume);
  }
  throw new Error('the pass never finished');
}

/** Rows with awkward shapes: multi-line quoted fields, CRLF inside quotes, bad rows, duplicates, blank lines, non-ASCII. */
function awkwardCsv(rows: number): string {
  const lines = [HEADER];
  for (let n = 1; n <= rows; n++) {
    if (n % 997 === 0) lines.push(line(order(n, { quantity: 'many' })));
    else if (n % 1499 === 0) lines.push(line(order(n - 1))); // repeats the previous key
    else if (n % 701 === 0) lines.push(line(order(n, { customer_id: `"CUST\r\n${n}, née ü"` })));
    else if (n % 503 === 0) lines.push('', line(order(n)));
    else lines.push(line(order(n, { customer_id: `CUST-${n % 13}-né-ü` })));
  }
  return `${lines.join('\n')}\n`;
}

describe('validateSegment: a pass split over invocations', () => {
  const csv = awkwardCsv(20_000);

  it.each([
    ['plain', Buffer.from(csv)],
    ['gzip', gzipSync(csv)],
    ['plain with a BOM and no final newline', Buffer.from(`\uFEFF${csv.slice(0, -1)}`)],
  ])('%s: the segments add up to exactly one uninterrupted pass', async (_name, bytes) => {
    const whole = await validate(bytes);
    const split = await validateInSegments(bytes);

    expect(split.segments).toBeGreaterThan(3);
    expect(split.final).toEqual(whole.outcome);
    expect(split.items.items).toEqual(whole.items.items);
    expect(split.rejects.errors).toEqual(whole.rejects.errors);
    expect(whole.outcome.counts.invalid).toBeGreaterThan(20);
    // Every checkpoint is a record boundary the pass can be entered at: the next record starts there.
    const text = bytes[0] === 0x1f ? Buffer.from(csv) : bytes;
    for (const checkpoint of split.checkpoints) {
      expect(text[checkpoint.offset - 1]).toBe(0x0a);
    }
  });

  it('pauses at record boundaries and never before a minimum of records, so every segment progresses', async () => {
    const small = Buffer.from(awkwardCsv(9000));
    const split = await validateInSegments(small, 7);
    const records = split.checkpoints.map((checkpoint) => checkpoint.counts.records);
    expect(records.length).toBeGreaterThan(1);
    records.forEach((count, index) => expect(count).toBeGreaterThanOrEqual((index + 1) * 4000));
    expect(split.final).toEqual((await validate(small)).outcome);
  });

  it('keeps finding duplicate keys across segments through the shared key set', async () => {
    const rows = [HEADER];
    for (let n = 1; n <= 9000; n++) rows.push(line(order(n)));
    rows.push(line(order(5))); // a repeat of a key first seen in the first segment
    const split = await validateInSegments(Buffer.from(`${rows.join('\n')}\n`));
    expect(split.segments).toBeGreaterThan(1);
    expect(split.final.counts).toEqual({ records: 9001, valid: 9000, invalid: 1 });
    expect(split.rejects.errors).toEqual([expect.objectContaining({ line: 9002, column: 'order_id', code: 'DUPLICATE_KEY' })]);
  });

  it('takes no record after the pause, even ones a backlogged sink left buffered in the stream', async () => {
    const small = Buffer.from(awkwardCsv(12_000));
    // Backlogged after every item: each write waits on flush(), so records queue up behind it.
    const split = await validateInSegments(small, 64 * 1024, 1);
    const whole = await validate(small);
    expect(split.segments).toBeGreaterThan(1);
    expect(split.final).toEqual(whole.outcome);
    expect(split.items.items.map((item) => item.recordNumber)).toEqual(whole.items.items.map((item) => item.recordNumber));
    expect(split.items.items).toEqual(whole.items.items);
  });
});
