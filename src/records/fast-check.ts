import type Ajv2020 from 'ajv/dist/2020';
import ucs2length from 'ajv/dist/runtime/ucs2length';
import { INTEGER_TEXT, NUMBER_TEXT, type ColumnType } from './coerce';
import { decimalChecker, type DecimalRule } from './decimal';

/**
 * Decides whether a CSV record is valid against its record schema straight
 * from the field texts: the same decision as coercing the record and running
 * ajv on it, without building the record object or going through ajv's
 * generated code, which together were a third of the validation pass's time
 * on a million-row file. Errors (and their messages) still come from ajv: the
 * pass only asks ajv when this says "invalid".
 *
 * Only schemas made of the keywords below get a fast check; any other keyword
 * (`multipleOf`, `if`, `allOf`, a property `$ref`, …) makes the whole schema
 * go through ajv for every record, so a decision never depends on a keyword
 * this file does not model. test/unit/records/fast-check.test.ts compares both
 * decisions on the test corpus and on random records.
 */
export type FastRecordCheck = (fields: readonly string[], positions: readonly number[]) => boolean;

/** Keywords that never change a decision. */
const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly']);
const DOCUMENT_KEYWORDS = new Set([...ANNOTATIONS, '$schema', '$id', 'type', 'properties', 'required', 'additionalProperties']);
const STRING_KEYWORDS = ['minLength', 'maxLength', 'pattern', 'format', 'decimal'] as const;
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const;
const PROPERTY_KEYWORDS = new Set<string>([...ANNOTATIONS, 'type', 'enum', 'const', ...STRING_KEYWORDS, ...NUMBER_KEYWORDS]);

type Property = Record<string, unknown>;
type ValueCheck = (value: unknown) => boolean;
/** A non-empty field's text → valid. */
type TextCheck = (text: string) => boolean;

/** `enum` / `const`: ajv compares with deep equality, which for the scalars a column holds is `===`. */
function allowedValues(property: Property): ValueCheck | undefined {
  const enumSet = Array.isArray(property.enum) ? new Set(property.enum) : undefined;
  const hasConst = 'const' in property;
  if (!enumSet && !hasConst) return undefined;
  return (value) => (!enumSet || enumSet.has(value)) && (!hasConst || value === property.const);
}

/** `minimum` and friends, as ajv applies them to a number. */
function numberBounds(property: Property): ValueCheck | undefined {
  const checks: ((value: number) => boolean)[] = [];
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = property as Record<string, number | undefined>;
  if (minimum !== undefined) checks.push((value) => value >= minimum);
  if (maximum !== undefined) checks.push((value) => value <= maximum);
  if (exclusiveMinimum !== undefined) checks.push((value) => value > exclusiveMinimum);
  if (exclusiveMaximum !== undefined) checks.push((value) => value < exclusiveMaximum);
  if (!checks.length) return undefined;
  return (value) => checks.every((check) => check(value as number));
}

/** A registered format as ajv applies it to a string, or undefined when ajv would not apply it synchronously. */
function formatCheck(ajv: Ajv2020, name: string): TextCheck | undefined {
  const definition = (ajv.formats as Record<string, unknown>)[name];
  if (definition instanceof RegExp) return (text) => definition.test(text);
  if (typeof definition === 'function') return definition as TextCheck;
  if (typeof definition !== 'object' || definition === null) return undefined;
  const { type, async, validate } = definition as { type?: string; async?: boolean; validate?: unknown };
  if (async) return undefined;
  if (type !== undefined && type !== 'string') return () => true;
  if (validate instanceof RegExp) return (text) => validate.test(text);
  return typeof validate === 'function' ? (validate as TextCheck) : undefined;
}

