import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { generateOrders } from '../../../bench/generate-orders';
import { createAjv } from '../../../src/records/ajv';
import { coerceRecord } from '../../../src/records/coerce';
import { compileFastCheck } from '../../../src/records/fast-check';
import { compileRecordSchema, type CompiledRecordSchema } from '../../../src/records/record-schema';
import { REPO_ROOT } from '../../support/csv-cases';

/**
 * The fast check must take exactly ajv's decision on every record: these tests
 * compare the two on the shipped schemas, on generated order files and on
 * random records built from values picked to sit on every keyword's edge.
 */

type SchemaDocument = Record<string, unknown> & { $id: string; properties: Record<string, Record<string, unknown>> };

const shippedSchemas = () =>
  readdirSync(path.join(REPO_ROOT, 'schemas', 'records')).map(
    (file) => JSON.parse(readFileSync(path.join(REPO_ROOT, 'schemas', 'records', file), 'utf8')) as SchemaDocument,
  );

/** Every keyword the fast check models, on each column type. */
const everyKeyword: SchemaDocument = {
  $id: 'urn:test:fast-check:every-keyword',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'count', 'flag'],
  properties: {
    id: { type: 'string', pattern: '^[a-z]+[0-9]*$', title: 'an annotation' },
    emoji: { type: 'string', minLength: 2, maxLength: 3 },
    color: { type: 'string', enum: ['red', 'green', 'ß'] },
    fixed: { type: 'string', const: 'x' },
    day: { type: 'string', format: 'date' },
    mail: { type: 'string', format: 'email', maxLength: 20 },
    when: { type: 'string', format: 'date-time' },
    price: { type: 'string', decimal: { scale: 2, minimum: '-10.5', exclusiveMaximum: '99999999999999999999.99' } },
    count: { type: 'integer', minimum: -3, maximum: 9007199254740991 },
    level: { type: 'integer', enum: [0, 1, 2] },
    ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    big: { type: 'number', minimum: -1e21 },
    flag: { type: 'boolean' },
    yes: { type: 'boolean', const: true },
    anything: { type: 'string' },
  },
};

/** Mostly-valid texts per column of `everyKeyword`, so that whole records pass too. */
const LIKELY: Readonly<Record<string, readonly string[]>> = {
  id: ['abc', 'abc12', 'z'],
  emoji: ['', '😀', '😀😀', 'a😀', 'ab', 'abc'],
  color: ['', 'red', 'green', 'ß'],
  fixed: ['', 'x'],
  day: ['', '2024-02-29', '2026-12-03'],
  mail: ['', 'a@b.co', 'first.last@example.com'],
  when: ['', '2026-12-03T10:00:00Z', '2026-12-03T10:00:00+01:00'],
  price: ['', '0', '-10.5', '12.34', '99999999999999999999.98'],
  count: ['-3', '0', '42', '9007199254740991'],
  level: ['', '0', '2'],
  ratio: ['', '0.5', '0.999'],
  big: ['', '-1e21', '1e300', '3.5'],
  flag: ['true', 'false'],
  yes: ['', 'true'],
  anything: ['', 'any text, even ""'],
};

/** Texts at the edges of what the keywords above and the coercions accept. */
const EDGE_TEXTS = [
  '', ' ', 'a', 'abc', 'abc1', 'ABC', 'x', 'red', 'RED', 'ß', 'ss', '😀', '😀😀', '😀😀😀😀', 'a😀', '\ud83d', 'e\u0301',
  '0', '-0', '00', '01', '1', '-1', '-3', '-4', '2', '9', '10', '1.0', '1.', '.5', '0.5', '0.999', '1e0', '1E5', '-1e21', '-1e22',
  '9007199254740991', '9007199254740992', '9007199254740993', '1e400', 'NaN', 'Infinity', '0x10',
  '-10.5', '-10.51', '-10.50', '12.34', '12.345', '99999999999999999999.99', '99999999999999999999.98', '1,5',
  'true', 'false', 'TRUE', 'yes',
  '2024-02-29', '2023-02-29', '2026-12-31', '2026-13-01', '2026-1-01',
  '2026-12-03T10:00:00Z', '2026-12-03T25:00:00Z', '2026-12-03 10:00:00',
  'a@b.co', 'A@B.CO', 'a@b', 'first.last@example.com', 'averyveryverylongname@example.com', 'a b@c.de',
];

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function compile(document: SchemaDocument): CompiledRecordSchema {
  return compileRecordSchema(createAjv(), 'test', 1, document);
}

/** ajv's decision: the record coerced as the pass does, then validated. */
function ajvAccepts(schema: CompiledRecordSchema, fields: readonly string[], positions: readonly number[]): boolean {
  return schema.validate(coerceRecord(fields, positions, schema.columns, schema.coercers), fields, positions).length === 0;
}

