import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PartnerIngestError } from '../errors/base';
import type { ObjectLocation } from '../ledger/types';
import type { CreatedObject } from './s3-event';

/** The announced object can no longer be read (deleted or replaced before we archived it). */
export class SourceUnavailableError extends PartnerIngestError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SOURCE_UNAVAILABLE', message, options);
  }
}

function isGone(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return ['NoSuchKey', 'NotFound', 'NoSuchVersion', 'PreconditionFailed'].includes(name) || status === 404 || status === 412;
}

/** Object metadata that sftp-pull sets, so a batch names where its file really came from. */
export const SOURCE_METADATA = { type: 'partner-ingest-source', uri: 'partner-ingest-source-uri' } as const;

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

/** Reads size, ETag and metadata of the announced object version. */
export async function headSource(s3: S3Client, object: CreatedObject): Promise<SourceFacts> {
  try {
    const head = await s3.send(
      new HeadObjectCommand({
        Bucket: object.bucket,
        Key: object.key,
        ...(object.versionId ? { VersionId: object.versionId } : {}),
        ...(object.versionId || !object.etag ? {} : { IfMatch: quoted(object.etag) }),
      }),
    );
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

/** Safe as one S3 key segment: partner segments and file names come from outside. */
function keySegment(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_';
}

export function archiveKeyOf(partner: string, receivedAt: string, batchId: string, fileName: string): string {
  return `archive/${keySegment(partner)}/${receivedAt.slice(0, 10)}/${batchId}/${keySegment(fileName)}`;
}

/**
 * Copies the raw upload to its archive key server-side, pinned to the announced
 * version (or ETag), before anything else reads it. Processing and replays read
 * the archive copy, never the inbound object, so what was validated is what is kept.
 */
export async function archiveObject(s3: S3Client, object: CreatedObject, target: ObjectLocation): Promise<void> {
  const copySource = `${object.bucket}/${encodeURIComponent(object.key)}${
    object.versionId ? `?versionId=${encodeURIComponent(object.versionId)}` : ''
  }`;
  try {
    await s3.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: copySource,
        MetadataDirective: 'COPY',
        ...(object.versionId || !object.etag ? {} : { CopySourceIfMatch: quoted(object.etag) }),
      }),
    );
  } catch (error) {
    if (isGone(error)) throw new SourceUnavailableError(`s3://${object.bucket}/${object.key} changed or vanished before it was archived`, { cause: error });
    throw error;
  }
}

export async function openObject(s3: S3Client, location: ObjectLocation): Promise<Readable> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  return Body as Readable;
}

/** Size and SHA-256 of an object, streamed (for files no feed will parse). */
export async function digestObject(s3: S3Client, location: ObjectLocation): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await openObject(s3, location)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
