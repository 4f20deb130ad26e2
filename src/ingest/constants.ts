/** A lease outlives its invocation by this much, so a dead invocation's batch (or range) is resumed soon after. */
export const LEASE_GRACE_MS = 30_000;
/** Stop sending when less than this much invocation time is left, and continue in a new invocation. */
export const DEFAULT_STOP_MARGIN_MS = 60_000;
/** A range is worth its own invocation from this many chunks (20,000 items at the default chunk size). */
export const DEFAULT_MIN_CHUNKS_PER_RANGE = 20;

/** First retry delay after a fault; doubles with each delivery. */
export const DEFAULT_RETRY_BASE_SECONDS = 30;
/** How long a batch another invocation holds waits before it is tried again. */
export const BUSY_RETRY_SECONDS = 60;
/** ChangeMessageVisibility accepts at most 12 hours; a retry waits no more than 15 minutes. */
export const MAX_RETRY_SECONDS = 900;
/** SendMessage's DelaySeconds takes at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;
/** How soon the last range retries completing its batch when the batch's lease is briefly held. */
export const COMPLETE_RETRY_SECONDS = 5;
