import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PartnerRegistry } from '../config/load-partners';
import { resumeMessageBody } from '../ingest/file-event-messages';
import { routeBatch } from '../ingest/routing';
import { systemClock, type Clock } from '../platform/clock';
import { openObject } from '../landing/objects';
import type { Ledger } from '../ledger/batches';
import { BatchStatus, type BatchState } from '../ledger/types';
import type { BatchReason } from '../validate/errors';
import { DiscardingItemSink } from '../validate/sinks';
import { validateSegment } from '../validate/validate-file';
import { CollectingRejectSink, type ReportedError } from '../validate/collecting-reject-sink';
import { BadRequestError, OperatorError } from './errors';
import { requestObject } from './requests';

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
  /** Who asked, as authenticated (an IAM principal ARN): recorded in the audit trail. */
  readonly actor: string;
}

/** How a refusal's hint names the request's options: the CLI's flags, the API's JSON fields or the console's controls. */
export type OptionStyle = 'cli' | 'json' | 'console';

const OPTION_NAMES: Record<OptionStyle, Record<'force' | 'listBatches', string>> = {
  cli: { force: '--force', listBatches: '`partner-ingest batches`' },
  json: { force: '{"force":true}', listBatches: 'GET /batches' },
  console: { force: 'the "force" choice', listBatches: 'the Batches page' },
};

export type ReplayResult =
  | {
      readonly dryRun: true;
      readonly batchId: string;
      readonly status: 'COMPLETED' | 'REJECTED';
      readonly reason: BatchReason | null;
      readonly counts: { records: number; valid: number; invalid: number };
      readonly errors: readonly ReportedError[];
      /** False when the time the caller had ran out first: the counts so far, no decision. */
      readonly complete: boolean;
    }
  | {
      readonly dryRun: false;
      readonly batchId: string;
      readonly attempt: number;
      readonly status: 'QUEUED';
      /** True when the replay carries on an attempt whose lease had expired with nothing running it. */
      readonly tookOver: boolean;
    };

/** What a replay request needs: it only reads and queues; ingestFile does the work. */
export interface ReplayDeps {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly ledger: Ledger;
  readonly registry: PartnerRegistry;
  /** Where the replayed attempt runs: ingestFile's queue. */
  readonly fileEventsQueueUrl: string;
  readonly clock?: Clock;
}

export interface ReplayOptions {
  /** Time the caller has left (a dry run stops short of it and says so). */
  readonly remainingMs: () => number;
  readonly optionStyle: OptionStyle;
}

/** A lease is only taken over once it has been expired this long, so a continuation on its way is not raced. */
export const TAKEOVER_GRACE_MS = 30_000;
/** A dry run stops with this much of the caller's time left, to answer in time. */
const DRY_RUN_MARGIN_MS = 5_000;

const BATCH_ID = /^[0-9a-f]{32}$/;

/**
 * The replay request, as the API's body (and path) or the replay function's
 * event gives it: strictly the known fields, each of its type. `actor` is not
 * read from it: it comes from the authenticated identity.
 */
export function parseReplayRequest(input: unknown, batchIdFromPath?: string): Omit<ReplayRequest, 'actor'> {
  const body = requestObject(input, ['batchId', 'force', 'dryRun', 'fromScratch']);
  const batchId = batchIdFromPath ?? body.batchId;
  if (typeof batchId !== 'string' || !BATCH_ID.test(batchId)) {
    throw new BadRequestError(`batchId must be a batch id (32 hex digits), got ${JSON.stringify(batchId ?? null)}`);
  }
  if (batchIdFromPath !== undefined && body.batchId !== undefined && body.batchId !== batchIdFromPath) {
    throw new BadRequestError('batchId is in the path; the body must not name another one');
  }
  const flag = (name: 'force' | 'dryRun' | 'fromScratch') => {
    const value = body[name];
    if (value !== undefined && typeof value !== 'boolean') throw new BadRequestError(`${name} must be true or false, got ${JSON.stringify(value)}`);
    return value === true;
  };
  return { batchId, force: flag('force'), dryRun: flag('dryRun'), fromScratch: flag('fromScratch') };
}

