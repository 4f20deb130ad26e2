import { PartnerIngestError } from '../errors/base';

/**
 * Stable codes for why a whole file is REJECTED (the file broke its contract).
 * They appear in the ledger, completion events and the validate command.
 */
export const RejectionCode = {
  UNKNOWN_PARTNER: 'UNKNOWN_PARTNER',
  UNKNOWN_FEED: 'UNKNOWN_FEED',
  EMPTY_FILE: 'EMPTY_FILE',
  DECOMPRESSION_FAILED: 'DECOMPRESSION_FAILED',
  DECOMPRESSED_TOO_LARGE: 'DECOMPRESSED_TOO_LARGE',
  /** Decompressed ÷ compressed bytes beyond the feed's maxCompressionRatio (past a 16 MiB floor). */
  DECOMPRESSION_BOMB: 'DECOMPRESSION_BOMB',
  INVALID_ENCODING: 'INVALID_ENCODING',
  MALFORMED_CSV: 'MALFORMED_CSV',
  MAX_RECORD_SIZE_EXCEEDED: 'MAX_RECORD_SIZE_EXCEEDED',
  HEADER_MISMATCH: 'HEADER_MISMATCH',
  TOO_MANY_INVALID_ROWS: 'TOO_MANY_INVALID_ROWS',
} as const;
export type RejectionCode = (typeof RejectionCode)[keyof typeof RejectionCode];

/** Why a batch ended REJECTED or FAILED: a stable code, a message for people, and where. */
export interface BatchReason {
  readonly code: string;
  readonly message: string;
  /** 1-based physical line the problem starts on, when there is one. */
  readonly line?: number;
}

/** Raised inside the validation pass when the file cannot be accepted at all. */
export class FileRejectedError extends PartnerIngestError {
  constructor(
    override readonly code: RejectionCode,
    message: string,
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  get reason(): BatchReason {
    return { code: this.code, message: this.message, ...(this.line === undefined ? {} : { line: this.line }) };
  }
}
