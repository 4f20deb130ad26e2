import { PushEventInvalidError } from './errors';

/**
 * The two Transfer Family server events the hand-off acts on. Transfer Family
 * sends them to the account's default bus, source `aws.transfer`
 * (https://docs.aws.amazon.com/transfer/latest/userguide/eventbridge.html;
 * detail fields: .../event-detail-server-events.html).
 */
export const UPLOAD_COMPLETED = 'SFTP Server File Upload Completed';
export const UPLOAD_FAILED = 'SFTP Server File Upload Failed';

/** One upload as Transfer Family reported its end. */
export interface UploadReport {
  readonly outcome: 'completed' | 'failed';
  readonly serverId: string;
  readonly user: string;
  readonly sessionId: string;
  /** The object written, from `file-path` (`/<bucket>/<key>` on an S3 server). */
  readonly bucket: string;
  readonly key: string;
  /** ETag of the object as the upload left it, when reported (S3 only). */
  readonly etag?: string;
  readonly bytes?: number;
  /** For a failed upload: PARTIAL_UPLOAD, UNKNOWN_ERROR, … */
  readonly failureCode?: string;
  readonly failureMessage?: string;
}

interface TransferEvent {
  source?: unknown;
  'detail-type'?: unknown;
  detail?: Record<string, unknown>;
}

function text(detail: Record<string, unknown>, field: string): string {
  const value = detail[field];
  if (typeof value !== 'string' || value === '') throw new PushEventInvalidError(`detail.${field} is missing`);
  return value;
}

const optionalText = (detail: Record<string, unknown>, field: string) =>
  typeof detail[field] === 'string' && detail[field] !== '' ? (detail[field] as string) : undefined;

/**
 * Reads an EventBridge event from Transfer Family. Throws
 * PushEventInvalidError for anything else (another source, another
 * detail-type, a path that names no bucket and key), so a rule that matches too
 * much fails loudly instead of handing off what it should not.
 */
export function uploadReportOf(event: unknown): UploadReport {
  const { source, 'detail-type': detailType, detail } = (event ?? {}) as TransferEvent;
  if (source !== 'aws.transfer') throw new PushEventInvalidError(`source ${JSON.stringify(source)}`);
  if (detailType !== UPLOAD_COMPLETED && detailType !== UPLOAD_FAILED) throw new PushEventInvalidError(`detail-type ${JSON.stringify(detailType)}`);
  if (!detail || typeof detail !== 'object') throw new PushEventInvalidError('no detail');
  const filePath = text(detail, 'file-path');
  const match = /^\/([^/]+)\/(.+)$/.exec(filePath);
  if (!match) throw new PushEventInvalidError(`file-path ${JSON.stringify(filePath)} is not /<bucket>/<key>`);
  const status = optionalText(detail, 'status-code');
  const outcome = detailType === UPLOAD_COMPLETED ? 'completed' : 'failed';
  // A "completed" event whose status says otherwise is not trusted as complete.
  if (outcome === 'completed' && status !== undefined && status !== 'COMPLETED') {
    throw new PushEventInvalidError(`${UPLOAD_COMPLETED} with status-code ${status}`);
  }
  const bytes = detail.bytes === undefined ? undefined : Number(detail.bytes);
  const etag = optionalText(detail, 'etag')?.replace(/"/g, '');
  const failureCode = optionalText(detail, 'failure-code');
  const failureMessage = optionalText(detail, 'failure-message');
  return {
    outcome,
    serverId: text(detail, 'server-id'),
    user: text(detail, 'username'),
    sessionId: text(detail, 'session-id'),
    bucket: match[1]!,
    key: match[2]!,
    ...(etag ? { etag } : {}),
    ...(bytes !== undefined && Number.isFinite(bytes) ? { bytes } : {}),
    ...(failureCode ? { failureCode } : {}),
    ...(failureMessage ? { failureMessage } : {}),
  };
}
