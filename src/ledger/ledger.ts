import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { LeaseLostError, LedgerMissingError } from './errors';
import { capText } from '../platform/text';
import { BatchStatus, isFinal, type BatchState, type FinalStatus } from './types';

/** The ledger's secondary indexes (sparse: only batch STATE items carry their keys). */
export const LEDGER_INDEXES = {
  byStatus: { name: 'byStatus', partitionKey: 'status', sortKey: 'receivedAt' },
  byPartner: { name: 'byPartner', partitionKey: 'partner', sortKey: 'receivedAt' },
  byDay: { name: 'byDay', partitionKey: 'receivedDay', sortKey: 'receivedAt' },
} as const;

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

const GLOBAL_AUDIT_PK = 'AUDIT';

export type AcquireResult =
  | { readonly outcome: 'acquired'; readonly state: BatchState; readonly resumed: boolean }
  | { readonly outcome: 'finished'; readonly state: BatchState }
  | { readonly outcome: 'busy'; readonly state: BatchState };

const STATE_SK = 'STATE';
export const pk = (batchId: string) => `BATCH#${batchId}`;
const attemptSk = (attempt: number) => `ATTEMPT#${String(attempt).padStart(4, '0')}`;

type Fields = Record<string, unknown>;

export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof TransactionCanceledException &&
      (error.CancellationReasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed'))
  );
}

/**
 * The human-readable fields of a batch, capped: a reason or an error message can
 * quote a file (60,000 header names, a 1,000-byte file name) or a long AWS error,
 * and the item must stay far below DynamoDB's 400 KB (and the event made from it
 * below SNS's 256 KiB).
 */
function capped(fields: Fields): Fields {
  const capReason = (reason: BatchState['reason']) => reason && { ...reason, message: capText(reason.message) };
  const validation = fields.validation as BatchState['validation'];
  return {
    ...fields,
    ...(fields.reason ? { reason: capReason(fields.reason as BatchState['reason']) } : {}),
    ...(validation?.reason ? { validation: { ...validation, reason: capReason(validation.reason) } } : {}),
    ...(typeof fields.lastError === 'string' ? { lastError: capText(fields.lastError) } : {}),
  };
}

