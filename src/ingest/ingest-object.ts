import type { Logger } from '@aws-lambda-powertools/logger';
import type { FeedConfig } from '../config/types';
import { messageOf } from '../platform/errors';
import { systemClock } from '../platform/clock';
import { batchIdOf } from '../ledger/batch-id';
import { LeaseLostError } from '../ledger/errors';
import { BatchStatus, type BatchSource, type BatchState } from '../ledger/types';
import type { BatchReason } from '../validate/errors';
import { headSource, SOURCE_URI_METADATA, type SourceFacts } from '../landing/archive';
import { SourceUnavailableError } from '../landing/errors';
import { LANDING_PREFIXES, parseLandingKey, type LandingKey } from '../landing/layout';
import type { CreatedObject } from '../landing/s3-event';
import { announce } from './announce';
import { BatchRun } from './batch-run';
import { LEASE_GRACE_MS } from './constants';
import { AttemptInterruptedError, IngestFaultError } from './errors';
import { controlFileFeed } from './control-file';
import { feedOfBatch, routeBatch } from './routing';
import type { IngestDeps, IngestResult, Invocation } from './types';

/**
 * Where the batch's file came from: the key says how it landed; only a pulled or
 * pushed file's metadata names its SFTP path (trusted there alone: only sftp-pull
 * writes pulled/, only the push hand-off pushed/). A pushed file's user is the
 * partner its key names.
 */
function sourceOf(object: CreatedObject, landing: LandingKey, facts: SourceFacts | undefined): BatchSource {
  const s3Uri = `s3://${object.bucket}/${object.key}`;
  return {
    type: landing.via,
    uri: (landing.via !== 's3' && facts?.metadata[SOURCE_URI_METADATA]) || s3Uri,
    ...(landing.via === 'sftp-push' ? { user: landing.partner } : {}),
    bucket: object.bucket,
    key: object.key,
    ...(object.versionId ? { versionId: object.versionId } : {}),
    ...(object.etag ?? facts?.etag ? { etag: (object.etag ?? facts?.etag)!.replace(/"/g, '') } : {}),
  };
}

/** HEAD of the announced version; a vanished object is an answer, not an error. */
async function describe(deps: IngestDeps, object: CreatedObject): Promise<{ facts?: SourceFacts; unavailable?: SourceUnavailableError }> {
  try {
    return { facts: await headSource(deps.s3, object) };
  } catch (error) {
    if (error instanceof SourceUnavailableError) return { unavailable: error };
    throw error;
  }
}

/**
 * Records the batch of an announced object in the ledger, the first time it is
 * seen (false when it was known already). The id is the object's identity as
 * announced: bucket, key and version (or ETag where there is none).
 */
export async function registerBatch(
  object: CreatedObject,
  landing: LandingKey,
  facts: SourceFacts | undefined,
  deps: Pick<IngestDeps, 'ledger' | 'registry' | 'clock'>,
): Promise<{ batchId: string; registered: boolean; feed?: FeedConfig }> {
  const batchId = batchIdOf(object);
  const { feed } = routeBatch(deps.registry, { partner: landing.partner, file: { name: landing.fileName } });
  const bytes = object.size ?? facts?.bytes;
  const registered = await deps.ledger.register({
    batchId,
    partner: landing.partner,
    feed: feed?.id ?? null,
    source: sourceOf(object, landing, facts),
    file: { name: landing.fileName, ...(bytes === undefined ? {} : { bytes }) },
    receivedAt: (deps.clock ?? systemClock)().toISOString(),
  });
  return { batchId, registered, ...(feed ? { feed } : {}) };
}

/**
 * Takes one announced object through its batch: register → lease → archive →
 * validate into staging → decide → send → finish → announce. Every step
 * records its result in the ledger, so a retry or a resumed invocation carries
 * on from the last completed step instead of starting over. The batch is
 * registered before any call that can fail on the object itself, so a fault
 * shows in the ledger; any fault surfaces as IngestFaultError naming the batch.
 */
export async function ingestObject(object: CreatedObject, deps: IngestDeps, invocation: Invocation): Promise<IngestResult> {
  const landing = parseLandingKey(object.key);
  if (!landing) return { outcome: 'ignored', reason: `${object.key} is not under ${Object.values(LANDING_PREFIXES).join(' or ')}<partner>/` };
  const controlOf = controlFileFeed(deps.registry, landing.partner, landing.fileName);
  if (controlOf) return { outcome: 'control-file', feed: controlOf.id };
  let batchId: string | undefined;
  try {
    // An event that names no version (S3 omits it while a bucket's versioning is suspended) gets the
    // one HEAD finds under the announced ETag: the batch id must name a version, so HEAD comes first.
    let described = object.versionId ? {} : await describe(deps, object);
    if (!object.versionId && described.facts?.versionId) object = { ...object, versionId: described.facts.versionId };
    const batch = await registerBatch(object, landing, described.facts, deps);
    batchId = batch.batchId;
    const logger = deps.logger.createChild({ persistentKeys: { batchId, partner: landing.partner, feed: batch.feed?.id } });
    if (!batch.registered) logger.info('batch already known; checking its state');
    // A pulled or pushed file's source is its SFTP path, which only its object metadata says.
    if (landing.via !== 's3' && !described.facts && !described.unavailable) {
      described = await describe(deps, object);
      if (described.facts) await deps.ledger.describeSource(batchId, sourceOf(object, landing, described.facts));
    }

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
    return await runLeasedAttempt(lease.state, deps, invocation, logger, object, described.unavailable);
  } catch (error) {
    if (error instanceof AttemptInterruptedError || error instanceof IngestFaultError) throw error;
    throw new IngestFaultError(batchId, error, object);
  }
}

/**
 * Carries on a batch already in the ledger — an operator's replay, queued as a
 * new attempt, or a batch whose lease expired with nothing left to resume it:
 * takes its lease and runs its current attempt from its progress.
 */
export async function resumeBatch(batchId: string, deps: IngestDeps, invocation: Invocation): Promise<IngestResult> {
  try {
    const lease = await deps.ledger.acquire(batchId, invocation.owner, invocation.remainingMs() + LEASE_GRACE_MS);
    const logger = deps.logger.createChild({ persistentKeys: { batchId, partner: lease.state.partner, feed: lease.state.feed ?? undefined } });
    if (lease.outcome === 'busy') return { outcome: 'busy', batchId };
    if (lease.outcome === 'finished') {
      await announce(deps, lease.state);
      return { outcome: 'duplicate', state: lease.state };
    }
    logger.info('resuming the batch', { attempt: lease.state.attempt });
    return await runLeasedAttempt(lease.state, deps, invocation, logger);
  } catch (error) {
    if (error instanceof AttemptInterruptedError || error instanceof IngestFaultError) throw error;
    throw new IngestFaultError(batchId, error);
  }
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
  const run = new BatchRun(deps, invocation, logger, state, source, feedOfBatch(deps.registry, state));
  try {
    if (unavailable && !state.archive) return await run.finish(BatchStatus.FAILED, unavailable);
    return await run.execute();
  } catch (error) {
    if (error instanceof LeaseLostError) throw error;
    if (error instanceof SourceUnavailableError) return run.finish(BatchStatus.FAILED, error);
    logger.error('attempt interrupted; releasing the batch for a retry', { error: error as Error });
    await deps.ledger.release(state.batchId, invocation.owner, messageOf(error)).catch(() => undefined);
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

