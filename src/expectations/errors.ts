import { PartnerIngestError } from '../platform/errors';

/** An `expect` block that cannot be scheduled: a cron the library refuses, an unknown zone, a grace too long. */
export class ExpectationError extends PartnerIngestError<'EXPECTATION_INVALID'> {
  constructor(
    /** The field of the `expect` block at fault (schedule, timezone, graceMinutes). */
    readonly field: 'schedule' | 'timezone' | 'graceMinutes',
    reason: string,
  ) {
    super('EXPECTATION_INVALID', reason);
  }
}
