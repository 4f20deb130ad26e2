import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../../src/config/errors';
import { buildFixedWidthFormat, type RawFixedWidthFormat } from '../../../src/config/fixed-width';
import { loadPartnerRegistry } from '../../../src/config/load-partners';
import { REPO_ROOT, tempDir } from '../../support/csv-cases';

const SCHEMA_COLUMNS = ['id', 'name', 'amount'];
const raw = (columns: RawFixedWidthFormat['columns'], extra: Partial<RawFixedWidthFormat> = {}): RawFixedWidthFormat => ({ type: 'fixed', encoding: 'latin1', columns, ...extra });
const LAYOUT = [
  { name: 'amount', start: 21, length: 10 },
  { name: 'id', start: 1, length: 8 },
  { name: 'name', start: 9, end: 20 },
];

function errorOf(format: RawFixedWidthFormat): { field: string; message: string } {
  try {
    buildFixedWidthFormat(format, SCHEMA_COLUMNS, 'partners/p.yml', 'feeds[0].format');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return { field: (error as ConfigError).field, message: (error as ConfigError).message };
  }
  throw new Error('the format was accepted');
}

describe('a fixed-width layout, checked at load', () => {
  it('takes start (1-based) with a length or an inclusive end, in the order of the line, with defaults', () => {
    expect(buildFixedWidthFormat(raw(LAYOUT, { recordLength: 30 }), SCHEMA_COLUMNS, 'f', 'format')).toEqual({
      type: 'fixed',
      encoding: 'latin1',
      compression: 'auto',
      trim: 'both',
      recordLength: 30,
      columns: [
        { name: 'id', start: 0, length: 8 },
        { name: 'name', start: 8, length: 12 },
        { name: 'amount', start: 20, length: 10 },
      ],
    });
  });

  it.each([
    ['a column the schema does not have', raw([...LAYOUT, { name: 'extra', start: 31, length: 1 }]), 'feeds[0].format.columns[3].name', '"extra" is not a column'],
    ['a schema column without a position', raw(LAYOUT.slice(1)), 'feeds[0].format.columns', 'no position for the schema\'s "amount"'],
    ['a column laid out twice', raw([...LAYOUT, { name: 'id', start: 40, length: 2 }]), 'feeds[0].format.columns[3].name', '"id" is laid out twice'],
    ['overlapping columns', raw([LAYOUT[0]!, LAYOUT[1]!, { name: 'name', start: 8, end: 20 }]), 'feeds[0].format.columns', '"id" (positions 1-8) and "name" (positions 8-20) overlap'],
    ['an end before its start', raw([LAYOUT[0]!, LAYOUT[1]!, { name: 'name', start: 9, end: 8 }]), 'feeds[0].format.columns[2].end', 'must not be before its start (9)'],
    ['a record length the layout does not fit', raw(LAYOUT, { recordLength: 29 }), 'feeds[0].format.recordLength', 'is 29, but "amount" ends at position 30'],
  ])('refuses %s, naming the field', (_case, format, field, message) => {
    const error = errorOf(format);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('a column with both or neither of length and end fails the partner schema, naming the column', () => {
    const temp = tempDir('partner-ingest-fixed-');
    try {
      cpSync(path.join(REPO_ROOT, 'partners'), path.join(temp.dir, 'partners'), { recursive: true });
      cpSync(path.join(REPO_ROOT, 'schemas'), path.join(temp.dir, 'schemas'), { recursive: true });
      const acme = path.join(temp.dir, 'partners', 'acme.yml');
      writeFileSync(acme, readFileSync(acme, 'utf8').replace('{ name: payment_id, start: 1, length: 12 }', '{ name: payment_id, start: 1, length: 12, end: 12 }'));
      expect(() => loadPartnerRegistry({ root: temp.dir })).toThrow(expect.objectContaining({ field: expect.stringMatching(/^feeds\[1\]\.format\.columns\[0\]/) }));
    } finally {
      temp.cleanup();
    }
  });
});
