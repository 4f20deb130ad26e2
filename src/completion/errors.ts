import { PartnerIngestError } from '../platform/errors';

export type CompletionErrorCode = 'EVENT_PUBLISH_FAILED';

/** SNS or EventBridge did not take the completion event after the retries. */
export class EventPublishError extends PartnerIngestError<CompletionErrorCode> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENT_PUBLISH_FAILED', message, options);
  }
}
