/**
 * Stable codes for why one row is invalid. They appear in rejects reports, the
 * validate command's JSON and the partner-facing docs: add codes, never rename.
 */
export const RecordErrorCode = {
  /** A required column is empty. */
  MISSING_VALUE: 'MISSING_VALUE',
  /** The text is not of the column's type (e.g. "1.5" for an integer). */
  INVALID_TYPE: 'INVALID_TYPE',
  PATTERN_MISMATCH: 'PATTERN_MISMATCH',
  TOO_SHORT: 'TOO_SHORT',
  TOO_LONG: 'TOO_LONG',
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  /** Not one of the allowed values of an enumeration. */
  NOT_ALLOWED: 'NOT_ALLOWED',
  /** Not a valid date, date-time, e-mail address, ... */
  INVALID_FORMAT: 'INVALID_FORMAT',
  /** Not an exact decimal within the column's scale and bounds. */
  INVALID_DECIMAL: 'INVALID_DECIMAL',
  INVALID_VALUE: 'INVALID_VALUE',
  /** The feed's key column repeats a value seen earlier in the same file. */
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  /** The row has more or fewer fields than the header. */
  COLUMN_COUNT: 'COLUMN_COUNT',
  /** A fixed-width record of another length than the layout's (README, "Fixed-width files"). */
  RECORD_LENGTH: 'RECORD_LENGTH',
  /** The work item for this row would exceed the feed's maximum message size. */
  RECORD_TOO_LARGE: 'RECORD_TOO_LARGE',
} as const;
export type RecordErrorCode = (typeof RecordErrorCode)[keyof typeof RecordErrorCode];

/** One problem with one column (or the whole row, when `column` is empty) of one record. */
export interface FieldError {
  readonly column: string;
  readonly code: RecordErrorCode;
  readonly message: string;
}
