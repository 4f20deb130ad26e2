import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { FeedConfig } from '../config/types';
import { PartnerIngestError } from '../errors/base';
import { BatchStatus, type BatchState, type FinalStatus } from '../ledger/types';
import { RejectionCode, type BatchReason } from '../pipeline/file-rejection';
import { validateFile } from '../pipeline/validate-file';
import { WorkItemEncoder } from '../pipeline/work-item';
import { RejectsReportWriter } from '../report/rejects-report';
import { sendStagedItems } from '../send/work-queue-sender';
import { DEFAULT_CHUNK_LIMITS, manifestKeyOf, StagingWriter, type StagingManifest } from '../staging/staging-writer';
import { archiveKeyOf, archiveObject, digestObject, openObject, SourceUnavailableError } from './archive';
import { announce } from './announce';
import type { IngestDeps, IngestResult, Invocation } from './ingest-object';
import type { CreatedObject } from './s3-event';

const DEFAULT_STOP_MARGIN_MS = 60_000;

/** One invocation's work on one leased batch. */
export class BatchRun {
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
