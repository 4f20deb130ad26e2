// The local stack's missing-file demo (dev/demo-feed.ts): its due time, and that
// only today's due time can be MISSING although the checker looks back three.
import { cpSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { addDemoFeed, demoExpectation } from '../../../dev/demo-feed';
import { eventLine, feedEventLine } from '../../../scripts/completion-line';
import { loadPartnerRegistry } from '../../../src/config/load-partners';
import type { FeedEvent } from '../../../src/expectations/events';
import { expectationsOverview } from '../../../src/expectations/overview';
import { tempDir } from '../../support/csv-cases';
import { PROJECT_ROOT } from '../../support/stack';

test('the file is due on the first whole minute at least a minute after start, in UTC, once a year, the three earlier years skipped', () => {
  const demo = demoExpectation(new Date('2026-12-03T18:38:20.500Z'));
  expect(demo.dueAt.toISOString()).toBe('2026-12-03T18:40:00.000Z');
  expect(demo).toMatchObject({ schedule: '40 18 3 12 *', timezone: 'UTC', graceMinutes: 1, calendar: { skip: ['2025-12-03', '2024-12-03', '2023-12-03'] } });
  // On a whole minute, the next one (cron has no seconds); a negative offset (tests) is before start.
  expect(demoExpectation(new Date('2026-12-03T18:38:00.000Z')).dueAt.toISOString()).toBe('2026-12-03T18:39:00.000Z');
  expect(demoExpectation(new Date('2026-12-31T23:59:30.000Z'), -2).dueAt.toISOString()).toBe('2026-12-31T23:58:00.000Z');
});

test('in a config root it loads (croner and the grace check accept it), is PENDING until its grace ends, then MISSING; earlier years are SKIPPED', async () => {
  const temp = tempDir('partner-ingest-demo-feed-');
  try {
    cpSync(path.join(PROJECT_ROOT, 'partners'), path.join(temp.dir, 'partners'), { recursive: true });
    symlinkSync(path.join(PROJECT_ROOT, 'schemas'), path.join(temp.dir, 'schemas'), 'dir');
    const demo = demoExpectation(new Date('2026-12-03T18:38:20.000Z'));
    addDemoFeed(temp.dir, demo);
    expect(readFileSync(path.join(PROJECT_ROOT, 'partners', 'acme.yml'), 'utf8')).not.toContain('returns'); // the checkout's file is untouched
    const registry = loadPartnerRegistry({ root: temp.dir });
    expect(registry.partners.get('acme')!.feeds.map((feed) => feed.id)).toEqual(['orders', 'returns']);
    const ledger = { listBatches: async () => [] };
    const stateAt = async (iso: string) => {
      const views = await expectationsOverview({ registry, ledger, clock: () => new Date(iso) });
      const last = views.find((view) => view.feed === 'returns')!.last!;
      return [last.dueAt, last.state];
    };
    expect(await stateAt('2026-12-03T18:39:00.000Z')).toEqual(['2025-12-03T18:40:00.000Z', 'SKIPPED']);
    expect(await stateAt('2026-12-03T18:40:30.000Z')).toEqual(['2026-12-03T18:40:00.000Z', 'PENDING']);
    expect(await stateAt('2026-12-03T18:41:01.000Z')).toEqual(['2026-12-03T18:40:00.000Z', 'MISSING']);
  } finally {
    temp.cleanup();
  }
});

test('feed events print as event lines beside completion events: status is the type, the due time and files counted, and what each type adds', () => {
  const base = {
    schemaVersion: '1.0',
    partner: 'acme',
    feed: 'returns',
    dueAt: '2026-12-03T18:40:00.000Z',
    localDay: '2026-12-03',
    timezone: 'UTC',
    window: { opensAfter: '2025-12-03T18:41:00.000Z', closesAt: '2026-12-03T18:41:00.000Z' },
    expectedFiles: 1,
    detectedAt: '2026-12-03T18:41:05.000Z',
  } as const;
  const file = { batchId: 'a'.repeat(32), name: 'returns 1.csv', receivedAt: '2026-12-03T19:00:00.000Z', status: 'COMPLETED' };
  const missing: FeedEvent = { ...base, eventId: 'acme:returns:2026-12-03T18:40:00.000Z:MISSING', type: 'MISSING', countedFiles: 0, notCounted: [] };
  expect(eventLine(missing)).toBe('event partner=acme feed=returns status=MISSING due=2026-12-03T18:40:00.000Z files=0/1');
  const late: FeedEvent = { ...base, eventId: 'x', type: 'LATE', countedFiles: 1, lateMinutes: 19, files: [file], resolves: missing.eventId };
  expect(feedEventLine(late)).toBe(`event partner=acme feed=returns status=LATE due=2026-12-03T18:40:00.000Z files=1/1 lateMinutes=19 resolves=${missing.eventId}`);
  const unexpected: FeedEvent = { ...base, eventId: 'y', type: 'UNEXPECTED', countedFiles: 1, reason: 'EXTRA_FILE', file };
  expect(feedEventLine(unexpected)).toBe(`event partner=acme feed=returns status=UNEXPECTED due=2026-12-03T18:40:00.000Z files=1/1 reason=EXTRA_FILE file="returns 1.csv" batch=${'a'.repeat(32)}`);
});
