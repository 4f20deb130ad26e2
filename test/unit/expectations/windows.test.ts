import type { FeedExpectation } from '../../../src/config/types';
import type { BatchStatus } from '../../../src/ledger/types';
import { ExpectationSchedule } from '../../../src/expectations/schedule';
import { windowsAround, windowsQueryFrom, type ArrivedFile } from '../../../src/expectations/windows';

const WEEKDAYS_BERLIN: FeedExpectation = { schedule: '0 6 * * MON-FRI', timezone: 'Europe/Berlin', graceMinutes: 60, files: 1, skipDates: [] };

let sequence = 0;
const file = (receivedAt: string, status: BatchStatus = 'COMPLETED'): ArrivedFile => ({
  batchId: `b${String(++sequence).padStart(4, '0')}`,
  name: `orders_${sequence}.csv`,
  receivedAt: new Date(receivedAt).toISOString(),
  status,
});

function windows(expectation: FeedExpectation, now: string, arrived: ArrivedFile[] = [], past = 3) {
  return windowsAround(new ExpectationSchedule(expectation), arrived, new Date(now), past);
}
const byDue = (list: ReturnType<typeof windows>, dueAt: string) => list.find((window) => window.dueAt === new Date(dueAt).toISOString())!;

describe('due windows of a weekday feed due 06:00 Europe/Berlin with 60 minutes grace', () => {
  // Monday 2026-11-30: 06:00 CET is 05:00Z, its window (Fri 07:00, Mon 07:00] local.
  const MONDAY_DUE = '2026-11-30T05:00:00Z';

  it('lists the past due times and the next one, each window from the previous due time + grace to its own', () => {
    const list = windows(WEEKDAYS_BERLIN, '2026-11-30T05:30:00Z');
    expect(list.map((window) => window.dueAt)).toEqual([
      '2026-11-26T05:00:00.000Z',
      '2026-11-27T05:00:00.000Z',
      '2026-11-30T05:00:00.000Z',
      '2026-12-01T05:00:00.000Z',
    ]);
    expect(byDue(list, MONDAY_DUE)).toEqual(
      expect.objectContaining({ opensAfter: '2026-11-27T06:00:00.000Z', closesAt: '2026-11-30T06:00:00.000Z', localDay: '2026-11-30', state: 'PENDING' }),
    );
  });

  it('on time: a file between the due time and the end of the grace', () => {
    const monday = byDue(windows(WEEKDAYS_BERLIN, '2026-11-30T06:05:00Z', [file('2026-11-30T05:10:00Z')]), MONDAY_DUE);
    expect(monday.state).toBe('OK');
    expect(monday.files.map((f) => f.role)).toEqual(['ON_TIME']);
  });

  it('early: with Friday satisfied, a file over the weekend satisfies Monday', () => {
    const list = windows(WEEKDAYS_BERLIN, '2026-11-30T06:05:00Z', [file('2026-11-27T05:05:00Z'), file('2026-11-29T19:00:00Z')]);
    expect(byDue(list, MONDAY_DUE).state).toBe('OK');
    expect(byDue(list, MONDAY_DUE).files.map((f) => f.role)).toEqual(['EARLY']);
  });

  it('with Friday still short, the same weekend file is late for Friday, and Monday is missing', () => {
    const list = windows(WEEKDAYS_BERLIN, '2026-11-30T06:05:00Z', [file('2026-11-29T19:00:00Z')]);
    expect(byDue(list, '2026-11-27T05:00:00Z')).toEqual(
      expect.objectContaining({ state: 'LATE', files: [expect.objectContaining({ role: 'LATE', lateMinutes: 2 * 24 * 60 + 13 * 60 })] }),
    );
    expect(byDue(list, MONDAY_DUE).state).toBe('MISSING');
  });

  it('missing: PENDING within the grace, MISSING one minute after it', () => {
    expect(byDue(windows(WEEKDAYS_BERLIN, '2026-11-30T06:00:00Z'), MONDAY_DUE).state).toBe('PENDING');
    expect(byDue(windows(WEEKDAYS_BERLIN, '2026-11-30T06:01:00Z'), MONDAY_DUE).state).toBe('MISSING');
  });

  it('late: a file after the grace, before the next due time, is late for Monday (by how much) and not early for Tuesday', () => {
    const list = windows(WEEKDAYS_BERLIN, '2026-11-30T09:00:00Z', [file('2026-11-30T08:30:00Z')]);
    const monday = byDue(list, MONDAY_DUE);
    expect(monday.state).toBe('LATE');
    expect(monday.files).toEqual([expect.objectContaining({ role: 'LATE', lateMinutes: 150 })]);
    expect(byDue(list, '2026-12-01T05:00:00Z')).toEqual(expect.objectContaining({ state: 'PENDING', files: [] }));
  });

  it('a file after the next due time belongs to the next window: Monday stays MISSING', () => {
    const list = windows(WEEKDAYS_BERLIN, '2026-12-01T05:30:00Z', [file('2026-12-01T05:10:00Z')]);
    expect(byDue(list, MONDAY_DUE).state).toBe('MISSING');
    expect(byDue(list, '2026-12-01T05:00:00Z').files.map((f) => f.role)).toEqual(['ON_TIME']);
  });

  it('duplicate: a second file in a window that expects one is UNEXPECTED (EXTRA_FILE)', () => {
    const monday = byDue(windows(WEEKDAYS_BERLIN, '2026-11-30T06:05:00Z', [file('2026-11-30T05:10:00Z'), file('2026-11-30T05:20:00Z')]), MONDAY_DUE);
    expect(monday.state).toBe('OK');
    expect(monday.files.map((f) => [f.role, f.unexpected])).toEqual([
      ['ON_TIME', undefined],
      ['UNEXPECTED', 'EXTRA_FILE'],
    ]);
  });

  it('files: 2 needs both: one file is still MISSING, the second one late makes it LATE', () => {
    const two = { ...WEEKDAYS_BERLIN, files: 2 };
    expect(byDue(windows(two, '2026-11-30T06:05:00Z', [file('2026-11-30T05:10:00Z')]), MONDAY_DUE)).toEqual(
      expect.objectContaining({ state: 'MISSING', counted: 1, expected: 2 }),
    );
    expect(byDue(windows(two, '2026-11-30T07:05:00Z', [file('2026-11-30T05:10:00Z'), file('2026-11-30T07:00:00Z')]), MONDAY_DUE).state).toBe('LATE');
  });

  it('a REJECTED or FAILED file does not satisfy the window; a good one after the grace makes it LATE', () => {
    const rejected = file('2026-11-30T05:10:00Z', 'REJECTED');
    const failed = file('2026-11-30T05:15:00Z', 'FAILED');
    const missing = byDue(windows(WEEKDAYS_BERLIN, '2026-11-30T06:05:00Z', [rejected, failed]), MONDAY_DUE);
    expect(missing.state).toBe('MISSING');
    expect(missing.files.map((f) => [f.status, f.role])).toEqual([
      ['REJECTED', 'NOT_COUNTED'],
      ['FAILED', 'NOT_COUNTED'],
    ]);
    const late = byDue(windows(WEEKDAYS_BERLIN, '2026-11-30T07:05:00Z', [rejected, failed, file('2026-11-30T07:00:00Z')]), MONDAY_DUE);
    expect(late.state).toBe('LATE');
    expect(late.files.map((f) => f.role)).toEqual(['NOT_COUNTED', 'NOT_COUNTED', 'LATE']);
  });

  it('a file still in flight (RECEIVED, PROCESSING) counts as arrived', () => {
    expect(byDue(windows(WEEKDAYS_BERLIN, '2026-11-30T06:05:00Z', [file('2026-11-30T05:10:00Z', 'PROCESSING')]), MONDAY_DUE).state).toBe('OK');
  });

  it('a skipped calendar day: nothing due (SKIPPED, never MISSING); a file in its window is UNEXPECTED (CALENDAR_SKIP), one after it early for the next day', () => {
    const holidays = { ...WEEKDAYS_BERLIN, skipDates: ['2026-12-25', '2027-01-01'] };
    const arrived = [file('2026-12-24T05:10:00Z'), file('2026-12-25T04:00:00Z'), file('2026-12-25T12:00:00Z')];
    const list = windows(holidays, '2026-12-25T13:00:00Z', arrived);
    const christmas = byDue(list, '2026-12-25T05:00:00Z');
    expect(christmas).toEqual(expect.objectContaining({ skipped: true, state: 'SKIPPED', localDay: '2026-12-25' }));
    expect(christmas.files.map((f) => [f.role, f.unexpected])).toEqual([['UNEXPECTED', 'CALENDAR_SKIP']]);
    // Monday after: due as usual, its window opens after Christmas' due time + grace.
    const monday = byDue(list, '2026-12-28T05:00:00Z');
    expect(monday).toEqual(expect.objectContaining({ state: 'OK', opensAfter: '2026-12-25T06:00:00.000Z' }));
    expect(monday.files.map((f) => f.role)).toEqual(['EARLY']);
    // Long after the holiday, it is still never MISSING.
    expect(byDue(windows(holidays, '2026-12-25T23:00:00Z'), '2026-12-25T05:00:00Z').state).toBe('SKIPPED');
  });

  it('the oldest window only bounds the others: nothing is late for a due time before it', () => {
    expect(windowsQueryFrom(new ExpectationSchedule(WEEKDAYS_BERLIN), new Date('2026-11-30T05:30:00Z'), 3)).toBe('2026-11-25T06:00:00.000Z');
  });
});

