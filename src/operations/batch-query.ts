import { BATCH_STATUSES, isBatchStatus } from '../ledger/types';
import type { BatchQuery } from '../ledger/history';
import { BadRequestError } from './errors';

/** A listing without `since` looks back this far. */
const DEFAULT_WINDOW_MS = 7 * 86_400_000;

/** A listing's filters as an HTTP query string gives them (operator API, console): each checked, or a BadRequestError naming it. */
export interface BatchQueryParams {
  readonly status?: string | undefined;
  readonly partner?: string | undefined;
  readonly feed?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly limit?: string | undefined;
}

function isoParam(value: string | undefined, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new BadRequestError(`${name} "${value}" is not an ISO-8601 time`);
  return parsed.toISOString();
}

export function parseBatchQuery(query: BatchQueryParams, now: Date): BatchQuery {
  const status = query.status?.toUpperCase();
  if (status && !isBatchStatus(status)) throw new BadRequestError(`status "${query.status}" is not one of ${BATCH_STATUSES.join(', ')}`);
  const from = isoParam(query.since, 'since', new Date(now.getTime() - DEFAULT_WINDOW_MS).toISOString());
  const to = isoParam(query.until, 'until', now.toISOString());
  if (from > to) throw new BadRequestError(`since (${from}) is after until (${to})`);
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new BadRequestError(`limit must be 1–1000, got "${query.limit}"`);
  return {
    from,
    to,
    limit,
    ...(status ? { status } : {}),
    ...(query.partner ? { partner: query.partner } : {}),
    ...(query.feed ? { feed: query.feed } : {}),
  };
}
