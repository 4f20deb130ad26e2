/**
 * The preamble before a header row (format.skipLeadingLines) is dropped as
 * bytes, before csv-parse: whatever the line breaks and however the chunks
 * split them, exactly the first N lines go, and the parser learns how many
 * bytes they were.
 */
import { Readable } from 'node:stream';
import { PreambleSkipper } from '../../../src/validate/preamble';

async function skip(text: string, lines: number, chunkSize: number): Promise<{ rest: string; bytes: number | undefined }> {
  let bytes: number | undefined;
  const skipper = new PreambleSkipper(lines, (count) => (bytes = count));
  const input = Buffer.from(text);
  const chunks = [];
  for (let at = 0; at < input.length; at += chunkSize) chunks.push(input.subarray(at, at + chunkSize));
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks).pipe(skipper)) out.push(chunk as Buffer);
  return { rest: Buffer.concat(out).toString(), bytes };
}

test.each([
  ['LF', 'one "quoted\ntwo\nheader\nrow\n'],
  ['CRLF', 'one "quoted\r\ntwo\r\nheader\r\nrow\r\n'],
  ['lone CR', 'one "quoted\rtwo\rheader\rrow\r'],
  ['mixed', 'one "quoted\r\ntwo\rheader\nrow\n'],
])('%s: exactly two lines go, at every chunk size', async (_name, text) => {
  const expected = text.slice(text.indexOf('header'));
  for (const size of [1, 2, 3, 5, 64]) {
    expect(await skip(text, 2, size)).toEqual({ rest: expected, bytes: text.length - expected.length });
  }
});

test('a CRLF split over two chunks is one line break; the LF does not start the data', async () => {
  const text = 'pre\r\nheader\n';
  expect(await skip(text, 1, 4)).toEqual({ rest: 'header\n', bytes: 5 });
});

test('a file that ends inside its preamble passes nothing on', async () => {
  expect(await skip('only\none', 3, 2)).toEqual({ rest: '', bytes: undefined });
});
