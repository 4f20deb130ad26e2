import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LeaseLostError, LedgerMissingError } from './errors';
import * as history from './history';
import type { AttemptRecord, AuditEntry, BatchQuery } from './history';
import { attemptSk, isConditionFailure, pk, receivedDayOf, setExpression, stateKey, stripKeys, type Fields, type LedgerTable } from './table';
import { capText } from '../platform/text';
import { BatchStatus, isFinal, type BatchState, type FinalStatus } from './types';

export type AcquireResult =
  | { readonly outcome: 'acquired'; readonly state: BatchState; readonly resumed: boolean }
  | { readonly outcome: 'finished'; readonly state: BatchState }
  | { readonly outcome: 'busy'; readonly state: BatchState };

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

/**
 * The DynamoDB ledger: one STATE item per batch plus one item per finished
 * attempt. This file is the batch's lease state machine; every write made while
 * processing is conditional on holding the batch's lease, so two invocations
 * never both act on one batch. Reads of a batch's history are in history.ts,
 * the table's keys and expression helpers in table.ts.
 */
export class Ledger {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The table, for the reads in history.ts. */
  private get at(): LedgerTable {
    return { dynamo: this.dynamo, name: this.table };
  }

  private now(): string {
    return this.clock().toISOString();
  }

  async get(batchId: string): Promise<BatchState | undefined> {
    const { Item } = await this.dynamo.send(new GetCommand({ TableName: this.table, Key: stateKey(batchId), ConsistentRead: true }));
    return Item ? stripKeys<BatchState>(Item) : undefined;
  }

  /** Records a batch the first time its file is seen; a later sighting changes nothing. */
  async register(batch: Omit<BatchState, 'status' | 'attempt' | 'updatedAt'>): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...stateKey(batch.batchId),
            ...batch,
            receivedDay: receivedDayOf(batch.receivedAt),
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
          Key: stateKey(batchId),
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
          Key: stateKey(batchId),
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
      return { outcome: 'acquired', state: stripKeys<BatchState>(Attributes!), resumed: true };
    } catch (error) {
      if (isConditionFailure(error)) return { outcome: 'busy', state };
      throw error;
    }
  }

  /** An update of the batch's STATE item that only the lease holder of a PROCESSING batch can make. */
  private leasedUpdate(batchId: string, owner: string, fields: Fields) {
    const { expression, names, values } = setExpression(fields);
    return {
      TableName: this.table,
      Key: stateKey(batchId),
      UpdateExpression: expression,
      ConditionExpression: 'leaseOwner = :owner AND #status = :processing',
      ExpressionAttributeNames: { ...names, '#status': 'status' },
      ExpressionAttributeValues: { ...values, ':owner': owner, ':processing': BatchStatus.PROCESSING },
    };
  }

  /** Saves progress of the current attempt; throws LeaseLostError if `owner` no longer holds the lease. */
  async update(batchId: string, owner: string, fields: Partial<BatchState>): Promise<BatchState> {
    try {
      const { Attributes } = await this.dynamo.send(
        new UpdateCommand({ ...this.leasedUpdate(batchId, owner, capped({ ...fields, updatedAt: this.now() })), ReturnValues: 'ALL_NEW' }),
      );
      return stripKeys<BatchState>(Attributes!);
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
    const current = await this.get(batchId);
    if (!current || current.leaseOwner !== owner || current.status !== BatchStatus.PROCESSING) {
      throw new LeaseLostError(batchId);
    }
    const finished = { ...current, ...final } as BatchState;
    try {
      await this.dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            // The lease goes in the same REMOVE section as any field the caller clears.
            { Update: this.leasedUpdate(batchId, owner, { ...final, leaseOwner: undefined, leaseExpiresAt: undefined }) },
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
          Key: stateKey(batchId),
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
      return stripKeys<BatchState>(Attributes!);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Notes that `channel` accepted the completion event of `attempt`, so a retry does not publish it again. */
  async markAnnounced(batchId: string, channel: 'announcedSns' | 'announcedEventBridge', attempt: number): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.table,
        Key: stateKey(batchId),
        UpdateExpression: 'SET #channel = :attempt',
        ConditionExpression: 'attempt = :attempt',
        ExpressionAttributeNames: { '#channel': channel },
        ExpressionAttributeValues: { ':attempt': attempt },
      }),
    );
  }

  // Listings and history: see history.ts.

  listBatches(query: BatchQuery): Promise<BatchState[]> {
    return history.listBatches(this.at, query);
  }

  attempts(batchId: string): Promise<AttemptRecord[]> {
    return history.attempts(this.at, batchId);
  }

  audit(entry: AuditEntry): Promise<void> {
    return history.audit(this.at, entry);
  }

  auditTrail(batchId?: string): Promise<AuditEntry[]> {
    return history.auditTrail(this.at, batchId);
  }
}
