import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PartnerRegistry } from '../config/load-partners';
import type { FeedConfig } from '../config/types';
import { PartnerIngestError } from '../errors/base';
import type { EventPublisher } from '../events/publisher';
import { batchIdOf } from '../ledger/batch-id';
import { LeaseLostError, type Ledger } from '../ledger/ledger';
import type { SendRanges } from '../ledger/send-ranges';
import { BatchStatus, type BatchSource, type BatchState } from '../ledger/types';
import type { BatchReason } from '../pipeline/file-rejection';
import { headSource, SOURCE_METADATA, SourceUnavailableError, type SourceFacts } from './archive';
import { announce } from './announce';
import { BatchRun } from './batch-run';
import { parseInboundKey, type CreatedObject } from './s3-event';

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

export interface IngestDeps {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly ledger: Ledger;
  readonly ranges: SendRanges;
  readonly publisher: EventPublisher;
  readonly registry: PartnerRegistry;
  readonly settings: IngestSettings;
  readonly logger: Logger;
  readonly clock?: () => Date;
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
  | { readonly outcome: 'ignored'; readonly reason: string };

/** The attempt hit an infrastructure fault; the lease was released so a retry resumes it. */
export class AttemptInterruptedError extends PartnerIngestError {
  constructor(
    readonly batchId: string,
    cause: unknown,
  ) {
    super('ATTEMPT_INTERRUPTED', `batch ${batchId}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** The lease outlives the invocation by this much, so a dead invocation's batch is resumed soon after. */
const LEASE_GRACE_MS = 30_000;

function sourceOf(object: CreatedObject, facts: SourceFacts | undefined): BatchSource {
  const viaSftp = facts?.metadata[SOURCE_METADATA.type] === 'sftp';
  return {
    type: viaSftp ? 'sftp' : 's3',
    uri: (viaSftp && facts?.metadata[SOURCE_METADATA.uri]) || `s3://${object.bucket}/${object.key}`,
    bucket: object.bucket,
    key: object.key,
    ...(object.versionId ?? facts?.versionId ? { versionId: object.versionId ?? facts?.versionId } : {}),
    ...(object.etag ?? facts?.etag ? { etag: (object.etag ?? facts?.etag)!.replace(/"/g, '') } : {}),
  };
}

/**
 * Takes one announced object through its batch: register → lease → archive →
 * validate into staging → decide → send → finish → announce. Every step
 * records its result in the ledger, so a retry or a resumed invocation carries
 * on from the last completed step instead of starting over.
 */
export async function ingestObject(object: CreatedObject, deps: IngestDeps, invocation: Invocation): Promise<IngestResult> {
  const inbound = parseInboundKey(object.key);
  if (!inbound) return { outcome: 'ignored', reason: `${object.key} is not under inbound/<partner>/` };
  const clock = deps.clock ?? (() => new Date());
  let facts: SourceFacts | undefined;
  let unavailable: SourceUnavailableError | undefined;
  try {
    facts = await headSource(deps.s3, object);
  } catch (error) {
    if (!(error instanceof SourceUnavailableError)) throw error;
    unavailable = error;
  }
  // S3 names the version in events from versioned buckets; an emulator may not
  // (moto omits it), so the version HEAD found under the announced ETag stands in.
  if (!object.versionId && facts?.versionId) object = { ...object, versionId: facts.versionId };
  const batchId = batchIdOf(object);
  const known = deps.registry.partners.get(inbound.partner);
  const feed = known ? deps.registry.feedForFile(known, inbound.fileName) : undefined;
  const logger = deps.logger.createChild({ persistentKeys: { batchId, partner: inbound.partner, feed: feed?.id } });

  const registered = await deps.ledger.register({
    batchId,
    partner: inbound.partner,
    feed: feed?.id ?? null,
    source: sourceOf(object, facts),
    file: { name: inbound.fileName, ...(facts ? { bytes: facts.bytes } : {}) },
    receivedAt: clock().toISOString(),
  });
  if (!registered) logger.info('batch already known; checking its state');

  const lease = await deps.ledger.acquire(batchId, invocation.owner, invocation.remainingMs() + LEASE_GRACE_MS);
  if (lease.outcome === 'busy') {
    logger.info('batch is being processed by another invocation');
    return { outcome: 'busy', batchId };
  }
  if (lease.outcome === 'finished') {
    logger.info('duplicate delivery of a finished batch', { status: lease.state.status });
    await announce(deps, lease.state);
    return { outcome: 'duplicate', state: lease.state };
  }

  return runLeasedAttempt(lease.state, deps, invocation, logger, object, unavailable);
}

/**
 * Carries the leased attempt of a batch as far as it goes. The partner and feed
 * are resolved from the configuration as it is now, so a replay after a fix
 * uses the fix. An infrastructure fault releases the lease (keeping progress)
 * and surfaces as AttemptInterruptedError.
 */
/** The feed that owns a batch's file, in the configuration as it is now (undefined: unknown partner or feed). */
export function feedOfBatch(registry: PartnerRegistry, state: Pick<BatchState, 'partner' | 'file'>): FeedConfig | undefined {
  const partner = registry.partners.get(state.partner);
  return partner ? registry.feedForFile(partner, state.file.name) : undefined;
}

export async function runLeasedAttempt(
  state: BatchState,
  deps: IngestDeps,
  invocation: Invocation,
  logger: Logger,
  source?: CreatedObject,
  unavailable?: SourceUnavailableError,
): Promise<IngestResult> {
  const run = new BatchRun(deps, invocation, logger, state, source, feedOfBatch(deps.registry, state));
  try {
    if (unavailable && !state.archive) return await run.finish(BatchStatus.FAILED, unavailable);
    return await run.execute();
  } catch (error) {
    if (error instanceof LeaseLostError) throw error;
    if (error instanceof SourceUnavailableError) return run.finish(BatchStatus.FAILED, error);
    logger.error('attempt interrupted; releasing the batch for a retry', { error: error as Error });
    await deps.ledger.release(state.batchId, invocation.owner, String((error as Error)?.message ?? error)).catch(() => undefined);
    throw new AttemptInterruptedError(state.batchId, error);
  }
}

/** Ends a batch as FAILED after retries ran out (the attempt's lease must be free or ours). */
export async function failBatch(batchId: string, reason: BatchReason, deps: IngestDeps, invocation: Invocation): Promise<BatchState | undefined> {
  const lease = await deps.ledger.acquire(batchId, invocation.owner, invocation.remainingMs() + LEASE_GRACE_MS);
  if (lease.outcome === 'finished') {
    await announce(deps, lease.state);
    return lease.state;
  }
  if (lease.outcome === 'busy') return undefined;
  const state = await deps.ledger.finish(batchId, invocation.owner, BatchStatus.FAILED, { reason });
  await announce(deps, state);
  return state;
}

