import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PartnerRegistry } from '../config/load-partners';
import { SOURCE_URI_METADATA } from '../landing/archive';
import { copyInParts, copySourceOf, DEFAULT_COPY_OPTIONS, sourcePin, type CopyOptions, type PinnedSource } from '../landing/multipart-copy';
import { PUSH_UPLOADS_PREFIX } from '../landing/layout';
import { emit, type ServiceMetrics } from '../platform/telemetry';
import { PushPathForeignError } from './errors';
import { finalNameOf, planHandoff, type HandoffPlan } from './handoff-plan';
import { MARKER_TARGET_METADATA, markerKeyOf, renameMarkerKeyOf } from './handoff-marker';
import { uploadReportOf, type UploadReport } from './upload-event';

export interface PushHandoffDeps {
  readonly s3: S3Client;
  readonly landingBucket: string;
  readonly registry: PartnerRegistry;
  /** The endpoint's host name, for the batch's sftp:// URI (`<server id>.server.transfer.<region>.amazonaws.com`). */
  readonly hostOf: (serverId: string) => string;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  /** When to copy part by part; CopyObject's 5 GiB by default (tests lower it). */
  readonly copyOptions?: Partial<CopyOptions>;
}

export type HandoffResult =
  | { readonly outcome: 'handed-off'; readonly partner: string; readonly key: string }
  | { readonly outcome: 'already-handed-off'; readonly partner: string; readonly key: string }
  | { readonly outcome: 'quarantined'; readonly partner: string; readonly key: string }
  /** The reported upload is no longer there as reported: replaced by a newer upload (which has its own event) or removed. */
  | { readonly outcome: 'superseded'; readonly partner: string; readonly key: string };

/** The metric a failed (partial) upload counts, per partner; the alarm watches it. */
export const UPLOAD_FAILED_METRIC = 'SftpPushUploadFailed';

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

async function head(s3: S3Client, bucket: string, key: string): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    if (statusOf(error) === 404 || (error as Error).name === 'NotFound') return undefined;
    throw error;
  }
}

const bareEtag = (etag: string | undefined) => etag?.replace(/"/g, '');

/**
 * The version of the upload the report describes: the object at the reported
 * key with the reported ETag (its size when no ETag is reported). A client that
 * uploads to `x.filepart` renames it to `x` as soon as the upload completes,
 * before this runs, and S3 has no rename (Transfer Family copies and deletes),
 * so when the temporary name is gone the final name is looked at, and taken only
 * if its size is the reported one.
 */
async function reportedVersion(deps: PushHandoffDeps, report: UploadReport, plan: HandoffPlan): Promise<{ key: string; head: HeadObjectCommandOutput } | undefined> {
  const matches = (found: HeadObjectCommandOutput, byEtag: boolean) =>
    byEtag && report.etag ? bareEtag(found.ETag) === report.etag : report.bytes === undefined || found.ContentLength === report.bytes;
  const atReported = await head(deps.s3, deps.landingBucket, plan.sourceKey);
  if (atReported) return matches(atReported, true) ? { key: plan.sourceKey, head: atReported } : undefined;
  const renamedKey = `${PUSH_UPLOADS_PREFIX}${plan.partner}/${finalNameOf(plan.sourceKey.slice(`${PUSH_UPLOADS_PREFIX}${plan.partner}/`.length))}`;
  if (renamedKey === plan.sourceKey) return undefined;
  const atFinal = await head(deps.s3, deps.landingBucket, renamedKey);
  return atFinal && report.bytes !== undefined && atFinal.ContentLength === report.bytes ? { key: renamedKey, head: atFinal } : undefined;
}

/**
 * Copies the version found, pinned to it (its version id; its ETag too in an
 * unversioned bucket), so what is copied is what was checked: one CopyObject up
 * to 5 GiB, beyond that the multipart copy the archive uses (UploadPartCopy by
 * byte ranges, aborted on failure). An SFTP upload may be as large as S3 takes.
 */
async function copyVersion(deps: PushHandoffDeps, from: { key: string; head: HeadObjectCommandOutput }, to: string, metadata: Record<string, string>): Promise<string | undefined> {
  const settings = { ...DEFAULT_COPY_OPTIONS, ...deps.copyOptions };
  const versionId = from.head.VersionId;
  const etag = bareEtag(from.head.ETag);
  const source: PinnedSource = {
    bucket: deps.landingBucket,
    key: from.key,
    bytes: from.head.ContentLength ?? 0,
    ...(versionId ? { versionId } : {}),
    ...(etag ? { etag } : {}),
  };
  const target = { bucket: deps.landingBucket, key: to };
  if (source.bytes > settings.multipartThresholdBytes) {
    await copyInParts(deps.s3, source, target, { Metadata: metadata }, settings);
  } else {
    await deps.s3.send(
      new CopyObjectCommand({ Bucket: target.bucket, Key: target.key, CopySource: copySourceOf(source), ...sourcePin(source), MetadataDirective: 'REPLACE', Metadata: metadata }),
    );
  }
  return versionId;
}

/** The key a completed upload ends up under in the partner folder, once a client's closing rename is done. */
const finalUploadKeyOf = (plan: HandoffPlan) => `${PUSH_UPLOADS_PREFIX}${plan.partner}/${plan.fileName}`;

/**
 * Records that `found` was handed off to `targetKey` (handoff-marker.ts), for the
 * sweep and for a second hand-off of the same upload by another route (an
 * operator's, then the late event). Found under a temporary name that the
 * client will rename, the upload also gets a marker by its final name and size.
 * Written after the copy: a hand-off that fails in between is retried, and
 * writes them then.
 */
async function markHandedOff(deps: PushHandoffDeps, plan: HandoffPlan, found: { key: string; head: HeadObjectCommandOutput }, targetKey: string): Promise<void> {
  const marker = (key: string) =>
    deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.landingBucket,
        Key: key,
        Body: JSON.stringify({ upload: found.key, etag: found.head.ETag, bytes: found.head.ContentLength, target: targetKey }),
        ContentType: 'application/json',
        Metadata: { [MARKER_TARGET_METADATA]: targetKey },
      }),
    );
  await marker(markerKeyOf(plan.partner, found.key, found.head.ETag ?? ''));
  const finalKey = finalUploadKeyOf(plan);
  if (found.key !== finalKey) await marker(renameMarkerKeyOf(plan.partner, finalKey, found.head.ContentLength ?? 0));
}

