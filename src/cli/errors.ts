import { PartnerIngestError } from '../platform/errors';

/** Bad command-line usage: exit code 2 with a one-line explanation. */
export class UsageError extends PartnerIngestError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export const ExitCode = { OK: 0, REJECTED: 1, USAGE: 2 } as const;
