import { completionEventOf } from '../completion/completion-event';
import type { BatchState } from '../ledger/types';
import type { IngestDeps } from './types';

/** Publishes the completion event on every channel that has not yet accepted it. */
export async function announce(deps: Pick<IngestDeps, 'ledger' | 'publisher'>, state: BatchState): Promise<void> {
  const detail = completionEventOf(state);
  if (state.announcedSns !== state.attempt) {
    await deps.publisher.publishSns(detail);
    await deps.ledger.markAnnounced(state.batchId, 'announcedSns', state.attempt);
  }
  if (state.announcedEventBridge !== state.attempt) {
    await deps.publisher.publishEventBridge(detail);
    await deps.ledger.markAnnounced(state.batchId, 'announcedEventBridge', state.attempt);
  }
}
