import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './table';

/** The ledger item holding a feed's last accepted file sequence number (no index attributes: it stays out of the batch indexes). */
export const feedSequenceKey = (partner: string, feed: string) => ({ pk: `FEED#${partner}#${feed}`, sk: 'SEQUENCE' });

/** How a file's sequence number stands against the feed's last accepted one. */
export type SequenceJudgement =
  | { readonly outcome: 'next' }
  | { readonly outcome: 'gap' | 'repeat'; readonly expected: string; readonly last?: string };

interface SequenceItem {
  readonly lastSequence: string;
  readonly batchId: string;
}

/** Digits without leading zeros, so `000042` and `42` are one number (kept as text: sequence numbers can be longer than a double holds). */
export function normalSequence(text: string): string {
  return BigInt(text).toString();
}

/**
 * Feeds whose files must be applied in order (`sequence`): each file's
 * sequence number, from its header or trailer record, must be the one after
 * the last file the feed accepted.
 *
 * A number is claimed when its file passes validation — after every other
 * check, just before its work items are sent — not when the batch completes:
 * two files with the same number validated at once must not both be sent, and
 * a file that passed validation is never rejected afterwards (it completes, or
 * fails and is replayed to completion). The claim is a conditional write on
 * the number it read, so of two racing files one wins and the other is judged
 * again. A replay of the claiming batch finds its own claim and passes.
 */
export class FeedSequences {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(partner: string, feed: string, batchId: string, sequence: string, first?: number): Promise<SequenceJudgement> {
    const number = normalSequence(sequence);
    for (;;) {
      const current = await this.read(partner, feed);
      if (current?.batchId === batchId && current.lastSequence === number) return { outcome: 'next' };
      const judgement = judge(number, current?.lastSequence, first);
      if (judgement.outcome !== 'next') return judgement;
      try {
        await this.dynamo.send(
          new UpdateCommand({
            TableName: this.table,
            Key: feedSequenceKey(partner, feed),
            UpdateExpression: 'SET lastSequence = :number, batchId = :batch, updatedAt = :now',
            ConditionExpression: current ? 'lastSequence = :last' : 'attribute_not_exists(lastSequence)',
            ExpressionAttributeValues: { ':number': number, ':batch': batchId, ':now': new Date().toISOString(), ...(current ? { ':last': current.lastSequence } : {}) },
          }),
        );
        return judgement;
      } catch (error) {
        // Another file of the feed claimed a number meanwhile: judge again against it.
        if (!isConditionFailure(error)) throw error;
      }
    }
  }

  private async read(partner: string, feed: string): Promise<SequenceItem | undefined> {
    const { Item } = await this.dynamo.send(new GetCommand({ TableName: this.table, Key: feedSequenceKey(partner, feed), ConsistentRead: true }));
    return Item as SequenceItem | undefined;
  }
}

/** `number` against the last accepted one (or, for the feed's first file, `first` when the feed sets it). */
export function judge(number: string, last: string | undefined, first?: number): SequenceJudgement {
  if (last === undefined) {
    if (first === undefined || BigInt(number) === BigInt(first)) return { outcome: 'next' };
    return { outcome: BigInt(number) > BigInt(first) ? 'gap' : 'repeat', expected: String(first) };
  }
  const expected = (BigInt(last) + 1n).toString();
  if (number === expected) return { outcome: 'next' };
  return { outcome: BigInt(number) > BigInt(expected) ? 'gap' : 'repeat', expected, last };
}
