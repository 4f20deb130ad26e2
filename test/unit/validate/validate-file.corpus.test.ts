/**
 * The validation pass's decisions on a corpus of awkward and broken files,
 * all built in memory. Each case pins one behaviour of a batch (README "Batches"):
 * what is REJECTED (and with which code and line), what is only a row error,
 * and what valid records turn into.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { FeedConfig } from '../../../src/config/types';
import { RejectionCode } from '../../../src/validate/errors';
import { DiscardingItemSink } from '../../../src/validate/sinks';
import { validateFile } from '../../../src/validate/validate-file';
import { DEFAULT_MAX_MESSAGE_BYTES, WORK_QUEUE_MAX_MESSAGE_BYTES, workItemContext, WorkItemEnvelopes } from '../../../src/work-items/envelopes';
import { createAjv } from '../../../src/records/ajv';
import { RecordErrorCode } from '../../../src/records/error-codes';
import { compileRecordSchema } from '../../../src/records/record-schema';
import { CollectingRejectSink } from '../../../src/validate/collecting-reject-sink';
import {
  HEADER,
  ORDER_COLUMNS,
  chunked,
  line,
  order,
  ordersCsv,
  ordersFeed,
  ordersFeedWith,
  validate,
} from '../../support/csv-cases';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** A deterministic byte generator (xorshift), so "random" cases are reproducible. */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

describe('validateFile: encodings and line endings', () => {
  it('accepts a UTF-8 BOM before the header', async () => {
    const { outcome, items } = await validate(`\uFEFF${ordersCsv(2)}`);
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.counts).toEqual({ records: 2, valid: 2, invalid: 0 });
    expect(items.records()[0]!.record.order_id).toBe('ORD-000001');
  });

  it('accepts a BOM that arrives one byte at a time', async () => {
    const { outcome } = await validate(`\uFEFF${ordersCsv(2)}`, { chunkSize: 1 });
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.counts.valid).toBe(2);
  });

  it('accepts CRLF line endings, keeps CR out of the values and counts lines right', async () => {
    const csv = ordersCsv(3, new Set([2]), '\r\n');
    const { outcome, items, rejects } = await validate(csv);
    expect(outcome.counts).toEqual({ records: 3, valid: 2, invalid: 1 });
    expect(rejects.errors).toEqual([expect.objectContaining({ line: 3, column: 'quantity', code: RecordErrorCode.INVALID_TYPE })]);
    const bodies = items.records();
    expect(bodies.map((body) => body.line)).toEqual([2, 4]);
    expect(bodies[1]!.record.email).toBe('buyer3@example.com');
  });

  it('rejects invalid UTF-8 in the middle of the file, naming the line and byte offset', async () => {
    const before = Buffer.from(ordersCsv(5));
    const bad = Buffer.concat([before, Buffer.from('ORD-000099,CUST-'), Buffer.from([0xff, 0xfe]), Buffer.from(',SKU-1,1,1.00,EUR,2024-01-01,\n')]);
    const offset = before.length + 'ORD-000099,CUST-'.length;
    for (const chunkSize of [64 * 1024, 7, 1]) {
      const { outcome, items } = await validate(bad, { chunkSize });
      expect(outcome.status).toBe('REJECTED');
      expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.INVALID_ENCODING, line: 7 }));
      expect(outcome.reason!.message).toContain(`byte offset ${offset}`);
      expect(outcome.reason!.message).toContain('0xff');
      expect(items.items.length).toBeLessThanOrEqual(5);
    }
  });

  it('rejects a file that ends in the middle of a UTF-8 character', async () => {
    const bytes = Buffer.concat([Buffer.from(ordersCsv(1)), Buffer.from([0xe2, 0x82])]);
    const { outcome } = await validate(bytes);
    expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.INVALID_ENCODING, line: 3 }));
  });

  it('rejects overlong and surrogate encodings', async () => {
    for (const sequence of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const bytes = Buffer.concat([Buffer.from(`${HEADER}\nORD-000001,`), Buffer.from(sequence), Buffer.from(',SKU-1,1,1.00,EUR,2024-01-01,\n')]);
      const { outcome } = await validate(bytes, { chunkSize: 3 });
      expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.INVALID_ENCODING, line: 2 }));
    }
  });

  it('accepts multibyte characters split across every possible chunk boundary', async () => {
    const name = 'Zoë 😀 – 北京 ß';
    const csv = [HEADER, line(order(1, { customer_id: name })), line(order(2, { customer_id: `${name}${name}` })), ''].join('\n');
    for (const chunkSize of [1, 2, 3, 5]) {
      const { outcome, items } = await validate(csv, { chunkSize });
      expect(outcome.status).toBe('COMPLETED');
      expect(outcome.counts).toEqual({ records: 2, valid: 2, invalid: 0 });
      expect(items.records().map((body) => body.record.customer_id)).toEqual([name, `${name}${name}`]);
    }
  });

  it('decodes latin1 feeds and rejects non-ASCII bytes in ascii feeds', async () => {
    const bytes = Buffer.from([HEADER, line(order(1, { customer_id: 'Müller' })), ''].join('\n'), 'latin1');
    const latin1 = await validate(bytes, { feed: ordersFeedWith({ format: { encoding: 'latin1' } }) });
    expect(latin1.outcome.status).toBe('COMPLETED');
    expect(latin1.items.records()[0]!.record.customer_id).toBe('Müller');

    const ascii = await validate(bytes, { feed: ordersFeedWith({ format: { encoding: 'ascii' } }) });
    expect(ascii.outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.INVALID_ENCODING, line: 2 }));
    expect(ascii.outcome.reason!.message).toContain(`byte offset ${HEADER.length + 1 + 'ORD-000001,M'.length}`);
  });
});

