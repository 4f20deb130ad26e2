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

export async function writeBytes(s3: S3Client, at: ObjectLocation, body: Uint8Array | string, contentType = 'application/octet-stream'): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: at.bucket, Key: at.key, Body: body, ContentType: contentType }));
}

export function writeJson(s3: S3Client, at: ObjectLocation, value: unknown): Promise<void> {
  return writeBytes(s3, at, JSON.stringify(value), 'application/json');
}
