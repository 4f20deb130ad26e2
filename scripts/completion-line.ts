import type { CompletionEventDetail } from '../src/completion/completion-event';
import type { FeedEvent } from '../src/expectations/events';

/** A value as one space-free token: as it is when it can be, else quoted as JSON (a file name with spaces). */
function token(value: string | number): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/**
 * One completion event as the line `npm start` prints when a consumer receives
 * it: `event` and key=value pairs, always the same keys in the same order, so
 * people can read it and scripts can split it. `attempt` tells a replay (the
 * same batch and file, the next attempt) from a new file; `reason` and `line`
 * appear only for a batch that has a reason; `feed=-` is a file no feed claims.
 */
export function completionLine(event: CompletionEventDetail): string {
  const { counts, reason } = event;
  const fields: Array<[string, string | number]> = [
    ['partner', event.partner],
    ['feed', event.feed ?? '-'],
    ['file', event.file.name],
    ['attempt', event.attempt],
    ['status', event.status],
    ['records', counts.records],
    ['valid', counts.valid],
    ['invalid', counts.invalid],
    ['workItems', counts.workItemsSent],
    ...(reason ? [['reason', reason.code] as [string, string]] : []),
    ...(reason?.line ? [['line', reason.line] as [string, number]] : []),
    ['batch', event.batchId],
  ];
  return `event ${fields.map(([key, value]) => `${key}=${token(value)}`).join(' ')}`;
}

/**
 * A feed event (Feed File Missing / Late / Unexpected) as the line `npm start`
 * prints, beside the completion events': `event partner=… feed=… status=<type>
 * due=…` and the files counted of those expected; Late adds how late (and the
 * Missing event it resolves), Unexpected why and which file. No `file` or
 * `batch` for Missing: its point is that there is none.
 */
export function feedEventLine(event: FeedEvent): string {
  const fields: Array<[string, string | number]> = [
    ['partner', event.partner],
    ['feed', event.feed],
    ['status', event.type],
    ['due', event.dueAt],
    ['files', `${event.countedFiles}/${event.expectedFiles}`],
  ];
  if (event.type === 'LATE') fields.push(['lateMinutes', event.lateMinutes], ...(event.resolves ? [['resolves', event.resolves] as [string, string]] : []));
  if (event.type === 'UNEXPECTED') fields.push(['reason', event.reason], ['file', event.file.name], ['batch', event.file.batchId]);
  return `event ${fields.map(([key, value]) => `${key}=${token(value)}`).join(' ')}`;
}

/** Completion events carry a batch status; feed events a type (and no status): how a consumer of the shared topic tells them apart. */
export function isFeedEvent(detail: CompletionEventDetail | FeedEvent): detail is FeedEvent {
  return !('status' in detail) && 'type' in detail;
}

/** The line for whichever event the SNS consumer received. */
export function eventLine(detail: CompletionEventDetail | FeedEvent): string {
  return isFeedEvent(detail) ? feedEventLine(detail) : completionLine(detail);
}