describe('validateFile: quoting and physical lines', () => {
  it('keeps quoted commas inside one field', async () => {
    const csv = [HEADER, line(order(1, { customer_id: '"Smith, John"' })), ''].join('\n');
    const { outcome, items } = await validate(csv);
    expect(outcome.status).toBe('COMPLETED');
    expect(items.records()[0]!.record.customer_id).toBe('Smith, John');
  });

  it('keeps later line numbers right after quoted newlines', async () => {
    const csv = [
      HEADER, // 1
      line(order(1, { customer_id: '"first\nsecond\nthird"' })), // 2-4
      line(order(2, { customer_id: '"a ""quoted"" word"' })), // 5
      line(order(3, { quantity: 'x' })), // 6
      line(order(4, { customer_id: '"one\ntwo"' })), // 7-8
      line(order(5, { currency: 'JPY' })), // 9
      '',
    ].join('\n');
    for (const chunkSize of [64 * 1024, 4]) {
      const { outcome, items, rejects } = await validate(csv, { chunkSize, feed: ordersFeedWith({ errorPolicy: { maxInvalidRatio: 1 } }) });
      expect(outcome.counts).toEqual({ records: 5, valid: 3, invalid: 2 });
      expect(rejects.errors.map((error) => [error.line, error.column, error.code])).toEqual([
        [6, 'quantity', RecordErrorCode.INVALID_TYPE],
        [9, 'currency', RecordErrorCode.NOT_ALLOWED],
      ]);
      const bodies = items.records();
      expect(bodies.map((body) => body.line)).toEqual([2, 5, 7]);
      expect(bodies.map((body) => body.record.customer_id)).toEqual(['first\nsecond\nthird', 'a "quoted" word', 'one\ntwo']);
    }
  });

  it('counts quoted CRLF newlines as physical lines in CRLF files', async () => {
    const csv = [HEADER, line(order(1, { customer_id: '"a\r\nb\r\nc"' })), line(order(2, { sku: 'bad sku' })), ''].join('\r\n');
    const { rejects, items } = await validate(csv, { feed: ordersFeedWith({ errorPolicy: { maxInvalidRatio: 1 } }) });
    expect(rejects.errors).toEqual([expect.objectContaining({ line: 5, column: 'sku', code: RecordErrorCode.PATTERN_MISMATCH })]);
    expect(items.records()[0]!.record.customer_id).toBe('a\r\nb\r\nc');
  });

  it('rejects an unclosed quote as MALFORMED_CSV at the line where the record starts', async () => {
    const csv = [
      HEADER,
      line(order(1, { customer_id: '"x\ny\nz"' })), // 2-4
      line(order(2)), // 5
      `ORD-000003,"never closed,SKU-1,1,1.00,EUR,2024-01-01,`, // 6
      line(order(4)),
      line(order(5)),
      '',
    ].join('\n');
    const { outcome, items } = await validate(csv);
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.MALFORMED_CSV, line: 6 }));
    expect(items.items.length).toBeLessThanOrEqual(2);
  });

  it('names the right line of a parse error while a slow sink holds records back', async () => {
    // 2000 rows arrive in one chunk; the item sink pauses the record loop, so
    // many parsed records are still queued when the parser fails.
    const rows = ordersCsv(2000);
    const cases = [
      { tail: 'ORD-999999,"open,SKU-1,1,1.00,EUR,2024-01-01,\nmore\n', code: RejectionCode.MALFORMED_CSV },
      { tail: 'ORD-999999,"closed"x,SKU-1,1,1.00,EUR,2024-01-01,\n', code: RejectionCode.MALFORMED_CSV },
      { tail: `ORD-999999,${'x'.repeat(4096)},SKU-1,1,1.00,EUR,2024-01-01,\n${line(order(3000))}\n`, code: RejectionCode.MAX_RECORD_SIZE_EXCEEDED },
    ];
    const feed = ordersFeedWith({ limits: { maxRecordBytes: 2048 } });
    for (const { tail, code } of cases) {
      for (const backlogEvery of [0, 7]) {
        const { outcome } = await validate(rows + tail, { chunkSize: 1 << 30, backlogEvery, feed });
        expect(outcome.reason).toEqual(expect.objectContaining({ code, line: 2002 }));
      }
    }
  });

  it('rejects a 5 MB field as MAX_RECORD_SIZE_EXCEEDED with its line', async () => {
    const csv = [HEADER, line(order(1)), line(order(2)), line(order(3, { customer_id: 'x'.repeat(5 * 1024 * 1024) })), line(order(4)), ''].join('\n');
    const { outcome } = await validate(csv);
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.MAX_RECORD_SIZE_EXCEEDED, line: 4 }));
    expect(outcome.file.bytes).toBe(Buffer.byteLength(csv));
    expect(outcome.file.sha256).toBe(sha256(csv));
  });

  it('does not buffer a huge field: memory stays flat while a 64 MB field streams by', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x'); // one buffer, yielded repeatedly: the source itself allocates nothing
    const total = 64 * 1024 * 1024;
    const sample = () => {
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    };
    const baseline = sample();
    let peak = baseline;
    async function* source() {
      yield Buffer.from(`${HEADER}\n${line(order(1))}\nORD-000002,`);
      for (let sent = 0; sent < total; sent += chunk.length) {
        peak = Math.max(peak, sample());
        yield chunk;
      }
      yield Buffer.from(',SKU-1,1,1.00,EUR,2024-01-01,\n');
    }
    const { outcome } = await validate(Readable.from(source()));
    expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.MAX_RECORD_SIZE_EXCEEDED, line: 3 }));
    expect(outcome.file.bytes).toBeGreaterThan(total);
    // The feed's maxRecordBytes is 1 MiB; holding the field would cost 64 MB or more.
    expect(peak - baseline).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('validateFile: header', () => {
  it('maps reordered columns by name', async () => {
    const columns = [...ORDER_COLUMNS].reverse();
    const csv = [columns.join(','), line(order(1), columns), line(order(2, { email: '' }), columns), ''].join('\n');
    const { outcome, items } = await validate(csv);
    expect(outcome.status).toBe('COMPLETED');
    const [first, second] = items.records();
    expect(first!.record).toEqual({
      order_id: 'ORD-000001',
      customer_id: 'CUST-1',
      sku: 'SKU-1',
      quantity: 2,
      unit_price: '19.99',
      currency: 'EUR',
      order_date: '2024-02-29',
      email: 'buyer1@example.com',
    });
    expect(second!.record).not.toHaveProperty('email');
    expect(second!.record.order_id).toBe('ORD-000002');
  });

  it('reports errors under the right column name when columns are reordered', async () => {
    const columns = ['currency', 'order_id', 'quantity', 'sku', 'customer_id', 'unit_price', 'order_date', 'email'];
    const csv = [columns.join(','), line(order(1, { unit_price: '-5' }), columns), ''].join('\n');
    const { rejects } = await validate(csv);
    expect(rejects.errors).toEqual([expect.objectContaining({ line: 2, column: 'unit_price', code: RecordErrorCode.INVALID_DECIMAL })]);
    expect(rejects.errors[0]!.message).toContain('"-5"');
  });

  const headerCases: [string, string, string][] = [
    ['a missing column', ORDER_COLUMNS.filter((column) => column !== 'email').join(','), '"email"'],
    ['an extra column', `${HEADER},notes`, '"notes"'],
    ['a duplicated column', `${HEADER},sku`, 'repeated "sku"'],
    ['a duplicate instead of a column', HEADER.replace('email', 'order_date'), 'repeated "order_date"'],
    ['a column with surrounding spaces', HEADER.replace('sku', ' sku'), '" sku"'],
    ['semicolons instead of commas', ORDER_COLUMNS.join(';'), 'unexpected'],
  ];
  it.each(headerCases)('rejects a header with %s as HEADER_MISMATCH on line 1', async (_name, header, mentioned) => {
    const { outcome, items } = await validate(`${header}\n${line(order(1))}\n`);
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.HEADER_MISMATCH, line: 1 }));
    expect(outcome.reason!.message).toContain(mentioned);
    expect(outcome.counts.records).toBe(0);
    expect(items.items).toHaveLength(0);
  });

  it('completes a header-only file with zero records', async () => {
    for (const csv of [`${HEADER}\n`, HEADER, `${HEADER}\r\n\r\n`]) {
      const { outcome } = await validate(csv);
      expect(outcome).toEqual(expect.objectContaining({ status: 'COMPLETED', counts: { records: 0, valid: 0, invalid: 0 } }));
      expect(outcome.reason).toBeUndefined();
    }
  });

  it('rejects a zero-byte file as EMPTY_FILE', async () => {
    const { outcome } = await validate(Readable.from([]));
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason!.code).toBe(RejectionCode.EMPTY_FILE);
    expect(outcome.file).toEqual({ bytes: 0, sha256: sha256(''), compressed: false });
  });

  it('rejects a file of blank and whitespace-only lines (or just a BOM) as EMPTY_FILE', async () => {
    for (const text of ['\n', '\n\n\n', '   \n\t\n  ', '\r\n\r\n', '\uFEFF', '\uFEFF\n\n']) {
      const { outcome } = await validate(text);
      expect(outcome.reason?.code).toBe(RejectionCode.EMPTY_FILE);
    }
  });
});

