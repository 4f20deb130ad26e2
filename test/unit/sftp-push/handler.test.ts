/**
 * sftpPushHandoff's one handler serves two triggers: Transfer Family's upload
 * events (the hand-off) and the 15-minute schedule (the sweep). A scheduled
 * event taken for an upload event would fail as SFTP_PUSH_EVENT_INVALID on
 * every run and the sweep would never run; this pins the dispatch.
 */
const handOffUpload = jest.fn(async () => ({ outcome: 'handed-off' }));
const sweepPushUploads = jest.fn(async () => ({ unreported: [], partners: [] }));
const publishStoredMetrics = jest.fn();

// Hoisted above the constants: each factory reaches them only when called.
jest.mock('../../../src/sftp-push/handoff', () => ({ handOffUpload: (...args: unknown[]) => handOffUpload(...(args as [])) }));
jest.mock('../../../src/sftp-push/sweep', () => ({ sweepPushUploads: (...args: unknown[]) => sweepPushUploads(...(args as [])) }));
jest.mock('../../../src/sftp-push/runtime', () => ({
  sftpPushHandoffRuntime: () => ({ metrics: { publishStoredMetrics: () => publishStoredMetrics() } }),
  sftpPushSweepRuntime: () => ({ metrics: { publishStoredMetrics: () => publishStoredMetrics() } }),
}));

import { handler } from '../../../functions/sftp-push-handoff';

beforeEach(() => jest.clearAllMocks());

test("EventBridge's scheduled event runs the sweep, and publishes its metrics", async () => {
  const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', resources: ['arn:aws:events:eu-west-1:123456789012:rule/x'], detail: {} };
  expect(await handler(scheduled)).toEqual({ unreported: [], partners: [] });
  expect(sweepPushUploads).toHaveBeenCalledTimes(1);
  expect(handOffUpload).not.toHaveBeenCalled();
  expect(publishStoredMetrics).toHaveBeenCalledTimes(1);
});

test('an upload event (or anything else) goes to the hand-off, which judges it', async () => {
  for (const event of [{ source: 'aws.transfer', 'detail-type': 'SFTP Server File Upload Completed', detail: {} }, { source: 'aws.events', 'detail-type': 'Other' }, undefined]) {
    await handler(event);
  }
  expect(handOffUpload).toHaveBeenCalledTimes(3);
  expect(sweepPushUploads).not.toHaveBeenCalled();
});
