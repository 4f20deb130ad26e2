import { PartnerIngestError } from '../platform/errors';

/** An operator request that cannot be carried out: what is wrong, and what to do about it. Nothing was changed. */
export class OperatorError extends PartnerIngestError {
  constructor(
    code: string,
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
