import { Cron } from 'croner';
import type { FeedExpectation } from '../config/types';
import { ExpectationError } from './errors';

const MINUTE_MS = 60_000;

/** How many due times past the start the grace check walks: over a year of a daily feed, so both DST changes are in it. */
const GRACE_CHECK_OCCURRENCES = 400;

/**
 * A feed's due times, computed by croner in the partner's zone: on the spring
 * change a due time inside the skipped hour falls on the first minute after it
 * (02:30 → 03:00); on the autumn change a fixed due time in the repeated hour
 * happens once, the first time.
 */
export class ExpectationSchedule {
  private readonly cron: Cron;
  private readonly localDate: Intl.DateTimeFormat;
  private readonly skip: ReadonlySet<string>;
  readonly graceMs: number;

  constructor(readonly expectation: FeedExpectation) {
    this.localDate = zoneFormat(expectation.timezone);
    try {
      this.cron = new Cron(expectation.schedule, { timezone: expectation.timezone, paused: true });
    } catch (error) {
      throw new ExpectationError('schedule', `"${expectation.schedule}" is not a valid cron expression: ${(error as Error).message}`);
    }
    this.skip = new Set(expectation.skipDates);
    this.graceMs = expectation.graceMinutes * MINUTE_MS;
  }

  /** The due time after `at` (strictly), or undefined when the schedule never fires again. */
  next(at: Date): Date | undefined {
    return this.cron.nextRun(at) ?? undefined;
  }

  /** The `count` due times at or before `at`, oldest first. */
  previous(count: number, at: Date): Date[] {
    return this.cron.previousRuns(count, new Date(at.getTime() + 1)).reverse();
  }

  /** The due time's date in the partner's zone (YYYY-MM-DD). */
  localDay(due: Date): string {
    return this.localDate.format(due);
  }

  /** True when the calendar says no file is due on the day of `due`. */
  isSkipped(due: Date): boolean {
    return this.skip.has(this.localDay(due));
  }

  /**
   * Refuses a grace as long as the shortest gap between two due times: the
   * window of a due time would then start after its own due time.
   */
  checkGrace(from: Date): void {
    const runs = this.cron.nextRuns(GRACE_CHECK_OCCURRENCES, from);
    for (let index = 1; index < runs.length; index++) {
      const gap = runs[index]!.getTime() - runs[index - 1]!.getTime();
      if (this.graceMs >= gap) {
        throw new ExpectationError(
          'graceMinutes',
          `${this.expectation.graceMinutes} minutes is not shorter than the ${gap / MINUTE_MS} minutes between the due times ${runs[index - 1]!.toISOString()} and ${runs[index]!.toISOString()}`,
        );
      }
    }
    if (runs.length === 0) throw new ExpectationError('schedule', `"${this.expectation.schedule}" never fires`);
  }
}

/** A YYYY-MM-DD formatter in `timezone`; an unknown zone is refused here, by Intl. */
function zoneFormat(timezone: string): Intl.DateTimeFormat {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
  } catch {
    throw new ExpectationError('timezone', `"${timezone}" is not an IANA time zone (e.g. Europe/Berlin)`);
  }
}

const compiled = new WeakMap<FeedExpectation, ExpectationSchedule>();

/** The schedule of an expectation, built once per loaded config. */
export function scheduleOf(expectation: FeedExpectation): ExpectationSchedule {
  let schedule = compiled.get(expectation);
  if (!schedule) {
    schedule = new ExpectationSchedule(expectation);
    compiled.set(expectation, schedule);
  }
  return schedule;
}
