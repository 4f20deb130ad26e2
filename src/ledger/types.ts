import type { ObjectLocation } from '../landing/objects';
import type { BatchReason } from '../validate/errors';
import type { ValidationCheckpoint } from '../validate/checkpoint';
import type { StagedSegment } from '../work-items/staging-writer';

export const BatchStatus = {
  RECEIVED: 'RECEIVED',
  PROCESSING: 'PROCESSING',
  COMPLETED: 'COMPLETED',
  REJECTED: 'REJECTED',
  FAILED: 'FAILED',
} as const;
export type BatchStatus = (typeof BatchStatus)[keyof typeof BatchStatus];
export const BATCH_STATUSES: readonly BatchStatus[] = Object.values(BatchStatus);

export function isBatchStatus(value: string): value is BatchStatus {
  return (BATCH_STATUSES as readonly string[]).includes(value);
}

export type FinalStatus = typeof BatchStatus.COMPLETED | typeof BatchStatus.REJECTED | typeof BatchStatus.FAILED;

export function isFinal(status: BatchStatus): status is FinalStatus {
  return status === BatchStatus.COMPLETED || status === BatchStatus.REJECTED || status === BatchStatus.FAILED;
}

export interface BatchSource {
  /** How the file came: dropped into S3, pulled from the partner's SFTP server, or pushed to ours. */
  readonly type: 's3' | 'sftp' | 'sftp-push';
  /** Where the file came from: s3://bucket/key or sftp://host/path. */
  readonly uri: string;
  /** sftp-push only: the SFTP user that uploaded it, which is the partner. */
  readonly user?: string;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
}

export interface BatchCounts {
  readonly records: number;
  readonly valid: number;
  readonly invalid: number;
  readonly workItemsSent: number;
}

/** What the validation pass of the current attempt decided, kept so a resumed attempt does not redo it. */
export interface ValidationRecord {
  readonly status: 'COMPLETED' | 'REJECTED';
  readonly reason?: BatchReason;
  /** The staging manifest (it lists the items objects and their chunks). */
  readonly staging?: ObjectLocation & { readonly chunks: number; readonly items: number };
  readonly rejects?: ObjectLocation & { readonly rows: number; readonly truncated: boolean };
}

/**
 * Where a validation pass that paused for time stands, so the next invocation
 * carries on at the next record (a file too big for one invocation).
 */
export interface ValidationProgress {
  /** Where the attempt that started the pass stages its output. */
  readonly prefix: string;
  /**
   * Where the next record starts, and (after the second segment) the file's
   * SHA-256 state so far with the raw bytes it covers (`hashState`, base64 of
   * about 156 characters, and `hashedBytes`): the next segment hashes only what
   * lies past them and enters a plain file at the checkpoint.
   */
  readonly checkpoint: ValidationCheckpoint;
  /** What the segments so far staged. */
  readonly staged: StagedSegment;
  /** The rejects report so far (the next segment starts its own with these rows). */
  readonly rejects?: ObjectLocation & { readonly rows: number; readonly truncated: boolean };
  /** The duplicate-key set so far (when the feed has a key). */
  readonly keys?: ObjectLocation;
}

/** The ledger's row for one batch. */
export interface BatchState {
  readonly batchId: string;
  readonly status: BatchStatus;
  /** 1 for the first processing attempt; a replay starts the next one. */
  readonly attempt: number;
  readonly partner: string;
  readonly feed: string | null;
  /** The record schema the current attempt validated against. */
  readonly schema?: { readonly id: string; readonly version: number };
  readonly source: BatchSource;
  readonly file: { readonly name: string; readonly bytes?: number; readonly sha256?: string; readonly compressed?: boolean };
  readonly archive?: ObjectLocation;
  readonly validation?: ValidationRecord;
  /** Set while the validation pass is paused between invocations. */
  readonly validationProgress?: ValidationProgress;
  readonly counts?: BatchCounts;
  /** Index of the next staged chunk to send (when one invocation at a time sends). */
  readonly sendCheckpoint?: number;
  /** Set when the send phase fans out over parallel ranges (the ledger's RANGE items). */
  readonly sendPlan?: { readonly plan: number; readonly ranges: number };
  readonly reason?: BatchReason;
  readonly receivedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly updatedAt: string;
  readonly leaseOwner?: string;
  readonly leaseExpiresAt?: number;
  /** The attempt whose completion event each channel has accepted. */
  readonly announcedSns?: number;
  readonly announcedEventBridge?: number;
  readonly lastError?: string;
}