describe('validateFile: rows', () => {
  it('skips blank and whitespace-only lines without counting them, and keeps line numbers physical', async () => {
    const csv = ['', HEADER, '   ', line(order(1)), '', '\t', line(order(2, { quantity: '0' })), ' \t ', line(order(3)), '', ''].join('\n');
    const { outcome, rejects, items } = await validate(csv, { feed: ordersFeedWith({ errorPolicy: { maxInvalidRatio: 1 } }) });
    expect(outcome.counts).toEqual({ records: 3, valid: 2, invalid: 1 });
    expect(rejects.errors).toEqual([expect.objectContaining({ line: 7, column: 'quantity', code: RecordErrorCode.OUT_OF_RANGE })]);
    expect(items.records().map((body) => [body.recordNumber, body.line])).toEqual([
      [1, 4],
      [3, 9],
    ]);
  });

  it('reports ragged rows as COLUMN_COUNT and carries on', async () => {
    const lines = [HEADER];
    for (let n = 1; n <= 20; n++) lines.push(line(order(n)));
    lines.splice(5, 0, 'ORD-100001,CUST,SKU-1'); // line 6: too few
    lines.splice(10, 0, `${line(order(100002))},extra`); // line 11: too many
    const { outcome, rejects } = await validate(`${lines.join('\n')}\n`);
    expect(outcome.status).toBe('COMPLETED'); // 2 of 22 invalid is within 10%
    expect(outcome.counts).toEqual({ records: 22, valid: 20, invalid: 2 });
    expect(rejects.errors.map((error) => [error.line, error.column, error.code])).toEqual([
      [6, '', RecordErrorCode.COLUMN_COUNT],
      [11, '', RecordErrorCode.COLUMN_COUNT],
    ]);
    expect(rejects.errors[0]!.message).toContain('3 fields');
    expect(rejects.errors[1]!.message).toContain('9 fields');
  });

  it('makes a repeated key invalid (DUPLICATE_KEY) and keeps the first', async () => {
    const lines = [HEADER];
    for (let n = 1; n <= 20; n++) lines.push(line(order(n)));
    lines.push(line(order(3, { customer_id: 'someone else' }))); // line 22
    const { outcome, rejects, items } = await validate(`${lines.join('\n')}\n`);
    expect(outcome.status).toBe('COMPLETED');
    expect(outcome.counts).toEqual({ records: 21, valid: 20, invalid: 1 });
    expect(rejects.errors).toEqual([
      expect.objectContaining({ line: 22, column: 'order_id', code: RecordErrorCode.DUPLICATE_KEY }),
    ]);
    expect(rejects.errors[0]!.message).toContain('ORD-000003');
    const third = items.records().filter((body) => body.record.order_id === 'ORD-000003');
    expect(third.map((body) => body.record.customer_id)).toEqual(['CUST-3']);
  });

  it('types values in work items: numbers for integers, exact strings for money', async () => {
    const csv = [HEADER, line(order(1, { quantity: '10000', unit_price: '19.99', email: '' })), line(order(2, { unit_price: '123456789012345678.10' })), ''].join('\n');
    const { items } = await validate(csv);
    const [first, second] = items.records();
    expect(first!.record.quantity).toBe(10000);
    expect(first!.record.unit_price).toBe('19.99');
    expect(first!.record).not.toHaveProperty('email');
    expect(second!.record.unit_price).toBe('123456789012345678.10');
    // The record is the exact JSON text, not a float rendering.
    expect(items.stagedRecords()[0]!.text).toContain('"quantity":10000');
    expect(items.stagedRecords()[0]!.text).toContain('"unit_price":"19.99"');
  });

  it('gives item ids <batchId>:<recordNumber>, numbering invalid rows too', async () => {
    const csv = ordersCsv(7, new Set([3, 6]));
    const { items, outcome } = await validate(csv, { batchId: 'b-42', feed: ordersFeedWith({ errorPolicy: { maxInvalidRatio: 1 } }) });
    expect(outcome.counts).toEqual({ records: 7, valid: 5, invalid: 2 });
    const feed = ordersFeed();
    const envelopes = items.itemBodies('b-42');
    const bodies = envelopes.map((envelope) => envelope.body);
    expect(bodies.map((body) => body.itemId)).toEqual(['b-42:1', 'b-42:2', 'b-42:4', 'b-42:5', 'b-42:7']);
    expect(bodies.map((body) => body.recordNumber)).toEqual([1, 2, 4, 5, 7]);
    expect(items.items.map((item) => item.recordNumber)).toEqual([1, 2, 4, 5, 7]);
    expect(bodies.map((body) => body.line)).toEqual([2, 3, 5, 6, 8]);
    expect(bodies.map((body) => body.record)).toEqual(items.records().map((item) => item.record));
    for (const body of bodies) {
      expect(body).toEqual(
        expect.objectContaining({
          batchId: 'b-42',
          partner: 'acme',
          feed: 'orders',
          schema: { id: 'orders', version: 1, uri: feed.schema.uri },
        }),
      );
    }
    for (const envelope of envelopes) expect(envelope.bytes).toBe(Buffer.byteLength(envelope.text));
  });

  it('reports every broken column of a row', async () => {
    const row = order(1, { customer_id: '', sku: 'lower', quantity: '1.5', unit_price: '1.999', currency: 'eur', order_date: '2023-02-29', email: 'nope' });
    const { rejects } = await validate(`${HEADER}\n${line(row)}\n`);
    expect(rejects.errors.map((error) => [error.column, error.code]).sort()).toEqual(
      [
        ['currency', RecordErrorCode.NOT_ALLOWED],
        ['customer_id', RecordErrorCode.MISSING_VALUE],
        ['email', RecordErrorCode.INVALID_FORMAT],
        ['order_date', RecordErrorCode.INVALID_FORMAT],
        ['quantity', RecordErrorCode.INVALID_TYPE],
        ['sku', RecordErrorCode.PATTERN_MISMATCH],
        ['unit_price', RecordErrorCode.INVALID_DECIMAL],
      ].sort(),
    );
    expect(rejects.errors.every((error) => error.line === 2)).toBe(true);
  });
});

