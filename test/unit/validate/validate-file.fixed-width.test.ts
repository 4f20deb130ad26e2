import { gzipSync } from 'node:zlib';
import type { FeedConfig, FixedWidthFormat } from '../../../src/config/types';
import { RecordErrorCode } from '../../../src/records/error-codes';
import { RejectionCode } from '../../../src/validate/errors';
import { loadPartnerRegistry } from '../../../src/config/load-partners';
import { CollectingItemSink, REPO_ROOT, validate, validateInSegments } from '../../support/csv-cases';

/** The shipped acme/remittances feed: 80-character Latin-1 records (partners/acme.yml). */
const shipped = loadPartnerRegistry({ root: REPO_ROOT }).partners.get('acme')!.feeds.find((feed) => feed.id === 'remittances')!;

function feedWith(format: Partial<FixedWidthFormat>, limits: Partial<FeedConfig['limits']> = {}): FeedConfig {
  return { ...shipped, format: { ...(shipped.format as FixedWidthFormat), ...format }, limits: { ...shipped.limits, ...limits }, errorPolicy: { maxInvalidRatio: 1 } };
}

/** One record of the shipped layout, each field padded to its width (amount right-aligned). */
function remittance(n: number, fields: Partial<Record<'date' | 'amount' | 'currency' | 'payer' | 'invoice', string>> = {}): string {
  const { date = '20261105', amount = `${n}.25`, currency = 'EUR', payer = `Payer ${n}`, invoice = `INV-${1000 + n}` } = fields;
  return `PAY${String(n).padStart(9, '0')}${date.padEnd(8)}${amount.padStart(15)}${currency.padEnd(3)}${payer.padEnd(30)}${invoice.padEnd(12)}`;
}

const recordsOf = (items: CollectingItemSink) => items.records().map((item) => ({ line: item.line, ...item.record }));

