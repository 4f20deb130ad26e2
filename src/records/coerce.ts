/**
 * CSV fields are text; record schemas declare types. Coercion happens before
 * validation and is strict: text that is not exactly of the type is left as
 * text, so the schema's `type` check reports it with the original value.
 */

export type ColumnType = 'string' | 'integer' | 'number' | 'boolean';
export type Coercer = (text: string) => unknown;

export const INTEGER_TEXT = /^-?(0|[1-9][0-9]*)$/;
export const NUMBER_TEXT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

function coerceInteger(text: string): unknown {
  if (!INTEGER_TEXT.test(text)) return text;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

function coerceNumber(text: string): unknown {
  if (!NUMBER_TEXT.test(text)) return text;
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

function coerceBoolean(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return text;
}

const identity: Coercer = (text) => text;

export const COERCERS: Readonly<Record<ColumnType, Coercer>> = {
  string: identity,
  integer: coerceInteger,
  number: coerceNumber,
  boolean: coerceBoolean,
};

export function isColumnType(value: unknown): value is ColumnType {
  return typeof value === 'string' && Object.hasOwn(COERCERS, value);
}

/**
 * The typed record of a CSV row: column `columns[i]` from `fields[positions[i]]`,
 * coerced. Empty fields are left out, so a schema's `required` reports them.
 * The validation pass and the sender both build records with this, so a record
 * sent is exactly the record validated.
 */
export function coerceRecord(
  fields: readonly string[],
  positions: readonly number[],
  columns: readonly string[],
  coercers: readonly Coercer[],
): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) {
    const text = fields[positions[i]!]!;
    if (text !== '') record[columns[i]!] = coercers[i]!(text);
  }
  return record;
}
