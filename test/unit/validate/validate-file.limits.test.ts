/**
 * Issue 12: the feed limits the pass enforces on files as a whole
 * (limits.maxFileBytes, errorPolicy.minRecords), and the cap on every message
 * it writes, however much of the file a message would quote.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { RejectionCode } from '../../../src/validate/errors';
import { MAX_MESSAGE_BYTES } from '../../../src/platform/text';
import { HEADER, ORDER_COLUMNS, line, order, ordersCsv, ordersFeedWith, validate } from '../../support/csv-cases';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** `bytes` in chunks of `size`, counting what the pass pulled and whether it let go of the stream. */
function counted(bytes: Buffer, size: number): { stream: Readable; read: () => number } {
  let read = 0;
  function* chunks() {
    for (let at = 0; at < bytes.length; at += size) {
      const chunk = bytes.subarray(at, at + size);
      read += chunk.length;
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false, highWaterMark: 1 }), read: () => read };
}

describe('validateFile: limits.maxFileBytes', () => {
  const csv = Buffer.from(ordersCsv(200));

  it('stops reading past the limit and rejects the file as FILE_TOO_LARGE', async () => {
    const feed = ordersFeedWith({ limits: { maxFileBytes: 4000 } });
    const source = counted(csv, 1000);
    const { outcome, items } = await validate(source.stream, { feed });
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason).toEqual({
      code: RejectionCode.FILE_TOO_LARGE,
      message: "the file is larger than 4000 bytes (the feed's maxFileBytes); reading stopped at byte 5000",
    });
    // How far it read: the chunk that crossed the limit, and no hash of a part of the file.
    expect(outcome.file).toEqual({ bytes: 5000, compressed: false });
    expect(source.read()).toBeLessThan(csv.length);
    expect(source.stream.destroyed).toBe(true);
    expect(items.items.length).toBeLessThan(200);
  });

  it('accepts a file of exactly the limit', async () => {
    const { outcome } = await validate(csv, { feed: ordersFeedWith({ limits: { maxFileBytes: csv.length } }), chunkSize: 1000 });
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.file).toEqual({ bytes: csv.length, sha256: sha256(csv), compressed: false });
  });

  it('counts the file as received: a gzip file by its compressed bytes', async () => {
    const gz = gzipSync(csv);
    const fits = await validate(gz, { feed: ordersFeedWith({ limits: { maxFileBytes: gz.length } }) });
    expect(fits.outcome.status).toBe('COMPLETED');
    expect(fits.outcome.counts.records).toBe(200);
    const over = await validate(gz, { feed: ordersFeedWith({ limits: { maxFileBytes: gz.length - 1 } }), chunkSize: 100 });
    expect(over.outcome.reason?.code).toBe(RejectionCode.FILE_TOO_LARGE);
    expect(over.outcome.file.compressed).toBe(true);
  });
});

describe('validateFile: errorPolicy.minRecords', () => {
  it('completes a header-only file by default and rejects it as NO_RECORDS when the feed asks for at least 1', async () => {
    const strict = ordersFeedWith({ errorPolicy: { maxInvalidRatio: 0.1, minRecords: 1 } });
    for (const csv of [`${HEADER}\n`, `${HEADER}\n\n\n`, HEADER]) {
      expect((await validate(csv)).outcome.status).toBe('COMPLETED');
      const { outcome } = await validate(csv, { feed: strict });
      expect(outcome.status).toBe('REJECTED');
      expect(outcome.reason).toEqual({
        code: RejectionCode.NO_RECORDS,
        message: 'the file has 0 data rows; the feed requires at least 1 (errorPolicy.minRecords)',
      });
    }
    expect((await validate(ordersCsv(1), { feed: strict })).outcome.status).toBe('COMPLETED');
  });
});

describe('validateFile: messages stay within MAX_MESSAGE_BYTES', () => {
  it('names the first columns of a 60,000-column header and counts the rest', async () => {
    const names = Array.from({ length: 60_000 }, (_, n) => `x${n + 1}`);
    const { outcome } = await validate(`${names.join(',')}\n${line(order(1))}\n`);
    expect(outcome.reason?.code).toBe(RejectionCode.HEADER_MISMATCH);
    const message = outcome.reason!.message;
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(message).toContain(`missing ${ORDER_COLUMNS.map((name) => `"${name}"`).join(', ')}`);
    expect(message).toMatch(/; unexpected "x1", "x2", "x3", /);
    const shown = (message.match(/"x\d+"/g) ?? []).length;
    const more = /…and ([\d,]+) more columns/.exec(message);
    expect(more).not.toBeNull();
    expect(shown + Number(more![1]!.replace(/,/g, ''))).toBe(60_000);
    expect(message).toContain(`(expected ${ORDER_COLUMNS.join(', ')})`);
  });

  it('lists a repeated column once, however often it repeats', async () => {
    const { outcome } = await validate(`${HEADER}${',sku'.repeat(50_000)}${','.repeat(50_000)}\n`);
    const message = outcome.reason!.message;
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(message).toBe(`header does not match the feed's columns: unexpected ""; repeated "sku", "" (expected ${ORDER_COLUMNS.join(', ')})`);
  });

  it('caps a csv-parse message that quotes a whole field', async () => {
    // csv-parse's INVALID_OPENING_QUOTE message quotes the field read so far: here 500 KB of it.
    const csv = `${HEADER}\n${line(order(1))}\nORD-000002,${'y'.repeat(500_000)}"x",SKU-1,1,1.00,EUR,2024-01-01,\n`;
    const { outcome } = await validate(csv);
    expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.MALFORMED_CSV, line: 3 }));
    expect(Buffer.byteLength(outcome.reason!.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(outcome.reason!.message).toMatch(/^Invalid Opening Quote: a quote is found on field 1 at line 3, value is "yyy.*…and [\d,]+ more bytes$/);
  });
});
