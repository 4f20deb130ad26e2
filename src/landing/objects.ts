import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectLocation } from '../ledger/types';

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
