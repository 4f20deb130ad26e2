import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The ledger table's layout. Every item of a batch shares its partition
 * (`BATCH#<id>`): the STATE item, one ATTEMPT# item per finished attempt, its
 * AUDIT# entries and its send-range (RANGE#) items. Operator actions on no
 * batch go to the AUDIT partition.
 */
export interface LedgerTable {
  readonly dynamo: DynamoDBDocumentClient;
  readonly name: string;
}

/** The ledger's secondary indexes (sparse: only batch STATE items carry their keys). */
export const LEDGER_INDEXES = {
  byStatus: { name: 'byStatus', partitionKey: 'status', sortKey: 'receivedAt' },
  byPartner: { name: 'byPartner', partitionKey: 'partner', sortKey: 'receivedAt' },
  byDay: { name: 'byDay', partitionKey: 'receivedDay', sortKey: 'receivedAt' },
} as const;

export const pk = (batchId: string) => `BATCH#${batchId}`;
export const GLOBAL_AUDIT_PK = 'AUDIT';

export const STATE_SK = 'STATE';
/** The STATE item of a batch. */
export const stateKey = (batchId: string) => ({ pk: pk(batchId), sk: STATE_SK });

export const ATTEMPT_PREFIX = 'ATTEMPT#';
export const attemptSk = (attempt: number) => `${ATTEMPT_PREFIX}${String(attempt).padStart(4, '0')}`;

export const AUDIT_PREFIX = 'AUDIT#';
/** Audit entries sort by time; the random tail keeps two entries of one millisecond apart. */
export const auditSk = (at: string) => `${AUDIT_PREFIX}${at}#${Math.random().toString(36).slice(2, 10)}`;

export const rangePrefix = (plan: number) => `RANGE#${String(plan).padStart(4, '0')}#`;
export const rangeSk = (plan: number, index: number) => `${rangePrefix(plan)}${String(index).padStart(4, '0')}`;

/** The byDay index's partition key of a batch received at `receivedAt` (ISO-8601). */
export const receivedDayOf = (receivedAt: string) => receivedAt.slice(0, 10);

/** The byDay partitions (YYYY-MM-DD) from `to` back to `from`, newest first. */
export function receivedDaysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = new Date(`${to.slice(0, 10)}T00:00:00Z`); day.toISOString().slice(0, 10) >= from.slice(0, 10); ) {
    days.push(day.toISOString().slice(0, 10));
    day = new Date(day.getTime() - 86_400_000);
  }
  return days;
}

/** An item without its table keys (what the ledger's readers see). */
export function stripKeys<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as T;
}

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof TransactionCanceledException &&
      (error.CancellationReasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed'))
  );
}

export type Fields = Record<string, unknown>;

/**
 * Builds `SET #f0 = :f0, ...` for every field with a value and `REMOVE #f1, ...`
 * for every field set to undefined: one section of each at most, as DynamoDB
 * rejects an update expression that repeats one. A caller that also removes
 * attributes of its own passes them as undefined fields, never as a second REMOVE.
 */
export function setExpression(fields: Fields): { expression: string; names: Record<string, string>; values: Fields } {
  const names: Record<string, string> = {};
  const values: Fields = {};
  const set: string[] = [];
  const remove: string[] = [];
  Object.entries(fields).forEach(([name, value], index) => {
    names[`#f${index}`] = name;
    if (value === undefined) {
      remove.push(`#f${index}`);
      return;
    }
    values[`:f${index}`] = value;
    set.push(`#f${index} = :f${index}`);
  });
  const sections = [...(set.length ? [`SET ${set.join(', ')}`] : []), ...(remove.length ? [`REMOVE ${remove.join(', ')}`] : [])];
  return { expression: sections.join(' '), names, values };
}
