import type { Logger } from '@aws-lambda-powertools/logger';
import type { FeedConfig } from '../config/types';
import { PartnerIngestError } from '../platform/errors';
import { BatchStatus, type BatchState, type FinalStatus } from '../ledger/types';
import { RejectionCode, type BatchReason } from '../validate/errors';
import { KeyFingerprintSet } from '../validate/key-set';
import { validateSegment, type ValidationOutcome } from '../validate/validate-file';
import { RejectsReportWriter, type RejectsReport } from '../validate/rejects-report';
import { splitChunks } from '../ledger/send-ranges';
import { enqueueRanges, sendRange, type RangeSendContext } from '../work-items/range-sender';
import { itemsBefore, sendStagedItems } from '../work-items/sender';
import { readJson, writeChunks } from '../landing/objects';
import { DEFAULT_CHUNK_LIMITS, StagingWriter, type StagingManifest } from '../work-items/staging-writer';
import { archiveObject } from '../landing/archive';
import { SourceUnavailableError } from '../landing/errors';
import { archiveKeyOf, keySetKeyOf, manifestKeyOf, plainRejectsKeyOf, rejectsKeyOf, S3_MAX_KEY_BYTES, sealedRejectsKeyOf, stagingPrefixOf } from '../landing/layout';
import { digestObject, openObject } from '../landing/objects';
import { announce } from './announce';
import { sequenceGate } from './sequence-gate';
import { controlFileNameOf, readControlFile, type ControlFileRead } from './control-file';
import type { ExternalControl } from '../validate/control-records';
import { systemClock } from '../platform/clock';
import { DEFAULT_MIN_CHUNKS_PER_RANGE, DEFAULT_STOP_MARGIN_MS, LEASE_GRACE_MS } from './constants';
import { CountMismatchError, RangeUnavailableError } from './errors';
import { routeBatch } from './routing';
import type { IngestDeps, IngestResult, Invocation } from './types';
import type { CreatedObject } from '../landing/s3-event';
import { textDialectOf } from '../config/text-dialect';

/** Less than the stop margin left: stop at the next record or chunk boundary, and continue in a new invocation. */
function timeIsShort(deps: IngestDeps, invocation: Invocation): boolean {
  return invocation.remainingMs() < (deps.settings.stopMarginMs ?? DEFAULT_STOP_MARGIN_MS);
}

/** What sending one range needs from the invocation doing it (the batch's own run, or a range sender). */
export function rangeContextOf(deps: IngestDeps, invocation: Invocation): RangeSendContext {
  return {
    s3: deps.s3,
    sqs: deps.sqs,
    ranges: deps.ranges,
    workQueueUrl: deps.settings.workQueueUrl,
    owner: invocation.owner,
    leaseMs: invocation.remainingMs() + LEASE_GRACE_MS,
    shouldStop: () => timeIsShort(deps, invocation),
    ...(deps.settings.sendConcurrency ? { concurrency: deps.settings.sendConcurrency } : {}),
  };
}

/**
 * A file whose size, as HEAD gave it at registration, is already past the
 * feed's maxFileBytes: REJECTED without reading a byte of it.
 */
function tooLargeToRead(file: BatchState['file'], feed: FeedConfig): ValidationOutcome | undefined {
  const max = feed.limits.maxFileBytes;
  if (file.bytes === undefined || !(file.bytes > max)) return undefined;
  return {
    status: 'REJECTED',
    reason: { code: RejectionCode.FILE_TOO_LARGE, message: `the file is ${file.bytes} bytes, larger than the feed's maxFileBytes (${max}); it was not read` },
    counts: { records: 0, valid: 0, invalid: 0 },
    file: { bytes: file.bytes, compressed: file.compressed ?? false },
  };
}

/**
 * The file facts to keep after validation. A pass that stopped reading early
 * (FILE_TOO_LARGE) knows neither the whole size nor the checksum: the size
 * HEAD gave stays, and nothing is claimed about the rest.
 */
