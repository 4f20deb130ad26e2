import { PushEventInvalidError, PushPathForeignError } from '../../../src/sftp-push/errors';
import { finalNameOf, handoffIdOf, planHandoff } from '../../../src/sftp-push/handoff-plan';
import { UPLOAD_COMPLETED, UPLOAD_FAILED, uploadReportOf } from '../../../src/sftp-push/upload-event';

/** An event shaped as Transfer Family documents it (event-detail-server-events.html). */
function transferEvent(detailType: string, detail: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: 'e7f4c1b2-0000-4000-8000-000000000000',
    source: 'aws.transfer',
    'detail-type': detailType,
    account: '123456789012',
    region: 'eu-west-1',
    resources: ['arn:aws:transfer:eu-west-1:123456789012:server/s-0123456789abcdef0'],
    detail: {
      'status-code': detailType === UPLOAD_COMPLETED ? 'COMPLETED' : 'FAILED',
      protocol: 'SFTP',
      bytes: 1794,
      'client-ip': '203.0.113.9',
      'end-timestamp': '2026-12-03T16:00:00Z',
      etag: '"9b2cf535f27731c974343645a3985328"',
      'file-path': '/partner-ingest-dev-landing-123456789012-eu-west-1/pushed-uploads/initrode/orders_2026-12-03.csv.filepart',
      'server-id': 's-0123456789abcdef0',
      username: 'initrode',
      'session-id': 'a1b2c3d4e5f6a7b8',
      'start-timestamp': '2026-12-03T15:59:58Z',
      ...(detailType === UPLOAD_FAILED ? { 'failure-code': 'PARTIAL_UPLOAD', 'failure-message': 'client disconnected' } : {}),
      ...detail,
    },
  };
}

const pushPartners = new Set(['initrode', 'vandelay']);
const isPushPartner = (id: string) => pushPartners.has(id);

describe('uploadReportOf', () => {
  test('reads a completed upload: bucket and key from file-path, the bare ETag, bytes, user, server, session', () => {
    expect(uploadReportOf(transferEvent(UPLOAD_COMPLETED))).toEqual({
      outcome: 'completed',
      serverId: 's-0123456789abcdef0',
      user: 'initrode',
      sessionId: 'a1b2c3d4e5f6a7b8',
      bucket: 'partner-ingest-dev-landing-123456789012-eu-west-1',
      key: 'pushed-uploads/initrode/orders_2026-12-03.csv.filepart',
      etag: '9b2cf535f27731c974343645a3985328',
      bytes: 1794,
    });
  });

  test('reads a failed upload with its failure code', () => {
    expect(uploadReportOf(transferEvent(UPLOAD_FAILED))).toMatchObject({ outcome: 'failed', failureCode: 'PARTIAL_UPLOAD', failureMessage: 'client disconnected' });
  });

  test('refuses another source or detail-type, a completed event whose status is not COMPLETED, a path without bucket and key', () => {
    const invalid = (event: unknown) => {
      expect(() => uploadReportOf(event)).toThrow(PushEventInvalidError);
    };
    invalid({ ...transferEvent(UPLOAD_COMPLETED), source: 'partner-ingest' });
    invalid(transferEvent('SFTP Server File Download Completed'));
    invalid(transferEvent(UPLOAD_COMPLETED, { 'status-code': 'FAILED' }));
    invalid(transferEvent(UPLOAD_COMPLETED, { 'file-path': '/only-a-bucket' }));
    invalid(transferEvent(UPLOAD_COMPLETED, { username: '' }));
    invalid(undefined);
  });
});

describe('finalNameOf', () => {
  test('drops the temporary suffix clients rename from, and nothing else', () => {
    expect(finalNameOf('orders_1.csv.filepart')).toBe('orders_1.csv');
    expect(finalNameOf('orders_1.csv.tmp')).toBe('orders_1.csv');
    expect(finalNameOf('orders_1.csv.PART')).toBe('orders_1.csv');
    expect(finalNameOf('orders_1.csv')).toBe('orders_1.csv');
    expect(finalNameOf('.filepart')).toBe('.filepart');
  });
});

describe('planHandoff', () => {
  test('a completed .filepart upload goes to pushed/<partner>/<id>/<final name>, named by its path on the server', () => {
    const report = uploadReportOf(transferEvent(UPLOAD_COMPLETED));
    const plan = planHandoff(report, isPushPartner);
    expect(plan).toEqual({
      outcome: 'completed',
      partner: 'initrode',
      sourceKey: 'pushed-uploads/initrode/orders_2026-12-03.csv.filepart',
      targetKey: `pushed/initrode/${handoffIdOf(report)}/orders_2026-12-03.csv`,
      partnerPath: '/orders_2026-12-03.csv',
      fileName: 'orders_2026-12-03.csv',
    });
  });

  test('a failed upload goes to quarantine/<partner>/<id>/ under the name it was uploaded as', () => {
    const report = uploadReportOf(transferEvent(UPLOAD_FAILED));
    expect(planHandoff(report, isPushPartner).targetKey).toBe(`quarantine/initrode/${handoffIdOf(report)}/orders_2026-12-03.csv.filepart`);
  });

  test('the same report always plans the same key; another session or ETag of the same name is another upload', () => {
    const report = uploadReportOf(transferEvent(UPLOAD_COMPLETED));
    expect(handoffIdOf({ ...report })).toBe(handoffIdOf(report));
    expect(new Set([report, { ...report, sessionId: 'other' }, { ...report, etag: 'other' }].map(handoffIdOf)).size).toBe(3);
  });

  test("refuses an upload outside the user's own folder, in a sub-folder, or by a user who is no push partner", () => {
    const foreign = (detail: Record<string, unknown>) => {
      expect(() => planHandoff(uploadReportOf(transferEvent(UPLOAD_COMPLETED, detail)), isPushPartner)).toThrow(PushPathForeignError);
    };
    foreign({ 'file-path': '/bucket/pushed-uploads/vandelay/orders_1.csv' });
    foreign({ 'file-path': '/bucket/inbound/initrode/orders_1.csv' });
    foreign({ 'file-path': '/bucket/pushed-uploads/initrode/sub/orders_1.csv' });
    foreign({ 'file-path': '/bucket/pushed-uploads/initrode/' });
    foreign({ username: 'acme', 'file-path': '/bucket/pushed-uploads/acme/orders_1.csv' });
  });
});