/**
 * Hands one upload Transfer Family reported on to where it belongs: the
 * EventBridge event read (uploadReportOf), then handOffReport.
 */
export function handOffUpload(event: unknown, deps: PushHandoffDeps): Promise<HandoffResult> {
  return handOffReport(uploadReportOf(event), deps);
}

/**
 * A completed upload is copied to `pushed/<partner>/<id>/<final name>` (ingested
 * from there) unless it was handed off already: by an earlier delivery of the
 * same report (its target exists) or by another route (its marker exists); the
 * original stays for the client's closing rename and expires with
 * pushed-uploads/'s lifecycle. A failed upload's partial object is copied to
 * `quarantine/<partner>/<id>/…`, that version deleted, and counted
 * (SftpPushUploadFailed): it is never ingested.
 */
export async function handOffReport(report: UploadReport, deps: PushHandoffDeps): Promise<HandoffResult> {
  if (report.bucket !== deps.landingBucket) throw new PushPathForeignError(report.user, `s3://${report.bucket}/${report.key}`, 'not in the landing bucket');
  const plan = planHandoff(report, (id) => deps.registry.partners.get(id)?.sources.sftpPush !== undefined);
  const logger = deps.logger.createChild({ persistentKeys: { partner: plan.partner, upload: plan.sourceKey, sessionId: report.sessionId } });

  if (plan.outcome === 'failed') {
    emit(deps.metrics, UPLOAD_FAILED_METRIC, 1, { partner: plan.partner });
    logger.warn('SFTP push upload failed; quarantining what it left', { failureCode: report.failureCode, failureMessage: report.failureMessage, bytes: report.bytes });
    const found = await head(deps.s3, deps.landingBucket, plan.sourceKey);
    if (!found || (report.etag && bareEtag(found.ETag) !== report.etag)) return { outcome: 'superseded', partner: plan.partner, key: plan.sourceKey };
    const versionId = await copyVersion(deps, { key: plan.sourceKey, head: found }, plan.targetKey, {});
    await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.landingBucket, Key: plan.sourceKey, ...(versionId ? { VersionId: versionId } : {}) }));
    return { outcome: 'quarantined', partner: plan.partner, key: plan.targetKey };
  }

  if (await head(deps.s3, deps.landingBucket, plan.targetKey)) {
    logger.info('upload already handed off (a repeated event)', { key: plan.targetKey });
    // The earlier try may have stopped between the copy and its marker.
    const found = await reportedVersion(deps, report, plan);
    if (found) await markHandedOff(deps, plan, found, plan.targetKey);
    return { outcome: 'already-handed-off', partner: plan.partner, key: plan.targetKey };
  }
  const found = await reportedVersion(deps, report, plan);
  if (!found) {
    logger.warn('the reported upload is no longer there as reported; a newer upload of the name has its own event');
    return { outcome: 'superseded', partner: plan.partner, key: plan.sourceKey };
  }
  const marked = await head(deps.s3, deps.landingBucket, markerKeyOf(plan.partner, found.key, found.head.ETag ?? ''));
  if (marked) {
    const key = marked.Metadata?.[MARKER_TARGET_METADATA] ?? plan.targetKey;
    logger.info('upload already handed off by another route (an operator, or the event after one)', { key });
    return { outcome: 'already-handed-off', partner: plan.partner, key };
  }
  await copyVersion(deps, found, plan.targetKey, { [SOURCE_URI_METADATA]: `sftp://${deps.hostOf(report.serverId)}${plan.partnerPath}` });
  await markHandedOff(deps, plan, found, plan.targetKey);
  logger.info('SFTP push upload handed off for ingest', { key: plan.targetKey, bytes: found.head.ContentLength });
  return { outcome: 'handed-off', partner: plan.partner, key: plan.targetKey };
}
