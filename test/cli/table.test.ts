import { renderTable } from '../../src/cli/table';

const HEADERS = ['batch', 'partner', 'file', 'status', 'records', 'reason'];
const ROWS = [
  ['0123456789abcdef0123456789abcdef', 'acme', 'orders_2026-11-04_the_long_one.csv', 'REJECTED', 0, 'HEADER_MISMATCH: header does not match the feed\'s columns: missing "order_id"'],
  ['fedcba9876543210fedcba9876543210', 'globex', 'shipments.csv.gz', 'COMPLETED', 4, ''],
];
const FIT = { cut: { reason: 16, file: 12 }, hide: ['records', 'partner'] };

/** The table's lines and the cells of its body rows. */
function parse(table: string) {
  const lines = table.split('\n');
  const cells = lines.filter((line) => line.startsWith('│')).map((line) => line.split('│').slice(1, -1).map((cell) => cell.trim()));
  return { lines, header: cells[0], body: cells.slice(1) };
}

const widest = (table: string) => Math.max(...table.split('\n').map((line) => line.length));

test('without a width the table shows every cell in full', () => {
  const { header, body } = parse(renderTable(HEADERS, ROWS));
  expect(header).toEqual(HEADERS);
  expect(body).toEqual(ROWS.map((row) => row.map(String)));
});

test('a table that fits is left as it is', () => {
  const full = renderTable(HEADERS, ROWS);
  expect(renderTable(HEADERS, ROWS, { width: widest(full), ...FIT })).toBe(full);
});

test('the reason is cut with … first, then the file name, each down to its minimum', () => {
  const full = renderTable(HEADERS, ROWS);
  const narrower = renderTable(HEADERS, ROWS, { width: widest(full) - 30, ...FIT });
  expect(widest(narrower)).toBe(widest(full) - 30);
  const { header, body } = parse(narrower);
  expect(header).toEqual(HEADERS); // nothing hidden yet
  expect(body[0]![5]).toMatch(/^HEADER_MISMATCH: .*…$/);
  expect(body[0]![2]).toBe('orders_2026-11-04_the_long_one.csv'); // the reason had room to give

  // Every column at its minimum: 32 + 7 + 12 + 9 + 7 + 16, plus 3 per column and 1 for the borders.
  const narrowest = renderTable(HEADERS, ROWS, { width: 102, ...FIT });
  expect(widest(narrowest)).toBe(102);
  expect(parse(narrowest).header).toEqual(HEADERS);
  expect(parse(narrowest).body[0]).toEqual([ROWS[0]![0], 'acme', 'orders_2026…', 'REJECTED', '0', 'HEADER_MISMATCH…']);
});

test('when cutting is not enough, columns are hidden in order and named on a last line', () => {
  const oneHidden = renderTable(HEADERS, ROWS, { width: 101, ...FIT });
  expect(widest(oneHidden)).toBeLessThanOrEqual(101);
  expect(parse(oneHidden).header).toEqual(['batch', 'partner', 'file', 'status', 'reason']);
  expect(parse(oneHidden).lines.at(-1)).toBe('(hidden to fit 101 columns: records)');

  const twoHidden = renderTable(HEADERS, ROWS, { width: 85, ...FIT });
  expect(widest(twoHidden)).toBeLessThanOrEqual(85);
  expect(parse(twoHidden).header).toEqual(['batch', 'file', 'status', 'reason']);
  expect(parse(twoHidden).body[0]![0]).toBe(ROWS[0]![0]); // the batch id is never cut
  expect(parse(twoHidden).lines.at(-1)).toBe('(hidden to fit 85 columns: partner, records)');
});

test('a terminal too narrow for the columns that are never hidden gets them at their minimum widths', () => {
  const table = renderTable(HEADERS, ROWS, { width: 20, ...FIT });
  expect(parse(table).header).toEqual(['batch', 'file', 'status', 'reason']);
  expect(widest(table)).toBe(32 + 12 + 9 + 16 + 4 * 3 + 1);
});
