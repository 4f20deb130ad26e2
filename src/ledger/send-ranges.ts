import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RangeLeaseLostError } from './errors';
import { isConditionFailure, pk, rangePrefix, rangeSk, stripKeys } from './table';

/**
 * One slice of a batch's staged chunks, sent by its own invocation: the send
 * phase of a big batch fans out over several ranges at once. Each range has
 * its own lease and chunk checkpoint, so a range is never sent by two
 * invocations at once and a retried range carries on where it stopped.
 */
export interface SendRange {
  readonly batchId: string;
  /** The attempt that planned the ranges; a replay that resumes keeps the plan. */
  readonly plan: number;
  readonly index: number;
  readonly fromChunk: number;
  /** Exclusive. */
  readonly toChunk: number;
  /** The next chunk to send (the checkpoint). */
  readonly nextChunk: number;
  readonly status: 'PENDING' | 'DONE' | 'FAILED';
  readonly leaseOwner?: string;
  readonly leaseExpiresAt?: number;
  readonly lastError?: string;
  readonly updatedAt: string;
}

export type RangeLease =
  | { readonly outcome: 'acquired'; readonly range: SendRange }
  | { readonly outcome: 'done'; readonly range: SendRange }
  | { readonly outcome: 'busy' | 'failed' | 'missing' };

/** Splits chunks [0, chunks) into at most `ranges` contiguous ranges of near-equal size. */
export function splitChunks(chunks: number, ranges: number): { fromChunk: number; toChunk: number }[] {
  const count = Math.max(1, Math.min(ranges, chunks));
  return Array.from({ length: count }, (_, index) => ({
    fromChunk: Math.floor((index * chunks) / count),
    toChunk: Math.floor(((index + 1) * chunks) / count),
  }));
}

/** The ledger's send-range items (in the batch's partition, beside its STATE item). */
export class SendRanges {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Writes the ranges of a plan; ranges that already exist (a retried dispatch) are kept as they are. */
  async plan(batchId: string, plan: number, ranges: readonly { fromChunk: number; toChunk: number }[]): Promise<void> {
    const now = this.clock().toISOString();
    for (const [index, range] of ranges.entries()) {
      const item: SendRange = { batchId, plan, index, ...range, nextChunk: range.fromChunk, status: 'PENDING', updatedAt: now };
      try {
        await this.dynamo.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk: pk(batchId), sk: rangeSk(plan, index), ...item },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
  }

  async list(batchId: string, plan: number): Promise<SendRange[]> {
    const { Items = [] } = await this.dynamo.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk(batchId), ':prefix': rangePrefix(plan) },
        ConsistentRead: true,
      }),
    );
    return Items.map(strip);
  }

  /** Takes the range's lease unless another live invocation holds it or the range is finished. */
  async acquire(batchId: string, plan: number, index: number, owner: string, leaseMs: number): Promise<RangeLease> {
    const key = { pk: pk(batchId), sk: rangeSk(plan, index) };
    const { Item } = await this.dynamo.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    if (!Item) return { outcome: 'missing' };
    const range = strip(Item);
    if (range.status === 'DONE') return { outcome: 'done', range };
    if (range.status === 'FAILED') return { outcome: 'failed' };
    const now = this.clock().getTime();
    if ((range.leaseExpiresAt ?? 0) > now) return { outcome: 'busy' };
    try {
      const { Attributes } = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET leaseOwner = :owner, leaseExpiresAt = :until, updatedAt = :now',
          ConditionExpression: '#status = :pending AND (attribute_not_exists(leaseExpiresAt) OR leaseExpiresAt = :seen)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':until': now + leaseMs,
            ':now': new Date(now).toISOString(),
            ':pending': 'PENDING',
            ':seen': range.leaseExpiresAt ?? 0,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { outcome: 'acquired', range: strip(Attributes!) };
    } catch (error) {
      if (isConditionFailure(error)) return { outcome: 'busy' };
      throw error;
    }
  }

  /** Records that the chunks before `nextChunk` are acknowledged; only while `owner` holds the lease. */
  checkpoint(range: SendRange, owner: string, nextChunk: number): Promise<void> {
    return this.leasedUpdate(range, owner, 'SET nextChunk = :next', { ':next': nextChunk });
  }

  complete(range: SendRange, owner: string): Promise<void> {
    return this.leasedUpdate(range, owner, 'SET #status = :done REMOVE leaseOwner, leaseExpiresAt', { ':done': 'DONE' });
  }

  /** Frees the range for the next invocation (out of time, or a fault to retry), keeping its checkpoint. */
  release(range: SendRange, owner: string, lastError?: string): Promise<void> {
    return this.leasedUpdate(range, owner, 'SET leaseExpiresAt = :zero, lastError = :error', {
      ':zero': 0,
      ':error': lastError ?? 'paused for time',
    });
  }

  /** The range gave up (retries exhausted); its checkpoint stays for a replay. */
  async fail(range: { batchId: string; plan: number; index: number }, lastError: string): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(range.batchId), sk: rangeSk(range.plan, range.index) },
        UpdateExpression: 'SET #status = :failed, lastError = :error, updatedAt = :now REMOVE leaseOwner, leaseExpiresAt',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':failed': 'FAILED', ':pending': 'PENDING', ':error': lastError, ':now': this.clock().toISOString() },
      }),
    ).catch((error: unknown) => {
      if (!isConditionFailure(error)) throw error;
    });
  }

  /** A replay resumes the plan: failed ranges become pending again, from their checkpoints. */
  async reopen(batchId: string, plan: number): Promise<SendRange[]> {
    const ranges = await this.list(batchId, plan);
    for (const range of ranges.filter((candidate) => candidate.status === 'FAILED')) {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(batchId), sk: rangeSk(plan, range.index) },
          UpdateExpression: 'SET #status = :pending, updatedAt = :now',
          ConditionExpression: '#status = :failed',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':failed': 'FAILED', ':now': this.clock().toISOString() },
        }),
      );
    }
    return this.list(batchId, plan);
  }

  private async leasedUpdate(range: SendRange, owner: string, expression: string, values: Record<string, unknown>): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: pk(range.batchId), sk: rangeSk(range.plan, range.index) },
          UpdateExpression: expression.replace(/^SET /, 'SET updatedAt = :now, '),
          ConditionExpression: 'leaseOwner = :owner AND #status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ...values, ':owner': owner, ':pending': 'PENDING', ':now': this.clock().toISOString() },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new RangeLeaseLostError(range);
      throw error;
    }
  }
}

const strip = (item: Record<string, unknown>) => stripKeys<SendRange>(item);
