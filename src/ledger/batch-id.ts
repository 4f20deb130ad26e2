import { createHash } from 'node:crypto';

export interface ObjectIdentity {
  readonly bucket: string;
  readonly key: string;
  /** Present on versioned buckets: the strongest identity of one upload. */
  readonly versionId?: string;
  readonly etag?: string;
}

/**
 * One file = one batch. The id is derived from the object's identity, so the
 * same upload seen twice (S3 events are at-least-once) is the same batch, and a
 * new upload under the same name is a new batch.
 */
export function batchIdOf(object: ObjectIdentity): string {
  const version = object.versionId ? `v:${object.versionId}` : `e:${(object.etag ?? '').replace(/"/g, '')}`;
  return createHash('sha256').update(`${object.bucket}\n${object.key}\n${version}`).digest('hex').slice(0, 32);
}
