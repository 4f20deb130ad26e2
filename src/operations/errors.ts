import { PartnerIngestError } from '../platform/errors';

export type OperatorErrorCode = 'UNKNOWN_BATCH' | 'RAW_FILE_MISSING' | 'NEEDS_FORCE' | 'BATCH_BUSY' | 'NO_CREDENTIALS' | 'AWS_UNREACHABLE' | 'UNKNOWN_STAGE';

/** An operator request that cannot be carried out: what is wrong, and what to do about it. Nothing was changed. */
export class OperatorError extends PartnerIngestError<OperatorErrorCode> {
  constructor(
    code: OperatorErrorCode,
    message: string,
    readonly hint: string,
  ) {
    super(code, message);
  }

  /** One line for a terminal: the problem, then the way out. */
  get oneLine(): string {
    return `${this.message} — ${this.hint}`;
  }
}

/** A malformed operator request (API body, replay event): what is wrong with which field. Nothing was changed. */
export class BadRequestError extends PartnerIngestError<'BAD_REQUEST'> {
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}
