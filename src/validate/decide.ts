import type { ErrorPolicy } from '../config/types';
import { RejectionCode, type BatchReason } from './errors';

export interface RecordCounts {
  /** Data rows: every non-blank row after the header. */
  readonly records: number;
  readonly valid: number;
  readonly invalid: number;
}

/**
 * `value` as an exact fraction of the decimal it was written as (0.29 → 29/100):
 * its shortest round-trip text, which is what the partner config says.
 */
function decimalFraction(value: number): { numerator: bigint; denominator: bigint } {
  const [mantissa = '0', exponent = '0'] = value.toString().toLowerCase().split('e');
  const [whole = '0', fraction = ''] = mantissa.split('.');
  const shift = Number(exponent) - fraction.length;
  const digits = BigInt(whole + fraction);
  return shift >= 0
    ? { numerator: digits * 10n ** BigInt(shift), denominator: 1n }
    : { numerator: digits, denominator: 10n ** BigInt(-shift) };
}

/**
 * Applies a feed's error policy once the whole file has been read. Returns the
 * rejection reason, or undefined when the batch may complete. Too few data
 * rows (`minRecords`) is checked first: a short file is rejected as such,
 * whatever its rows hold. The ratio is
 * compared exactly, in integers, so "exactly 10%" never flips on float rounding
 * and ratios finer than a millionth are honoured as written.
 */
export function applyErrorPolicy(policy: ErrorPolicy, counts: RecordCounts): BatchReason | undefined {
  const { records, invalid } = counts;
  const minRecords = policy.minRecords ?? 0;
  if (records < minRecords) {
    return {
      code: RejectionCode.NO_RECORDS,
      message: `the file has ${records} data row${records === 1 ? '' : 's'}; the feed requires at least ${minRecords} (errorPolicy.minRecords)`,
    };
  }
  if (policy.maxInvalidCount !== undefined && invalid > policy.maxInvalidCount) {
    return {
      code: RejectionCode.TOO_MANY_INVALID_ROWS,
      message: `${invalid} of ${records} rows are invalid; the feed allows at most ${policy.maxInvalidCount}`,
    };
  }
  if (policy.maxInvalidRatio !== undefined) {
    const { numerator, denominator } = decimalFraction(policy.maxInvalidRatio);
    if (BigInt(invalid) * denominator > BigInt(records) * numerator) {
      const percent = records === 0 ? 0 : (invalid / records) * 100;
      return {
        code: RejectionCode.TOO_MANY_INVALID_ROWS,
        message: `${invalid} of ${records} rows are invalid (${percent.toFixed(2)}%); the feed allows at most ${(
          policy.maxInvalidRatio * 100
        ).toFixed(2)}%`,
      };
    }
  }
  return undefined;
}
