import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Ledger } from '../ledger/batches';
import type { ObjectLocation } from '../landing/objects';
import type { AttemptRecord, AuditEntry } from '../ledger/history';
import type { BatchState } from '../ledger/types';
import { OperatorError } from './errors';

/** How many rows of the rejects report a batch view shows. */
export const FIRST_ERRORS = 10;

export interface RowError {
  readonly line: string;
  readonly column: string;
  readonly code: string;
  readonly message: string;
}

/** One batch in full, as `partner-ingest batch` and the console show it. */
export interface BatchView {
  readonly batch: BatchState;
  readonly attempts: readonly AttemptRecord[];
  readonly audit: readonly AuditEntry[];
  readonly firstErrors: readonly RowError[];
  readonly locations: { readonly rawFile: string | null; readonly stagedItems: string | null; readonly rejectsReport: string | null };
}

/**
 * A batch with its attempts, audit trail and the first rows of its rejects
 * report. `listHint` says, in the caller's terms, where batch ids are found.
 */
export async function batchView(deps: { readonly ledger: Ledger; readonly s3: S3Client }, batchId: string, listHint: string): Promise<BatchView> {
  const state = await deps.ledger.get(batchId);
  if (!state) throw new OperatorError('UNKNOWN_BATCH', `no batch ${batchId} in this stage`, listHint);
  const [attempts, audit] = await Promise.all([deps.ledger.attempts(batchId), deps.ledger.auditTrail(batchId)]);
  const rejects = state.validation?.rejects;
  const firstErrors = rejects ? await readFirstErrors(deps.s3, rejects) : [];
  const uri = (location?: ObjectLocation) => (location ? `s3://${location.bucket}/${location.key}` : null);
  return {
    batch: state,
    attempts,
    audit,
    firstErrors,
    locations: { rawFile: uri(state.archive), stagedItems: uri(state.validation?.staging), rejectsReport: uri(rejects) },
  };
}

/** The first rows of a rejects report, read with a ranged GET (the report may be large). */
async function readFirstErrors(s3: S3Client, location: ObjectLocation): Promise<RowError[]> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key, Range: 'bytes=0-65535' }));
  const text = await Body!.transformToString('utf-8');
  const complete = text.slice(0, text.lastIndexOf('\r\n') + 2);
  const rows = parseCsv(complete, { columns: true, relax_column_count: true }) as Record<string, string>[];
  return rows.slice(0, FIRST_ERRORS).map((row) => ({ line: row.line ?? '', column: row.column ?? '', code: row.code ?? '', message: row.message ?? '' }));
}
