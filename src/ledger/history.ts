import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { capText } from '../platform/text';
import {
  ATTEMPT_PREFIX,
  AUDIT_PREFIX,
  auditSk,
  GLOBAL_AUDIT_PK,
  LEDGER_INDEXES,
  pk,
  receivedDaysBetween,
  stripKeys,
  type LedgerTable,
} from './table';
import type { BatchState } from './types';

export interface BatchQuery {
  readonly status?: string;
  readonly partner?: string;
  readonly feed?: string;
  /** Inclusive ISO-8601 bounds on receivedAt. */
  readonly from: string;
  readonly to: string;
  readonly limit: number;
}

export interface AttemptRecord {
  readonly attempt: number;
  readonly status: string;
  readonly reason?: BatchState['reason'];
  readonly counts?: BatchState['counts'];
  readonly startedAt?: string;
  readonly finishedAt: string;
  readonly trigger?: string;
}

export interface AuditEntry {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly batchId?: string;
  readonly details?: Record<string, unknown>;
  readonly outcome: string;
}

/**
 * Batches received between `from` and `to`, newest first, through the index
 * that fits the filter best (status, then partner, else day by day); the
 * remaining filters apply within it. Never a table scan.
 */
export async function listBatches(table: LedgerTable, query: BatchQuery): Promise<BatchState[]> {
  const filters: string[] = [];
  const names: Record<string, string> = { '#received': 'receivedAt' };
  const values: Record<string, unknown> = { ':from': query.from, ':to': query.to };
  const filterOn = (field: 'status' | 'partner' | 'feed', value: string | undefined) => {
    if (value === undefined) return;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    filters.push(`#${field} = :${field}`);
  };
  let index: (typeof LEDGER_INDEXES)[keyof typeof LEDGER_INDEXES];
  let partitions: string[];
  if (query.status) {
    index = LEDGER_INDEXES.byStatus;
    partitions = [query.status];
    filterOn('partner', query.partner);
  } else if (query.partner) {
    index = LEDGER_INDEXES.byPartner;
    partitions = [query.partner];
  } else {
    index = LEDGER_INDEXES.byDay;
    partitions = receivedDaysBetween(query.from, query.to);
  }
  filterOn('feed', query.feed);
  const found: BatchState[] = [];
  for (const partition of partitions) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await table.dynamo.send(
        new QueryCommand({
          TableName: table.name,
          IndexName: index.name,
          KeyConditionExpression: `#partition = :partition AND #received BETWEEN :from AND :to`,
          ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
          ExpressionAttributeNames: { ...names, '#partition': index.partitionKey },
          ExpressionAttributeValues: { ...values, ':partition': partition },
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...(page.Items ?? []).map((item) => stripKeys<BatchState>(item)));
      startKey = page.LastEvaluatedKey;
    } while (startKey && found.length < query.limit);
    if (found.length >= query.limit) break;
  }
  return found.slice(0, query.limit);
}

/** The batch's finished attempts, oldest first. */
export async function attempts(table: LedgerTable, batchId: string): Promise<AttemptRecord[]> {
  const { Items = [] } = await table.dynamo.send(
    new QueryCommand({
      TableName: table.name,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk(batchId), ':prefix': ATTEMPT_PREFIX },
    }),
  );
  return Items.map((item) => stripKeys<AttemptRecord>(item));
}

/** Records an operator action (who, when, what, outcome) with the batch, or globally. */
export async function audit(table: LedgerTable, entry: AuditEntry): Promise<void> {
  await table.dynamo.send(
    new PutCommand({
      TableName: table.name,
      Item: {
        pk: entry.batchId ? pk(entry.batchId) : GLOBAL_AUDIT_PK,
        sk: auditSk(entry.at),
        ...entry,
        outcome: capText(entry.outcome),
      },
    }),
  );
}

/** Operator actions on a batch (or the global ones without a batch id), oldest first. */
export async function auditTrail(table: LedgerTable, batchId?: string): Promise<AuditEntry[]> {
  const { Items = [] } = await table.dynamo.send(
    new QueryCommand({
      TableName: table.name,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': batchId ? pk(batchId) : GLOBAL_AUDIT_PK, ':prefix': AUDIT_PREFIX },
    }),
  );
  return Items.map((item) => stripKeys<AuditEntry>(item));
}
