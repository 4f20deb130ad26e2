import { handOffUpload, type HandoffResult } from '../src/sftp-push/handoff';
import { sftpPushHandoffRuntime, sftpPushSweepRuntime } from '../src/sftp-push/runtime';
import { sweepPushUploads, type SweepResult } from '../src/sftp-push/sweep';

/** EventBridge's scheduled events: the sweep's 15-minute rule (scripts/sftp-push-delivery.js). */
const isScheduled = (event: unknown) => (event as { source?: unknown })?.source === 'aws.events' && (event as { 'detail-type'?: unknown })['detail-type'] === 'Scheduled Event';

/**
 * sftp-push hand-off: invoked by the EventBridge rule on Transfer Family's
 * "SFTP Server File Upload Completed/Failed" events of this stage's server, and
 * every 15 minutes by the sweep's schedule, which reports uploads no event
 * handed off. One function: the sweep needs the same bucket, registry and
 * almost the same grants (a listing more).
 */
export const handler = async (event: unknown): Promise<HandoffResult | SweepResult> => {
  if (isScheduled(event)) {
    const deps = sftpPushSweepRuntime();
    try {
      return await sweepPushUploads(deps);
    } finally {
      deps.metrics.publishStoredMetrics();
    }
  }
  const deps = sftpPushHandoffRuntime();
  try {
    return await handOffUpload(event, deps);
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};
