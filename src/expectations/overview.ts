import type { PartnerRegistry } from '../config/load-partners';
import type { FeedExpectation } from '../config/types';
import type { Ledger } from '../ledger/batches';
import type { Clock } from '../platform/clock';
import { feedWindows } from './check';
import { scheduleOf } from './schedule';
import type { WindowState } from './windows';

/** One feed's expectation as operators see it (CLI `expectations`, the API's GET /expectations). */
export interface FeedExpectationView {
  readonly partner: string;
  readonly feed: string;
  readonly expect: FeedExpectation;
  /** The latest due time at or before now (PENDING while within its grace), or null before the first. */
  readonly last: {
    readonly dueAt: string;
    readonly localDay: string;
    readonly closesAt: string;
    readonly state: WindowState;
    readonly counted: number;
    readonly expected: number;
  } | null;
  /** The next due time, UTC, or null when the schedule never fires again. */
  readonly nextDueAt: string | null;
}

export interface OverviewDeps {
  readonly registry: PartnerRegistry;
  readonly ledger: Pick<Ledger, 'listBatches'>;
  readonly clock: Clock;
}

/** Every feed with an `expect` block (or one partner's), with its last window's state and its next due time. */
export async function expectationsOverview(deps: OverviewDeps, only: { partner?: string } = {}): Promise<FeedExpectationView[]> {
  const views: FeedExpectationView[] = [];
  const now = deps.clock();
  for (const partner of deps.registry.partners.values()) {
    if (only.partner && partner.id !== only.partner) continue;
    for (const feed of partner.feeds) {
      if (!feed.expect) continue;
      const windows = await feedWindows(deps, feed, feed.expect);
      const last = [...windows].reverse().find((window) => Date.parse(window.dueAt) <= now.getTime());
      const next = scheduleOf(feed.expect).next(now);
      views.push({
        partner: partner.id,
        feed: feed.id,
        expect: feed.expect,
        last: last
          ? { dueAt: last.dueAt, localDay: last.localDay, closesAt: last.closesAt, state: last.state, counted: last.counted, expected: last.expected }
          : null,
        nextDueAt: next ? next.toISOString() : null,
      });
    }
  }
  return views;
}

export { localTime } from './local-time';
