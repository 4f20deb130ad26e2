import { createHash } from 'node:crypto';
import { PUSH_QUARANTINE_PREFIX, PUSH_UPLOADS_PREFIX, pushedKeyOf } from '../landing/layout';
import { PushPathForeignError } from './errors';
import type { UploadReport } from './upload-event';

/**
 * Suffixes SFTP clients upload under before renaming to the final name at the
 * end: WinSCP's `.filepart`, and the common `.tmp`/`.part`. The final name is
 * what the feed patterns match, so it is what the batch is named.
 */
export const TEMPORARY_SUFFIXES = ['.filepart', '.tmp', '.part'] as const;

/** The name a file is ingested under: the uploaded name without a temporary suffix. */
export function finalNameOf(uploadedName: string): string {
  const suffix = TEMPORARY_SUFFIXES.find((candidate) => uploadedName.toLowerCase().endsWith(candidate) && uploadedName.length > candidate.length);
  return suffix ? uploadedName.slice(0, -suffix.length) : uploadedName;
}

/**
 * The id of one reported upload: the first 32 hex digits of SHA-256(server,
 * session, key, ETag). A redelivered event has the same id, hence the same
 * target key, so the hand-off can see it is done; a new upload of the same name
 * (another session or ETag) is a new id, hence a new batch.
 */
export function handoffIdOf(report: UploadReport): string {
  return createHash('sha256')
    .update(`${report.serverId}\n${report.sessionId}\n${report.key}\n${report.etag ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}

export interface HandoffPlan {
  readonly outcome: UploadReport['outcome'];
  readonly partner: string;
  /** The upload as the endpoint wrote it. */
  readonly sourceKey: string;
  /** pushed/<partner>/<id>/<final name> for a completed upload; quarantine/<partner>/<id>/<name> for a failed one. */
  readonly targetKey: string;
  /** The path the partner saw, from its logical `/`: what the batch's sftp:// URI names. */
  readonly partnerPath: string;
  readonly fileName: string;
}

/**
 * Where a reported upload goes. The user is the partner (a push partner's SFTP
 * user name is its id), and the object must lie in that partner's own folder,
 * as a plain file name: the endpoint maps the user's `/` there and nowhere else,
 * so anything else is refused (PushPathForeignError) rather than handed to a
 * partner it does not belong to. A sub-folder is refused too: feeds match file
 * names, and a pushed key holds one name.
 */
export function planHandoff(report: UploadReport, isPushPartner: (id: string) => boolean): HandoffPlan {
  const partner = report.user;
  if (!isPushPartner(partner)) throw new PushPathForeignError(partner, report.key, 'the user is no push partner');
  const folder = `${PUSH_UPLOADS_PREFIX}${partner}/`;
  if (!report.key.startsWith(folder)) throw new PushPathForeignError(partner, report.key, `not under ${folder}`);
  const uploadedName = report.key.slice(folder.length);
  if (uploadedName === '' || uploadedName.includes('/')) {
    throw new PushPathForeignError(partner, report.key, 'not a file directly in the partner folder');
  }
  const id = handoffIdOf(report);
  const fileName = finalNameOf(uploadedName);
  return {
    outcome: report.outcome,
    partner,
    sourceKey: report.key,
    targetKey: report.outcome === 'completed' ? pushedKeyOf(partner, id, fileName) : `${PUSH_QUARANTINE_PREFIX}${partner}/${id}/${uploadedName}`,
    partnerPath: `/${fileName}`,
    fileName,
  };
}
