import type { PartnerRegistry } from '../config/load-partners';
import type { FeedConfig, FeedExpectation } from '../config/types';
import type { Ledger } from '../ledger/batches';
import type { Clock } from '../platform/clock';
import type { ServiceMetrics } from '../platform/telemetry';
import { eventsOfWindow, type FeedEvent } from './events';
import { recordFeedEventMetrics } from './metrics';
import type { FeedEventChannels } from './publish';
import type { Channel, ExpectationRecords, FeedEventRecord } from './records';
import { scheduleOf } from './schedule';
import { windowsAround, windowsQueryFrom, type DueWindow } from './windows';

/**
 * Due times the checker looks back over. The oldest window it computes only
 * bounds the next (see windowsAround), so it decides on the three before now:
 * a checker that did not run for two due times still reports them.
 */
export const CHECKED_DUE_TIMES = 4;

/** Most batches one feed may have in the checked windows; far above any feed that expects files on a schedule. */
const MAX_BATCHES_PER_FEED = 5_000;

export interface CheckExpectationsDeps {
  readonly registry: PartnerRegistry;
  readonly ledger: Pick<Ledger, 'listBatches'>;
  readonly records: ExpectationRecords;
  readonly channels: FeedEventChannels;
  readonly metrics: ServiceMetrics;
  readonly clock: Clock;
}

export interface FeedCheck {
  readonly partner: string;
  readonly feed: string;
  readonly expectation: FeedExpectation;
  /** Oldest first; the last one is the next due time. */
  readonly windows: readonly DueWindow[];
  /** Events this run published on at least one channel (new ones and ones a crashed run left unpublished). */
  readonly published: readonly FeedEvent[];
}

/** Every feed with an `expect` block, each checked against the ledger. */
export async function checkExpectations(deps: CheckExpectationsDeps, only?: { partner?: string }): Promise<FeedCheck[]> {
  const checks: FeedCheck[] = [];
  for (const partner of deps.registry.partners.values()) {
    if (only?.partner && partner.id !== only.partner) continue;
    for (const feed of partner.feeds) {
      if (feed.expect) checks.push(await checkFeed(deps, feed, feed.expect));
    }
  }
  return checks;
}

/** The feed's windows at the clock's time, without publishing anything (what the CLI and the API show). */
export async function feedWindows(deps: Pick<CheckExpectationsDeps, 'ledger' | 'clock'>, feed: FeedConfig, expectation: FeedExpectation): Promise<DueWindow[]> {
  const now = deps.clock();
  const schedule = scheduleOf(expectation);
  const batches = await deps.ledger.listBatches({
    partner: feed.partnerId,
    feed: feed.id,
    from: windowsQueryFrom(schedule, now, CHECKED_DUE_TIMES),
    to: now.toISOString(),
    limit: MAX_BATCHES_PER_FEED,
  });
  const arrived = batches.map((batch) => ({ batchId: batch.batchId, name: batch.file.name, receivedAt: batch.receivedAt, status: batch.status }));
  return windowsAround(schedule, arrived, now, CHECKED_DUE_TIMES);
}

async function checkFeed(deps: CheckExpectationsDeps, feed: FeedConfig, expectation: FeedExpectation): Promise<FeedCheck> {
  const windows = await feedWindows(deps, feed, expectation);
  const ref = { partner: feed.partnerId, feed: feed.id, timezone: expectation.timezone };
  // The oldest window cannot see files late for the due time before it: decide on the others only.
  const decided = windows.slice(1);
  const records = await deps.records.list(ref.partner, ref.feed, decided[0]!.dueAt, decided[decided.length - 1]!.dueAt);
  const detectedAt = deps.clock().toISOString();
  const published: FeedEvent[] = [];
  for (const window of decided) {
    for (const event of eventsOfWindow(ref, window, detectedAt, (eventId) => records.has(eventId))) {
      if (await deliver(deps, records.get(event.eventId), event)) published.push(event);
    }
  }
  return { partner: ref.partner, feed: ref.feed, expectation, windows, published };
}

/**
 * Record, then publish, then mark each channel: an event is recorded before it
 * can be published, so a crash never loses it (the next run finds it recorded
 * and unpublished and publishes it); one is re-published only when a run dies
 * between a channel accepting it and the mark, and then with the same eventId.
 * The function runs one invocation at a time (reserved concurrency 1), so two
 * runs never publish one record together.
 */
async function deliver(deps: CheckExpectationsDeps, known: FeedEventRecord | undefined, candidate: FeedEvent): Promise<boolean> {
  let record = known;
  if (!record) {
    const recorded = await deps.records.record(candidate, deps.clock().toISOString());
    record = recorded.record;
    if (recorded.created) recordFeedEventMetrics(deps.metrics, candidate);
  }
  const pending: [Channel, (event: FeedEvent) => Promise<void>][] = [];
  if (!record.publishedSns) pending.push(['publishedSns', (event) => deps.channels.publishSns(event)]);
  if (!record.publishedEventBridge) pending.push(['publishedEventBridge', (event) => deps.channels.publishEventBridge(event)]);
  for (const [channel, publish] of pending) {
    await publish(record.event);
    await deps.records.markPublished(record.event, channel, deps.clock().toISOString());
  }
  return pending.length > 0;
}