describe('validateFile: the raw records staged', () => {
  /** Data rows as exact text (line breaks included), and the customer_id each should come back with ('' = invalid row). */
  const rows = (eol: string): [string, string][] => [
    [`${line(order(1))}${eol}`, 'CUST-1'],
    [`${line(order(2, { customer_id: '"two\r\nlines, one ""quote"""' }))}${eol}`, 'two\r\nlines, one "quote"'],
    [`${line(order(3, { quantity: 'many' }))}${eol}`, ''],
    [`${line(order(4, { customer_id: '"a\nb"' }))}${eol}`, 'a\nb'],
    [line(order(5, { customer_id: 'Müller' })), 'Müller'], // the last row has no line break
  ];
  const file = (eol: string, bom = '') => `${bom}${HEADER}${eol}${rows(eol).map(([text]) => text).join('')}`;
  const cases: [string, Buffer, FeedConfig, string, BufferEncoding][] = [
    ['CRLF', Buffer.from(file('\r\n')), ordersFeed(), '\r\n', 'utf8'],
    ['LF with a BOM', Buffer.from(file('\n', '\uFEFF')), ordersFeed(), '\n', 'utf8'],
    ['latin1', Buffer.from(file('\n'), 'latin1'), ordersFeedWith({ format: { encoding: 'latin1' } }), '\n', 'latin1'],
  ];

  it.each(cases)('%s: hands the sink each valid record exactly as in the file, and reads it back to the typed record', async (_name, bytes, feed, eol, encoding) => {
    const valid = rows(eol).filter(([, customer]) => customer !== '');
    for (const input of [bytes, gzipSync(bytes)]) {
      for (const chunkSize of [1, 2, 5, 4096]) {
        const { outcome, items } = await validate(input, { feed, chunkSize });
        expect(outcome.counts).toEqual({ records: 5, valid: 4, invalid: 1 });
        expect(items.items.map((item) => item.raw)).toEqual(valid.map(([text]) => Buffer.from(text, encoding)));
        expect(items.format).toEqual(expect.objectContaining({ recordDelimiter: eol, header: [...ORDER_COLUMNS] }));
        const records = items.records();
        expect(records.map((record) => record.record.customer_id)).toEqual(valid.map(([, customer]) => customer));
        expect(records.map((record) => record.line)).toEqual([2, 3, 6, 8]);
      }
    }
  });
});


