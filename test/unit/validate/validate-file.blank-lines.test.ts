/**
 * Blank lines are skipped by csv-parse as bytes (skip_empty_lines), not
 * parsed into records. Everything that depends on where a record starts must
 * stay exact around them: the physical line of every record and reject, the
 * raw bytes handed to the item sink (the sender parses them again), and the
 * checkpoint a paused segment leaves. Each file here is built from a list of
 * pieces whose lines and bytes are known, and the pass is checked against it.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Parser } from 'csv-parse';
import { createGzip, gzipSync } from 'node:zlib';
import { RejectionCode } from '../../../src/validate/errors';
import type { ValidationOutcome } from '../../../src/validate/validate-file';
import { RecordErrorCode } from '../../../src/records/error-codes';
import { CollectingRejectSink } from '../../../src/validate/collecting-reject-sink';
import { CollectingItemSink, HEADER, line, order, ordersFeedWith, validate, validateInSegments } from '../../support/csv-cases';

const MiB = 1024 * 1024;
const feed = ordersFeedWith({ errorPolicy: { maxInvalidRatio: 1 } });

type Piece = { blank: number } | { spaces: string } | { row: string; customer: string; valid: boolean };

interface Expected {
  readonly bytes: Buffer;
  /** Every data record: its number, first line, raw bytes and whether it is valid. */
  readonly records: { recordNumber: number; line: number; raw: Buffer; customer: string; valid: boolean }[];
}

/** Line breaks in `text` as physical lines count them: CRLF, LF or a lone CR. */
function breaks(text: string): number {
  return (text.match(/\r\n|\n|\r/g) ?? []).length;
}

/** The file of `pieces` (after the header), every line ended by `eol`, and what the pass must make of it. */
function build(pieces: readonly Piece[], eol: string, { bom = '', lastEol = true } = {}): Expected {
  const parts: string[] = [`${bom}${HEADER}${eol}`];
  const records: Expected['records'] = [];
  let lineNo = 2;
  pieces.forEach((piece, index) => {
    const end = index === pieces.length - 1 && !lastEol ? '' : eol;
    if ('blank' in piece) {
      parts.push(eol.repeat(piece.blank));
      lineNo += piece.blank;
    } else if ('spaces' in piece) {
      parts.push(`${piece.spaces}${end}`);
      lineNo += 1;
    } else {
      const text = `${piece.row}${end}`;
      records.push({ recordNumber: records.length + 1, line: lineNo, raw: Buffer.from(text), customer: piece.customer, valid: piece.valid });
      parts.push(text);
      lineNo += 1 + breaks(piece.row);
    }
  });
  return { bytes: Buffer.from(parts.join('')), records };
}

/** A valid row, a row with a quoted multi-line customer (its line breaks are `inner`), and an invalid row. */
const valid = (n: number): Piece => ({ row: line(order(n)), customer: `CUST-${n}`, valid: true });
const multiLine = (n: number, inner: string): Piece => ({
  row: line(order(n, { customer_id: `"first${inner}second, ""quoted""${inner}third"` })),
  customer: `first${inner}second, "quoted"${inner}third`,
  valid: true,
});
const invalid = (n: number): Piece => ({ row: line(order(n, { quantity: 'many' })), customer: '', valid: false });

function expectPass(
  result: { outcome: ValidationOutcome; items: CollectingItemSink; rejects: CollectingRejectSink },
  expected: Expected,
): void {
  const validOnes = expected.records.filter((record) => record.valid);
  const invalidOnes = expected.records.filter((record) => !record.valid);
  expect(result.outcome.counts).toEqual({ records: expected.records.length, valid: validOnes.length, invalid: invalidOnes.length });
  // Compared as text: jest compares Buffers byte by byte, slowly.
  expect(result.items.items.map(({ recordNumber, line: at, raw }) => [recordNumber, at, raw.toString('latin1')])).toEqual(
    validOnes.map(({ recordNumber, line: at, raw }) => [recordNumber, at, raw.toString('latin1')]),
  );
  expect(result.rejects.errors.map((error) => [error.line, error.code])).toEqual(
    invalidOnes.map((record) => [record.line, RecordErrorCode.INVALID_TYPE]),
  );
  // The sender parses the staged bytes again: they must give the same records.
  const records = result.items.records();
  expect(records.map((record) => [record.recordNumber, record.line, record.record.customer_id])).toEqual(
    validOnes.map((record) => [record.recordNumber, record.line, record.customer]),
  );
}

