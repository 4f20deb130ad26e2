import type { FeedSequences } from '../ledger/feed-sequences';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PartnerRegistry } from '../config/load-partners';
import type { EventPublisher } from '../completion/publisher';
import type { Ledger } from '../ledger/batches';
import type { SendRanges } from '../ledger/send-ranges';
import type { BatchState } from '../ledger/types';
import type { Clock } from '../platform/clock';
import type { FeedKeys } from '../pgp/feed-keys';
import type { ServiceMetrics } from '../platform/telemetry';

export interface IngestSettings {
  /** Bucket for archive/, staging/ and rejects/ (the landing bucket). */
  readonly landingBucket: string;
  readonly workQueueUrl: string;
  /** Stop sending when less than this much invocation time is left. */
  readonly stopMarginMs?: number;
  readonly sendConcurrency?: number;
  /** Work items per staged chunk (the unit of checkpointing); tests make it small. */
  readonly chunkItems?: number;
  /** Where send ranges are queued; without it one invocation at a time sends a batch. */
  readonly sendRangesQueueUrl?: string;
  /** Most ranges a batch's send phase is split into (the stage's parallel senders). */
  readonly maxSendRanges?: number;
  /** Fewest chunks worth a range of their own. */
  readonly minChunksPerRange?: number;
}

/** What the ingest core works with, built once per cold start (runtime.ts) or by a local stack. */
export interface IngestDeps {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly ledger: Ledger;
  readonly ranges: SendRanges;
  readonly publisher: EventPublisher;
  readonly registry: PartnerRegistry;
  readonly settings: IngestSettings;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly clock?: Clock;
  /** Encrypted feeds' decryption and signer keys. */
  readonly feedKeys: FeedKeys;
  /** Feeds with `sequence`: the last file sequence number each accepted (in the ledger table). */
  readonly sequences: FeedSequences;
}

/** The SQS consumers' dependencies: the ingest core's, and how their messages are retried. */
export interface FileEventDeps extends IngestDeps {
  /** The file-events queue's maxReceiveCount: the last delivery ends a failing batch as FAILED. */
  readonly maxReceiveCount: number;
  /** Lets the function choose when a message is redelivered; without it SQS waits out the visibility timeout. */
  readonly fileEventsQueueUrl?: string;
  /** First retry delay after a fault; doubles with each delivery. */
  readonly retryBaseSeconds?: number;
  /** How long a batch another invocation holds waits before it is tried again. */
  readonly busyRetrySeconds?: number;
}

/** The invocation doing the work: it owns the lease while it runs. */
export interface Invocation {
  readonly owner: string;
  readonly remainingMs: () => number;
}

export type IngestResult =
  | { readonly outcome: 'finished'; readonly state: BatchState }
  | { readonly outcome: 'duplicate'; readonly state: BatchState }
  | { readonly outcome: 'busy'; readonly batchId: string }
  | { readonly outcome: 'paused'; readonly state: BatchState }
  /** The send phase was handed to parallel range invocations; they finish the batch. */
  | { readonly outcome: 'dispatched'; readonly state: BatchState }
  | { readonly outcome: 'ignored'; readonly reason: string }
  /** The data file's control file has not come yet (`controlFile`): the message comes back later. */
  | { readonly outcome: 'waiting'; readonly batchId: string }
  /** The object is a feed's control file: read by its data file's batch, no batch of its own. */
  | { readonly outcome: 'control-file'; readonly feed: string };