describe('validateFile: fixed-width records', () => {
  it('finds fields by position, trims them, types them like CSV fields and keeps line numbers (LF or CRLF, Latin-1)', async () => {
    for (const eol of ['\n', '\r\n']) {
      const text = [remittance(1, { payer: 'Müller GmbH' }), remittance(2, { invoice: '' })].join(eol) + eol;
      const { outcome, items } = await validate(Buffer.from(text, 'latin1'), { feed: shipped, chunkSize: 7 });
      expect(outcome).toMatchObject({ status: 'COMPLETED', counts: { records: 2, valid: 2, invalid: 0 } });
      expect(recordsOf(items)).toEqual([
        { line: 1, payment_id: 'PAY000000001', value_date: '20261105', amount: '1.25', currency: 'EUR', payer_name: 'Müller GmbH', invoice_ref: 'INV-1001' },
        { line: 2, payment_id: 'PAY000000002', value_date: '20261105', amount: '2.25', currency: 'EUR', payer_name: 'Payer 2' },
      ]);
    }
  });

  it('rejects a record of another length (RECORD_LENGTH) without checking its fields, and checks the rest', async () => {
    const text = [remittance(1), `${remittance(2)}X`, remittance(3).slice(0, 60), remittance(4, { currency: 'JPY' }), remittance(5)].join('\n');
    const { outcome, items, rejects } = await validate(Buffer.from(text, 'latin1'), { feed: feedWith({}) });
    expect(outcome.counts).toEqual({ records: 5, valid: 2, invalid: 3 });
    expect(items.records().map((item) => item.recordNumber)).toEqual([1, 5]);
    expect(rejects.errors.map(({ line, code, message }) => ({ line, code, message }))).toEqual([
      { line: 2, code: RecordErrorCode.RECORD_LENGTH, message: "is 81 characters long; the layout's records have 80" },
      { line: 3, code: RecordErrorCode.RECORD_LENGTH, message: "is 60 characters long; the layout's records have 80" },
      { line: 4, code: RecordErrorCode.NOT_ALLOWED, message: expect.stringContaining('(got "JPY")') },
    ]);
  });

  it('without recordLength, takes longer records and rejects those that end before the last column', async () => {
    const feed = feedWith({ recordLength: undefined });
    const text = [`${remittance(1)}   trailing filler`, remittance(2).slice(0, 79), remittance(3)].join('\n');
    const { outcome, rejects } = await validate(Buffer.from(text, 'latin1'), { feed });
    expect(outcome.counts).toEqual({ records: 3, valid: 2, invalid: 1 });
    expect(rejects.errors).toEqual([expect.objectContaining({ line: 2, code: RecordErrorCode.RECORD_LENGTH, message: 'is 79 characters long; the last column ends at position 80' })]);
  });

  it('trims as the feed says: both ends, the right end only, or not at all', async () => {
    // An amount as wide as its field, so only the payer and the invoice carry spaces.
    const text = remittance(1, { payer: '  Indented', amount: '123456789012.25' });
    const payerOf = async (trim: FixedWidthFormat['trim']) => {
      const { items, rejects } = await validate(Buffer.from(text, 'latin1'), { feed: feedWith({ trim, recordLength: undefined }) });
      return items.records()[0]?.record.payer_name ?? rejects.errors[0]?.code;
    };
    expect(await payerOf('both')).toBe('Indented');
    expect(await payerOf('right')).toBe('  Indented');
    // Untrimmed, the invoice reference keeps its padding and breaks its pattern.
    expect(await payerOf('none')).toBe(RecordErrorCode.PATTERN_MISMATCH);
  });

  it('skips blank lines, takes a last line without a line break, and repeats of the key are invalid', async () => {
    const text = `${remittance(1)}\n\n${remittance(2)}\r\n\r\n${remittance(1)}`;
    const { outcome, rejects } = await validate(Buffer.from(text, 'latin1'), { feed: shipped });
    expect(outcome.counts).toEqual({ records: 3, valid: 2, invalid: 1 });
    expect(rejects.errors).toEqual([expect.objectContaining({ line: 5, code: RecordErrorCode.DUPLICATE_KEY })]);
  });

  it('counts UTF-8 positions in characters and drops a byte order mark', async () => {
    const feed = feedWith({ encoding: 'utf-8' });
    const text = `\uFEFF${remittance(1, { payer: 'Šťastný Żółć 😀' })}\n`;
    const { outcome, items } = await validate(Buffer.from(text, 'utf8'), { feed, chunkSize: 5 });
    // The emoji is two UTF-16 units: the layout counts them as the record's characters (JavaScript string length).
    expect(outcome.counts).toEqual({ records: 1, valid: 1, invalid: 0 });
    expect(items.records()[0]!.record.payer_name).toBe('Šťastný Żółć 😀');
  });

  it('skips a preamble of skipLeadingLines, keeping the file\'s line numbers', async () => {
    const text = ['STATEMENT OF REMITTANCES', 'ACME CORP        PAGE 1', remittance(1), remittance(2).slice(0, 70)].join('\n');
    const { outcome, items, rejects } = await validate(Buffer.from(text, 'latin1'), { feed: feedWith({ skipLeadingLines: 2 }) });
    expect(outcome.counts).toEqual({ records: 2, valid: 1, invalid: 1 });
    expect(items.records().map((item) => item.line)).toEqual([3]);
    expect(rejects.errors).toEqual([expect.objectContaining({ line: 4, code: RecordErrorCode.RECORD_LENGTH })]);
  });

  describe('header and trailer records', () => {
    const controlled = feedWith({
      headerRecord: { match: '^HDR(?<date>\\d{8})(?<seq>\\d{6})$', fields: { fileDate: 'date', sequence: 'seq' } },
      trailerRecord: { match: '^TRL(?<count>\\d{8}) *(?<sum>\\d+\\.\\d{2})$', fields: { recordCount: 'count', controlSum: { group: 'sum', column: 'amount' } } },
    });
    // Amounts n.25 for n = 1..3 sum to 6.75; control lines are shorter than the records' 80 characters.
    const body = [remittance(1), remittance(2), remittance(3)];
    const run = (lines: string[]) => validate(Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1'), { feed: controlled, chunkSize: 50 });

    it('reads the header and trailer lines as control records, not data: totals match, the file completes', async () => {
      const { outcome, items } = await run(['HDR20261106000042', ...body, `TRL00000003${' '.repeat(10)}6.75`]);
      expect(outcome).toMatchObject({ status: 'COMPLETED', counts: { records: 3, valid: 3, invalid: 0 } });
      expect(outcome.control).toEqual({ fileDate: '20261106', sequence: '000042', recordCount: '00000003', controlSum: '6.75' });
      expect(items.records().map((item) => item.line)).toEqual([2, 3, 4]);
    });

    it.each([
      ['a wrong count', ['HDR20261106000042', ...body, 'TRL00000004 6.75'], RejectionCode.CONTROL_COUNT_MISMATCH],
      ['a wrong sum', ['HDR20261106000042', ...body, 'TRL00000003 6.76'], RejectionCode.CONTROL_SUM_MISMATCH],
      ['no trailer', ['HDR20261106000042', ...body], RejectionCode.TRAILER_MISSING],
      ['a record after the trailer', ['HDR20261106000042', ...body.slice(0, 2), 'TRL00000002 3.50', body[2]!], RejectionCode.TRAILER_MISSING],
      ['no header record', [...body, 'TRL00000003 6.75'], RejectionCode.HEADER_RECORD_MISSING],
    ])('rejects %s', async (_case, lines, code) => {
      expect((await run(lines)).outcome).toMatchObject({ status: 'REJECTED', reason: { code } });
    });

    it('takes a file of control records only: no data, a count of zero', async () => {
      const { outcome } = await run(['HDR20261106000043', 'TRL00000000 0.00']);
      expect(outcome).toMatchObject({ status: 'COMPLETED', counts: { records: 0 } });
    });
  });

  it('reads gzip files like plain ones', async () => {
    const text = [remittance(1), remittance(2)].join('\n');
    const { outcome, items } = await validate(gzipSync(Buffer.from(text, 'latin1')), { feed: shipped });
    expect(outcome).toMatchObject({ status: 'COMPLETED', counts: { records: 2, valid: 2 } });
    expect(items.records().map((item) => item.record.payment_id)).toEqual(['PAY000000001', 'PAY000000002']);
  });

  it("rejects the file when a line is longer than the feed's maxRecordBytes, naming the line", async () => {
    const text = [remittance(1), remittance(2), 'x'.repeat(500)].join('\n');
    const { outcome } = await validate(Buffer.from(text, 'latin1'), { feed: feedWith({}, { maxRecordBytes: 200 }), chunkSize: 64 });
    expect(outcome).toMatchObject({ status: 'REJECTED', reason: { code: RejectionCode.MAX_RECORD_SIZE_EXCEEDED, line: 3 } });
  });

  it('pauses at record boundaries and resumes to exactly the outcome of one pass', async () => {
    const lines = Array.from({ length: 10_000 }, (_, index) => (index % 777 === 5 ? '' : index % 1000 === 3 ? remittance(index, { currency: 'XXX' }) : remittance(index + 1)));
    const bytes = Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
    const single = await validate(bytes, { feed: shipped });

    const split = await validateInSegments(bytes, { feed: shipped, ranged: true, chunkSize: 1000 });
    expect(split.final.counts).toEqual(single.outcome.counts);
    // Three or more segments: at least two pauses.
    expect(split.checkpoints.length).toBeGreaterThan(1);
    expect(split.items.records()).toEqual(single.items.records());
    expect(split.rejects.errors).toEqual(single.rejects.errors);
  });
});