describe('validateFile: blank lines — lines and raw bytes', () => {
  const pieces = (eol: string): Piece[] => [
    { blank: 2 },
    valid(1),
    { blank: 1 },
    multiLine(2, eol),
    { blank: 3 },
    invalid(3),
    { spaces: ' \t ' },
    { blank: 1 },
    multiLine(4, eol === '\n' ? '\r\n' : '\n'),
    valid(5),
    { blank: 5 },
    valid(6),
  ];

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR only', '\r'],
  ])('%s: every record keeps its physical line and exactly its own bytes, at every chunk size and through gzip', async (_name, eol) => {
    for (const options of [{}, { bom: '\uFEFF' }, { lastEol: false }]) {
      const expected = build(pieces(eol), eol, options);
      for (const input of [expected.bytes, gzipSync(expected.bytes)]) {
        for (const chunkSize of [1, 2, 5, 4096]) {
          const result = await validate(input, { feed, chunkSize });
          expectPass(result, expected);
          expect(result.items.format?.recordDelimiter).toBe(eol);
        }
      }
    }
  });

  it('keeps blank lines before the header out of the count and the header found', async () => {
    const csv = `\n\n\r\n${HEADER}\n\n${line(order(1))}\n`;
    const { outcome, items } = await validate(csv, { feed });
    // The file's first line break is LF, so the CRLF line is not blank to csv-parse: it is whitespace, skipped by the record loop.
    expect(outcome.counts).toEqual({ records: 1, valid: 1, invalid: 0 });
    expect(items.items).toEqual([{ recordNumber: 1, line: 6, raw: Buffer.from(`${line(order(1))}\n`) }]);
  });

  it('keeps lines exact when some lines of an LF file end in CRLF, and some of a CR file', async () => {
    // LF file: the CR stays in the row's last field (an e-mail ending in CR is invalid), and
    // the CR + LF are one line break, not two. Likewise a CR file's LF starts the next row.
    const lf = [HEADER, `${line(order(1))}\r`, line(order(2)), '\r', '', `${line(order(3))}\r`, line(order(4)), ''].join('\n');
    const lfRun = await validate(lf, { feed });
    expect(lfRun.items.items.map((item) => [item.recordNumber, item.line])).toEqual([[2, 3], [4, 7]]);
    expect(lfRun.rejects.errors.map((error) => [error.line, error.column])).toEqual([[2, 'email'], [6, 'email']]);

    const cr = [HEADER, line(order(1)), `\n${line(order(2))}`, '', line(order(3)), ''].join('\r');
    const crRun = await validate(cr, { feed });
    expect(crRun.items.items.map((item) => [item.recordNumber, item.line])).toEqual([[1, 2], [3, 5]]);
    expect(crRun.rejects.errors.map((error) => [error.line, error.column])).toEqual([[3, 'order_id']]);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('%s: runs of blank lines across the 64 KiB parse slices, at every offset', async (_name, eol) => {
    // Rows filling the file to exactly `bytes`: the last ones padded (a customer id of up to 60 characters).
    const upTo = (bytes: number): Piece[] => {
      const rows: Piece[] = [];
      const padded = (n: number, pad: number): Piece => {
        const customer = `C${'x'.repeat(pad)}`;
        return { row: line(order(n, { customer_id: customer })), customer, valid: true };
      };
      const size = (piece: Piece) => ('row' in piece ? piece.row.length + eol.length : 0);
      let left = bytes - HEADER.length - eol.length;
      let n = 1;
      for (; left - size(valid(n)) > 200; n++) {
        rows.push(valid(n));
        left -= size(valid(n));
      }
      const base = size(padded(n, 0));
      const first = Math.min(60, left - base - base);
      rows.push(padded(n, first), padded(n + 1, left - base - base - first));
      expect(rows.reduce((sum, piece) => sum + size(piece), HEADER.length + eol.length)).toBe(bytes);
      return rows;
    };
    // A run of 6 blank lines that starts k bytes before the 64 KiB slice boundary,
    // for every k from 0 to past its end (a CRLF line split by it too).
    for (let k = 0; k <= 6 * eol.length; k++) {
      // One file also has a run of blank lines longer than a slice.
      const spec: Piece[] = [...upTo(64 * 1024 - k), { blank: 6 }, valid(90_001), { blank: k === 0 ? 70_000 : 20 }, multiLine(90_002, eol), { blank: 1 }, invalid(90_003)];
      const expected = build(spec, eol);
      expect(expected.bytes.subarray(64 * 1024 - k, 64 * 1024 - k + 6 * eol.length).toString()).toBe(eol.repeat(6));
      for (const chunkSize of [4096, 64 * 1024, 1 << 30]) {
        expectPass(await validate(expected.bytes, { feed, chunkSize }), expected);
      }
    }
  });

  it('does not carry a long run of blank lines along with the next record (memory stays flat)', async () => {
    // 8 MiB of blank lines between two rows: carried from slice to slice as part
    // of the unfinished record, they would all be held (and copied once more per
    // slice). Sampled after a full GC, so csv-parse's garbage does not count.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const block = Buffer.alloc(MiB, '\n');
    const held = () => {
      gc();
      return process.memoryUsage().arrayBuffers;
    };
    const baseline = held();
    let peak = 0;
    async function* source() {
      yield Buffer.from(`${HEADER}\n${line(order(1))}\n`);
      for (let n = 0; n < 8; n++) {
        if (n % 2 === 1) peak = Math.max(peak, held() - baseline);
        yield block;
      }
      yield Buffer.from(`${line(order(2))}\n`);
    }
    const { outcome, items } = await validate(Readable.from(source()), { feed });
    expect(outcome.counts).toEqual({ records: 2, valid: 2, invalid: 0 });
    expect(items.items[1]).toEqual({ recordNumber: 2, line: 3 + 8 * MiB, raw: Buffer.from(`${line(order(2))}\n`) });
    expect(peak).toBeLessThan(6 * MiB);
  });

  it('still reports short and long rows as COLUMN_COUNT, blank lines around them or not', async () => {
    const csv = [HEADER, '', 'ORD-100001,CUST,SKU-1', '', '', `${line(order(2))},extra`, ' ', line(order(3)), ''].join('\n');
    const { outcome, rejects } = await validate(csv, { feed });
    expect(outcome.counts).toEqual({ records: 3, valid: 1, invalid: 2 });
    expect(rejects.errors.map((error) => [error.line, error.code, error.message])).toEqual([
      [3, RecordErrorCode.COLUMN_COUNT, 'has 3 fields; the header has 8'],
      [6, RecordErrorCode.COLUMN_COUNT, 'has 9 fields; the header has 8'],
    ]);
  });

  it('names the line of a malformed record after blank lines', async () => {
    const csv = `${HEADER}\n${line(order(1))}\n\n\n\nORD-000002,"never closed,SKU-1,1,1.00,EUR,2024-01-01,\n${line(order(3))}\n`;
    const { outcome } = await validate(csv, { feed });
    expect(outcome.reason).toEqual(expect.objectContaining({ code: RejectionCode.MALFORMED_CSV, line: 6 }));
  });
});

