import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { systemClock, type Clock } from '../platform/clock';

/** One version of a remote file: the same path with another size or mtime is another version. */
export interface RemoteVersion {
  readonly partner: string;
  readonly path: string;
  readonly size: number;
  /** Modification time in ms since the epoch, as the server lists it. */
  readonly mtime: number;
}

export interface ListingMemory {
  readonly size: number;
  readonly mtime: number;
  readonly seenAt: string;
  readonly runId: string;
}

export type FetchStatus = 'FETCHING' | 'FETCHED' | 'POSTED';

export interface FetchRecord {
  readonly status: FetchStatus;
  readonly s3?: { readonly bucket: string; readonly key: string; readonly versionId?: string; readonly etag?: string };
  readonly fetchedAt?: string;
  readonly leaseOwner?: string;
  readonly leaseExpiresAt?: number;
  readonly postFetchError?: string;
  /** Why the post-fetch action was not applied (the remote file changed or went since its fetch). */
  readonly postFetchSkipped?: string;
}

/** A partner's latest pulls, for operators (the console's overview): when, and what went wrong last. */
export interface PullStatus {
  readonly lastPullAt: string;
  readonly lastSuccessAt?: string;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
  /** Connections refused because the server presented a host key that is not pinned. */
  readonly hostKeyMismatches?: number;
  readonly lastHostKeyMismatchAt?: string;
}

export type PullOutcome = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string; readonly hostKeyMismatch: boolean };

const STATUS_SK = 'PULL_STATUS';

const pk = (partner: string) => `SFTP#${partner}`;
const listingSk = (path: string) => `LIST#${path}`;
const fetchSk = (version: RemoteVersion) => `FETCH#${version.path}#${version.size}#${version.mtime}`;

/**
 * What sftp-pull remembers durably, in the ledger table: the last listing of
 * each remote path (for the "size and mtime unchanged since the previous
 * listing" rule) and the hand-off state of each remote file version, so a file
 * is fetched once however many runs see it, and two overlapping runs never
 * fetch the same version (the claim is a conditional write with a lease).
 */
export class RemoteFileLedger {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async listing(partner: string, path: string): Promise<ListingMemory | undefined> {
    const { Item } = await this.dynamo.send(
      new GetCommand({ TableName: this.table, Key: { pk: pk(partner), sk: listingSk(path) }, ConsistentRead: true }),
    );
    return Item as ListingMemory | undefined;
  }

  async rememberListing(version: RemoteVersion, runId: string): Promise<void> {
    await this.dynamo.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: pk(version.partner),
          sk: listingSk(version.path),
          size: version.size,
          mtime: version.mtime,
          seenAt: this.clock().toISOString(),
          runId,
        },
      }),
    );
  }

  async fetchRecord(version: RemoteVersion): Promise<FetchRecord | undefined> {
    const { Item } = await this.dynamo.send(
      new GetCommand({ TableName: this.table, Key: { pk: pk(version.partner), sk: fetchSk(version) }, ConsistentRead: true }),
    );
    return Item as FetchRecord | undefined;
  }

  /** Claims the version for `owner`; false when it is fetched already or another run holds a live claim. */
  async claim(version: RemoteVersion, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.clock().getTime();
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: pk(version.partner),
            sk: fetchSk(version),
            path: version.path,
            size: version.size,
            mtime: version.mtime,
            status: 'FETCHING',
            leaseOwner: owner,
            leaseExpiresAt: now + leaseMs,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (#status = :fetching AND leaseExpiresAt < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':fetching': 'FETCHING', ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Forgets a claim whose transfer failed, so the next run fetches the file afresh. */
  async release(version: RemoteVersion, owner: string): Promise<void> {
    await this.dynamo
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: pk(version.partner), sk: fetchSk(version) },
          ConditionExpression: 'leaseOwner = :owner AND #status = :fetching',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':owner': owner, ':fetching': 'FETCHING' },
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  /** Records the verified S3 copy. From here on the version is never fetched again. */
  async markFetched(version: RemoteVersion, owner: string, s3: NonNullable<FetchRecord['s3']>): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(version.partner), sk: fetchSk(version) },
        UpdateExpression: 'SET #status = :fetched, s3 = :s3, fetchedAt = :now REMOVE leaseOwner, leaseExpiresAt',
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':fetched': 'FETCHED', ':s3': s3, ':now': this.clock().toISOString(), ':owner': owner },
      }),
    );
  }

  /** The post-fetch action is done, or was skipped for the reason given: the version needs nothing more. */
  async markPosted(version: RemoteVersion, skipped?: string): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(version.partner), sk: fetchSk(version) },
        UpdateExpression: `SET #status = :posted${skipped ? ', postFetchSkipped = :skipped' : ''} REMOVE postFetchError`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':posted': 'POSTED', ...(skipped ? { ':skipped': skipped } : {}) },
      }),
    );
  }

  async notePostFetchError(version: RemoteVersion, message: string): Promise<void> {
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(version.partner), sk: fetchSk(version) },
        UpdateExpression: 'SET postFetchError = :message',
        ExpressionAttributeValues: { ':message': message },
      }),
    );
  }

  /** Records a run's outcome for `partner`; an error stays until a later pull succeeds, the mismatch count for good. */
  async recordPull(partner: string, outcome: PullOutcome): Promise<void> {
    const at = this.clock().toISOString();
    const update = outcome.ok
      ? { expression: 'SET lastPullAt = :at, lastSuccessAt = :at REMOVE lastError', values: { ':at': at } }
      : {
          expression: `SET lastPullAt = :at, lastError = :error${outcome.hostKeyMismatch ? ', lastHostKeyMismatchAt = :at ADD hostKeyMismatches :one' : ''}`,
          values: { ':at': at, ':error': { code: outcome.code, message: outcome.message, at }, ...(outcome.hostKeyMismatch ? { ':one': 1 } : {}) },
        };
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: pk(partner), sk: STATUS_SK },
        UpdateExpression: update.expression,
        ExpressionAttributeValues: update.values,
      }),
    );
  }

  async pullStatus(partner: string): Promise<PullStatus | undefined> {
    const { Item } = await this.dynamo.send(new GetCommand({ TableName: this.table, Key: { pk: pk(partner), sk: STATUS_SK } }));
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, ...status } = Item;
    return status as PullStatus;
  }
}
