import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { PUSH_UPLOADS_PREFIX } from '../landing/layout';
import { PushPathForeignError } from './errors';
import { handOffReport, type HandoffResult, type PushHandoffDeps } from './handoff';
import type { UploadReport } from './upload-event';

export interface ManualHandoff {
  readonly partner: string;
  /** The upload's key in the landing bucket (`pushed-uploads/<partner>/<name>`), as the sweep logged it. */
  readonly key: string;
  /** The stage's Transfer Family server (stack output SftpPushServerId): the batch's sftp:// URI names its host. */
  readonly serverId: string;
}

/** The session id a hand-off by an operator reports; Transfer Family's are never this. */
export const OPERATOR_SESSION = 'operator';

/**
 * Hands off an upload the sweep reported (its event never came), as if
 * Transfer Family had reported it complete now: the object's current version,
 * by its ETag and size. Run it only once the upload is known to be complete
 * (the partner says so, or the file checks out): without its event nothing
 * tells a partial upload from a complete one. Safe to repeat, and safe if the
 * event turns up after all: the hand-off's marker makes either a no-op
 * (`already-handed-off`).
 */
export async function handOffByKey(request: ManualHandoff, deps: PushHandoffDeps): Promise<HandoffResult> {
  // Refused before any read: a key elsewhere in the bucket is no push upload, whatever is there.
  const folder = `${PUSH_UPLOADS_PREFIX}${request.partner}/`;
  if (!request.key.startsWith(folder)) throw new PushPathForeignError(request.partner, request.key, `not under ${folder}`);
  const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.landingBucket, Key: request.key }));
  const report: UploadReport = {
    outcome: 'completed',
    serverId: request.serverId,
    user: request.partner,
    sessionId: OPERATOR_SESSION,
    bucket: deps.landingBucket,
    key: request.key,
    ...(head.ETag ? { etag: head.ETag.replace(/"/g, '') } : {}),
    ...(head.ContentLength !== undefined ? { bytes: head.ContentLength } : {}),
  };
  return handOffReport(report, deps);
}
