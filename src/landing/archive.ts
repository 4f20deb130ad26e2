import { CopyObjectCommand, HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { SourceUnavailableError } from './errors';
import type { ObjectLocation } from './objects';
import { copyInParts, copySourceOf, DEFAULT_COPY_OPTIONS, quoted, type CopyOptions } from './multipart-copy';
import type { CreatedObject } from './s3-event';

function isGone(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return ['NoSuchKey', 'NotFound', 'NoSuchVersion', 'PreconditionFailed'].includes(name) || status === 404 || status === 412;
}

/**
 * Object metadata sftp-pull sets: where on the partner's server the file was, so
 * the batch names it. Trusted only on keys under pulled/ and pushed/, which only
 * sftp-pull and the push hand-off may write (layout.ts LANDING_PREFIXES).
 */
export const SOURCE_URI_METADATA = 'partner-ingest-source-uri';

export interface SourceFacts {
  readonly bytes: number;
  readonly etag?: string;
  readonly versionId?: string;
  readonly metadata: Record<string, string>;
}


/** HEAD of the announced version: by version id, or by its ETag in an unversioned bucket. */
function headAnnounced(s3: S3Client, object: CreatedObject): Promise<HeadObjectCommandOutput> {
  return s3.send(
    new HeadObjectCommand({
      Bucket: object.bucket,
      Key: object.key,
      ...(object.versionId ? { VersionId: object.versionId } : {}),
      ...(object.versionId || !object.etag ? {} : { IfMatch: quoted(object.etag) }),
    }),
  );
}

/** Reads size, ETag and metadata of the announced object version. */
export async function headSource(s3: S3Client, object: CreatedObject): Promise<SourceFacts> {
  try {
    const head = await headAnnounced(s3, object);
    return {
      bytes: head.ContentLength ?? 0,
      ...(head.ETag ? { etag: head.ETag } : {}),
      ...(head.VersionId ? { versionId: head.VersionId } : {}),
      metadata: head.Metadata ?? {},
    };
  } catch (error) {
    if (isGone(error)) throw new SourceUnavailableError(`s3://${object.bucket}/${object.key} no longer exists in the announced version`, { cause: error });
    throw error;
  }
}

export { S3_COPY_LIMITS, planCopyParts, type CopyPart } from './multipart-copy';

/** The archive copy's settings (the shared multipart copy's). */
export type ArchiveCopyOptions = CopyOptions;
export const DEFAULT_ARCHIVE_COPY_OPTIONS: ArchiveCopyOptions = DEFAULT_COPY_OPTIONS;

/**
 * Copies the raw upload to its archive key server-side, pinned to the announced
 * version (or ETag), before anything else reads it. Processing and replays read
 * the archive copy, never the inbound object, so what was validated is what is kept.
 *
 * Up to `multipartThresholdBytes` (5 GiB, CopyObject's limit) one CopyObject
 * does it, keeping the source's metadata. A larger source is copied in byte
 * ranges (CreateMultipartUpload, UploadPartCopy × n, CompleteMultipartUpload)
 * that carry over what CopyObject would: user metadata and the content
 * headers, read from the same pinned version. Neither path names an
 * encryption, so the archive copy gets the bucket's default encryption either
 * way. Any failure aborts the upload, so no partial archive object is left.
 */
export async function archiveObject(
  s3: S3Client,
  object: CreatedObject,
  target: ObjectLocation,
  options: Partial<ArchiveCopyOptions> & {
    /** The announced version's size when the caller has already read it: a small source then needs no HEAD. */
    readonly sourceBytes?: number;
  } = {},
): Promise<void> {
  const settings = { ...DEFAULT_ARCHIVE_COPY_OPTIONS, ...options };
  try {
    if (options.sourceBytes === undefined || options.sourceBytes > settings.multipartThresholdBytes) {
      const head = await headAnnounced(s3, object);
      if ((head.ContentLength ?? 0) > settings.multipartThresholdBytes) {
        await archiveInParts(s3, object, target, head, settings);
        return;
      }
    }
    await s3.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: copySourceOf(object),
        MetadataDirective: 'COPY',
        ...(object.versionId || !object.etag ? {} : { CopySourceIfMatch: quoted(object.etag) }),
      }),
    );
  } catch (error) {
    if (isGone(error)) throw new SourceUnavailableError(`s3://${object.bucket}/${object.key} changed or vanished before it was archived`, { cause: error });
    throw error;
  }
}

/**
 * The multipart copy of the version HEAD saw — by version id, or by its ETag
 * in an unversioned bucket — carrying over what CopyObject would: user metadata
 * and the content headers.
 */
function archiveInParts(s3: S3Client, object: CreatedObject, target: ObjectLocation, head: HeadObjectCommandOutput, settings: ArchiveCopyOptions): Promise<void> {
  const versionId = object.versionId ?? head.VersionId;
  const etag = versionId ? undefined : (head.ETag ?? object.etag);
  return copyInParts(
    s3,
    { bucket: object.bucket, key: object.key, bytes: head.ContentLength ?? 0, ...(versionId ? { versionId } : {}), ...(etag ? { etag } : {}) },
    target,
    {
      Metadata: head.Metadata ?? {},
      ...(head.ContentType ? { ContentType: head.ContentType } : {}),
      ...(head.ContentEncoding ? { ContentEncoding: head.ContentEncoding } : {}),
      ...(head.ContentDisposition ? { ContentDisposition: head.ContentDisposition } : {}),
      ...(head.ContentLanguage ? { ContentLanguage: head.ContentLanguage } : {}),
      ...(head.CacheControl ? { CacheControl: head.CacheControl } : {}),
      ...(head.Expires ? { Expires: head.Expires } : {}),
      ...(head.WebsiteRedirectLocation ? { WebsiteRedirectLocation: head.WebsiteRedirectLocation } : {}),
    },
    settings,
  );
}
