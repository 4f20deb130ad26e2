/**
 * The IAM authorization requests an AWS SDK v3 command makes, as AWS evaluates
 * them: action and resource ARN, per the service authorization reference. Only
 * the commands the service (and the local event source mapping) sends are
 * mapped; an unmapped command is reported, never silently allowed.
 */

export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /** Why this request is needed when it is not the obvious one (e.g. a 404 that S3 only returns with ListBucket). */
  readonly because?: string;
  /** Condition keys the request carries beyond the caller's own (e.g. `dynamodb:LeadingKeys`). */
  readonly context?: Readonly<Record<string, readonly string[]>>;
}

export interface CallFacts {
  readonly service: 's3' | 'sqs' | 'sns' | 'eventbridge' | 'dynamodb' | 'secretsmanager' | 'sts' | string;
  /** The SDK command without its `Command` suffix: `GetObject`, `SendMessageBatch`, `TransactWriteItems`. */
  readonly operation: string;
  readonly input: Record<string, any>;
  readonly output?: Record<string, any>;
  /** HTTP status of a failed call (404 for a missing S3 key). */
  readonly errorStatus?: number;
  readonly region: string;
  readonly account: string;
  readonly partition?: string;
}

export class UnmappedCommandError extends Error {}

const s3Object = (partition: string, bucket: string, key: string) => `arn:${partition}:s3:::${bucket}/${key}`;

