import { handOffUpload, type HandoffResult } from '../src/sftp-push/handoff';
import { sftpPushHandoffRuntime } from '../src/sftp-push/runtime';

/**
 * sftp-push hand-off: invoked by the EventBridge rule on Transfer Family's
 * "SFTP Server File Upload Completed/Failed" events of this stage's server.
 */
export const handler = async (event: unknown): Promise<HandoffResult> => {
  const deps = sftpPushHandoffRuntime();
  try {
    return await handOffUpload(event, deps);
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};
