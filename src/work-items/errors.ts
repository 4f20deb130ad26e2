import { PartnerIngestError } from '../platform/errors';

export type WorkItemsErrorCode = 'WORK_QUEUE_SEND_FAILED' | 'RANGE_QUEUE_FAILED';

/** Work items could not be sent (a non-retryable entry failure, or retries exhausted). */
export class WorkQueueSendError extends PartnerIngestError<WorkItemsErrorCode> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WORK_QUEUE_SEND_FAILED', message, options);
  }
}

/** The send-range queue refused some of a batch's range messages. */
export class RangeQueueError extends PartnerIngestError<WorkItemsErrorCode> {
  constructor(failedIds: readonly string[], firstCode: string | undefined) {
    super('RANGE_QUEUE_FAILED', `could not queue send ranges ${failedIds.join(', ')}: ${firstCode}`);
  }
}