/** Builds `SET a = :a, b = :b` with placeholders for every field, and `REMOVE c` for a field set to undefined. */
function setExpression(fields: Fields): { expression: string; names: Record<string, string>; values: Fields } {
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
  return { expression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`, names, values };
}

/**
 * The DynamoDB ledger: one STATE item per batch plus one item per finished
 * attempt. Every write made while processing is conditional on holding the
 * batch's lease, so two invocations never both act on one batch.
 */
export class Ledger {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private now(): string {
    return this.clock().toISOString();
  }

  async get(batchId: string): Promise<BatchState | undefined> {
    const { Item } = await this.dynamo.send(
      new GetCommand({ TableName: this.table, Key: { pk: pk(batchId), sk: STATE_SK }, ConsistentRead: true }),
    );
    return Item ? stripKeys(Item) : undefined;
  }

  /** Records a batch the first time its file is seen; a later sighting changes nothing. */
  async register(batch: Omit<BatchState, 'status' | 'attempt' | 'updatedAt'>): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: pk(batch.batchId),
            sk: STATE_SK,
            ...batch,
            receivedDay: batch.receivedAt.slice(0, 10),
            status: BatchStatus.RECEIVED,
            attempt: 0,
            updatedAt: this.now(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Names where a batch's file came from once that is known, while no attempt has started (a no-op after). */
  async describeSource(batchId: string, source: BatchState['source']): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(batchId), sk: STATE_SK },
          UpdateExpression: 'SET #source = :source',
          ConditionExpression: '#status = :received',
          ExpressionAttributeNames: { '#source': 'source', '#status': 'status' },
          ExpressionAttributeValues: { ':source': source, ':received': BatchStatus.RECEIVED },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Takes the batch's lease for `owner`: a RECEIVED batch starts its next
   * attempt; a PROCESSING batch whose lease expired (its invocation died) is
   * resumed where it stopped; anything else is reported as finished or busy.
   */
  async acquire(batchId: string, owner: string, leaseMs: number): Promise<AcquireResult> {
    const nowMs = this.clock().getTime();
    const started = await this.startAttempt(batchId, owner, leaseMs, [BatchStatus.RECEIVED]);
    if (started) return { outcome: 'acquired', state: started, resumed: false };
    const state = await this.get(batchId);
    if (!state) throw new LedgerMissingError(batchId);
    if (isFinal(state.status)) return { outcome: 'finished', state };
    if (state.status !== BatchStatus.PROCESSING || (state.leaseExpiresAt ?? 0) > nowMs) return { outcome: 'busy', state };
    try {
      const { Attributes } = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(batchId), sk: STATE_SK },
          UpdateExpression: 'SET leaseOwner = :owner, leaseExpiresAt = :until, updatedAt = :now',
          ConditionExpression: '#status = :processing AND leaseExpiresAt = :seen',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':processing': BatchStatus.PROCESSING,
            ':seen': state.leaseExpiresAt ?? 0,
            ':owner': owner,
            ':until': nowMs + leaseMs,
            ':now': this.now(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { outcome: 'acquired', state: stripKeys(Attributes!), resumed: true };
    } catch (error) {
      if (isConditionFailure(error)) return { outcome: 'busy', state };
      throw error;
    }
  }

  /** Saves progress of the current attempt; throws LeaseLostError if `owner` no longer holds the lease. */
  async update(batchId: string, owner: string, fields: Partial<BatchState>): Promise<BatchState> {
    const { expression, names, values } = setExpression(capped({ ...fields, updatedAt: this.now() }));
    try {
      const { Attributes } = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(batchId), sk: STATE_SK },
          UpdateExpression: expression,
          ConditionExpression: 'leaseOwner = :owner AND #status = :processing',
          ExpressionAttributeNames: { ...names, '#status': 'status' },
          ExpressionAttributeValues: { ...values, ':owner': owner, ':processing': BatchStatus.PROCESSING },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return stripKeys(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseLostError(batchId);
      throw error;
    }
  }

  /** Lets another invocation resume the batch at once (after a transient fault), keeping its progress. */
  async release(batchId: string, owner: string, lastError: string): Promise<void> {
    await this.update(batchId, owner, { leaseExpiresAt: 0, lastError } as Partial<BatchState>);
  }

  /**
   * Ends the current attempt with its final status and writes the attempt's
   * history item, atomically. The completion event is published after this.
   */
  async finish(
    batchId: string,
    owner: string,
    status: FinalStatus,
    fields: Partial<BatchState>,
  ): Promise<BatchState> {
    const finishedAt = this.now();
    const final = capped({ ...fields, status, finishedAt, updatedAt: finishedAt });
    const { expression, names, values } = setExpression(final);
    const current = await this.get(batchId);
    if (!current || current.leaseOwner !== owner || current.status !== BatchStatus.PROCESSING) {
      throw new LeaseLostError(batchId);
    }
    const finished = { ...current, ...final } as BatchState;
    try {
      await this.dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.table,
                Key: { pk: pk(batchId), sk: STATE_SK },
                UpdateExpression: `${expression} REMOVE leaseOwner, leaseExpiresAt`,
                ConditionExpression: 'leaseOwner = :owner AND #status = :processing',
                ExpressionAttributeNames: { ...names, '#status': 'status' },
                ExpressionAttributeValues: { ...values, ':owner': owner, ':processing': BatchStatus.PROCESSING },
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: {
                  pk: pk(batchId),
                  sk: attemptSk(finished.attempt),
                  attempt: finished.attempt,
                  status,
                  reason: finished.reason,
                  counts: finished.counts,
                  startedAt: finished.startedAt,
                  finishedAt,
                },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseLostError(batchId);
      throw error;
    }
    const { leaseOwner: _owner, leaseExpiresAt: _until, ...rest } = finished;
    return rest;
  }

  /**
   * Batches received between `from` and `to`, newest first, through the index
   * that fits the filter best (status, then partner, else day by day); the
   * remaining filters apply within it. Never a table scan.
   */
  async listBatches(query: BatchQuery): Promise<BatchState[]> {
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
      partitions = daysBetween(query.from, query.to);
    }
    filterOn('feed', query.feed);
    const found: BatchState[] = [];
    for (const partition of partitions) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.dynamo.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: index.name,
            KeyConditionExpression: `#partition = :partition AND #received BETWEEN :from AND :to`,
            ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
            ExpressionAttributeNames: { ...names, '#partition': index.partitionKey },
            ExpressionAttributeValues: { ...values, ':partition': partition },
            ScanIndexForward: false,
            ExclusiveStartKey: startKey,
          }),
        );
        found.push(...(page.Items ?? []).map(stripKeys));
        startKey = page.LastEvaluatedKey;
      } while (startKey && found.length < query.limit);
      if (found.length >= query.limit) break;
    }
    return found.slice(0, query.limit);
  }

  /** The batch's finished attempts, oldest first. */
  async attempts(batchId: string): Promise<AttemptRecord[]> {
    const { Items = [] } = await this.dynamo.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk(batchId), ':prefix': 'ATTEMPT#' },
      }),
    );
    return Items.map((item) => stripKeys(item) as unknown as AttemptRecord);
  }

  /**
   * Starts the batch's next attempt for `owner` (its first, from RECEIVED, or a
   * replay of a finished one). Only one attempt runs at a time: the conditional
   * write fails unless the batch is in one of `from`, so a concurrent replay or a
   * live attempt wins and this one gets undefined.
   */
  async startAttempt(
    batchId: string,
    owner: string,
    leaseMs: number,
    from: readonly BatchStatus[],
    /** Keep what the previous attempt validated, staged and sent, so this one carries on from it. */
    keepProgress = false,
    /** Also take over a RECEIVED or PROCESSING batch whose lease expired before this time (epoch ms). */
    takeOverExpiredBefore?: number,
  ): Promise<BatchState | undefined> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = {
      ':processing': BatchStatus.PROCESSING,
      ':one': 1,
      ':now': this.now(),
      ':owner': owner,
      ':until': this.clock().getTime() + leaseMs,
    };
    from.forEach((status, index) => (values[`:from${index}`] = status));
    let condition = `#status IN (${from.map((_, index) => `:from${index}`).join(', ')})`;
    if (takeOverExpiredBefore !== undefined) {
      values[':received'] = BatchStatus.RECEIVED;
      values[':expired'] = takeOverExpiredBefore;
      condition = `${condition} OR (#status IN (:received, :processing) AND (attribute_not_exists(leaseExpiresAt) OR leaseExpiresAt < :expired))`;
    }
    try {
      const { Attributes } = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(batchId), sk: STATE_SK },
          UpdateExpression:
            'SET #status = :processing, attempt = attempt + :one, startedAt = :now, updatedAt = :now, leaseOwner = :owner, leaseExpiresAt = :until ' +
            (keepProgress
              ? 'REMOVE reason, finishedAt, lastError'
              : 'REMOVE validation, validationProgress, counts, sendCheckpoint, sendPlan, reason, finishedAt, lastError'),
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return stripKeys(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Records an operator action (who, when, what, outcome) with the batch, or globally. */
  async audit(entry: AuditEntry): Promise<void> {
    await this.dynamo.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: entry.batchId ? pk(entry.batchId) : GLOBAL_AUDIT_PK,
          sk: `AUDIT#${entry.at}#${Math.random().toString(36).slice(2, 10)}`,
          ...entry,
          outcome: capText(entry.outcome),
        },
      }),
    );
  }

  /** Operator actions on a batch (or the global ones without a batch id), oldest first. */
  async auditTrail(batchId?: string): Promise<AuditEntry[]> {
    const { Items = [] } = await this.dynamo.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': batchId ? pk(batchId) : GLOBAL_AUDIT_PK, ':prefix': 'AUDIT#' },
      }),
    );
    return Items.map((item) => stripKeys(item) as unknown as AuditEntry);
  }

  /** Notes that `channel` accepted the completion event of `attempt`, so a retry does not publish it again. */
  async markAnnounced(batchId: string, channel: 'announcedSns' | 'announcedEventBridge', attempt: number): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(batchId), sk: STATE_SK },
        UpdateExpression: 'SET #channel = :attempt',
        ConditionExpression: 'attempt = :attempt',
        ExpressionAttributeNames: { '#channel': channel },
        ExpressionAttributeValues: { ':attempt': attempt },
      }),
    );
  }
}

/** Days (YYYY-MM-DD) from `to` back to `from`, newest first. */
function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = new Date(`${to.slice(0, 10)}T00:00:00Z`); day.toISOString().slice(0, 10) >= from.slice(0, 10); ) {
    days.push(day.toISOString().slice(0, 10));
    day = new Date(day.getTime() - 86_400_000);
  }
  return days;
}

function stripKeys(item: Record<string, unknown>): BatchState {
  const { pk: _pk, sk: _sk, ...state } = item;
  return state as unknown as BatchState;
}
