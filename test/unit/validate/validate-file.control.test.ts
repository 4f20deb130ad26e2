/**
 * Preamble lines, header and trailer records and control totals, through the
 * validation core with hand-written files: each rejection code with its
 * status, reason and counts. A REJECTED outcome is what makes the ingest
 * function send nothing (test/integration/ingest-control.e2e.test.ts proves
 * that end to end).
 */
import type { FeedConfig } from '../../../src/config/types';
import type { ValidationCheckpoint } from '../../../src/validate/checkpoint';
import { CollectingRejectSink } from '../../../src/validate/collecting-reject-sink';
import { KeyFingerprintSet } from '../../../src/validate/key-set';
import { literalPrefix } from '../../../src/validate/control-records';
import { validateFile, validateSegment, type ValidationOutcome } from '../../../src/validate/validate-file';
import { chunked, CollectingItemSink, HEADER, line, order, ordersFeedWith, validate } from '../../support/csv-cases';

/** A partner's layout: one preamble line, HDR|date|sequence, the header row, data rows, TRL|count|sum of unit_price. */
const feed: FeedConfig = ordersFeedWith({
  format: {
    skipLeadingLines: 1,
    headerRecord: { match: '^HDR\\|(?<date>\\d{8})\\|(?<seq>\\d+)$', fields: { fileDate: 'date', sequence: 'seq' } },
    trailerRecord: {
      match: '^TRL\\|(?<count>\\d+)\\|(?<sum>-?\\d+(?:\\.\\d+)?)$',
      fields: { recordCount: 'count', controlSum: { group: 'sum', column: 'unit_price' } },
    },
  },
  errorPolicy: { maxInvalidRatio: 0.1 },
});

const rows = (count: number, overrides: (n: number) => Partial<Record<'unit_price' | 'quantity', string>> = () => ({})) =>
  Array.from({ length: count }, (_, index) => line(order(index + 1, overrides(index + 1))));

function file(data: readonly string[], trailer: string | undefined, { header = 'HDR|20261120|000042', after = [] as string[] } = {}): string {
  return [`Exported by ACME "orders" system`, header, HEADER, ...data, ...(trailer === undefined ? [] : [trailer]), ...after].join('\r\n') + '\r\n';
}

async function run(text: string) {
  const { outcome, rejects, items } = await validate(text, { feed, chunkSize: 7 });
  return { outcome, rejects, items };
}

test('a file whose trailer agrees completes; the preamble, header and trailer records are not rows; lines stay physical', async () => {
  const { outcome, items } = await run(file(rows(3), 'TRL|3|59.97'));
  expect(outcome).toMatchObject({ status: 'COMPLETED', counts: { records: 3, valid: 3, invalid: 0 } });
  expect(outcome.control).toEqual({ fileDate: '20261120', sequence: '000042', recordCount: '3', controlSum: '59.97' });
  expect(items.items.map((item) => item.line)).toEqual([4, 5, 6]);
});

test('totals cover invalid rows too, as sent (count and sum)', async () => {
  const data = rows(10, (n) => (n === 4 ? { quantity: 'many', unit_price: '0.20' } : { unit_price: n === 1 ? '0.10' : '1.00' }));
  const { outcome } = await run(file(data, 'TRL|10|8.3'));
  expect(outcome).toMatchObject({ status: 'COMPLETED', counts: { records: 10, valid: 9, invalid: 1 } });
});

test('the sum is exact decimal arithmetic: 0.10 + 0.20 is 0.3 (in floats, 0.30000000000000004)', async () => {
  expect(0.1 + 0.2).not.toBe(0.3);
  const data = rows(2, (n) => ({ unit_price: n === 1 ? '0.10' : '0.20' }));
  expect((await run(file(data, 'TRL|2|0.3'))).outcome.status).toBe('COMPLETED');
  expect((await run(file(data, 'TRL|2|0.30000000000000004'))).outcome.reason!.code).toBe('CONTROL_SUM_MISMATCH');
});

