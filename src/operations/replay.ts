import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { announce } from '../ingest/announce';
import { feedOfBatch, runLeasedAttempt, type IngestDeps, type Invocation } from '../ingest/ingest-object';
import { openObject } from '../ingest/archive';
import { LeaseLostError } from '../ledger/ledger';
import { BatchStatus, type BatchState } from '../ledger/types';
import { RejectionCode, type BatchReason } from '../pipeline/file-rejection';
import { DiscardingItemSink } from '../pipeline/sinks';
import { validateFile } from '../pipeline/validate-file';
import { CollectingRejectSink, type ReportedError } from '../report/collecting-reject-sink';
import { OperatorError } from './errors';

export interface ReplayRequest {
  readonly batchId: string;
  /** Replaying a COMPLETED batch sends its work items again (same ids): it must be asked for. */
  readonly force?: boolean;
  readonly dryRun?: boolean;
  /**
   * A FAILED batch's replay carries on from what its last attempt validated,
   * staged and sent; this starts over from the raw file instead (e.g. after a
   * configuration or schema change).
   */
  readonly fromScratch?: boolean;
  /** Who asked (an IAM principal ARN, a user name): recorded in the audit trail. */
  readonly actor: string;
}

export type ReplayResult =
  | {
      readonly dryRun: true;
      readonly batchId: string;
      readonly status: 'COMPLETED' | 'REJECTED';
      readonly reason: BatchReason | null;
      readonly counts: { records: number; valid: number; invalid: number };
      readonly errors: readonly ReportedError[];
    }
  | { readonly dryRun: false; readonly batchId: string; readonly state: BatchState };

const LEASE_GRACE_MS = 30_000;

async function replayable(batchId: string, force: boolean, deps: IngestDeps): Promise<BatchState> {
  const state = await deps.ledger.get(batchId);
  if (!state) throw new OperatorError('UNKNOWN_BATCH', `no batch ${batchId} in this stage`, 'find batch ids with `partner-ingest batches`');
  if (state.status === BatchStatus.PROCESSING || state.status === BatchStatus.RECEIVED) {
    throw new OperatorError('BATCH_BUSY', `batch ${batchId} is ${state.status}`, 'wait for the running attempt to finish, then replay');
  }
  if (state.status === BatchStatus.COMPLETED && !force) {
    throw new OperatorError(
      'NEEDS_FORCE',
      `batch ${batchId} is COMPLETED; a replay sends its work items again (with the same item ids)`,
      'add --force if that is what you want',
    );
  }
  const archive = state.archive;
  const missing = () =>
    new OperatorError('RAW_FILE_MISSING', `batch ${batchId} has no archived raw file to replay`, 'ask the partner to send the file again');
  if (!archive) throw missing();
  try {
    await deps.s3.send(new HeadObjectCommand({ Bucket: archive.bucket, Key: archive.key }));
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) throw missing();
    throw error;
  }
  return state;
}

/** What a replay would decide, with the configuration as it is now, without sending or changing anything. */
async function dryRun(state: BatchState, deps: IngestDeps): Promise<ReplayResult> {
  const partner = deps.registry.partners.get(state.partner);
  const feed = feedOfBatch(deps.registry, state);
  const empty = { records: 0, valid: 0, invalid: 0 };
  if (!feed) {
    const reason = partner
      ? { code: RejectionCode.UNKNOWN_FEED, message: `"${state.file.name}" matches no feed of partner ${partner.id}` }
      : { code: RejectionCode.UNKNOWN_PARTNER, message: `no partner "${state.partner}" is configured` };
    return { dryRun: true, batchId: state.batchId, status: 'REJECTED', reason, counts: empty, errors: [] };
  }
  const rejects = new CollectingRejectSink(20);
  const outcome = await validateFile({
    source: await openObject(deps.s3, state.archive!),
    feed,
    batchId: state.batchId,
    items: new DiscardingItemSink(),
    rejects,
  });
  return {
    dryRun: true,
    batchId: state.batchId,
    status: outcome.status,
    reason: outcome.reason ?? null,
    counts: outcome.counts,
    errors: rejects.errors,
  };
}

/**
 * Reprocesses a FAILED or REJECTED batch (COMPLETED with `force`) from its
 * archived raw file, as a new attempt of the same batch, with the partner
 * configuration and schemas as they are now. Work item ids are deterministic,
 * so consumers recognise items they already have. One attempt at a time: a
 * concurrent replay, or a running attempt, is refused. Every request, and its
 * outcome, goes to the batch's audit trail.
 */
export async function replayBatch(request: ReplayRequest, deps: IngestDeps, invocation: Invocation): Promise<ReplayResult> {
  const at = () => (deps.clock ?? (() => new Date()))().toISOString();
  const audit = (outcome: string, details: Record<string, unknown> = {}) =>
    deps.ledger.audit({
      at: at(),
      actor: request.actor,
      action: request.dryRun ? 'replay --dry-run' : request.force ? 'replay --force' : 'replay',
      batchId: request.batchId,
      details,
      outcome,
    });
  let state: BatchState;
  try {
    state = await replayable(request.batchId, Boolean(request.force), deps);
  } catch (error) {
    if (error instanceof OperatorError && error.code !== 'UNKNOWN_BATCH') await audit(`refused: ${error.code}`);
    throw error;
  }
  if (request.dryRun) {
    const result = await dryRun(state, deps);
    if (result.dryRun) await audit(`would be ${result.status}`, { counts: result.counts, reason: result.reason });
    return result;
  }
  const from = request.force ? [BatchStatus.FAILED, BatchStatus.REJECTED, BatchStatus.COMPLETED] : [BatchStatus.FAILED, BatchStatus.REJECTED];
  const resume = state.status === BatchStatus.FAILED && !request.fromScratch && Boolean(state.validation ?? state.validationProgress);
  const started = await deps.ledger.startAttempt(request.batchId, invocation.owner, invocation.remainingMs() + LEASE_GRACE_MS, from, resume);
  if (!started) {
    await audit('refused: BATCH_BUSY');
    throw new OperatorError('BATCH_BUSY', `batch ${request.batchId} is already being replayed or processed`, 'wait for that attempt to finish');
  }
  await audit(`started attempt ${started.attempt}${resume ? ' (resuming the previous attempt\'s progress)' : ''}`, {
    previousStatus: state.status,
    previousAttempt: state.attempt,
  });
  const logger = deps.logger.createChild({ persistentKeys: { batchId: request.batchId, replayAttempt: started.attempt } });
  let current = started;
  try {
    for (;;) {
      const result = await runLeasedAttempt(current, deps, invocation, logger);
      if (result.outcome !== 'paused') break;
      // Out of time in this invocation: the lease is free; take it again and carry on from the checkpoint.
      const lease = await deps.ledger.acquire(request.batchId, invocation.owner, invocation.remainingMs() + LEASE_GRACE_MS);
      if (lease.outcome !== 'acquired') break;
      current = lease.state;
    }
  } catch (error) {
    await audit(`attempt ${started.attempt} interrupted: ${(error as Error).message}`);
    if (error instanceof LeaseLostError) {
      throw new OperatorError('BATCH_BUSY', `batch ${request.batchId} was taken over by another attempt`, 'check it with `partner-ingest batch`');
    }
    throw error;
  }
  const finished = (await deps.ledger.get(request.batchId))!;
  if (finished.status !== BatchStatus.PROCESSING) await announce(deps, finished);
  await audit(`attempt ${finished.attempt} ${finished.status}`, { counts: finished.counts, reason: finished.reason });
  return { dryRun: false, batchId: request.batchId, state: finished };
}