/** The pass's decision: the fast check's where the schema has one, else errorsOf's, through ajv. */
function decision(schema: CompiledRecordSchema, fields: readonly string[], positions: readonly number[]): boolean {
  return schema.fastCheck ? schema.fastCheck(fields, positions) : schema.errorsOf(fields, positions).length === 0;
}

/** The records where the two decisions differ (at most a few, for the message). */
function disagreements(schema: CompiledRecordSchema, records: readonly (readonly string[])[], positions: readonly number[]) {
  const found: { record: Record<string, string>; fast: boolean }[] = [];
  for (const fields of records) {
    const fast = decision(schema, fields, positions);
    if (fast === ajvAccepts(schema, fields, positions)) continue;
    const record = Object.fromEntries(schema.columns.map((column, index) => [column, fields[positions[index]!]!]));
    if (found.push({ record, fast }) >= 3) break;
  }
  return found;
}

function randomRecords(schema: CompiledRecordSchema, count: number, seed: number, valuesFor: (column: string) => readonly string[]) {
  const next = random(seed);
  return Array.from({ length: count }, () =>
    schema.columns.map((column) => {
      const values = next() < 0.95 ? valuesFor(column) : EDGE_TEXTS;
      return values[Math.floor(next() * values.length)]!;
    }),
  );
}

describe('compileFastCheck', () => {
  it('models every shipped record schema (so the pass never falls back to ajv per record for them)', () => {
    const ajv = createAjv();
    for (const document of shippedSchemas()) {
      const schema = compileRecordSchema(ajv, document.$id as string, 1, document);
      expect(compileFastCheck(ajv, document, schema.columns, schema.columnTypes)).toBeInstanceOf(Function);
    }
  });

  it.each([
    ['multipleOf', { even: { type: 'integer', multipleOf: 2 } }, {}],
    ['a format on a number column', { n: { type: 'integer', format: 'int32' } }, {}],
    ['a document-level keyword', { a: { type: 'string' } }, { minProperties: 1 }],
    ['allOf in a property', { a: { type: 'string', allOf: [{ minLength: 1 }] } }, {}],
  ])('leaves a schema with %s to ajv, which still decides correctly', (_name, properties, extra) => {
    const ajv = createAjv();
    const document = { $id: `urn:test:fallback-${_name.replace(/\W+/g, "-")}`, type: 'object', additionalProperties: false, properties, ...extra } as SchemaDocument;
    const schema = compileRecordSchema(ajv, 'fallback', 1, document);
    expect(compileFastCheck(ajv, document, schema.columns, schema.columnTypes)).toBeUndefined();
    const positions = schema.columns.map((_, index) => index);
    expect(disagreements(schema, randomRecords(schema, 2000, 7, () => EDGE_TEXTS), positions)).toEqual([]);
  });

  it('decides as ajv on 20,000 random records of every modelled keyword, with fields in any order', () => {
    const schema = compile(everyKeyword);
    // The file's columns in another order than the schema's, plus one the schema does not know.
    const positions = schema.columns.map((_, index) => (index * 7 + 3) % schema.columns.length);
    const records = randomRecords(schema, 20_000, 42, (column) => LIKELY[column]!).map((fields) => {
      const inFileOrder: string[] = new Array(fields.length);
      fields.forEach((text, index) => (inFileOrder[positions[index]!] = text));
      return inFileOrder;
    });
    expect(disagreements(schema, records, positions)).toEqual([]);
    // Not a vacuous comparison: both outcomes occur.
    const accepted = records.filter((fields) => decision(schema, fields, positions)).length;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(records.length);
  });

  it.each(shippedSchemas().map((document) => [document.$id as string, document] as const))(
    'decides as ajv on random records for %s',
    (_id, document) => {
      const schema = compile(document);
      const positions = schema.columns.map((_, index) => index);
      expect(disagreements(schema, randomRecords(schema, 20_000, 9, () => EDGE_TEXTS), positions)).toEqual([]);
    },
  );

  it('decides as ajv on every row of a generated orders file with all kinds of invalid rows', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fast-check-'));
    try {
      const generated = await generateOrders({ rows: 20_000, seed: 3, invalidRate: 0.2, gzip: false }, path.join(dir, 'orders.csv'));
      const [header, ...rows] = parse(readFileSync(generated.path, 'utf8'), { relax_column_count: true }) as string[][];
      const orders = shippedSchemas().find((document) => String(document.$id).includes(':orders:'))!;
      const schema = compile(orders);
      const positions = schema.columns.map((column) => header!.indexOf(column));
      expect(disagreements(schema, rows, positions)).toEqual([]);
      expect(rows.filter((fields) => !decision(schema, fields, positions)).length).toBeGreaterThan(1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
