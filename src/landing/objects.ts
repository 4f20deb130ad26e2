import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { RangeNotHonouredError } from './errors';

/** Where an object is. */
export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
}

/** Reads a small object whole (a manifest, a key set): only for objects the service itself wrote. */
export async function readBytes(s3: S3Client, at: ObjectLocation): Promise<Uint8Array> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: at.bucket, Key: at.key }));
  return Body!.transformToByteArray();
}

export async function readJson<T>(s3: S3Client, at: ObjectLocation): Promise<T> {
  return JSON.parse(Buffer.from(await readBytes(s3, at)).toString('utf-8')) as T;
}

/** Writes one object from byte chunks (streamed, so the chunks are not joined into a copy). */
export async function writeChunks(s3: S3Client, at: ObjectLocation, chunks: readonly Uint8Array[]): Promise<void> {
  const length = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  await s3.send(
    new PutObjectCommand({
      Bucket: at.bucket,
      Key: at.key,
      Body: Readable.from(chunks.map((chunk) => Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))),
      ContentLength: length,
      ContentType: 'application/octet-stream',
    }),
  );
}

export async function writeJson(s3: S3Client, at: ObjectLocation, value: unknown): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: at.bucket, Key: at.key, Body: JSON.stringify(value), ContentType: 'application/json' }));
}

/**
 * The object's bytes as a stream: all of them, or from byte `fromByte` on (a
 * ranged GET, `Range: bytes=N-`). A ranged read is checked to start where it
 * was asked to, because a caller that hashes or parses from that offset would
 * otherwise go wrong silently.
 */
export async function openObject(s3: S3Client, location: ObjectLocation, fromByte = 0): Promise<Readable> {
  const { Body, ContentRange } = await s3.send(
    new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ...(fromByte > 0 ? { Range: `bytes=${fromByte}-` } : {}) }),
  );
  if (fromByte > 0 && !ContentRange?.startsWith(`bytes ${fromByte}-`)) {
    (Body as Readable | undefined)?.destroy();
    throw new RangeNotHonouredError(`s3://${location.bucket}/${location.key}`, fromByte, ContentRange);
  }
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
