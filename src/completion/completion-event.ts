import type { ObjectLocation } from '../landing/objects';
import type { BatchState, FinalStatus } from '../ledger/types';

export const EVENT_SOURCE = 'partner-ingest';
export const EVENT_SCHEMA_VERSION = '1.0';

export const DETAIL_TYPE: Readonly<Record<FinalStatus, string>> = {
  COMPLETED: 'Batch Completed',
  REJECTED: 'Batch Rejected',
  FAILED: 'Batch Failed',
};

/** The completion event contract (schemas/events/batch-event.v1.schema.json). */
export interface CompletionEventDetail {
  readonly schemaVersion: typeof EVENT_SCHEMA_VERSION;
  readonly eventId: string;
  readonly batchId: string;
  readonly attempt: number;
  readonly status: FinalStatus;
  readonly partner: string;
  readonly feed: string | null;
  readonly source: BatchState['source'];
  readonly file: { name: string; bytes: number | null; sha256: string | null; compressed?: boolean };
  readonly schema: { id: string; version: number } | null;
  readonly counts: { records: number; valid: number; invalid: number; workItemsSent: number };
  readonly rejectsReport: (ObjectLocation & { uri: string; rows: number; truncated: boolean }) | null;
  readonly archive: (ObjectLocation & { uri: string }) | null;
  readonly reason: { code: string; message: string; line?: number } | null;
  readonly timestamps: { receivedAt: string; startedAt: string | null; finishedAt: string };
}

const s3Uri = (location: ObjectLocation) => `s3://${location.bucket}/${location.key}`;

/** Builds the event detail of a finished batch from its ledger row. */
export function completionEventOf(state: BatchState): CompletionEventDetail {
  if (state.status !== 'COMPLETED' && state.status !== 'REJECTED' && state.status !== 'FAILED') {
    throw new Error(`batch ${state.batchId} is ${state.status}, not finished`);
  }
  const rejects = state.validation?.rejects;
  const { source } = state;
  return {
    schemaVersion: EVENT_SCHEMA_VERSION,
    eventId: `${state.batchId}:${state.attempt}`,
    batchId: state.batchId,
    attempt: state.attempt,
    status: state.status,
    partner: state.partner,
    feed: state.feed,
    source: {
      type: source.type,
      uri: source.uri,
      bucket: source.bucket,
      key: source.key,
      ...(source.user ? { user: source.user } : {}),
      ...(source.versionId ? { versionId: source.versionId } : {}),
      ...(source.etag ? { etag: source.etag } : {}),
    },
    file: {
      name: state.file.name,
      bytes: state.file.bytes ?? null,
      sha256: state.file.sha256 ?? null,
      ...(state.file.compressed === undefined ? {} : { compressed: state.file.compressed }),
    },
    schema: state.schema ?? null,
    counts: state.counts ?? { records: 0, valid: 0, invalid: 0, workItemsSent: 0 },
    rejectsReport: rejects
      ? { bucket: rejects.bucket, key: rejects.key, uri: s3Uri(rejects), rows: rejects.rows, truncated: rejects.truncated }
      : null,
    archive: state.archive ? { ...state.archive, uri: s3Uri(state.archive) } : null,
    reason: state.reason ? { ...state.reason } : null,
    timestamps: { receivedAt: state.receivedAt, startedAt: state.startedAt ?? null, finishedAt: state.finishedAt! },
  };
}
