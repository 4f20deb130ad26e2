import type { Context } from 'aws-lambda';
import { BadRequestError, OperatorError } from '../src/operations/errors';
import { parseReplayRequest, replayBatch, type ReplayResult } from '../src/operations/replay';
import { operatorRuntime } from '../src/operations/runtime';

type Refusal = { refused: { code: string; message: string; hint?: string } };

/**
 * replay, for automation: `sls invoke -f replay --data '{"batchId":"…"}'` (also
 * `force`, `dryRun`, `fromScratch`). The attempt is queued for ingestFile and
 * the answer comes at once: `{"batchId","attempt","status":"QUEUED"}`.
 * Refusals (bad request, unknown batch, busy, needs force, raw file missing) are
 * returned as `{ refused: { code, message, hint } }`, not thrown, so callers need
 * not retry them. The actor recorded is this function (who invoked it, CloudTrail
 * knows): never a name from the payload.
 */
export const handler = async (event: unknown, context: Context): Promise<ReplayResult | Refusal> => {
  try {
    const request = parseReplayRequest(event);
    return await replayBatch({ ...request, actor: context.invokedFunctionArn }, operatorRuntime(), {
      remainingMs: () => context.getRemainingTimeInMillis(),
      optionStyle: 'json',
    });
  } catch (error) {
    if (error instanceof BadRequestError) return { refused: { code: error.code, message: error.message } };
    if (error instanceof OperatorError) return { refused: { code: error.code, message: error.message, hint: error.hint } };
    throw error;
  }
};
