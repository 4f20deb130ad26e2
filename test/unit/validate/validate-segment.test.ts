/**
 * A validation pass split into segments (as across Lambda invocations) must
 * produce exactly what one uninterrupted pass produces: the same items with the
 * same record numbers and lines, the same rejects, the same counts and file
 * facts — whatever the encoding, compression or record shapes, and whether a
 * segment reads the file from byte 0 or enters it at its checkpoint.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { KeyFingerprintSet } from '../../../src/validate/key-set';
import type { ValidationCheckpoint } from '../../../src/validate/checkpoint';
import {
  validateSegment,
  type PausedValidation,
  type ValidationOutcome,
} from '../../../src/validate/validate-file';
import { CollectingRejectSink } from '../../../src/validate/collecting-reject-sink';
import { CollectingItemSink, HEADER, line, order, ordersFeed, validate } from '../../support/csv-cases';

/** Items as text: jest compares Buffers byte by byte, slowly. */
const asText = (sink: CollectingItemSink) => sink.items.map(({ recordNumber, line: at, raw }) => [recordNumber, at, raw.toString('latin1')]);

interface SegmentRead {
  /** Where the segment opened the file. */
  readonly from: number;
  /** Raw bytes it pulled from the source. */
  bytes: number;
}

interface SegmentedRun {
  final: ValidationOutcome;
  segments: number;
  checkpoints: ValidationCheckpoint[];
  reads: SegmentRead[];
  items: CollectingItemSink;
  rejects: CollectingRejectSink;
}