async function archiveExists(s3: S3Client, state: BatchState): Promise<boolean> {
  if (!state.archive) return false;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: state.archive.bucket, Key: state.archive.key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

/**
 * What a replay would decide, with the configuration as it is now, without
 * sending or changing anything; it stops short of the caller's time and then
 * says how far it got.
 */
async function dryRun(state: BatchState, deps: ReplayDeps, options: ReplayOptions): Promise<ReplayResult> {
  const { feed, reason } = routeBatch(deps.registry, state);
  const empty = { records: 0, valid: 0, invalid: 0 };
  if (!feed) {
    return { dryRun: true, batchId: state.batchId, status: 'REJECTED', reason, counts: empty, errors: [], complete: true };
  }
  const rejects = new CollectingRejectSink(20);
  const outcome = await validateSegment({
    source: await openObject(deps.s3, state.archive!),
    feed,
    batchId: state.batchId,
    items: new DiscardingItemSink(),
    rejects,
    shouldPause: () => options.remainingMs() < DRY_RUN_MARGIN_MS,
  });
  if (outcome.status === 'PAUSED') {
    return { dryRun: true, batchId: state.batchId, status: 'COMPLETED', reason: null, counts: outcome.checkpoint.counts, errors: rejects.errors, complete: false };
  }
  return { dryRun: true, batchId: state.batchId, status: outcome.status, reason: outcome.reason ?? null, counts: outcome.counts, errors: rejects.errors, complete: true };
}

/**
 * Replays a batch: a FAILED or REJECTED one (COMPLETED with `force`) as a new
 * attempt, from its archived raw file, with the partner configuration and
 * schemas as they are now; work item ids are deterministic, so consumers
 * recognise items they already have. The attempt is started in the ledger and
 * handed to ingestFile through its queue, where it runs, pauses and continues
 * like any ingest — the request answers at once. A PROCESSING batch whose lease
 * expired with nothing running it is taken over (its attempt carries on); a
 * live one is refused, saying who holds it until when. Every request and its
 * outcome go to the batch's audit trail.
 */
export async function replayBatch(request: ReplayRequest, deps: ReplayDeps, options: ReplayOptions): Promise<ReplayResult> {
  const now = deps.clock ?? systemClock;
  const names = OPTION_NAMES[options.optionStyle];
  const action = request.dryRun ? 'replay --dry-run' : [`replay`, request.force ? '--force' : '', request.fromScratch ? '--from-scratch' : ''].filter(Boolean).join(' ');
  const audit = (outcome: string, details: Record<string, unknown> = {}) =>
    deps.ledger.audit({ at: now().toISOString(), actor: request.actor, action, batchId: request.batchId, details, outcome });
  const refuse = async (error: OperatorError): Promise<never> => {
    await audit(`refused: ${error.code}`);
    throw error;
  };

  const state = await deps.ledger.get(request.batchId);
  if (!state) throw new OperatorError('UNKNOWN_BATCH', `no batch ${request.batchId} in this stage`, `find batch ids with ${names.listBatches}`);
  if (!(await archiveExists(deps.s3, state))) {
    await refuse(new OperatorError('RAW_FILE_MISSING', `batch ${request.batchId} has no archived raw file to replay`, 'ask the partner to send the file again'));
  }
  if (request.dryRun) {
    const result = await dryRun(state, deps, options);
    if (result.dryRun) await audit(result.complete ? `would be ${result.status}` : `dry run stopped after ${result.counts.records} records: time ran out`, { counts: result.counts, reason: result.reason });
    return result;
  }

  const running = state.status === BatchStatus.PROCESSING || state.status === BatchStatus.RECEIVED;
  if (running) {
    const expiredAt = state.leaseExpiresAt ?? 0;
    if (expiredAt + TAKEOVER_GRACE_MS > now().getTime()) {
      await refuse(
        new OperatorError(
          'BATCH_BUSY',
          `batch ${request.batchId} is ${state.status}: attempt ${state.attempt} holds its lease${state.leaseOwner ? ` (${state.leaseOwner})` : ''} until ${new Date(expiredAt).toISOString()}`,
          `wait for that attempt to finish; a lease that expires with nothing running the batch is taken over by a replay ${Math.round(TAKEOVER_GRACE_MS / 1000)} s later`,
        ),
      );
    }
    if (!request.fromScratch) {
      await queueAttempt(deps, request.batchId, state.attempt);
      await audit(`took over attempt ${state.attempt}: its lease had expired${expiredAt ? ` at ${new Date(expiredAt).toISOString()}` : ''}; queued to carry on`);
      return { dryRun: false, batchId: request.batchId, attempt: state.attempt, status: 'QUEUED', tookOver: true };
    }
  } else if (state.status === BatchStatus.COMPLETED && !request.force) {
    await refuse(
      new OperatorError(
        'NEEDS_FORCE',
        `batch ${request.batchId} is COMPLETED; a replay sends its work items again (with the same item ids)`,
        `add ${names.force} if that is what you want`,
      ),
    );
  }
  const from = request.force ? [BatchStatus.FAILED, BatchStatus.REJECTED, BatchStatus.COMPLETED] : [BatchStatus.FAILED, BatchStatus.REJECTED];
  const resume = state.status === BatchStatus.FAILED && !request.fromScratch && Boolean(state.validation ?? state.validationProgress);
  // The attempt starts with its lease already expired: ingestFile takes it when the message arrives.
  const started = await deps.ledger.startAttempt(request.batchId, `replay-request:${request.actor}`, 0, from, resume, running ? now().getTime() - TAKEOVER_GRACE_MS : undefined);
  if (!started) {
    await refuse(new OperatorError('BATCH_BUSY', `batch ${request.batchId} is already being replayed or processed`, 'wait for that attempt to finish'));
  }
  try {
    await queueAttempt(deps, request.batchId, started!.attempt);
  } catch (error) {
    // Nothing runs the attempt: its lease is expired, so the next replay request takes it over.
    await audit(`attempt ${started!.attempt} started but could not be queued: ${(error as Error).message}`);
    throw error;
  }
  await audit(`queued attempt ${started!.attempt}${resume ? " (resuming the previous attempt's progress)" : ''}`, {
    previousStatus: state.status,
    previousAttempt: state.attempt,
  });
  return { dryRun: false, batchId: request.batchId, attempt: started!.attempt, status: 'QUEUED', tookOver: false };
}

async function queueAttempt(deps: ReplayDeps, batchId: string, attempt: number): Promise<void> {
  await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.fileEventsQueueUrl, MessageBody: resumeMessageBody(batchId, attempt) }));
}
