import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PartnerRegistry } from '../config/load-partners';
import type { FeedConfig } from '../config/types';
import { PartnerIngestError } from '../errors/base';
import { completionEventOf } from '../events/completion-event';
import type { EventPublisher } from '../events/publisher';
import { batchIdOf } from '../ledger/batch-id';
import { LeaseLostError, type Ledger } from '../ledger/ledger';
import { BatchStatus, type BatchSource, type BatchState, type FinalStatus } from '../ledger/types';
import { RejectionCode, type BatchReason } from '../pipeline/file-rejection';
import { validateFile } from '../pipeline/validate-file';
import { WorkItemEncoder } from '../pipeline/work-item';
import { RejectsReportWriter } from '../report/rejects-report';
import { sendStagedItems } from '../send/work-queue-sender';
import { DEFAULT_CHUNK_LIMITS, manifestKeyOf, StagingWriter, type StagingManifest } from '../staging/staging-writer';
import {
  archiveKeyOf,
  archiveObject,
  digestObject,
  headSource,
  openObject,
  SOURCE_METADATA,
  SourceUnavailableError,
  type SourceFacts,
} from './archive';
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
}

export interface IngestDeps {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly ledger: Ledger;
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

const DEFAULT_STOP_MARGIN_MS = 60_000;
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
export async function runLeasedAttempt(
  state: BatchState,
  deps: IngestDeps,
  invocation: Invocation,
  logger: Logger,
  source?: CreatedObject,
  unavailable?: SourceUnavailableError,
): Promise<IngestResult> {
  const partner = deps.registry.partners.get(state.partner);
  const feed = partner ? deps.registry.feedForFile(partner, state.file.name) : undefined;
  const run = new BatchRun(deps, invocation, logger, state, source, feed);
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

/** Publishes the completion event on every channel that has not yet accepted it. */
export async function announce(deps: Pick<IngestDeps, 'ledger' | 'publisher'>, state: BatchState): Promise<void> {
  const detail = completionEventOf(state);
  if (state.announcedSns !== state.attempt) {
    await deps.publisher.publishSns(detail);
    await deps.ledger.markAnnounced(state.batchId, 'announcedSns', state.attempt);
  }
  if (state.announcedEventBridge !== state.attempt) {
    await deps.publisher.publishEventBridge(detail);
    await deps.ledger.markAnnounced(state.batchId, 'announcedEventBridge', state.attempt);
  }
}

/** One invocation's work on one leased batch. */
class BatchRun {
  private readonly bucket: string;

  constructor(
    private readonly deps: IngestDeps,
    private readonly invocation: Invocation,
    private readonly logger: Logger,
    private state: BatchState,
    private readonly source: CreatedObject | undefined,
    private readonly feed: FeedConfig | undefined,
  ) {
    this.bucket = deps.settings.landingBucket;
  }

  private get batchId(): string {
    return this.state.batchId;
  }

  private async save(fields: Partial<BatchState>): Promise<void> {
    this.state = await this.deps.ledger.update(this.batchId, this.invocation.owner, fields);
  }

  async execute(): Promise<IngestResult> {
    if (!this.state.archive) {
      const archive = {
        bucket: this.bucket,
        key: archiveKeyOf(this.state.partner, this.state.receivedAt, this.batchId, this.state.file.name),
      };
      if (!this.source) throw new SourceUnavailableError(`batch ${this.batchId} has no archived raw file`);
      await archiveObject(this.deps.s3, this.source, archive);
      await this.save({ archive });
      this.logger.info('raw file archived', { archiveKey: archive.key });
    }
    if (!this.feed) return this.rejectUnroutable();
    if (this.state.feed !== this.feed.id) await this.save({ feed: this.feed.id });
    if (!this.state.validation) await this.validate(this.feed);
    const validation = this.state.validation!;
    if (validation.status === 'REJECTED') return this.finish(BatchStatus.REJECTED, validation.reason!);
    return this.send(this.feed);
  }

  /** Unknown partner or feed: archived and REJECTED, with the file's size and checksum on record. */
  private async rejectUnroutable(): Promise<IngestResult> {
    const known = this.deps.registry.partners.get(this.state.partner);
    const reason: BatchReason = known
      ? {
          code: RejectionCode.UNKNOWN_FEED,
          message: `"${this.state.file.name}" matches no feed of partner ${known.id} (feeds: ${known.feeds
            .map((feed) => `${feed.id} ${feed.files.join(' ')}`)
            .join('; ')})`,
        }
      : { code: RejectionCode.UNKNOWN_PARTNER, message: `no partner "${this.state.partner}" is configured` };
    const digest = await digestObject(this.deps.s3, this.state.archive!);
    await this.save({ file: { ...this.state.file, ...digest } });
    return this.finish(BatchStatus.REJECTED, reason);
  }

  private async validate(feed: FeedConfig): Promise<void> {
    const { partner, attempt } = this.state;
    const chunkItems = this.deps.settings.chunkItems;
    const staging = new StagingWriter(
      this.deps.s3,
      this.bucket,
      `staging/${partner}/${this.batchId}/attempt-${attempt}/`,
      this.batchId,
      chunkItems ? { ...DEFAULT_CHUNK_LIMITS, maxItems: chunkItems } : DEFAULT_CHUNK_LIMITS,
    );
    const rejects = new RejectsReportWriter(
      this.deps.s3,
      this.bucket,
      `rejects/${partner}/${this.batchId}/attempt-${attempt}/rejects.csv`,
      feed.format.delimiter,
      feed.limits.maxReportedErrors,
    );
    const started = Date.now();
    try {
      const outcome = await validateFile({
        source: await openObject(this.deps.s3, this.state.archive!),
        feed,
        batchId: this.batchId,
        items: staging,
        rejects,
      });
      const manifest = await staging.close();
      const report = await rejects.close();
      const { records, valid, invalid } = outcome.counts;
      await this.save({
        file: { ...this.state.file, bytes: outcome.file.bytes, sha256: outcome.file.sha256, compressed: outcome.file.compressed },
        schema: { id: feed.schema.id, version: feed.schema.version },
        validation: {
          status: outcome.status,
          ...(outcome.reason ? { reason: outcome.reason } : {}),
          staging: {
            bucket: this.bucket,
            key: manifest.itemsKey,
            manifestKey: manifestKeyOf(`staging/${partner}/${this.batchId}/attempt-${attempt}/`),
            chunks: manifest.chunks.length,
            items: manifest.items,
          },
          ...(report ? { rejects: report } : {}),
        },
        counts: { records, valid, invalid, workItemsSent: 0 },
        sendCheckpoint: 0,
      });
      this.logger.info('file validated', { status: outcome.status, ...outcome.counts, ms: Date.now() - started });
    } catch (error) {
      staging.abort(error as Error);
      rejects.abort(error as Error);
      throw error;
    }
  }

  private async send(feed: FeedConfig): Promise<IngestResult> {
    const validation = this.state.validation!;
    const manifest = await this.readManifest(validation.staging!.manifestKey);
    const encoder = new WorkItemEncoder(
      { batchId: this.batchId, partner: feed.partnerId, feed: feed.id, schema: feed.schema },
      feed.schema.columns,
    );
    const stopMargin = this.deps.settings.stopMarginMs ?? DEFAULT_STOP_MARGIN_MS;
    const progress = await sendStagedItems({
      s3: this.deps.s3,
      sqs: this.deps.sqs,
      queueUrl: this.deps.settings.workQueueUrl,
      manifest,
      attributes: encoder.attributes,
      fromChunk: this.state.sendCheckpoint ?? 0,
      concurrency: this.deps.settings.sendConcurrency,
      shouldStop: () => this.invocation.remainingMs() < stopMargin,
      onChunkSent: (nextChunk, itemsSent) =>
        this.save({ sendCheckpoint: nextChunk, counts: { ...this.state.counts!, workItemsSent: itemsSent } }),
    });
    if (!progress.done) {
      this.logger.info('pausing: invocation time is running out', { nextChunk: progress.nextChunk });
      await this.deps.ledger.release(this.batchId, this.invocation.owner, 'paused for time; resumes from checkpoint');
      return { outcome: 'paused', state: this.state };
    }
    if (progress.itemsSent !== this.state.counts!.valid) {
      throw new PartnerIngestError(
        'COUNT_MISMATCH',
        `sent ${progress.itemsSent} work items but validated ${this.state.counts!.valid} records`,
      );
    }
    return this.finish(BatchStatus.COMPLETED);
  }

  private async readManifest(key: string): Promise<StagingManifest> {
    const { Body } = await this.deps.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return JSON.parse(await Body!.transformToString('utf-8')) as StagingManifest;
  }

  async finish(status: FinalStatus, reason?: BatchReason | PartnerIngestError): Promise<IngestResult> {
    const fields: Partial<BatchState> = reason
      ? { reason: reason instanceof PartnerIngestError ? { code: reason.code, message: reason.message } : reason }
      : {};
    this.state = await this.deps.ledger.finish(this.batchId, this.invocation.owner, status, fields);
    this.logger.info('batch finished', { status, counts: this.state.counts, reason: this.state.reason });
    await announce(this.deps, this.state);
    return { outcome: 'finished', state: this.state };
  }
}