describe.each([
  ['the default cap', DEFAULT_MAX_MESSAGE_BYTES],
  ["a feed's 1 MiB cap", WORK_QUEUE_MAX_MESSAGE_BYTES],
])('validateFile: work item size, %s', (_cap, cap) => {
  // A feed with a free-text column, so one record can reach the cap.
  const notes: FeedConfig = {
    ...ordersFeedWith({ limits: { maxRecordBytes: 2 * cap }, errorPolicy: { maxInvalidRatio: 1 } }),
    key: undefined,
    workItems: { recordsPerMessage: 1, maxMessageBytes: cap },
    schema: compileRecordSchema(createAjv(), 'notes', 1, {
      $id: 'urn:partner-ingest:test:notes',
      type: 'object',
      additionalProperties: false,
      properties: { id: { type: 'string' }, note: { type: 'string' } },
    }),
  };
  const envelopes = new WorkItemEnvelopes(workItemContext('b-1', notes), cap);
  /** A note of `unit`s (topped up with 'x') that makes record `n`'s work item, attributes included, exactly `total` bytes. */
  const noteFor = (n: number, total: number, unit: string) => {
    const empty = envelopes.itemBytes(n, n + 1, Buffer.byteLength(JSON.stringify({ id: String(n), note: '' })));
    const bytes = total - empty - envelopes.itemAttributesBytes;
    const units = Math.floor(bytes / Buffer.byteLength(unit));
    return unit.repeat(units) + 'x'.repeat(bytes - units * Buffer.byteLength(unit));
  };

  it.each([
    ['ASCII', 'x'],
    ['two-byte', 'é'],
  ])('passes a %s record whose work item is exactly the cap and rejects one byte more, with or without record bodies', async (_name, unit) => {
    const rows = [
      `1,${noteFor(1, cap, unit)}`,
      `2,${noteFor(2, cap + 1, unit)}`,
      `3,${noteFor(3, cap - 2, unit)}`,
    ];
    const csv = `id,note\n${rows.join('\n')}\n`;
    const { outcome, items, rejects } = await validate(csv, { feed: notes, batchId: 'b-1' });
    expect(outcome.counts).toEqual({ records: 3, valid: 2, invalid: 1 });
    expect(items.items.map((item) => item.recordNumber)).toEqual([1, 3]);
    expect(items.itemBodies('b-1').map((item) => item.bytes + envelopes.itemAttributesBytes)).toEqual([
      cap,
      cap - 2,
    ]);
    expect(rejects.errors).toEqual([
      expect.objectContaining({ line: 3, code: RecordErrorCode.RECORD_TOO_LARGE, message: expect.stringContaining(`${cap + 1} bytes`) }),
    ]);
    // The validate command's sink takes no records; it must decide the same.
    const counting = new DiscardingItemSink();
    const same = await validateFile({ source: chunked(csv), feed: notes, batchId: 'b-1', items: counting, rejects: new CollectingRejectSink(10) });
    expect(same.counts).toEqual(outcome.counts);
    expect(counting.items).toBe(2);
  });
});