/** `bytes` from `from` on, in chunks, counting what is pulled into `read`. */
function counting(bytes: Buffer, from: number, chunkSize: number, read: SegmentRead): Readable {
  function* chunks() {
    for (let at = from; at < bytes.length; at += chunkSize) {
      const chunk = bytes.subarray(at, Math.min(at + chunkSize, bytes.length));
      read.bytes += chunk.length;
      yield chunk;
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
}

/**
 * Validates `bytes` pausing at every chance, each segment a new invocation.
 * `ranged`: the source is a function that opens the file where the pass asks
 * (as the ingest function's ranged GET does); otherwise a stream from byte 0.
 */
async function validateInSegments(bytes: Buffer, { chunkSize = 50_000, backlogEvery = 0, ranged = false } = {}): Promise<SegmentedRun> {
  const items = new CollectingItemSink(ordersFeed(), backlogEvery);
  const rejects = new CollectingRejectSink(1000);
  const keys = new KeyFingerprintSet();
  const checkpoints: ValidationCheckpoint[] = [];
  const reads: SegmentRead[] = [];
  let resume: ValidationCheckpoint | undefined;
  for (let segment = 1; segment < 1000; segment++) {
    const source = ranged
      ? (from: number) => {
          const read = { from, bytes: 0 };
          reads.push(read);
          return counting(bytes, from, chunkSize, read);
        }
      : counting(bytes, 0, chunkSize, reads[reads.push({ from: 0, bytes: 0 }) - 1]!);
    const outcome = await validateSegment({
      source,
      feed: ordersFeed(),
      batchId: 'batch-1',
      items,
      rejects,
      keys,
      shouldPause: () => true,
      ...(resume ? { resume } : {}),
    });
    if (outcome.status !== 'PAUSED') return { final: outcome, segments: segment, checkpoints, reads, items, rejects };
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
  /**
   * What a segment may read past its pause: the chunks in flight in the parse
   * chain's buffers. Node 22 raised streams' default buffer from 16 to 64 KiB, so
   * on Node 24 (the Lambda runtime) that is about 440 KB of this file.
   */
  const READ_AHEAD = 512_000;

  it.each([
    ['plain', Buffer.from(csv), false],
    ['gzip', gzipSync(csv), true],
    ['plain with a BOM and no final newline', Buffer.from(`\uFEFF${csv.slice(0, -1)}`), false],
  ])('%s: the segments add up to exactly one uninterrupted pass, read from byte 0 or where each segment asks', async (_name, bytes, gzip) => {
    const whole = await validate(bytes);
    expect(whole.outcome.file).toEqual({ bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), compressed: gzip });
    expect(whole.outcome.counts.invalid).toBeGreaterThan(20);
    for (const ranged of [false, true]) {
      const split = await validateInSegments(bytes, { ranged });

      expect(split.segments).toBeGreaterThan(3);
      expect(split.final).toEqual(whole.outcome);
      expect(asText(split.items)).toEqual(asText(whole.items));
      expect(split.rejects.errors).toEqual(whole.rejects.errors);
      // Every checkpoint is a record boundary the pass can be entered at: the next record starts there.
      const text = gzip ? Buffer.from(csv) : bytes;
      for (const checkpoint of split.checkpoints) {
        expect(text[checkpoint.offset - 1]).toBe(0x0a);
        expect(checkpoint.compressed).toBe(gzip);
      }
      // The first segment hashes natively (nothing to save); every later one leaves a
      // resumable state over whole 64-byte blocks, as far as it read.
      expect(split.checkpoints[0]!.hashState).toBeUndefined();
      for (const [index, checkpoint] of split.checkpoints.entries()) {
        if (index === 0) continue;
        expect(checkpoint.hashState).toEqual(expect.any(String));
        expect(checkpoint.hashedBytes! % 64).toBe(0);
        expect(checkpoint.hashedBytes).toBeGreaterThanOrEqual(split.checkpoints[index - 1]!.hashedBytes ?? 0);
        expect(checkpoint.hashedBytes).toBeLessThanOrEqual(split.reads[index]!.from + split.reads[index]!.bytes);
      }

      // What each segment read.
      const starts = split.reads.map((read) => read.from);
      if (gzip || !ranged) {
        // gzip cannot be entered mid-stream, and a plain stream is only ever read from its start.
        expect(starts.every((from) => from === 0)).toBe(true);
      } else {
        // Segments 1 and 2 read from byte 0 (the second has no hash state to carry on from);
        // from the third on, a segment enters the file at the checkpoint, or a few bytes
        // before it where the saved hash ends, and reads from there.
        expect(starts.slice(0, 2)).toEqual([0, 0]);
        for (let segment = 3; segment <= split.segments; segment++) {
          const checkpoint = split.checkpoints[segment - 2]!;
          const read = split.reads[segment - 1]!;
          expect(read.from).toBe(Math.min(checkpoint.offset, checkpoint.hashedBytes!));
          expect(read.from).toBeGreaterThan(checkpoint.offset - 64);
          const end = segment - 1 < split.checkpoints.length ? split.checkpoints[segment - 1]!.offset : bytes.length;
          expect(read.bytes).toBeLessThanOrEqual(end - read.from + READ_AHEAD);
        }
        const total = split.reads.reduce((sum, read) => sum + read.bytes, 0);
        // Segment 2 re-reads what segment 1 covered; nothing else is read twice, read-ahead aside.
        expect(total).toBeLessThan(bytes.length + split.checkpoints[0]!.offset + split.segments * READ_AHEAD);
      }
    }
  });

  it('keeps no byte of the file in a saved hash state', async () => {
    const bytes = Buffer.from(csv);
    const split = await validateInSegments(bytes, { ranged: true, chunkSize: 4099 });
    for (const checkpoint of split.checkpoints.slice(1)) {
      const state = Buffer.from(checkpoint.hashState!, 'base64');
      // hash-wasm's state has room for a partial block: it is only ever fed whole ones.
      const near = bytes.subarray(Math.max(0, checkpoint.hashedBytes! - 128), checkpoint.hashedBytes! + 128);
      for (let at = 0; at + 8 <= near.length; at++) expect(state.includes(near.subarray(at, at + 8))).toBe(false);
    }
  });

  it('hashes from byte 0 again when a saved state cannot be loaded (another build of hash-wasm), and still gets the file right', async () => {
    const bytes = Buffer.from(csv);
    const first = await validateInSegments(bytes, { ranged: true });
    const whole = await validate(bytes);
    // The third segment's checkpoint, with its hash state spoilt: resumed from there, the
    // pass cannot trust it and reads the file from byte 0 to hash all of it.
    const checkpoint = { ...first.checkpoints[2]!, hashState: Buffer.alloc(116, 7).toString('base64') };
    const items = new CollectingItemSink(ordersFeed());
    const reads: SegmentRead[] = [];
    const outcome = await validateSegment({
      source: (from: number) => counting(bytes, from, 50_000, reads[reads.push({ from, bytes: 0 }) - 1]!),
      feed: ordersFeed(),
      batchId: 'batch-1',
      items,
      rejects: new CollectingRejectSink(1000),
      shouldPause: () => false,
      resume: checkpoint,
    });
    expect(reads).toEqual([{ from: 0, bytes: bytes.length }]);
    expect(outcome).toEqual(expect.objectContaining({ status: whole.outcome.status, file: whole.outcome.file }));
  });

  it('pauses at record boundaries and never before a minimum of records, so every segment progresses', async () => {
    const small = Buffer.from(awkwardCsv(9000));
    const split = await validateInSegments(small, { chunkSize: 7 });
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
    const split = await validateInSegments(small, { chunkSize: 64 * 1024, backlogEvery: 1 });
    const whole = await validate(small);
    expect(split.segments).toBeGreaterThan(1);
    expect(split.final).toEqual(whole.outcome);
    expect(split.items.items.map((item) => item.recordNumber)).toEqual(whole.items.items.map((item) => item.recordNumber));
    expect(asText(split.items)).toEqual(asText(whole.items));
  });
});
