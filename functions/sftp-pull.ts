import type { Context } from 'aws-lambda';
import { pullAll, SFTP_PULL_STOP_MARGIN_MS, type PartnerOutcome } from '../src/sftp/pull-all';
import { sftpPullRuntime } from '../src/sftp/runtime';

/**
 * sftp-pull: runs on each partner's schedule (the schedule's input names the
 * partners) and hands stable remote files to the landing bucket exactly once.
 */
export const handler = async (event: { partners?: string[] } | undefined, context: Context): Promise<PartnerOutcome[]> => {
  const deps = sftpPullRuntime();
  try {
    return await pullAll(
      deps,
      {
        runId: context.awsRequestId,
        owner: context.awsRequestId,
        remainingMs: () => context.getRemainingTimeInMillis(),
        stopMarginMs: SFTP_PULL_STOP_MARGIN_MS,
      },
      event?.partners,
    );
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};