describe('validateFile: error policy', () => {
  it.each([
    [10, 1, 'COMPLETED'],
    [9, 1, 'REJECTED'],
    [20, 2, 'COMPLETED'],
    [20, 3, 'REJECTED'],
    [1000, 100, 'COMPLETED'],
    [1000, 101, 'REJECTED'],
  ] as const)('%i rows with %i invalid → %s (max 10%%)', async (rows, invalid, status) => {
    const broken = new Set(Array.from({ length: invalid }, (_, i) => Math.floor((i * rows) / invalid) + 1));
    const { outcome, items } = await validate(ordersCsv(rows, broken));
    expect(outcome.counts).toEqual({ records: rows, valid: rows - invalid, invalid });
    expect(outcome.status).toBe(status);
    if (status === 'REJECTED') {
      expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.TOO_MANY_INVALID_ROWS }));
      expect(outcome.reason!.message).toContain(`${invalid} of ${rows}`);
    } else {
      expect(outcome.reason).toBeUndefined();
    }
    // The pass itself still measures every valid row; sending nothing is the caller's decision.
    expect(items.items).toHaveLength(rows - invalid);
  });

  it('applies maxInvalidCount as well as the ratio', async () => {
    const feed = ordersFeedWith({ errorPolicy: { maxInvalidRatio: 0.5, maxInvalidCount: 2 } });
    expect((await validate(ordersCsv(10, new Set([1, 2])), { feed })).outcome.status).toBe('COMPLETED');
    const over = await validate(ordersCsv(10, new Set([1, 2, 3])), { feed });
    expect(over.outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.TOO_MANY_INVALID_ROWS }));
  });
});

