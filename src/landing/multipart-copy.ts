import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type CreateMultipartUploadCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mapConcurrently } from '../platform/concurrency';
import type { ObjectLocation } from './objects';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * S3's limits that shape a server-side copy
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

export interface CopyOptions {
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
export const DEFAULT_COPY_OPTIONS: CopyOptions = {
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

/** S3 events carry the ETag bare; HTTP conditions need it quoted. */
export function quoted(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

/**
 * One version of a source object. Every read of it is pinned: by version id,
 * or, in an unversioned bucket, by `CopySourceIfMatch` on its ETag (S3 answers
 * 412 once the key holds another upload).
 */
export interface PinnedSource extends ObjectLocation {
  readonly bytes: number;
  readonly versionId?: string;
  readonly etag?: string;
}

/** `bucket/key?versionId=v`, the key URL-encoded, as CopyObject and UploadPartCopy name a source. */
export function copySourceOf(source: ObjectLocation & { readonly versionId?: string }): string {
  return `${source.bucket}/${encodeURIComponent(source.key)}${source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : ''}`;
}

/** The condition pinning an unversioned source to its ETag; none when a version id already pins it. */
export function sourcePin(source: PinnedSource): { CopySourceIfMatch?: string } {
  return !source.versionId && source.etag ? { CopySourceIfMatch: quoted(source.etag) } : {};
}

/**
 * What the new object carries: its user metadata and content headers. A
 * multipart upload starts empty, so whatever CopyObject would have carried over
 * must be named here.
 */
export type CopyTargetAttributes = Omit<CreateMultipartUploadCommandInput, 'Bucket' | 'Key'>;

/**
 * Copies a source beyond CopyObject's 5 GiB server-side: CreateMultipartUpload,
 * UploadPartCopy of each byte range (every one pinned to the same source
 * version, so the parts cannot mix two uploads of one key), then
 * CompleteMultipartUpload. Any failure aborts the upload, so no parts are left
 * behind to be billed. Shared by the archive copy and the SFTP push hand-off.
 */
export async function copyInParts(
  s3: S3Client,
  source: PinnedSource,
  target: ObjectLocation,
  attributes: CopyTargetAttributes,
  settings: Pick<CopyOptions, 'partBytes' | 'concurrency'>,
): Promise<void> {
  const parts = planCopyParts(source.bytes, settings.partBytes);
  const copySource = copySourceOf(source);
  const pin = sourcePin(source);
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ ...attributes, Bucket: target.bucket, Key: target.key }));
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
