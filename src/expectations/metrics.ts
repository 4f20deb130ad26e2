import { emit, type ServiceMetrics } from '../platform/telemetry';
import type { FeedEvent } from './events';

/**
 * Counts a newly recorded feed event, by type alone (the Missing alarm watches
 * `type` MISSING) and by partner, feed and type (for dashboards).
 */
export function recordFeedEventMetrics(metrics: ServiceMetrics, event: Pick<FeedEvent, 'partner' | 'feed' | 'type'>): void {
  emit(metrics, 'FeedFileEvents', 1, { type: event.type });
  emit(metrics, 'FeedFileEvents', 1, { partner: event.partner, feed: event.feed, type: event.type });
}
