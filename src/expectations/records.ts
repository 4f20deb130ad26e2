import { PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../ledger/table';
import type { FeedEvent } from './events';

/**
 * The expectations checker's own items in the ledger table, one per event it
 * owes: partition `EXPECT#<partner>#<feed>`, sort key `<dueAt>#<type>` (and
 * `#<batchId>` for UNEXPECTED). They carry none of the attributes the ledger's
 * indexes are keyed on (status, partner, receivedDay), so no index sees them
 * and no batch query returns them.
 */
export interface FeedEventRecord {
  readonly eventId: string;
  /** The event as first detected: every delivery publishes exactly this. */
  readonly event: FeedEvent;
  readonly recordedAt: string;
  /** When each channel accepted it; absent until then. */
  readonly publishedSns?: string;
  readonly publishedEventBridge?: string;
}

export type Channel = 'publishedSns' | 'publishedEventBridge';

export const expectationPk = (partner: string, feed: string) => `EXPECT#${partner}#${feed}`;
const sortKey = (event: Pick<FeedEvent, 'dueAt' | 'type'> & { file?: { batchId: string } }) =>
  [event.dueAt, event.type, ...(event.file ? [event.file.batchId] : [])].join('#');

export class ExpectationRecords {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** The feed's records for due times from `fromDueAt` to `toDueAt` (inclusive), by eventId. */
  async list(partner: string, feed: string, fromDueAt: string, toDueAt: string): Promise<Map<string, FeedEventRecord>> {
    const records = new Map<string, FeedEventRecord>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': expectationPk(partner, feed), ':from': fromDueAt, ':to': `${toDueAt}#~` },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const record = { ...item, event: JSON.parse(item.event as string) } as unknown as FeedEventRecord;
        records.set(record.eventId, record);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records;
  }

  /**
   * Records an event before it is published (conditional: the first writer
   * wins). Returns the stored record: this one, or the one already there, whose
   * event (and detectedAt) every later delivery keeps.
   */
  async record(event: FeedEvent, at: string): Promise<{ record: FeedEventRecord; created: boolean }> {
    const record: FeedEventRecord = { eventId: event.eventId, event, recordedAt: at };
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: expectationPk(event.partner, event.feed), sk: sortKey(event), eventId: event.eventId, event: JSON.stringify(event), recordedAt: at },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { record, created: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = (await this.list(event.partner, event.feed, event.dueAt, event.dueAt)).get(event.eventId);
      return { record: existing ?? record, created: false };
    }
  }

  /** Notes that `channel` accepted the event. */
  async markPublished(event: FeedEvent, channel: Channel, at: string): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: expectationPk(event.partner, event.feed), sk: sortKey(event) },
        UpdateExpression: 'SET #channel = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#channel': channel },
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }
}