function fileFactsOf(known: BatchState['file'], read: ValidationOutcome['file']): BatchState['file'] {
  if (read.sha256 === undefined) return { ...known, bytes: known.bytes ?? read.bytes };
  return { ...known, bytes: read.bytes, sha256: read.sha256, compressed: read.compressed };
}

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
    const archiveKey = archiveKeyOf(this.state.partner, this.state.receivedAt, this.batchId, this.state.file.name);
    if (!this.state.archive) {
      const archive = { bucket: this.bucket, key: archiveKey.key };
      if (!this.source) throw new SourceUnavailableError(`batch ${this.batchId} has no archived raw file`);
      // The size HEAD read when the batch was registered spares the archive copy its own HEAD.
      const known = this.state.file.bytes;
      await archiveObject(this.deps.s3, this.source, archive, known === undefined ? {} : { sourceBytes: known });
      await this.save({ archive });
      this.logger.info('raw file archived', { archiveKey: archive.key });
    }
    if (archiveKey.fullKeyBytes > S3_MAX_KEY_BYTES) {
      return this.rejectUnread({
        code: RejectionCode.FILE_NAME_TOO_LONG,
        message: `the file name is ${Buffer.byteLength(this.state.file.name)} bytes: its archive key would be ${archiveKey.fullKeyBytes} bytes, over S3's ${S3_MAX_KEY_BYTES} (file names of partner ${this.state.partner} may have at most ${archiveKey.maxNameBytes} bytes); the file is archived as ${archiveKey.key}`,
      });
    }
    if (!this.feed) return this.rejectUnread(routeBatch(this.deps.registry, this.state).reason!);
    if (this.state.feed !== this.feed.id) await this.save({ feed: this.feed.id });
    if (!this.state.validation) {
      const control = this.feed.controlFile ? await this.readControlFile(this.feed) : undefined;
      if (control && 'missing' in control) return this.waitForControlFile(this.feed);
      if (control && 'reason' in control) return this.rejectUnread(control.reason);
      if (!(await this.validate(this.feed, control?.found))) return this.pause();
    }
    const validation = this.state.validation!;
    if (validation.status === 'REJECTED') return this.finish(BatchStatus.REJECTED, validation.reason!);
    return this.send(this.feed);
  }

  /** A file no feed will parse: archived and REJECTED, with its size and checksum on record. */
  private async rejectUnread(reason: BatchReason): Promise<IngestResult> {
    const digest = await digestObject(this.deps.s3, this.state.archive!);
    await this.save({ file: { ...this.state.file, ...digest } });
    return this.finish(BatchStatus.REJECTED, reason);
  }

  /**
   * The validation pass, in as many segments as it takes: when the invocation
   * runs low on time the pass stops at a record boundary, and what it reached
   * (offset, counts, staged chunks, rejects so far, key set) goes to the ledger
   * for the next invocation. Returns false when it paused.
   */
  /** The control file beside the data file (read at each segment: it is a line or two). */
  private readControlFile(feed: FeedConfig): Promise<ControlFileRead> {
    const { bucket, key } = this.state.source;
    return readControlFile(this.deps.s3, bucket, key, feed);
  }

  /**
   * No control file yet: the batch waits (its lease released, the message back
   * in a minute) until `controlFile.waitMinutes` after the data file came;
   * then it is REJECTED CONTROL_FILE_MISSING.
   */
  private async waitForControlFile(feed: FeedConfig): Promise<IngestResult> {
    const settings = feed.controlFile!;
    const name = controlFileNameOf(settings, this.state.file.name);
    const waited = (this.deps.clock ?? systemClock)().getTime() - Date.parse(this.state.receivedAt);
    if (waited >= settings.waitMinutes * 60_000) {
      return this.rejectUnread({
        code: RejectionCode.CONTROL_FILE_MISSING,
        message: `the control file "${name}" did not come within ${settings.waitMinutes} minutes of the data file (controlFile.waitMinutes)`,
      });
    }
    this.logger.info('waiting for the control file', { controlFile: name, waitedSeconds: Math.round(waited / 1000) });
    await this.deps.ledger.release(this.batchId, this.invocation.owner, `waiting for its control file ${name}`);
    return { outcome: 'waiting', batchId: this.batchId };
  }

  private async validate(feed: FeedConfig, controlFile?: ExternalControl): Promise<boolean> {
    const { partner, attempt } = this.state;
    const progress = this.state.validationProgress;
    const segment = progress?.staged.next ?? 0;
    const prefix = progress?.prefix ?? stagingPrefixOf(partner, this.batchId, attempt);
    const chunkItems = this.deps.settings.chunkItems;
    const staging = new StagingWriter(
      this.deps.s3,
      this.bucket,
      prefix,
      this.batchId,
      feed,
      chunkItems ? { ...DEFAULT_CHUNK_LIMITS, maxItems: chunkItems } : DEFAULT_CHUNK_LIMITS,
      progress?.staged,
    );
    const rejects = new RejectsReportWriter(
      this.deps.s3,
      this.bucket,
      // A report that goes to the partner encrypted is built in plaintext where only the service reads.
      feed.reports ? plainRejectsKeyOf(prefix, segment) : rejectsKeyOf(partner, this.batchId, attempt, segment),
      textDialectOf(feed.format).delimiter,
      feed.limits.maxReportedErrors,
    );
    const started = performance.now();
    try {
      if (progress?.rejects) await rejects.continueFrom(progress.rejects);
      const keys = progress?.keys ? await KeyFingerprintSet.fromChunks(await openObject(this.deps.s3, progress.keys)) : new KeyFingerprintSet();
      const unread = progress ? undefined : tooLargeToRead(this.state.file, feed);
      // Loaded before the pass: a key that cannot be read is a fault to retry, not the file's.
      const decryption = unread || !feed.encryption ? undefined : await this.deps.feedKeys.keysFor(feed);
      if (unread) rejects.fileRejected(unread.reason!);
      const archive = this.state.archive!;
      const outcome = unread ?? (await validateSegment({
        // Opened where the pass asks: a resumed segment of a plain file starts at its checkpoint (a ranged GET).
        source: (fromByte) => openObject(this.deps.s3, archive, fromByte),
        feed,
        batchId: this.batchId,
        items: staging,
        rejects,
        keys,
        shouldPause: () => this.timeIsShort(),
        ...(progress ? { resume: progress.checkpoint } : {}),
        ...(decryption ? { decryption } : {}),
        ...(feed.sequence ? { sequence: sequenceGate(this.deps.sequences, feed, this.batchId) } : {}),
        ...(controlFile ? { controlFile } : {}),
      }));
      if (outcome.status === 'PAUSED') {
        const staged = await staging.closeSegment();
        const report = await rejects.close();
        const keysAt = feed.key ? { bucket: this.bucket, key: keySetKeyOf(prefix, segment) } : undefined;
        if (keysAt) await writeChunks(this.deps.s3, keysAt, keys.toChunks());
        await this.save({
          validationProgress: {
            prefix,
            checkpoint: outcome.checkpoint,
            staged,
            ...(report ? { rejects: report } : progress?.rejects ? { rejects: progress.rejects } : {}),
            ...(keysAt ? { keys: keysAt } : {}),
          },
        });
        this.logger.info('validation paused: invocation time is running out', {
          segment,
          ...outcome.checkpoint.counts,
          offset: outcome.checkpoint.offset,
          hashedBytes: outcome.checkpoint.hashedBytes,
          ms: Math.round(performance.now() - started),
        });
        return false;
      }
      const manifest = await staging.close();
      const plainReport = (await rejects.close()) ?? progress?.rejects;
      const report = plainReport && feed.reports ? await this.sealRejects(feed, plainReport) : plainReport;
      const { records, valid, invalid } = outcome.counts;
      await this.save({
        file: fileFactsOf(this.state.file, outcome.file),
        schema: { id: feed.schema.id, version: feed.schema.version },
        validation: {
          status: outcome.status,
          ...(outcome.reason ? { reason: outcome.reason } : {}),
          staging: {
            bucket: this.bucket,
            key: manifestKeyOf(prefix),
            chunks: manifest.chunks.length,
            items: manifest.items,
          },
          ...(report ? { rejects: report } : {}),
        },
        counts: { records, valid, invalid, workItemsSent: 0 },
        sendCheckpoint: 0,
        validationProgress: undefined,
      });
      this.logger.info('file validated', { status: outcome.status, segments: segment + 1, ...outcome.counts, ms: Math.round(performance.now() - started) });
      return true;
    } catch (error) {
      staging.abort(error as Error);
      rejects.abort(error as Error);
      throw error;
    }
  }

  /** The finished report, encrypted to the partner's `reports.encryptTo` key: what the ledger and events point to. */
  private async sealRejects(feed: FeedConfig, plain: RejectsReport): Promise<RejectsReport> {
    // OpenPGP.js loads only for feeds that need it (see validate-file.ts on require).
    const { feedPublicKeys } = require('../pgp/config-keys') as typeof import('../pgp/config-keys');
    const { sealReport } = require('../validate/sealed-report') as typeof import('../validate/sealed-report');
    const { reportRecipient } = await feedPublicKeys(feed);
    const target = { bucket: this.bucket, key: sealedRejectsKeyOf(this.state.partner, this.batchId, this.state.attempt) };
    return sealReport(this.deps.s3, plain, target, reportRecipient!);
  }

  private timeIsShort(): boolean {
    return timeIsShort(this.deps, this.invocation);
  }

  /** Frees the batch for the next invocation, which carries on from the checkpoint. */
  private async pause(): Promise<IngestResult> {
    await this.deps.ledger.release(this.batchId, this.invocation.owner, 'paused for time; resumes from checkpoint');
    return { outcome: 'paused', state: this.state };
  }

  private async send(feed: FeedConfig): Promise<IngestResult> {
    const manifest = await readJson<StagingManifest>(this.deps.s3, this.state.validation!.staging!);
    const plan = this.state.sendPlan ?? (await this.planRanges(manifest));
    if (plan) return this.sendInRanges(feed, manifest, plan);
    const progress = await sendStagedItems({
      s3: this.deps.s3,
      sqs: this.deps.sqs,
      queueUrl: this.deps.settings.workQueueUrl,
      manifest,
      fromChunk: this.state.sendCheckpoint ?? 0,
      recordsPerMessage: feed.workItems.recordsPerMessage,
      concurrency: this.deps.settings.sendConcurrency,
      shouldStop: () => this.timeIsShort(),
      onChunkSent: (nextChunk, itemsSent) =>
        this.save({ sendCheckpoint: nextChunk, counts: { ...this.state.counts!, workItemsSent: itemsSent } }),
    });
    if (!progress.done) {
      this.logger.info('sending paused: invocation time is running out', { nextChunk: progress.nextChunk });
      return this.pause();
    }
    return this.completeSent(progress.itemsSent);
  }

  /**
   * Splits the send phase of a big batch into ranges when the stage sends in
   * parallel (a send-range queue and more than one sender). A batch that has
   * already begun sending in this invocation's way keeps going that way.
   */
  private async planRanges(manifest: StagingManifest): Promise<BatchState['sendPlan']> {
    const { sendRangesQueueUrl, maxSendRanges = 1, minChunksPerRange = DEFAULT_MIN_CHUNKS_PER_RANGE } = this.deps.settings;
    const count = Math.min(maxSendRanges, Math.floor(manifest.chunks.length / minChunksPerRange));
    if (!sendRangesQueueUrl || count < 2 || (this.state.sendCheckpoint ?? 0) > 0) return undefined;
    const plan = { plan: this.state.attempt, ranges: count };
    await this.save({ sendPlan: plan });
    await this.deps.ranges.plan(this.batchId, plan.plan, splitChunks(manifest.chunks.length, count));
    return plan;
  }

  /**
   * Sends the ranges not yet done: queued for the parallel range senders when
   * the stage has them (they complete the batch), else one after another here
   * (a replay, which carries on from each range's checkpoint). Ranges a failed
   * attempt left FAILED are reopened first.
   */
  private async sendInRanges(feed: FeedConfig, manifest: StagingManifest, plan: NonNullable<BatchState['sendPlan']>): Promise<IngestResult> {
    const open = (await this.deps.ranges.reopen(this.batchId, plan.plan)).filter((range) => range.status !== 'DONE');
    const messages = open.map((range) => ({ batchId: this.batchId, plan: plan.plan, index: range.index }));
    const queueUrl = this.deps.settings.sendRangesQueueUrl;
    if (messages.length && queueUrl) {
      await enqueueRanges(this.deps.sqs, queueUrl, messages);
      this.logger.info('sending in parallel ranges', { ranges: plan.ranges, queued: messages.length });
      await this.deps.ledger.release(this.batchId, this.invocation.owner, `sending in ${plan.ranges} ranges`);
      return { outcome: 'dispatched', state: this.state };
    }
    for (const message of messages) {
      const outcome = await sendRange(message, feed, manifest, rangeContextOf(this.deps, this.invocation));
      if (outcome === 'paused') return this.pause();
      if (outcome !== 'done') throw new RangeUnavailableError(message.index, outcome);
    }
    return this.completeRanges(plan);
  }

  /** Completes a fanned-out batch once every range is acknowledged; until then leaves it to the ranges still sending. */
  async completeRanges(plan: NonNullable<BatchState['sendPlan']>): Promise<IngestResult> {
    const ranges = await this.deps.ranges.list(this.batchId, plan.plan);
    if (ranges.length !== plan.ranges || ranges.some((range) => range.status !== 'DONE')) {
      await this.deps.ledger.release(this.batchId, this.invocation.owner, `sending in ${plan.ranges} ranges`);
      return { outcome: 'dispatched', state: this.state };
    }
    const manifest = await readJson<StagingManifest>(this.deps.s3, this.state.validation!.staging!);
    const sent = ranges.reduce((sum, range) => sum + itemsBefore(manifest, range.toChunk) - itemsBefore(manifest, range.fromChunk), 0);
    await this.save({ counts: { ...this.state.counts!, workItemsSent: sent } });
    return this.completeSent(sent);
  }

  private completeSent(itemsSent: number): Promise<IngestResult> {
    if (itemsSent !== this.state.counts!.valid) {
      throw new CountMismatchError(itemsSent, this.state.counts!.valid);
    }
    return this.finish(BatchStatus.COMPLETED);
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
