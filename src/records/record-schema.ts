import type Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { capText, joinCapped } from '../platform/text';
import { COERCERS, coerceRecord, isColumnType, type Coercer, type ColumnType } from './coerce';
import { RecordErrorCode, type FieldError } from './error-codes';
import { RecordSchemaError } from './errors';
import { compileFastCheck, type FastRecordCheck } from './fast-check';

/** A record schema ready for use: its columns, how to coerce each, and the compiled validator. */
export interface CompiledRecordSchema {
  readonly id: string;
  readonly version: number;
  /** The schema's `$id`, carried in work items so consumers know what they get. */
  readonly uri: string;
  readonly columns: readonly string[];
  readonly columnTypes: Readonly<Record<string, ColumnType>>;
  readonly coercers: readonly Coercer[];
  /**
   * The decision on a record from its CSV fields without building it
   * (fast-check.ts), or undefined when the schema uses a keyword it does not model.
   */
  readonly fastCheck: FastRecordCheck | undefined;
  /**
   * What is wrong with a record given as its CSV fields (`positions`: the file
   * position of each schema column), empty when it is valid: the record is
   * built and given to ajv only when the fast check refuses it, or when the
   * schema has none.
   */
  errorsOf(fields: readonly string[], positions: readonly number[]): readonly FieldError[];
  /**
   * Validates a coerced record. `fields` and `positions` (the file position of
   * each schema column) give the original text for messages; only read on errors.
   */
  validate(record: Record<string, unknown>, fields: readonly string[], positions: readonly number[]): readonly FieldError[];
}

interface RecordSchemaDocument {
  $id?: unknown;
  type?: unknown;
  properties?: Record<string, { type?: unknown }>;
  additionalProperties?: unknown;
}

const SHOWN_VALUE_LENGTH = 40;
const NO_ERRORS: readonly FieldError[] = Object.freeze([]);

function show(value: string | undefined): string {
  if (value === undefined) return '';
  const text = value.length > SHOWN_VALUE_LENGTH ? `${value.slice(0, SHOWN_VALUE_LENGTH)}…` : value;
  return ` (got ${JSON.stringify(text)})`;
}

const CODE_BY_KEYWORD: Readonly<Record<string, RecordErrorCode>> = {
  required: RecordErrorCode.MISSING_VALUE,
  type: RecordErrorCode.INVALID_TYPE,
  pattern: RecordErrorCode.PATTERN_MISMATCH,
  minLength: RecordErrorCode.TOO_SHORT,
  maxLength: RecordErrorCode.TOO_LONG,
  minimum: RecordErrorCode.OUT_OF_RANGE,
  maximum: RecordErrorCode.OUT_OF_RANGE,
  exclusiveMinimum: RecordErrorCode.OUT_OF_RANGE,
  exclusiveMaximum: RecordErrorCode.OUT_OF_RANGE,
  enum: RecordErrorCode.NOT_ALLOWED,
  const: RecordErrorCode.NOT_ALLOWED,
  format: RecordErrorCode.INVALID_FORMAT,
  decimal: RecordErrorCode.INVALID_DECIMAL,
};

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'is required but empty';
    case 'type':
      return `must be ${params.type === 'integer' ? 'an integer' : `a ${String(params.type)}`}`;
    case 'pattern':
      return `must match ${String(params.pattern)}`;
    case 'enum':
      // A schema may list thousands of values; the message names the first ones.
      return `must be one of ${joinCapped((params.allowedValues as unknown[]).map(String), 'values')}`;
    case 'format':
      return `must be a valid ${String(params.format)}`;
    default:
      return error.message ?? 'is invalid';
  }
}

function toFieldError(error: ErrorObject, rawValue: (column: string) => string | undefined): FieldError {
  const params = error.params as Record<string, unknown>;
  const column =
    error.keyword === 'required' ? String(params.missingProperty) : error.instancePath.split('/')[1] ?? '';
  const shown = error.keyword === 'required' ? '' : show(rawValue(column));
  return {
    column,
    code: CODE_BY_KEYWORD[error.keyword] ?? RecordErrorCode.INVALID_VALUE,
    // The value is shown cut to 40 characters, but the schema's side (a long
    // pattern, a decimal bound) is not: the cap holds for any message.
    message: capText(`${describe(error)}${shown}`),
  };
}

/**
 * Compiles a record schema once. Every property is a CSV column and must declare
 * a single scalar `type`, which decides how its text is coerced.
 */
export function compileRecordSchema(
  ajv: Ajv2020,
  id: string,
  version: number,
  document: RecordSchemaDocument,
): CompiledRecordSchema {
  if (typeof document.$id !== 'string' || document.$id === '') {
    throw new RecordSchemaError('$id', 'must be a non-empty string naming the schema');
  }
  if (document.type !== 'object' || typeof document.properties !== 'object' || document.properties === null) {
    throw new RecordSchemaError('type', 'must be "object" with "properties" (one per CSV column)');
  }
  if (document.additionalProperties !== false) {
    throw new RecordSchemaError('additionalProperties', 'must be false: a record has exactly the declared columns');
  }
  const columns = Object.keys(document.properties);
  const columnTypes: Record<string, ColumnType> = {};
  for (const column of columns) {
    const type = document.properties[column]?.type;
    if (!isColumnType(type)) {
      throw new RecordSchemaError(
        `properties.${column}.type`,
        `must be one of ${Object.keys(COERCERS).join(', ')} (got ${JSON.stringify(type)})`,
      );
    }
    columnTypes[column] = type;
  }
  // Reusing the validator already registered under this $id would silently check
  // records against another file's rules (e.g. a v2 copy that kept v1's $id).
  if (ajv.getSchema(document.$id)) {
    throw new RecordSchemaError('$id', `"${document.$id}" is already the $id of another schema; each schema file needs its own`);
  }
  // Records are built from the schema's own columns (see coercers), so
  // `additionalProperties: false` cannot fail on them; checking it would cost a
  // for-in over every record. It stays in the document: consumers rely on it.
  const { additionalProperties: _closed, ...checked } = document;
  let validator: ValidateFunction;
  try {
    validator = ajv.compile(checked as object);
  } catch (error) {
    throw new RecordSchemaError('', `is not a valid JSON Schema: ${(error as Error).message}`);
  }
  const coercers = columns.map((column) => COERCERS[columnTypes[column]!]);
  const fastCheck = compileFastCheck(ajv, document as Readonly<Record<string, unknown>>, columns, columnTypes);
  const validate: CompiledRecordSchema['validate'] = (record, fields, positions) => {
    if (validator(record)) return NO_ERRORS;
    const rawValue = (column: string) => fields[positions[columns.indexOf(column)]!];
    return (validator.errors ?? []).map((error) => toFieldError(error, rawValue));
  };
  return {
    id,
    version,
    uri: document.$id,
    columns,
    columnTypes,
    coercers,
    fastCheck,
    errorsOf: (fields, positions) =>
      fastCheck?.(fields, positions) ? NO_ERRORS : validate(coerceRecord(fields, positions, columns, coercers), fields, positions),
    validate,
  };
}