/** The string keywords of a property, applied to a string value; undefined when one cannot be modelled. */
function stringChecks(ajv: Ajv2020, property: Property): TextCheck[] | undefined {
  const checks: TextCheck[] = [];
  const { minLength, maxLength, pattern, format, decimal } = property as {
    minLength?: number;
    maxLength?: number;
    pattern?: string;
    format?: string;
    decimal?: DecimalRule;
  };
  if (minLength !== undefined || maxLength !== undefined) {
    const min = minLength ?? 0;
    const max = maxLength ?? Infinity;
    // ajv counts code points, which lie between half the UTF-16 length (all
    // surrogate pairs) and the length itself: that range settles most texts
    // without counting.
    checks.push((text) => {
      const units = text.length;
      if (units < min) return false;
      if (units <= max && Math.ceil(units / 2) >= min) return true;
      const codePoints = ucs2length(text);
      return codePoints >= min && codePoints <= max;
    });
  }
  if (pattern !== undefined) {
    const regExp = new RegExp(pattern, 'u');
    checks.push((text) => regExp.test(text));
  }
  if (format !== undefined) {
    const check = formatCheck(ajv, format);
    if (!check) return undefined;
    checks.push(check);
  }
  if (decimal !== undefined) {
    const check = decimalChecker(decimal);
    checks.push((text) => check(text) === undefined);
  }
  return checks;
}

/** The check of one column's non-empty text, or undefined when its keywords cannot be modelled. */
function columnCheck(ajv: Ajv2020, type: ColumnType, property: Property): TextCheck | undefined {
  if (Object.keys(property).some((keyword) => !PROPERTY_KEYWORDS.has(keyword))) return undefined;
  const allowed = allowedValues(property);
  if (type === 'string') {
    const checks = stringChecks(ajv, property);
    if (!checks) return undefined;
    if (allowed) checks.push(allowed);
    return all(checks);
  }
  // Numbers and booleans: text that does not coerce stays a string and fails
  // `type`, so string keywords never decide — except `format`, which a format
  // registered for numbers applies to them: left to ajv.
  if ('format' in property) return undefined;
  const bounds = type === 'boolean' ? undefined : numberBounds(property);
  const valueChecks = [bounds, allowed].filter((check) => check !== undefined);
  const value = all(valueChecks);
  if (type === 'boolean') return (text) => (text === 'true' || text === 'false') && value(text === 'true');
  if (type === 'integer') {
    return (text) => {
      if (!INTEGER_TEXT.test(text)) return false;
      const number = Number(text);
      return Number.isSafeInteger(number) && value(number);
    };
  }
  return (text) => {
    if (!NUMBER_TEXT.test(text)) return false;
    const number = Number(text);
    return Number.isFinite(number) && value(number);
  };
}

function all<T>(checks: readonly ((value: T) => boolean)[]): (value: T) => boolean {
  if (checks.length === 0) return () => true;
  if (checks.length === 1) return checks[0]!;
  return (value) => {
    for (const check of checks) if (!check(value)) return false;
    return true;
  };
}

/**
 * The fast decision for a record schema of `columns`, or undefined when the
 * schema uses a keyword it does not model (then ajv decides every record).
 */
export function compileFastCheck(
  ajv: Ajv2020,
  document: Readonly<Record<string, unknown>>,
  columns: readonly string[],
  columnTypes: Readonly<Record<string, ColumnType>>,
): FastRecordCheck | undefined {
  if (Object.keys(document).some((keyword) => !DOCUMENT_KEYWORDS.has(keyword))) return undefined;
  const properties = document.properties as Record<string, Property>;
  const required = new Set(Array.isArray(document.required) ? document.required : []);
  // A required name that is not a column can never be present: ajv rejects every record.
  if ([...required].some((name) => !columns.includes(name as string))) return () => false;
  const checks: TextCheck[] = [];
  for (const column of columns) {
    const check = columnCheck(ajv, columnTypes[column]!, properties[column]!);
    if (!check) return undefined;
    checks.push(check);
  }
  const isRequired = columns.map((column) => required.has(column));
  const count = columns.length;
  return (fields, positions) => {
    for (let i = 0; i < count; i++) {
      const text = fields[positions[i]!]!;
      if (text === '') {
        // An empty field is left out of the record: only `required` can fail on it.
        if (isRequired[i]) return false;
      } else if (!checks[i]!(text)) return false;
    }
    return true;
  };
}
