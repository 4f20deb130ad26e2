import type { BatchStatus } from '../ledger/types';
import type { ExpectationSchedule } from './schedule';

/** A file of the feed as the ledger knows it: what the window logic needs of a batch. */
export interface ArrivedFile {
  readonly batchId: string;
  readonly name: string;
  readonly receivedAt: string;
  readonly status: BatchStatus;
}

/**
 * How a file counts for the due time it was given to:
 * - ON_TIME: received between the due time and the end of its grace;
 * - EARLY: received in the window before the due time;
 * - LATE: received after the previous window closed without it, before the next due time;
 * - NOT_COUNTED: REJECTED or FAILED, which do not satisfy an expectation;
 * - UNEXPECTED: beyond the files expected, or in the window of a skipped day.
 */
export type FileRole = 'ON_TIME' | 'EARLY' | 'LATE' | 'NOT_COUNTED' | 'UNEXPECTED';

export interface AssignedFile extends ArrivedFile {
  readonly role: FileRole;
  /** For a LATE file: minutes after the end of the grace period (rounded up). */
  readonly lateMinutes?: number;
  /** For an UNEXPECTED file: why. */
  readonly unexpected?: 'EXTRA_FILE' | 'CALENDAR_SKIP';
}

/**
 * OK: the expected files arrived in time; LATE: they arrived, at least one late;
 * MISSING: the grace is over and they have not (all) arrived; PENDING: not due
 * yet or within the grace; SKIPPED: the calendar says nothing is due.
 */
export type WindowState = 'OK' | 'LATE' | 'MISSING' | 'PENDING' | 'SKIPPED';

export interface DueWindow {
  /** The due time (a cron occurrence in the partner's zone), ISO-8601 UTC: the window's identity. */
  readonly dueAt: string;
  /** The due time's date in the partner's zone. */
  readonly localDay: string;
  /** Exclusive: the previous due time plus the grace. */
  readonly opensAfter: string;
  /** Inclusive: the due time plus the grace. */
  readonly closesAt: string;
  readonly skipped: boolean;
  readonly state: WindowState;
  /** Files given to this due time, in the order they were received; the counted ones first satisfy it. */
  readonly files: readonly AssignedFile[];
  /** Counted files (not REJECTED or FAILED, not UNEXPECTED). */
  readonly counted: number;
  readonly expected: number;
}

const NOT_COUNTING: ReadonlySet<BatchStatus> = new Set<BatchStatus>(['REJECTED', 'FAILED']);

interface Slot {
  readonly due: Date;
  readonly opensAfter: number;
  readonly closesAt: number;
  readonly skipped: boolean;
  readonly files: AssignedFile[];
  counted: number;
}

/**
 * The due windows around `now`: the `past` most recent due times at or before
 * `now` and the next one, oldest first, with the files of `arrived` given to
 * them and each window's state at `now`.
 *
 * Window k of due time due_k is (due_{k-1} + grace, due_k + grace]: every
 * instant belongs to exactly one window. A file received in window k satisfies
 * due time k, except that one received before due_k goes first to due time
 * k-1 when that one is still short of files (it is then LATE, by how long after
 * due_{k-1} + grace). Skipped days keep their window, in which a file is
 * UNEXPECTED unless it is late for the day before.
 *
 * Files received at or before the oldest window opens are not considered
 * (windowsQueryFrom says from when to fetch), so the oldest window cannot tell
 * a file late for the due time before it: callers decide only on the newer ones.
 */
export function windowsAround(schedule: ExpectationSchedule, arrived: readonly ArrivedFile[], now: Date, past: number): DueWindow[] {
  const slots = slotsAround(schedule, now, past);
  const expected = schedule.expectation.files;
  const ordered = [...arrived].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.batchId.localeCompare(b.batchId));
  for (const file of ordered) {
    const at = Date.parse(file.receivedAt);
    const index = slots.findIndex((slot) => slot.opensAfter < at && at <= slot.closesAt);
    if (index < 0) continue;
    const slot = slots[index]!;
    // Slot 0 only bounds the window of slot 1: its own files were not fetched, so nothing is late for it.
    const previous = index > 1 ? slots[index - 1]! : undefined;
    const counts = !NOT_COUNTING.has(file.status);
    const lateForPrevious = at < slot.due.getTime() && previous !== undefined && !previous.skipped && previous.counted < expected;
    if (lateForPrevious) {
      previous.files.push({ ...file, role: counts ? 'LATE' : 'NOT_COUNTED', ...(counts ? { lateMinutes: Math.ceil((at - previous.closesAt) / 60_000) } : {}) });
      if (counts) previous.counted++;
    } else if (!counts) {
      slot.files.push({ ...file, role: 'NOT_COUNTED' });
    } else if (slot.skipped) {
      slot.files.push({ ...file, role: 'UNEXPECTED', unexpected: 'CALENDAR_SKIP' });
    } else if (slot.counted >= expected) {
      slot.files.push({ ...file, role: 'UNEXPECTED', unexpected: 'EXTRA_FILE' });
    } else {
      slot.files.push({ ...file, role: at < slot.due.getTime() ? 'EARLY' : 'ON_TIME' });
      slot.counted++;
    }
  }
  // The first slot only bounds the window of the second; it is not reported.
  return slots.slice(1).map((slot) => ({
    dueAt: slot.due.toISOString(),
    localDay: schedule.localDay(slot.due),
    opensAfter: new Date(slot.opensAfter).toISOString(),
    closesAt: new Date(slot.closesAt).toISOString(),
    skipped: slot.skipped,
    state: stateOf(slot, expected, now.getTime()),
    files: slot.files,
    counted: slot.counted,
    expected,
  }));
}

/** The earliest receivedAt (exclusive) that can fall in one of windowsAround's windows. */
export function windowsQueryFrom(schedule: ExpectationSchedule, now: Date, past: number): string {
  return new Date(slotsAround(schedule, now, past)[0]!.closesAt).toISOString();
}

function stateOf(slot: Slot, expected: number, now: number): WindowState {
  if (slot.skipped) return 'SKIPPED';
  if (slot.counted >= expected) return slot.files.some((file) => file.role === 'LATE') ? 'LATE' : 'OK';
  return now > slot.closesAt ? 'MISSING' : 'PENDING';
}

/** One extra due time before the `past` ones bounds the oldest window; the next due time after `now` ends the list. */
function slotsAround(schedule: ExpectationSchedule, now: Date, past: number): Slot[] {
  const dues = schedule.previous(past + 1, now);
  const next = schedule.next(now);
  if (next) dues.push(next);
  return dues.map((due, index) => ({
    due,
    opensAfter: index === 0 ? Number.NEGATIVE_INFINITY : dues[index - 1]!.getTime() + schedule.graceMs,
    closesAt: due.getTime() + schedule.graceMs,
    skipped: schedule.isSkipped(due),
    files: [],
    counted: 0,
  }));
}
