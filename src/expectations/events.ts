import type { AssignedFile, DueWindow } from './windows';

export const FEED_EVENT_SCHEMA_VERSION = '1.0';

export type FeedEventType = 'MISSING' | 'LATE' | 'UNEXPECTED';

/** EventBridge detail-type (and SNS `detailType` attribute) of each feed event. */
export const FEED_EVENT_DETAIL_TYPE: Readonly<Record<FeedEventType, string>> = {
  MISSING: 'Feed File Missing',
  LATE: 'Feed File Late',
  UNEXPECTED: 'Feed File Unexpected',
};

export interface FeedEventFile {
  readonly batchId: string;
  readonly name: string;
  readonly receivedAt: string;
  readonly status: string;
  readonly lateMinutes?: number;
}

interface FeedEventBase {
  readonly schemaVersion: typeof FEED_EVENT_SCHEMA_VERSION;
  readonly eventId: string;
  readonly partner: string;
  readonly feed: string;
  readonly dueAt: string;
  readonly localDay: string;
  readonly timezone: string;
  readonly window: { readonly opensAfter: string; readonly closesAt: string };
  readonly expectedFiles: number;
  readonly countedFiles: number;
  readonly detectedAt: string;
}

/** schemas/events/feed-file-missing.v1.schema.json */
export interface FeedFileMissing extends FeedEventBase {
  readonly type: 'MISSING';
  readonly notCounted: readonly FeedEventFile[];
}

/** schemas/events/feed-file-late.v1.schema.json */
export interface FeedFileLate extends FeedEventBase {
  readonly type: 'LATE';
  readonly lateMinutes: number;
  readonly files: readonly FeedEventFile[];
  readonly resolves: string | null;
}

/** schemas/events/feed-file-unexpected.v1.schema.json */
export interface FeedFileUnexpected extends FeedEventBase {
  readonly type: 'UNEXPECTED';
  readonly reason: 'EXTRA_FILE' | 'CALENDAR_SKIP';
  readonly file: FeedEventFile;
}

export type FeedEvent = FeedFileMissing | FeedFileLate | FeedFileUnexpected;

export interface FeedRef {
  readonly partner: string;
  readonly feed: string;
  readonly timezone: string;
}

/** The id of a due time's event: one per (feed, due time, type), and per file for UNEXPECTED. */
export function feedEventId(ref: Pick<FeedRef, 'partner' | 'feed'>, dueAt: string, type: FeedEventType, batchId?: string): string {
  return [ref.partner, ref.feed, dueAt, type, ...(batchId ? [batchId] : [])].join(':');
}

const eventFile = (file: AssignedFile): FeedEventFile => ({
  batchId: file.batchId,
  name: file.name,
  receivedAt: file.receivedAt,
  status: file.status,
  ...(file.lateMinutes !== undefined ? { lateMinutes: file.lateMinutes } : {}),
});

function base(ref: FeedRef, window: DueWindow, type: FeedEventType, detectedAt: string, batchId?: string): FeedEventBase {
  return {
    schemaVersion: FEED_EVENT_SCHEMA_VERSION,
    eventId: feedEventId(ref, window.dueAt, type, batchId),
    partner: ref.partner,
    feed: ref.feed,
    dueAt: window.dueAt,
    localDay: window.localDay,
    timezone: ref.timezone,
    window: { opensAfter: window.opensAfter, closesAt: window.closesAt },
    expectedFiles: window.expected,
    countedFiles: window.counted,
    detectedAt,
  };
}

/**
 * The events a window calls for at this moment: MISSING while it is missing,
 * LATE once late files satisfied it, one UNEXPECTED per unexpected file. The
 * checker publishes each at most once, whatever it later finds.
 */
export function eventsOfWindow(ref: FeedRef, window: DueWindow, detectedAt: string, missingPublished: (eventId: string) => boolean): FeedEvent[] {
  const events: FeedEvent[] = [];
  if (window.state === 'MISSING') {
    events.push({
      ...base(ref, window, 'MISSING', detectedAt),
      type: 'MISSING',
      notCounted: window.files.filter((file) => file.role === 'NOT_COUNTED').map(eventFile),
    });
  }
  if (window.state === 'LATE') {
    const counted = window.files.filter((file) => file.role === 'ON_TIME' || file.role === 'EARLY' || file.role === 'LATE');
    const missingId = feedEventId(ref, window.dueAt, 'MISSING');
    events.push({
      ...base(ref, window, 'LATE', detectedAt),
      type: 'LATE',
      lateMinutes: Math.max(...counted.map((file) => file.lateMinutes ?? 0)),
      files: counted.map(eventFile),
      resolves: missingPublished(missingId) ? missingId : null,
    });
  }
  for (const file of window.files) {
    if (file.role !== 'UNEXPECTED') continue;
    events.push({ ...base(ref, window, 'UNEXPECTED', detectedAt, file.batchId), type: 'UNEXPECTED', reason: file.unexpected!, file: eventFile(file) });
  }
  return events;
}
