import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createAjv } from '../../../src/records/ajv';
import { RecordErrorCode } from '../../../src/records/error-codes';
import { RecordSchemaError } from '../../../src/records/errors';
import { compileRecordSchema, type CompiledRecordSchema } from '../../../src/records/record-schema';
import { MAX_MESSAGE_BYTES } from '../../../src/platform/text';
import { REPO_ROOT } from '../../support/csv-cases';

const ordersDocument = () =>
  JSON.parse(readFileSync(path.join(REPO_ROOT, 'schemas', 'records', 'orders.v1.schema.json'), 'utf8')) as Record<string, unknown>;

/** A one-off schema exercising every keyword the error mapping knows. */
const kitchenSink = {
  $id: 'urn:test:kitchen-sink',
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', pattern: '^[a-z]+$' },
    short: { type: 'string', minLength: 3 },
    long: { type: 'string', maxLength: 3 },
    small: { type: 'integer', minimum: 1 },
    big: { type: 'integer', maximum: 9 },
    above: { type: 'number', exclusiveMinimum: 0 },
    below: { type: 'number', exclusiveMaximum: 1 },
    color: { type: 'string', enum: ['red', 'green'] },
    fixed: { type: 'string', const: 'x' },
    day: { type: 'string', format: 'date' },
    price: { type: 'string', decimal: { scale: 2 } },
    even: { type: 'integer', multipleOf: 2 },
    flag: { type: 'boolean' },
  },
};

/** Coerces `fields` (in schema column order) the way the validation pass does, then validates. */
function check(schema: CompiledRecordSchema, values: Record<string, string>) {
  const fields = schema.columns.map((column) => values[column] ?? '');
  const positions = schema.columns.map((_, index) => index);
  const record: Record<string, unknown> = {};
  schema.columns.forEach((column, index) => {
    if (fields[index] !== '') record[column] = schema.coercers[index]!(fields[index]!);
  });
  return schema.validate(record, fields, positions);
}

describe('compileRecordSchema: error mapping', () => {
  const schema = compileRecordSchema(createAjv(), 'kitchen-sink', 1, kitchenSink);

  it('lists the columns in declaration order with their types', () => {
    expect(schema.columns).toEqual(Object.keys(kitchenSink.properties));
    expect(schema.columnTypes).toEqual(expect.objectContaining({ id: 'string', small: 'integer', above: 'number', flag: 'boolean' }));
    expect(schema.uri).toBe('urn:test:kitchen-sink');
  });

  it('returns no errors for a valid record', () => {
    expect(check(schema, { id: 'abc', small: '1', price: '1.50', flag: 'true', day: '2024-02-29' })).toEqual([]);
  });

  it.each([
    ['id', '', RecordErrorCode.MISSING_VALUE, 'is required but empty'],
    ['id', 'ABC', RecordErrorCode.PATTERN_MISMATCH, '(got "ABC")'],
    ['short', 'ab', RecordErrorCode.TOO_SHORT, '(got "ab")'],
    ['long', 'abcd', RecordErrorCode.TOO_LONG, '(got "abcd")'],
    ['small', '0', RecordErrorCode.OUT_OF_RANGE, '(got "0")'],
    ['big', '10', RecordErrorCode.OUT_OF_RANGE, '(got "10")'],
    ['above', '0', RecordErrorCode.OUT_OF_RANGE, '(got "0")'],
    ['below', '1', RecordErrorCode.OUT_OF_RANGE, '(got "1")'],
    ['small', '1.5', RecordErrorCode.INVALID_TYPE, 'must be an integer (got "1.5")'],
    ['above', 'abc', RecordErrorCode.INVALID_TYPE, 'must be a number (got "abc")'],
    ['flag', 'yes', RecordErrorCode.INVALID_TYPE, 'must be a boolean (got "yes")'],
    ['color', 'blue', RecordErrorCode.NOT_ALLOWED, 'must be one of red, green (got "blue")'],
    ['fixed', 'y', RecordErrorCode.NOT_ALLOWED, '(got "y")'],
    ['day', '2023-02-29', RecordErrorCode.INVALID_FORMAT, 'must be a valid date (got "2023-02-29")'],
    ['price', '1.234', RecordErrorCode.INVALID_DECIMAL, 'must have at most 2 decimal places (got "1.234")'],
    ['even', '3', RecordErrorCode.INVALID_VALUE, '(got "3")'],
  ])('maps %s=%j to %s', (column, value, code, message) => {
    const values: Record<string, string> = { id: 'abc', [column]: value };
    const errors = check(schema, values);
    expect(errors).toEqual([{ column, code, message: expect.stringContaining(message) }]);
  });

  it('shows at most 40 characters of a long value', () => {
    const [error] = check(schema, { id: 'abc', long: 'y'.repeat(500) });
    expect(error!.message).toContain(`(got "${'y'.repeat(40)}…")`);
    expect(error!.message.length).toBeLessThan(100);
  });

  it('takes the shown value from the field at the column position in the file', () => {
    // The file has the columns in another order than the schema.
    const fileOrder = [...schema.columns].reverse();
    const fields = fileOrder.map((column) => (column === 'id' ? 'abc' : column === 'color' ? 'purple' : ''));
    const positions = schema.columns.map((column) => fileOrder.indexOf(column));
    const errors = schema.validate({ id: 'abc', color: 'purple' }, fields, positions);
    expect(errors).toEqual([{ column: 'color', code: RecordErrorCode.NOT_ALLOWED, message: 'must be one of red, green (got "purple")' }]);
  });

  it('reports every failing column of one record', () => {
    const errors = check(schema, { id: '', short: 'a', color: 'x', price: 'x' });
    expect(errors.map((error) => error.code).sort()).toEqual(
      [RecordErrorCode.MISSING_VALUE, RecordErrorCode.TOO_SHORT, RecordErrorCode.NOT_ALLOWED, RecordErrorCode.INVALID_DECIMAL].sort(),
    );
  });
});

