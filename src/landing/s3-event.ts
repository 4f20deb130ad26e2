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

/**
 * Where partner files land in the landing bucket, by how they came. Partners
 * upload into `inbound/<partner>/` themselves; sftp-pull writes what it fetched
 * from their SFTP servers into `pulled/<partner>/`, which only its role may
 * write (partners' roles are scoped to their own inbound/ prefix). So the key
 * alone says, with IAM's guarantee, whether a file came over SFTP: object
 * metadata, which any uploader can set, never does.
 */
export const LANDING_PREFIXES = { s3: 'inbound/', sftp: 'pulled/' } as const;
export type LandingVia = keyof typeof LANDING_PREFIXES;

export interface LandingKey {
  readonly via: LandingVia;
  readonly partner: string;
  /** The file name (it may hold further slashes). */
  readonly fileName: string;
}

/** `inbound/<partner>/<file>` or `pulled/<partner>/<file>`; undefined for any other key. */
export function parseLandingKey(key: string): LandingKey | undefined {
  for (const via of Object.keys(LANDING_PREFIXES) as LandingVia[]) {
    const prefix = LANDING_PREFIXES[via];
    if (!key.startsWith(prefix)) continue;
    const match = /^([^/]+)\/(.+)$/.exec(key.slice(prefix.length));
    return match ? { via, partner: match[1]!, fileName: match[2]! } : undefined;
  }
  return undefined;
}

export function landingKeyOf(via: LandingVia, partner: string, fileName: string): string {
  return `${LANDING_PREFIXES[via]}${partner}/${fileName}`;
}
