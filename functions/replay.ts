import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { ingestRuntime } from '../src/ingest/runtime';
import { metrics } from '../src/observability/telemetry';
import { OperatorError } from '../src/operations/errors';
import { replayBatch, type ReplayResult } from '../src/operations/replay';

interface ReplayEvent {
  readonly batchId?: unknown;
  readonly force?: unknown;
  readonly dryRun?: unknown;
  /** Who is asking, for the audit trail; defaults to this function. */
  readonly actor?: unknown;
}

/**
 * replay, for automation: `sls invoke -f replay --data '{"batchId":"…"}'`.
 * Refusals (unknown batch, busy, needs --force, raw file missing) are returned
 * as `{ refused: { code, message, hint } }`, not thrown, so callers need not retry them.
 */
export const handler = async (event: ReplayEvent, context: Context): Promise<ReplayResult | { refused: { code: string; message: string; hint: string } }> => {
  try {
    if (typeof event?.batchId !== 'string' || !/^[0-9a-f]{32}$/.test(event.batchId)) {
      return { refused: { code: 'BAD_REQUEST', message: `batchId must be a 32-hex-digit batch id, got ${JSON.stringify(event?.batchId)}`, hint: 'find batch ids with `partner-ingest batches`' } };
    }
    return await replayBatch(
      {
        batchId: event.batchId,
        force: event.force === true,
        dryRun: event.dryRun === true,
        actor: typeof event.actor === 'string' ? event.actor : `lambda:${context.functionName}`,
      },
      ingestRuntime(),
      { owner: `replay-${randomUUID()}`, remainingMs: () => context.getRemainingTimeInMillis() },
    );
  } catch (error) {
    if (error instanceof OperatorError) return { refused: { code: error.code, message: error.message, hint: error.hint } };
    throw error;
  } finally {
    metrics.publishStoredMetrics();
  }
};