describe('compileRecordSchema: messages stay within MAX_MESSAGE_BYTES', () => {
  const values = Array.from({ length: 5000 }, (_, n) => `value-${n}`);
  const document = {
    $id: 'urn:test:wide-messages',
    type: 'object',
    additionalProperties: false,
    properties: {
      choice: { type: 'string', enum: values },
      code: { type: 'string', pattern: `^(${values.join('|')})$` },
      amount: { type: 'string', decimal: { maximum: `1${'0'.repeat(4000)}` } },
    },
  };
  const schema = compileRecordSchema(createAjv(), 'wide', 1, document);

  it('names the first allowed values of a long enumeration and counts the rest', () => {
    const [error] = check(schema, { choice: 'nope' });
    expect(error!.code).toBe(RecordErrorCode.NOT_ALLOWED);
    expect(Buffer.byteLength(error!.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(error!.message).toMatch(/^must be one of value-0, value-1, value-2, .*…and [\d,]+ more values \(got "nope"\)$/);
    const shown = (error!.message.match(/value-\d+/g) ?? []).length;
    const more = Number(/…and ([\d,]+) more values/.exec(error!.message)![1]!.replace(/,/g, ''));
    expect(shown + more).toBe(values.length);
  });

  it('cuts a message built from a long pattern or bound, whatever the value', () => {
    for (const [column, value, code] of [
      ['code', 'nope', RecordErrorCode.PATTERN_MISMATCH],
      ['amount', `2${'0'.repeat(4000)}`, RecordErrorCode.INVALID_DECIMAL],
    ] as const) {
      const [error] = check(schema, { [column]: value });
      expect(error!.code).toBe(code);
      expect(Buffer.byteLength(error!.message)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(error!.message).toMatch(/…and [\d,]+ more bytes$/);
    }
  });
});

describe('compileRecordSchema: the orders schema', () => {
  const schema = compileRecordSchema(createAjv(), 'orders', 1, ordersDocument());
  const valid = {
    order_id: 'ORD-000001',
    customer_id: 'C',
    sku: 'ABC',
    quantity: '1',
    unit_price: '0.01',
    currency: 'GBP',
    order_date: '2024-02-29',
    email: '',
  };

  it('accepts boundary values', () => {
    expect(check(schema, valid)).toEqual([]);
    expect(check(schema, { ...valid, quantity: '10000', customer_id: 'c'.repeat(64), order_id: 'ORD-123456789012' })).toEqual([]);
  });

  it.each([
    ['order_id', 'ORD-12345', RecordErrorCode.PATTERN_MISMATCH],
    ['order_id', 'ORD-1234567890123', RecordErrorCode.PATTERN_MISMATCH],
    ['customer_id', 'c'.repeat(65), RecordErrorCode.TOO_LONG],
    ['sku', 'ab-1', RecordErrorCode.PATTERN_MISMATCH],
    ['quantity', '0', RecordErrorCode.OUT_OF_RANGE],
    ['quantity', '10001', RecordErrorCode.OUT_OF_RANGE],
    ['quantity', '2.0', RecordErrorCode.INVALID_TYPE],
    ['unit_price', '0', RecordErrorCode.INVALID_DECIMAL],
    ['unit_price', '19.999', RecordErrorCode.INVALID_DECIMAL],
    ['unit_price', '1,00', RecordErrorCode.INVALID_DECIMAL],
    ['currency', 'eur', RecordErrorCode.NOT_ALLOWED],
    ['order_date', '2024-13-01', RecordErrorCode.INVALID_FORMAT],
    ['order_date', '2023-02-29', RecordErrorCode.INVALID_FORMAT],
    ['order_date', '2024-1-01', RecordErrorCode.INVALID_FORMAT],
    ['email', 'not-an-email', RecordErrorCode.INVALID_FORMAT],
    ['currency', '', RecordErrorCode.MISSING_VALUE],
  ])('rejects %s=%j with %s', (column, value, code) => {
    expect(check(schema, { ...valid, [column]: value })).toEqual([expect.objectContaining({ column, code })]);
  });
});

describe('compileRecordSchema: unusable schemas', () => {
  const base = () => ({ $id: 'urn:test:base', type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } });

  it.each([
    ['no $id', { ...base(), $id: undefined }, '$id'],
    ['not an object schema', { ...base(), type: 'array' }, 'type'],
    ['no properties', { ...base(), properties: undefined }, 'type'],
    ['open to extra properties', { ...base(), additionalProperties: true }, 'additionalProperties'],
    ['a property with a type list', { ...base(), properties: { a: { type: ['string', 'null'] } } }, 'properties.a.type'],
    ['a property without a type', { ...base(), properties: { a: { maxLength: 3 } } }, 'properties.a.type'],
    ['an object property', { ...base(), properties: { a: { type: 'object' } } }, 'properties.a.type'],
    ['an unknown keyword', { ...base(), properties: { a: { type: 'string', maxLenght: 3 } } }, ''],
    ['a bad decimal rule', { ...base(), properties: { a: { type: 'string', decimal: { scale: -1 } } } }, ''],
  ])('refuses a schema with %s, naming the field', (_name, document, field) => {
    let thrown: unknown;
    try {
      compileRecordSchema(createAjv(), 'x', 1, document as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RecordSchemaError);
    expect((thrown as RecordSchemaError).field).toBe(field);
  });

  it('refuses a second schema that reuses an $id, instead of validating with the first', () => {
    const ajv = createAjv();
    compileRecordSchema(ajv, 'x', 1, base());
    const second = { ...base(), properties: { b: { type: 'integer' } } };
    expect(() => compileRecordSchema(ajv, 'x', 2, second)).toThrow(RecordSchemaError);
    try {
      compileRecordSchema(ajv, 'x', 2, second);
    } catch (error) {
      expect((error as RecordSchemaError).field).toBe('$id');
      expect((error as Error).message).toContain('urn:test:base');
    }
  });
});