test('CONTROL_COUNT_MISMATCH: the trailer gives another count; expected and actual in the reason', async () => {
  const { outcome, rejects } = await run(file(rows(3), 'TRL|4|59.97'));
  expect(outcome).toMatchObject({ status: 'REJECTED', counts: { records: 3, valid: 3, invalid: 0 } });
  expect(outcome.reason).toEqual({ code: 'CONTROL_COUNT_MISMATCH', message: 'the trailer record (line 7) gives 4 data rows; the file has 3', line: 7 });
  expect(rejects.errors.map((error) => error.code)).toEqual(['CONTROL_COUNT_MISMATCH']);
});

test('CONTROL_SUM_MISMATCH: off by a cent; expected and actual in the reason, and rows that added nothing counted', async () => {
  const { outcome } = await run(file(rows(3), 'TRL|3|59.96'));
  expect(outcome).toMatchObject({ status: 'REJECTED', counts: { records: 3, valid: 3 } });
  expect(outcome.reason).toMatchObject({ code: 'CONTROL_SUM_MISMATCH', message: 'the trailer record (line 7) gives 59.96 as the sum of unit_price; the data rows sum to 59.97' });
  const notDecimal = await run(file(rows(3, (n) => (n === 2 ? { unit_price: 'n/a' } : {})), 'TRL|3|59.97'));
  expect(notDecimal.outcome.reason!.code).toBe('CONTROL_SUM_MISMATCH');
  expect(notDecimal.outcome.reason!.message).toBe(
    'the trailer record (line 7) gives 59.97 as the sum of unit_price; the data rows sum to 39.98 (1 row had no decimal in it and added nothing)',
  );
});

test('TRAILER_MISSING: no trailer at all, or records after it', async () => {
  const none = await run(file(rows(3), undefined));
  expect(none.outcome).toMatchObject({ status: 'REJECTED', counts: { records: 3, valid: 3 }, reason: { code: 'TRAILER_MISSING' } });
  const notLast = await run(file(rows(3), 'TRL|3|59.97', { after: [line(order(4))] }));
  expect(notLast.outcome).toMatchObject({
    status: 'REJECTED',
    reason: { code: 'TRAILER_MISSING', message: 'the trailer record (line 7) is not the last record: line 8 follows it', line: 8 },
  });
  // Blank lines after the trailer are no records.
  expect((await run(`${file(rows(3), 'TRL|3|59.97')}\r\n\r\n`)).outcome.status).toBe('COMPLETED');
});

test('HEADER_RECORD_MISSING: the first record after the preamble is not the header record', async () => {
  const { outcome } = await run(file(rows(3), 'TRL|3|59.97', { header: 'HDR|2026-11-20|42' }));
  expect(outcome).toMatchObject({ status: 'REJECTED', counts: { records: 0 }, reason: { code: 'HEADER_RECORD_MISSING', line: 2 } });
});

test('CONTROL_RECORD_INVALID: a record the pattern matches whose count is not a number', async () => {
  const loose = ordersFeedWith({ format: { trailerRecord: { match: '^TRL\\|(?<count>[^|]*)$', fields: { recordCount: 'count' } } } });
  const { outcome } = await validate(`${HEADER}\n${line(order(1))}\nTRL|one\n`, { feed: loose });
  expect(outcome).toMatchObject({ status: 'REJECTED', reason: { code: 'CONTROL_RECORD_INVALID', line: 3 } });
  expect(outcome.reason!.message).toContain('recordCount "one", which is not a whole number');
});

test('a header record may carry the count; a header-only layout (no trailer) checks it at the end', async () => {
  const counted = ordersFeedWith({ format: { headerRecord: { match: '^H;(?<n>\\d+)$', fields: { recordCount: 'n' } } } });
  expect((await validate(`H;2\n${HEADER}\n${rows(2).join('\n')}\n`, { feed: counted })).outcome.status).toBe('COMPLETED');
  const { outcome } = await validate(`H;2\n${HEADER}\n${rows(3).join('\n')}\n`, { feed: counted });
  expect(outcome.reason).toEqual({ code: 'CONTROL_COUNT_MISMATCH', message: 'the header record (line 1) gives 2 data rows; the file has 3', line: 1 });
});

