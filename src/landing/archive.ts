import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SourceUnavailableError } from './errors';
import type { ObjectLocation } from './objects';
import { mapConcurrently } from '../platform/concurrency';
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

/** S3 events carry the ETag bare; HTTP conditions need it quoted. */
function quoted(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
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

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * S3's limits that shape an archive copy
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html,
 * CopyObject and UploadPartCopy API references).
 */
export const S3_COPY_LIMITS = {
  /** CopyObject copies at most 5 GiB in one request. */
  maxCopyObjectBytes: 5 * GIB,
  /** Every part but the last: at least 5 MiB, at most 5 GiB. */
  minPartBytes: 5 * MIB,
  maxPartBytes: 5 * GIB,
  maxParts: 10_000,
} as const;

export interface ArchiveCopyOptions {
  /** Sources larger than this are copied part by part (UploadPartCopy) instead of with one CopyObject. */
  readonly multipartThresholdBytes: number;
  /** The part size to use; raised for a source too large to fit in 10,000 parts of it. */
  readonly partBytes: number;
  /** Parts copied at the same time. */
  readonly concurrency: number;
}

/**
 * CopyObject up to its 5 GiB limit; beyond it, parts sized so that a 5 TiB
 * object fits in S3's 10,000 parts (525 MiB), 8 at a time. The copy is
 * server-side: no byte passes through the function, whatever the part size.
 */
export const DEFAULT_ARCHIVE_COPY_OPTIONS: ArchiveCopyOptions = {
  multipartThresholdBytes: S3_COPY_LIMITS.maxCopyObjectBytes,
  partBytes: Math.ceil((5 * 1024 * GIB) / S3_COPY_LIMITS.maxParts / MIB) * MIB,
  concurrency: 8,
};

export interface CopyPart {
  readonly partNumber: number;
  /** Inclusive byte range of the source. */
  readonly first: number;
  readonly last: number;
}

/**
 * Splits `bytes` into the parts of a multipart copy: `preferredPartBytes` each
 * (the last one shorter), or more per part — rounded up to a whole MiB — when
 * 10,000 parts of that size would not hold the object.
 */
export function planCopyParts(bytes: number, preferredPartBytes: number): CopyPart[] {
  const { minPartBytes, maxPartBytes, maxParts } = S3_COPY_LIMITS;
  if (!Number.isInteger(preferredPartBytes) || preferredPartBytes < minPartBytes || preferredPartBytes > maxPartBytes) {
    throw new RangeError(`a copy part must be ${minPartBytes} to ${maxPartBytes} bytes, not ${preferredPartBytes}`);
  }
  if (bytes > maxParts * maxPartBytes) {
    throw new RangeError(`${bytes} bytes do not fit in ${maxParts} parts of at most ${maxPartBytes} bytes`);
  }
  const partBytes = Math.max(preferredPartBytes, Math.ceil(bytes / maxParts / MIB) * MIB);
  const parts: CopyPart[] = [];
  for (let first = 0; first < bytes; first += partBytes) {
    parts.push({ partNumber: parts.length + 1, first, last: Math.min(first + partBytes, bytes) - 1 });
  }
  return parts;
}

function copySourceOf(object: CreatedObject, versionId: string | undefined): string {
  return `${object.bucket}/${encodeURIComponent(object.key)}${versionId ? `?versionId=${encodeURIComponent(versionId)}` : ''}`;
}

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
        await copyInParts(s3, object, target, head, settings);
        return;
      }
    }
    await s3.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: copySourceOf(object, object.versionId),
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
 * The multipart copy. Every part reads the version HEAD saw — by version id,
 * or by `CopySourceIfMatch` on its ETag in an unversioned bucket — so the parts
 * cannot mix two uploads of the same key.
 */
async function copyInParts(
  s3: S3Client,
  object: CreatedObject,
  target: ObjectLocation,
  head: HeadObjectCommandOutput,
  settings: ArchiveCopyOptions,
): Promise<void> {
  const parts = planCopyParts(head.ContentLength ?? 0, settings.partBytes);
  const versionId = object.versionId ?? head.VersionId;
  const copySource = copySourceOf(object, versionId);
  const etag = versionId ? undefined : (head.ETag ?? object.etag);
  const pin = etag ? { CopySourceIfMatch: quoted(etag) } : {};
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: target.bucket,
      Key: target.key,
      Metadata: head.Metadata ?? {},
      ...(head.ContentType ? { ContentType: head.ContentType } : {}),
      ...(head.ContentEncoding ? { ContentEncoding: head.ContentEncoding } : {}),
      ...(head.ContentDisposition ? { ContentDisposition: head.ContentDisposition } : {}),
      ...(head.ContentLanguage ? { ContentLanguage: head.ContentLanguage } : {}),
      ...(head.CacheControl ? { CacheControl: head.CacheControl } : {}),
      ...(head.Expires ? { Expires: head.Expires } : {}),
      ...(head.WebsiteRedirectLocation ? { WebsiteRedirectLocation: head.WebsiteRedirectLocation } : {}),
    }),
  );
  const upload = { Bucket: target.bucket, Key: target.key, UploadId: UploadId! };
  try {
    const completed = await mapConcurrently(parts, settings.concurrency, async (part): Promise<CompletedPart> => {
      const { CopyPartResult } = await s3.send(
        new UploadPartCopyCommand({
          ...upload,
          PartNumber: part.partNumber,
          CopySource: copySource,
          CopySourceRange: `bytes=${part.first}-${part.last}`,
          ...pin,
        }),
      );
      return { PartNumber: part.partNumber, ETag: CopyPartResult?.ETag };
    });
    await s3.send(new CompleteMultipartUploadCommand({ ...upload, MultipartUpload: { Parts: completed } }));
  } catch (error) {
    // No part is in flight any more (see mapConcurrently), so the abort frees
    // every stored part. Should the abort itself fail, the bucket's lifecycle rule
    // removes the incomplete upload after a day; the copy's own error is what matters.
    await s3.send(new AbortMultipartUploadCommand(upload)).catch(() => undefined);
    throw error;
  }
}