describe('validateFile: files of blank lines', () => {
  it('rejects 4 MiB of blank lines as EMPTY_FILE, and counts no record after a header', async () => {
    const blank = Buffer.alloc(4 * MiB, '\n');
    const empty = await validate(blank, { feed });
    expect(empty.outcome.status).toBe('REJECTED');
    expect(empty.outcome.reason?.code).toBe(RejectionCode.EMPTY_FILE);
    expect(empty.outcome.file.sha256).toBe(createHash('sha256').update(blank).digest('hex'));

    // Blank LF lines, blank CRLF lines, whitespace-only lines: 1 MiB of each after the header, then a row.
    for (const fill of ['\n', '\r\n', ' \t\n']) {
      const eol = fill === '\r\n' ? '\r\n' : '\n';
      const count = Math.floor(MiB / fill.length);
      const text = Buffer.from(`${HEADER}${eol}${fill.repeat(count)}${line(order(1))}${eol}`);
      const { outcome, items } = await validate(text, { feed });
      expect(outcome.status).toBe('COMPLETED');
      expect(outcome.counts).toEqual({ records: 1, valid: 1, invalid: 0 });
      expect(items.items).toEqual([{ recordNumber: 1, line: count + 2, raw: Buffer.from(`${line(order(1))}${eol}`) }]);
    }
  }, 60_000);

  it('rejects a 300 KB gzip of newlines as DECOMPRESSION_BOMB once it passes 16 MiB', async () => {
    // Made as a stream from one 1 MiB block: the 300 MiB of text is never held.
    const block = Buffer.alloc(MiB, '\n');
    const parts: Buffer[] = [];
    for await (const part of Readable.from([Buffer.from(`${HEADER}\n`), ...Array.from({ length: 300 }, () => block)]).pipe(createGzip({ level: 9 }))) {
      parts.push(part as Buffer);
    }
    const gz = Buffer.concat(parts);
    expect(gz.length).toBeGreaterThan(250 * 1024);
    expect(gz.length).toBeLessThan(350 * 1024);
    const { outcome } = await validate(gz, { feed });
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason?.code).toBe(RejectionCode.DECOMPRESSION_BOMB);
    expect(outcome.reason?.message).toMatch(/\(16\.\d MiB from \d+ compressed bytes\)/);
    expect(outcome.counts.records).toBe(0);
    expect(outcome.file).toEqual({ bytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex'), compressed: true });
  }, 60_000);
});


describe('validateSegment: blank lines across paused segments', () => {
  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR only', '\r'],
  ])('%s: segments paused among blank lines add up to one pass, with exact lines and bytes', async (_name, eol) => {
    // Blank lines count toward the pause check like records: runs of them longer
    // than a check interval make the pass pause inside them, at a slice boundary.
    const spec: Piece[] = [];
    for (let n = 1; n <= 9000; n++) {
      if (n % 3000 === 0) spec.push({ blank: 5000 + n });
      else if (n % 7 === 0) spec.push({ blank: 1 + (n % 3) });
      if (n % 577 === 0) spec.push(multiLine(n, eol));
      else if (n % 499 === 0) spec.push(invalid(n));
      else spec.push(valid(n));
    }
    const expected = build(spec, eol);
    const whole = await validate(expected.bytes, { feed });
    expectPass(whole, expected);
    for (const input of [expected.bytes, gzipSync(expected.bytes)]) {
      for (const ranged of [false, true]) {
        const split = await validateInSegments(input, { feed, ranged });
        expect(split.checkpoints.length).toBeGreaterThan(3);
        expect(split.final).toEqual({ ...whole.outcome, file: expect.objectContaining({ bytes: input.length }) });
        expect(split.final.file.sha256).toBe(createHash('sha256').update(input).digest('hex'));
        expectPass({ outcome: split.final, items: split.items, rejects: split.rejects }, expected);
        // Every checkpoint is the start of a line: its line number is the line that starts there.
        for (const checkpoint of split.checkpoints) {
          const before = expected.bytes.subarray(0, checkpoint.offset).toString();
          expect(checkpoint.offset === 0 || [0x0a, 0x0d].includes(expected.bytes[checkpoint.offset - 1]!)).toBe(true);
          expect(eol === '\r\n' && expected.bytes[checkpoint.offset] === 0x0a).toBe(false);
          expect(checkpoint.nextLine).toBe(1 + breaks(before));
        }
        // Some pauses fell inside a run of blank lines (no record starts there).
        expect(split.checkpoints.some((checkpoint) => expected.bytes.subarray(checkpoint.offset, checkpoint.offset + eol.length).toString() === eol)).toBe(true);
      }
    }
  }, 120_000);
});

describe('csv-parse internals', () => {
  it('are where RecordParser reads and adjusts them (check record-parser.ts when this fails after an upgrade)', () => {
    // RecordParser moves records past blank lines by `info.empty_lines`, keeps
    // `state.expectedRecordLength` equal to each record's length so no CsvError
    // is built for a short row, and spares the byte-by-byte line-break discovery.
    const parser = new Parser({ relax_column_count: true, skip_empty_lines: true }) as unknown as {
      api: Record<string, unknown>;
      state: Record<string, unknown>;
      info: Record<string, unknown>;
    };
    expect(typeof parser.api.__autoDiscoverRecordDelimiter).toBe('function');
    expect(typeof parser.api.__onRecord).toBe('function');
    expect(parser.state).toHaveProperty('expectedRecordLength');
    expect(parser.state).toHaveProperty('record');
    expect(parser.state.recordDelimiterMaxLength).toBe(0);
    expect(parser.info).toEqual(expect.objectContaining({ lines: 1, bytes: 0, empty_lines: 0 }));
    expect(String(parser.api.__onRecord)).toContain('this.state.expectedRecordLength');
  });
});
