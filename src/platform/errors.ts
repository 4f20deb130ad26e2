/**
 * Base of every error this service raises on purpose. `code` is stable: tests,
 * ledger rows, events and operators match on it, never on the message.
 */
export class PartnerIngestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
