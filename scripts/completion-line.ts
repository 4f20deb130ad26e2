import type { CompletionEventDetail } from '../src/completion/completion-event';

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