/** Validates in as many segments as pausing at every chance makes (a checkpoint every 4,096 records). */
async function inSegments(text: string): Promise<{ final: ValidationOutcome; checkpoints: ValidationCheckpoint[] }> {
  const items = new CollectingItemSink(feed);
  const rejects = new CollectingRejectSink(100);
  const keys = new KeyFingerprintSet();
  const checkpoints: ValidationCheckpoint[] = [];
  let resume: ValidationCheckpoint | undefined;
  for (;;) {
    const outcome = await validateSegment({ source: chunked(text), feed, batchId: 'b', items, rejects, keys, shouldPause: () => true, ...(resume ? { resume } : {}) });
    if (outcome.status !== 'PAUSED') return { final: outcome, checkpoints };
    // Through JSON, as the ledger keeps it.
    resume = JSON.parse(JSON.stringify(outcome.checkpoint)) as ValidationCheckpoint;
    checkpoints.push(resume);
  }
}

test('a pass split over invocations carries the header record and the running sum in its checkpoint', async () => {
  const data = rows(10_000);
  const good = await inSegments(file(data, 'TRL|10000|199900.00'));
  expect(good.checkpoints.length).toBeGreaterThan(1);
  const [first] = good.checkpoints;
  const cents = String(first!.counts.records * 1999);
  expect(first!.control).toEqual({ header: { fileDate: '20261120', sequence: '000042', line: 2 }, sum: `${cents.slice(0, -2)}.${cents.slice(-2)}`, unsummed: 0 });
  expect(good.final).toMatchObject({ status: 'COMPLETED', counts: { records: 10_000, valid: 10_000 }, control: { sequence: '000042' } });
  const bad = await inSegments(file(data, 'TRL|10000|199900.01'));
  expect(bad.final.reason).toMatchObject({ code: 'CONTROL_SUM_MISMATCH', message: expect.stringContaining('the data rows sum to 199900.00') });
});

describe('sequence: the gate is asked last, only for a file every other check accepts', () => {
  const sequenced: FeedConfig = { ...feed, sequence: { first: 1 } };
  async function gated(text: string, answer?: { code: string; message: string }) {
    const claims: string[] = [];
    const outcome = await validateFile({
      source: chunked(text),
      feed: sequenced,
      batchId: 'b',
      items: new CollectingItemSink(sequenced),
      rejects: new CollectingRejectSink(100),
      sequence: { claim: async (sequence) => (claims.push(sequence), answer) },
    });
    return { outcome, claims };
  }

  test('an accepted file claims its number as written; the gate\'s reason rejects it', async () => {
    expect(await gated(file(rows(3), 'TRL|3|59.97'))).toMatchObject({ outcome: { status: 'COMPLETED' }, claims: ['000042'] });
    const refused = await gated(file(rows(3), 'TRL|3|59.97'), { code: 'SEQUENCE_GAP', message: 'a file is missing' });
    expect(refused.outcome).toMatchObject({ status: 'REJECTED', reason: { code: 'SEQUENCE_GAP' } });
  });

  test('a file rejected for its totals or its rows never claims a number', async () => {
    expect((await gated(file(rows(3), 'TRL|4|59.97'))).claims).toEqual([]);
    expect((await gated(file(rows(3, (n) => (n === 1 ? { quantity: 'many' } : {})), 'TRL|3|59.97'))).claims).toEqual([]);
  });
});

describe('literalPrefix: the byte test that spares data rows the trailer match', () => {
  test.each([
    ['^TRL\\|(?<count>\\d+)$', 'TRL|'],
    ['^HDR;(?<n>\\d+)$', 'HDR;'],
    ['^TRL?\\|', 'TR'],
    ['^99\\.(?<n>\\d+)', '99.'],
    ['^\\d+', ''],
    ['TRL\\|', ''],
    ['^TRL|^END', ''],
    ['^TRL\\|(?<kind>A|B)', ''],
    ['^T\\\\|x', ''],
  ])('%s → %j', (source, prefix) => {
    expect(literalPrefix(source)).toBe(prefix);
  });

  test('a BOM before a header record does not hide it from the byte test', async () => {
    const headerFirst = ordersFeedWith({ format: { headerRecord: { match: '^HDR\\|(?<n>\\d+)$', fields: { recordCount: 'n' } } } });
    expect((await validate(`\uFEFFHDR|1\n${HEADER}\n${line(order(1))}\n`, { feed: headerFirst })).outcome.status).toBe('COMPLETED');
  });
});