describe('validateFile: compression', () => {
  const corpus: [string, string | Buffer][] = [
    ['valid', ordersCsv(30)],
    ['too many invalid', ordersCsv(9, new Set([4]))],
    ['header mismatch', `${HEADER},x\n${line(order(1))}\n`],
    ['bad utf-8', Buffer.concat([Buffer.from(ordersCsv(3)), Buffer.from([0xc3, 0x28, 0x0a])])],
    ['unclosed quote', `${ordersCsv(3)}ORD-9,"x\n`],
    ['header only', `${HEADER}\n`],
    ['empty', ''],
  ];
  it.each(corpus)('gives a gzip file (%s) the same outcome as the plain file', async (_name, plain) => {
    const plainBytes = Buffer.isBuffer(plain) ? plain : Buffer.from(plain);
    const gz = gzipSync(plainBytes);
    const expected = await validate(plainBytes);
    for (const chunkSize of [64 * 1024, 1]) {
      const actual = await validate(gz, { chunkSize });
      expect(actual.outcome.file).toEqual({ bytes: gz.length, sha256: sha256(gz), compressed: true });
      expect(actual.outcome.status).toBe(expected.outcome.status);
      expect(actual.outcome.reason).toEqual(expected.outcome.reason);
      expect(actual.rejects.errors).toEqual(expected.rejects.errors);
      // A file stopped part-way (encoding, malformed CSV) has counts that depend on
      // how far parsing got; a file read to the end must match exactly.
      if (expected.outcome.status === 'COMPLETED' || expected.outcome.reason?.code === RejectionCode.TOO_MANY_INVALID_ROWS) {
        expect(actual.outcome.counts).toEqual(expected.outcome.counts);
        expect(actual.items.items).toEqual(expected.items.items);
      }
    }
    expect(expected.outcome.file.compressed).toBe(false);
  });

  it('honours compression: none and gzip over the magic-byte check', async () => {
    const gz = gzipSync(ordersCsv(2));
    const none = await validate(gz, { feed: ordersFeedWith({ format: { compression: 'none' } }) });
    expect(none.outcome.file.compressed).toBe(false);
    expect(none.outcome.reason?.code).toBe(RejectionCode.INVALID_ENCODING);
    const forced = await validate(ordersCsv(2), { feed: ordersFeedWith({ format: { compression: 'gzip' } }) });
    expect(forced.outcome.file.compressed).toBe(true);
    expect(forced.outcome.reason?.code).toBe(RejectionCode.DECOMPRESSION_FAILED);
  });

  it('rejects truncated and corrupt gzip as DECOMPRESSION_FAILED', async () => {
    const gz = gzipSync(ordersCsv(200));
    const corrupt = Buffer.from(gz);
    for (let at = 20; at < corrupt.length - 8; at += 37) corrupt[at] = corrupt[at]! ^ 0x5a;
    for (const bytes of [gz.subarray(0, gz.length - 20), gz.subarray(0, 2), gz.subarray(0, 12), corrupt]) {
      const { outcome } = await validate(bytes);
      expect(outcome.status).toBe('REJECTED');
      expect(outcome.reason?.code).toBe(RejectionCode.DECOMPRESSION_FAILED);
      expect(outcome.file).toEqual({ bytes: bytes.length, sha256: sha256(bytes), compressed: true });
    }
  });

  it('rejects a file that decompresses beyond maxDecompressedBytes', async () => {
    const csv = ordersCsv(500);
    const feed = ordersFeedWith({ limits: { maxDecompressedBytes: 4096 } });
    const { outcome } = await validate(gzipSync(csv), { feed });
    expect(outcome.reason?.code).toBe(RejectionCode.DECOMPRESSED_TOO_LARGE);
    // The cap is for decompressed data only: the same bytes uncompressed pass.
    expect((await validate(csv, { feed })).outcome.status).toBe('COMPLETED');
  });
});

