/**
 * Base of every error this service raises on purpose. `code` is stable: tests,
 * ledger rows, events and operators match on it, never on the message. Each
 * folder's errors.ts names its codes as a union, so a typo is a compile error.
 */
export class PartnerIngestError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The message of anything thrown, for logs and ledger reasons. */
export function messageOf(error: unknown): string {
  return String((error as Error)?.message ?? error);
}
