import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { checkDecimal, type DecimalRule } from './decimal';

const DECIMAL_STRING = { type: 'string', pattern: '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$' };

/**
 * An Ajv instance with the formats and keywords our schemas use. Each loaded
 * configuration owns one, so its schemas are compiled once and reused for every
 * record, and a reloaded configuration never sees a stale schema.
 */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  // `decimal` keeps money exact: the value stays a string and is checked as a
  // decimal (scale, bounds) instead of being turned into a binary float.
  ajv.addKeyword({
    keyword: 'decimal',
    type: 'string',
    schemaType: 'object',
    metaSchema: {
      type: 'object',
      additionalProperties: false,
      properties: {
        scale: { type: 'integer', minimum: 0 },
        minimum: DECIMAL_STRING,
        exclusiveMinimum: DECIMAL_STRING,
        maximum: DECIMAL_STRING,
        exclusiveMaximum: DECIMAL_STRING,
      },
    },
    errors: true,
    compile(rule: DecimalRule) {
      const validate = (data: string): boolean => {
        const problem = checkDecimal(data, rule);
        if (problem === undefined) return true;
        (validate as unknown as { errors: Partial<ErrorObject>[] }).errors = [
          { keyword: 'decimal', message: problem, params: {} },
        ];
        return false;
      };
      return validate;
    },
  });
  return ajv;
}