describe('validateFile: robustness', () => {
  it('rejects random binary without crashing', async () => {
    const allowed: string[] = [RejectionCode.INVALID_ENCODING, RejectionCode.HEADER_MISMATCH, RejectionCode.MALFORMED_CSV, RejectionCode.EMPTY_FILE];
    for (let seed = 1; seed <= 30; seed++) {
      const bytes = pseudoRandomBytes(4096 + seed * 97, seed);
      const { outcome } = await validate(bytes, { chunkSize: 512 });
      expect(outcome.status).toBe('REJECTED');
      expect(allowed).toContain(outcome.reason!.code);
      expect(outcome.file).toEqual({ bytes: bytes.length, sha256: sha256(bytes), compressed: false });
    }
    const gzipLike = Buffer.concat([Buffer.from([0x1f, 0x8b]), pseudoRandomBytes(5000, 99)]);
    expect((await validate(gzipLike)).outcome.reason?.code).toBe(RejectionCode.DECOMPRESSION_FAILED);
    const nul = Buffer.alloc(3000);
    expect((await validate(nul)).outcome.reason?.code).toBe(RejectionCode.HEADER_MISMATCH);
  });

  it('reports file bytes and SHA-256 equal to node crypto over the same bytes, however it ends', async () => {
    const inputs = [
      Buffer.from(ordersCsv(300)),
      Buffer.from(`\uFEFF${ordersCsv(3, new Set([1, 2]), '\r\n')}`),
      Buffer.concat([Buffer.from([0xff]), Buffer.from(ordersCsv(100))]), // rejected on the first byte
      Buffer.from(`${HEADER};\n${ordersCsv(100)}`),
      gzipSync(ordersCsv(100)),
    ];
    for (const bytes of inputs) {
      for (const chunkSize of [1000, 1]) {
        const { outcome } = await validate(bytes, { chunkSize });
        expect(outcome.file.bytes).toBe(bytes.length);
        expect(outcome.file.sha256).toBe(sha256(bytes));
      }
    }
  });

  it('decides the same whether or not the item sink applies backpressure', async () => {
    const csv = ordersCsv(3000, new Set([10, 500, 2999]));
    const fast = await validate(csv);
    const slow = await validate(csv, { backlogEvery: 13, chunkSize: 4096 });
    expect(slow.outcome).toEqual(fast.outcome);
    expect(slow.items.items).toEqual(fast.items.items);
    expect(slow.rejects.errors).toEqual(fast.rejects.errors);
  });

  it('accepts a source stream of Buffers from chunked()', async () => {
    const { outcome } = await validate(chunked(ordersCsv(5), 3));
    expect(outcome.status).toBe('COMPLETED');
  });
});
