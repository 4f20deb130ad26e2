import { PartnerIngestError } from '../platform/errors';

export type ConsoleRefusalCode = 'BAD_HOST' | 'CROSS_ORIGIN' | 'NO_SESSION' | 'BAD_TOKEN' | 'NO_CSRF_TOKEN' | 'NOT_JSON' | 'TOO_LARGE' | 'NO_ROUTE' | 'BAD_METHOD';

/** A request the console refuses before it reaches the operations core: an HTTP status and a stable code. */
export class ConsoleRefusal extends PartnerIngestError<ConsoleRefusalCode> {
  constructor(
    readonly status: number,
    code: ConsoleRefusalCode,
    message: string,
  ) {
    super(code, message);
  }
}