describe('due windows across the daylight saving changes', () => {
  const daily = (timezone: string, schedule: string): FeedExpectation => ({ schedule, timezone, graceMinutes: 30, files: 1, skipDates: [] });

  it('Europe/Berlin spring forward (29 March 2026): 02:30 does not exist, the file is due at 03:00 CEST', () => {
    const list = windows(daily('Europe/Berlin', '30 2 * * *'), '2026-03-29T01:20:00Z', [file('2026-03-29T01:10:00Z')]);
    expect(list.map((window) => window.dueAt)).toEqual([
      '2026-03-27T01:30:00.000Z',
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, the first minute after the gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    const sunday = byDue(list, '2026-03-29T01:00:00Z');
    expect(sunday).toEqual(expect.objectContaining({ state: 'OK', localDay: '2026-03-29', closesAt: '2026-03-29T01:30:00.000Z' }));
    expect(sunday.files.map((f) => f.role)).toEqual(['ON_TIME']);
    expect(byDue(windows(daily('Europe/Berlin', '30 2 * * *'), '2026-03-29T01:31:00Z'), '2026-03-29T01:00:00Z').state).toBe('MISSING');
  });

  it('Europe/Berlin fall back (25 October 2026): 02:30 happens twice, the file is due once, at the first', () => {
    // 01:35Z is 02:35 CET, five minutes after the second 02:30.
    const list = windows(daily('Europe/Berlin', '30 2 * * *'), '2026-10-25T01:40:00Z', [file('2026-10-25T01:35:00Z')]);
    expect(list.map((window) => window.dueAt)).toEqual([
      '2026-10-23T00:30:00.000Z',
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, the first 02:30
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    // The second 02:30 (01:30Z) is no due time: a file after it is late for the first.
    const sunday = byDue(list, '2026-10-25T00:30:00Z');
    expect(sunday.state).toBe('LATE');
    expect(sunday.files).toEqual([expect.objectContaining({ role: 'LATE', lateMinutes: 35 })]);
    // The window of the Monday is 25 hours long.
    expect(byDue(list, '2026-10-26T01:30:00Z')).toEqual(expect.objectContaining({ opensAfter: '2026-10-25T01:00:00.000Z', closesAt: '2026-10-26T02:00:00.000Z' }));
  });

  it('America/New_York spring forward (8 March 2026): 02:30 EST does not exist, due at 03:00 EDT', () => {
    const list = windows(daily('America/New_York', '30 2 * * *'), '2026-03-08T07:40:00Z');
    expect(list.map((window) => window.dueAt)).toEqual([
      '2026-03-06T07:30:00.000Z',
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
    expect(byDue(list, '2026-03-08T07:00:00Z')).toEqual(expect.objectContaining({ state: 'MISSING', localDay: '2026-03-08' }));
  });

  it('America/New_York fall back (1 November 2026): 01:30 happens twice, due at the first (EDT) only', () => {
    const expectation = daily('America/New_York', '30 1 * * *');
    const list = windows(expectation, '2026-11-01T06:45:00Z', [file('2026-11-01T06:35:00Z')]);
    expect(list.map((window) => window.dueAt)).toEqual([
      '2026-10-30T05:30:00.000Z',
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
    // 01:35 EST is an hour after 01:30 EDT: past the 30 minutes grace.
    expect(byDue(list, '2026-11-01T05:30:00Z').files).toEqual([expect.objectContaining({ role: 'LATE', lateMinutes: 35 })]);
  });
});