/** `bucket/key?versionId=v` (key URL-encoded) as CopyObject and UploadPartCopy name their source. */
function copySource(source: string): { bucket: string; key: string; versioned: boolean } {
  const [path = '', query = ''] = source.replace(/^\//, '').split('?');
  const slash = path.indexOf('/');
  return { bucket: path.slice(0, slash), key: decodeURIComponent(path.slice(slash + 1)), versioned: /(^|&)versionId=/.test(query) };
}

/** A queue URL's ARN: the account and name are its last two path segments, whatever the endpoint. */
export function queueArnOf(url: string, region: string, partition = 'aws'): string {
  const [account, name] = new URL(url).pathname.split('/').filter(Boolean).slice(-2);
  return `arn:${partition}:sqs:${region}:${account}:${name}`;
}

function s3Requests(facts: CallFacts, partition: string): IamRequest[] {
  const { input, operation, errorStatus } = facts;
  const object = () => s3Object(partition, input.Bucket, input.Key);
  const read = (versioned: boolean) => (versioned ? 's3:GetObjectVersion' : 's3:GetObject');
  switch (operation) {
    case 'GetObject':
    case 'HeadObject': {
      const requests: IamRequest[] = [{ action: read(Boolean(input.VersionId)), resource: object() }];
      // Without ListBucket, S3 answers 403 where it would answer 404: code that tells "gone" from "forbidden" needs it.
      if (errorStatus === 404) {
        requests.push({ action: 's3:ListBucket', resource: `arn:${partition}:s3:::${input.Bucket}`, because: 'S3 answers a missing key with 404 only to callers allowed s3:ListBucket (403 otherwise)' });
      }
      return requests;
    }
    case 'PutObject':
    case 'CreateMultipartUpload':
    case 'UploadPart':
    case 'CompleteMultipartUpload':
      return [
        { action: 's3:PutObject', resource: object() },
        ...(input.Tagging ? [{ action: 's3:PutObjectTagging', resource: object() }] : []),
      ];
    case 'AbortMultipartUpload':
      return [{ action: 's3:AbortMultipartUpload', resource: object() }];
    case 'ListParts':
      return [{ action: 's3:ListMultipartUploadParts', resource: object() }];
    case 'CopyObject':
    case 'UploadPartCopy': {
      const source = copySource(String(input.CopySource));
      return [
        { action: 's3:PutObject', resource: object() },
        { action: read(source.versioned), resource: s3Object(partition, source.bucket, source.key) },
      ];
    }
    case 'DeleteObject':
      return [{ action: input.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: object() }];
    case 'ListObjectsV2':
    case 'ListObjects':
      return [{ action: 's3:ListBucket', resource: `arn:${partition}:s3:::${input.Bucket}` }];
    case 'ListObjectVersions':
      return [{ action: 's3:ListBucketVersions', resource: `arn:${partition}:s3:::${input.Bucket}` }];
    case 'GetObjectTagging':
      return [{ action: input.VersionId ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging', resource: object() }];
    case 'PutObjectTagging':
      return [{ action: 's3:PutObjectTagging', resource: object() }];
    default:
      throw new UnmappedCommandError(`s3:${operation}`);
  }
}

/** SQS authorizes every batch action as its single-message action. */
const SQS_ACTIONS: Record<string, string> = {
  SendMessage: 'sqs:SendMessage',
  SendMessageBatch: 'sqs:SendMessage',
  ReceiveMessage: 'sqs:ReceiveMessage',
  DeleteMessage: 'sqs:DeleteMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
  GetQueueAttributes: 'sqs:GetQueueAttributes',
  PurgeQueue: 'sqs:PurgeQueue',
};

/** Item actions a TransactWriteItems entry needs, by its kind. */
const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/** The ledger table's partition key (resources/ledger.yml): what `dynamodb:LeadingKeys` holds for a call on the table. */
const PARTITION_KEY = 'pk';

/** An attribute's string value, marshalled (`{S: "…"}`) or not. */
function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof (value as { S?: unknown })?.S === 'string' ? (value as { S: string }).S : undefined;
}

/** The partition key a table Query's key condition fixes (`pk = :v` or `#name = :v` with #name → pk). */
function queriedPartitionKey(input: Record<string, any>): string | undefined {
  const names: Record<string, string> = input.ExpressionAttributeNames ?? {};
  for (const [, name, placeholder] of String(input.KeyConditionExpression ?? '').matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    if ((names[name!] ?? name) === PARTITION_KEY) return stringOf(input.ExpressionAttributeValues?.[placeholder!]);
  }
  return undefined;
}

/**
 * The `dynamodb:LeadingKeys` condition key of a call on a table (not an
 * index): the partition key values it reads or writes. Without it, a role's
 * `ForAllValues:StringLike` condition on the key would hold vacuously and
 * prove nothing.
 */
function leadingKeys(values: readonly (string | undefined)[]): Pick<IamRequest, 'context'> {
  const keys = values.filter((value): value is string => value !== undefined);
  return keys.length ? { context: { 'dynamodb:LeadingKeys': [...new Set(keys)] } } : {};
}

function dynamoRequests(facts: CallFacts, partition: string): IamRequest[] {
  const { input, operation, region, account } = facts;
  const table = (name: string, index?: string) =>
    `arn:${partition}:dynamodb:${region}:${account}:table/${name}${index ? `/index/${index}` : ''}`;
  const keyOf = (entry: Record<string, any>) => stringOf((entry.Key ?? entry.Item)?.[PARTITION_KEY]);
  switch (operation) {
    case 'GetItem':
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [{ action: `dynamodb:${operation}`, resource: table(input.TableName), ...leadingKeys([keyOf(input)]) }];
    case 'DescribeTable':
    case 'Scan':
      return [{ action: `dynamodb:${operation}`, resource: table(input.TableName, operation === 'Scan' ? input.IndexName : undefined) }];
    case 'Query':
      return [
        {
          action: 'dynamodb:Query',
          resource: table(input.TableName, input.IndexName),
          ...(input.IndexName ? {} : leadingKeys([queriedPartitionKey(input)])),
        },
      ];
    case 'TransactWriteItems':
      return (input.TransactItems as Record<string, Record<string, any>>[]).map((item) => {
        const [kind, entry] = Object.entries(item)[0]!;
        return { action: TRANSACT_ACTIONS[kind]!, resource: table(entry.TableName), ...leadingKeys([keyOf(entry)]) };
      });
    case 'BatchWriteItem':
      return Object.entries(input.RequestItems as Record<string, Record<string, any>[]>).flatMap(([name, writes]) =>
        (['PutRequest', 'DeleteRequest'] as const)
          .map((kind) => writes.filter((write) => write[kind]).map((write) => keyOf(write[kind])))
          .map((keys, index) => ({ keys, action: index === 0 ? 'dynamodb:PutItem' : 'dynamodb:DeleteItem' }))
          .filter(({ keys }) => keys.length)
          .map(({ keys, action }) => ({ action, resource: table(name), ...leadingKeys(keys) })),
      );
    default:
      throw new UnmappedCommandError(`dynamodb:${operation}`);
  }
}

/** The IAM requests one call makes; [] for calls that need no permission (sts:GetCallerIdentity). */
export function iamRequestsOf(facts: CallFacts): IamRequest[] {
  const partition = facts.partition ?? 'aws';
  const { input, operation, region, account } = facts;
  switch (facts.service) {
    case 's3':
      return s3Requests(facts, partition);
    case 'sqs': {
      if (operation === 'GetQueueUrl') {
        return [{ action: 'sqs:GetQueueUrl', resource: `arn:${partition}:sqs:${region}:${input.QueueOwnerAWSAccountId ?? account}:${input.QueueName}` }];
      }
      const action = SQS_ACTIONS[operation];
      if (!action) throw new UnmappedCommandError(`sqs:${operation}`);
      return [{ action, resource: queueArnOf(input.QueueUrl, region, partition) }];
    }
    case 'sns':
      if (operation !== 'Publish') throw new UnmappedCommandError(`sns:${operation}`);
      return [{ action: 'sns:Publish', resource: input.TopicArn }];
    case 'eventbridge': {
      if (operation !== 'PutEvents') throw new UnmappedCommandError(`events:${operation}`);
      const buses = new Set((input.Entries as { EventBusName?: string }[]).map((entry) => entry.EventBusName ?? 'default'));
      return [...buses].map((bus) => ({
        action: 'events:PutEvents',
        resource: bus.startsWith('arn:') ? bus : `arn:${partition}:events:${region}:${account}:event-bus/${bus}`,
      }));
    }
    case 'dynamodb':
      return dynamoRequests(facts, partition);
    case 'secretsmanager': {
      if (operation !== 'GetSecretValue') throw new UnmappedCommandError(`secretsmanager:${operation}`);
      const id = String(input.SecretId);
      // A name resolves to the secret's full ARN (name + "-" + 6 random characters); the response says which.
      const arn = facts.output?.ARN ?? (id.startsWith('arn:') ? id : `arn:${partition}:secretsmanager:${region}:${account}:secret:${id}-XXXXXX`);
      return [{ action: 'secretsmanager:GetSecretValue', resource: arn }];
    }
    case 'sts':
      if (operation === 'GetCallerIdentity') return [];
      throw new UnmappedCommandError(`sts:${operation}`);
    default:
      throw new UnmappedCommandError(`${facts.service}:${operation}`);
  }
}
