import { messageOf, PartnerIngestError } from '../platform/errors';
import type { CreatedObject } from '../landing/s3-event';

export type IngestErrorCode = 'ATTEMPT_INTERRUPTED' | 'INGEST_FAULT' | 'RETRY_LATER' | 'COUNT_MISMATCH' | 'RANGE_UNAVAILABLE' | 'FEED_GONE';

/** The batch reason's code when retries ran out on a fault of ours (not the file's). */
export const INFRASTRUCTURE_FAILURE = 'INFRASTRUCTURE';

/** The attempt hit an infrastructure fault; the lease was released so a retry resumes it. */
export class AttemptInterruptedError extends PartnerIngestError<IngestErrorCode> {
  constructor(
    readonly batchId: string,
    cause: unknown,
  ) {
    super('ATTEMPT_INTERRUPTED', `batch ${batchId}: ${messageOf(cause)}`, { cause });
  }
}

/** A fault while ingesting an object or resuming a batch, with the batch it belongs to once that is known. */
export class IngestFaultError extends PartnerIngestError<IngestErrorCode> {
  constructor(
    readonly batchId: string | undefined,
    cause: unknown,
    /** The announced object, when the work came from an S3 event. */
    readonly object?: CreatedObject,
  ) {
    super('INGEST_FAULT', `${object?.key ?? `batch ${batchId}`}: ${messageOf(cause)}`, { cause });
  }
}

/** Tells SQS to deliver the message again (busy batch, retryable fault). */
export class RetryLaterError extends PartnerIngestError<IngestErrorCode> {
  constructor(message: string) {
    super('RETRY_LATER', message);
  }
}

/** The work items acknowledged do not add up to the records validated: the batch must not complete. */
export class CountMismatchError extends PartnerIngestError<IngestErrorCode> {
  constructor(sent: number, valid: number) {
    super('COUNT_MISMATCH', `sent ${sent} work items but validated ${valid} records`);
  }
}

/** A send range could not be sent in this invocation (held by another, or failed): the batch retries later. */
export class RangeUnavailableError extends PartnerIngestError<IngestErrorCode> {
  constructor(index: number, outcome: string) {
    super('RANGE_UNAVAILABLE', `send range ${index} is ${outcome}; retrying later`);
  }
}

/** A batch being sent no longer has a feed in the configuration: its staged items cannot be sent as that feed's. */
export class FeedGoneError extends PartnerIngestError<IngestErrorCode> {
  constructor(reason: string) {
    super('FEED_GONE', `${reason}; the batch's feed is gone from the configuration`);
  }
}
