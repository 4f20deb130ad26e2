import type { PartnerRegistry } from '../config/load-partners';
import type { FeedConfig } from '../config/types';
import type { BatchState } from '../ledger/types';
import { RejectionCode, type BatchReason } from '../validate/errors';

/** Which feed a batch's file belongs to, in the configuration as it is now — or why none does. */
export type Route = { readonly feed: FeedConfig; readonly reason?: undefined } | { readonly feed?: undefined; readonly reason: BatchReason };

/**
 * Routes a partner's file to its feed by the partner's id and the file's name.
 * Resolved on every attempt, never stored: a replay after a configuration fix uses the fix.
 */
export function routeBatch(registry: PartnerRegistry, batch: Pick<BatchState, 'partner' | 'file'>): Route {
  const partner = registry.partners.get(batch.partner);
  if (!partner) return { reason: { code: RejectionCode.UNKNOWN_PARTNER, message: `no partner "${batch.partner}" is configured` } };
  const feed = registry.feedForFile(partner, batch.file.name);
  if (feed) return { feed };
  const feeds = partner.feeds.map((known) => `${known.id} ${known.files.join(' ')}`).join('; ');
  return { reason: { code: RejectionCode.UNKNOWN_FEED, message: `"${batch.file.name}" matches no feed of partner ${partner.id} (feeds: ${feeds})` } };
}

/** The feed that owns a batch's file now (undefined: unknown partner or feed). */
export function feedOfBatch(registry: PartnerRegistry, batch: Pick<BatchState, 'partner' | 'file'>): FeedConfig | undefined {
  return routeBatch(registry, batch).feed;
}
