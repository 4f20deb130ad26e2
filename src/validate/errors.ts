import { PartnerIngestError } from '../platform/errors';
import { capText } from '../platform/text';

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
  /** The file as received (raw bytes, compressed or not) is larger than the feed's limits.maxFileBytes. */
  FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  /** Fewer data rows than the feed's errorPolicy.minRecords (e.g. a header-only file when it is 1). */
  NO_RECORDS: 'NO_RECORDS',
  /** The object's file name is too long for the keys it is kept under (S3 keys take 1,024 bytes). */
  FILE_NAME_TOO_LONG: 'FILE_NAME_TOO_LONG',
  /** An encrypted feed's file cannot be decrypted: not OpenPGP, not for our key, corrupt, or its integrity check failed. */
  DECRYPTION_FAILED: 'DECRYPTION_FAILED',
  /** An encrypted feed's file carries no signature and the feed requires one. */
  SIGNATURE_MISSING: 'SIGNATURE_MISSING',
  /** A signature by one of the feed's signers does not match the file. */
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  /** The file is signed, but by no key among the feed's signers. */
  UNKNOWN_SIGNER: 'UNKNOWN_SIGNER',
  /** The feed has format.headerRecord and the file's first record (after skipLeadingLines) does not match it. */
  HEADER_RECORD_MISSING: 'HEADER_RECORD_MISSING',
  /** The feed has format.trailerRecord and the file has none, or records follow it. */
  TRAILER_MISSING: 'TRAILER_MISSING',
  /** A header or trailer record matched, but a field in it is not what it must be (a count that is not digits, a sum that is not a decimal). */
  CONTROL_RECORD_INVALID: 'CONTROL_RECORD_INVALID',
  /** The record count a control record gives differs from the file's data rows. */
  CONTROL_COUNT_MISMATCH: 'CONTROL_COUNT_MISMATCH',
  /** The control sum a control record gives differs from the sum of its column over the data rows. */
  CONTROL_SUM_MISMATCH: 'CONTROL_SUM_MISMATCH',
  /** A feed with `controlFile`: the control file did not come within controlFile.waitMinutes of the data file. */
  CONTROL_FILE_MISSING: 'CONTROL_FILE_MISSING',
  /** A feed with `sequence`: the file's sequence number skips past the one after the last accepted file's. */
  SEQUENCE_GAP: 'SEQUENCE_GAP',
  /** A feed with `sequence`: the file's sequence number is the last accepted file's, or an earlier one. */
  SEQUENCE_REPEAT: 'SEQUENCE_REPEAT',
} as const;
export type RejectionCode = (typeof RejectionCode)[keyof typeof RejectionCode];

/** Codes of the validation pass's own faults (not the file's): the stage is retried, nothing is rejected. */
export type ValidateFaultCode = 'HASH_GAP' | 'KEY_SET_UNREADABLE';

/** Why a batch ended REJECTED or FAILED: a stable code, a message for people, and where. */
export interface BatchReason {
  readonly code: string;
  readonly message: string;
  /** 1-based physical line the problem starts on, when there is one. */
  readonly line?: number;
}

/**
 * Raised inside the validation pass when the file cannot be accepted at all.
 * The message is capped (MAX_MESSAGE_BYTES): parts of it come from the file
 * (csv-parse quotes a field's value, a header names its columns), and a
 * reason travels in ledger items and events that hold only so much.
 */
export class FileRejectedError extends PartnerIngestError<RejectionCode> {
  constructor(
    override readonly code: RejectionCode,
    message: string,
    readonly line?: number,
    options?: { cause?: unknown },
  ) {
    super(code, capText(message), options);
  }

  get reason(): BatchReason {
    return { code: this.code, message: this.message, ...(this.line === undefined ? {} : { line: this.line }) };
  }
}

/** Bytes reached the hasher out of order: a source did not start where it was asked to. */
export class HashGapError extends PartnerIngestError<ValidateFaultCode> {
  constructor(hashed: number, at: number) {
    super('HASH_GAP', `bytes ${hashed}–${at} of the file were never hashed`);
  }
}

/** Bytes that are not a key set this code wrote (or not a whole one). */
export class KeySetError extends PartnerIngestError<ValidateFaultCode> {
  constructor(message: string) {
    super('KEY_SET_UNREADABLE', message);
  }
}
