import type { S3EventRecord } from 'aws-lambda';

/** One created object, as announced by an S3 event notification. */
export interface CreatedObject {
  readonly bucket: string;
  /** Decoded key (S3 sends keys URL-encoded, with + for space). */
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
  readonly size?: number;
}

/** Decodes an S3 notification key: URL-encoding with `+` standing for a space. */
export function decodeS3Key(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * Reads the objects an SQS message body announces. S3 sends a test event when a
 * notification is configured; it announces nothing. Throws on a body that is
 * not an S3 notification at all.
 */
export function createdObjectsOf(body: string): CreatedObject[] {
  const message = JSON.parse(body) as { Event?: string; Records?: S3EventRecord[] };
  if (message.Event === 's3:TestEvent') return [];
  if (!Array.isArray(message.Records)) throw new Error('not an S3 event notification (no Records)');
  return message.Records.filter((record) => record.eventName?.startsWith('ObjectCreated:')).map((record) => ({
    bucket: record.s3.bucket.name,
    key: decodeS3Key(record.s3.object.key),
    ...(record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
    ...(record.s3.object.eTag ? { etag: record.s3.object.eTag } : {}),
    ...(record.s3.object.size === undefined ? {} : { size: record.s3.object.size }),
  }));
}
