import type { ErrorPolicy } from '../config/types';
import { RejectionCode, type BatchReason } from './file-rejection';

export interface RecordCounts {
  /** Data rows: every non-blank row after the header. */
  readonly records: number;
  readonly valid: number;
  readonly invalid: number;
}

const PARTS_PER_MILLION = 1_000_000;

/**
 * Applies a feed's error policy once the whole file has been read. Returns the
 * rejection reason, or undefined when the batch may complete. The ratio is
 * compared in integers so "exactly 10%" never flips on float rounding.
 */
export function applyErrorPolicy(policy: ErrorPolicy, counts: RecordCounts): BatchReason | undefined {
  const { records, invalid } = counts;
  if (policy.maxInvalidCount !== undefined && invalid > policy.maxInvalidCount) {
    return {
      code: RejectionCode.TOO_MANY_INVALID_ROWS,
      message: `${invalid} of ${records} rows are invalid; the feed allows at most ${policy.maxInvalidCount}`,
    };
  }
  if (policy.maxInvalidRatio !== undefined) {
    const allowedPpm = Math.round(policy.maxInvalidRatio * PARTS_PER_MILLION);
    if (invalid * PARTS_PER_MILLION > records * allowedPpm) {
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
