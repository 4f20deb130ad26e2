import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { TextWriter } from '../../../src/platform/s3-text-writer';
import { appendStagedRow, StagedRowDecoder, stagedRowFormat } from '../../../src/work-items/staged-rows';
import { textDialectOf } from '../../../src/config/text-dialect';
import { HEADER, line, order, ORDER_COLUMNS, ordersFeedWith } from '../../support/csv-cases';

/** Stages `rows` (exact row texts in the feed's encoding) the way StagingWriter does, and returns the bytes written. */
async function stageRows(feed: ReturnType<typeof ordersFeedWith>, rows: Buffer[]): Promise<{ bytes: Buffer; sizes: number[] }> {
  const sink = new PassThrough();
  const parts: Buffer[] = [];
  sink.on('data', (part: Buffer) => parts.push(part));
  const writer = new TextWriter(sink, finished(sink));
  const sizes = rows.map((raw, index) => appendStagedRow(writer, textDialectOf(feed.format), index + 1, index + 2, { bytes: raw, start: 0, end: raw.length }));
  await writer.close();
  return { bytes: Buffer.concat(parts), sizes };
}

describe('staged rows', () => {
  it.each([
    ['latin1', 'latin1'],
    ['utf-8', 'utf8'],
  ] as const)('round-trip a %s feed with a non-ASCII delimiter: the prefix is written in the file\'s encoding', async (encoding, nodeEncoding) => {
    const feed = ordersFeedWith({ format: { encoding, delimiter: '§' } });
    const texts = [line(order(1)), line(order(2, { customer_id: 'Müller', email: '' }))].map((text) => `${text.replace(/,/g, '§')}\n`);
    const { bytes, sizes } = await stageRows(feed, texts.map((text) => Buffer.from(text, nodeEncoding)));
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(bytes.length);
    expect(bytes.subarray(0, sizes[0]!)).toEqual(Buffer.from(`1§2§${texts[0]}`, nodeEncoding));
    const decoded = new StagedRowDecoder(stagedRowFormat(feed, HEADER.split(','), '\n')).decode(bytes);
    expect(decoded.map((staged) => JSON.parse(staged.text))).toEqual([
      { recordNumber: 1, line: 2, record: expect.objectContaining({ order_id: 'ORD-000001', customer_id: 'CUST-1', quantity: 2 }) },
      { recordNumber: 2, line: 3, record: expect.not.objectContaining({ email: expect.anything() }) },
    ]);
    expect(JSON.parse(decoded[1]!.text).record.customer_id).toBe('Müller');
    expect(decoded.map((staged) => staged.bytes)).toEqual(decoded.map((staged) => Buffer.byteLength(staged.text)));
  });

  it('writes numbers as digits straight into the buffer, across buffer boundaries', async () => {
    const sink = new PassThrough();
    const parts: Buffer[] = [];
    sink.on('data', (part: Buffer) => parts.push(part));
    const writer = new TextWriter(sink, finished(sink));
    const values = [0, 7, 10, 99, 100, 1000, 123456789, Number.MAX_SAFE_INTEGER];
    let expected = '';
    let written = 0;
    for (let round = 0; round < 60_000; round++) {
      for (const value of values) {
        written += writer.appendNumber(value, 0x3b);
        expected += `${value};`;
      }
    }
    await writer.close();
    expect(Buffer.concat(parts).toString('latin1')).toBe(expected);
    expect(written).toBe(expected.length);
  });

  it('reads columns back by name whatever their order in the file', () => {
    const feed = ordersFeedWith({});
    const header = [...ORDER_COLUMNS].reverse();
    const row = `7,9,${line(order(7), header)}\n`;
    const [staged] = new StagedRowDecoder(stagedRowFormat(feed, header, '\n')).decode(Buffer.from(row));
    expect(JSON.parse(staged!.text)).toEqual({ recordNumber: 7, line: 9, record: expect.objectContaining({ order_id: 'ORD-000007', quantity: 2 }) });
    expect(Object.keys(JSON.parse(staged!.text).record)).toEqual([...ORDER_COLUMNS]);
  });
});
