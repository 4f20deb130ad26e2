import { pipeline } from 'node:stream/promises';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { SFTPWrapper } from 'ssh2';
import { SOURCE_URI_METADATA } from '../landing/archive';
import type { Deadline } from './deadlines';
import { TransferIncompleteError } from './errors';
import type { RemoteVersion } from './remote-file-ledger';
import { remoteReadStream } from './remote-read-stream';

/** Fails the stream unless exactly `expected` bytes pass: a short (or long) read never completes an upload. */
class ExactLength extends Transform {
  private seen = 0;

  constructor(
    private readonly path: string,
    private readonly expected: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected) callback(new TransferIncompleteError(this.path, this.expected, this.seen));
    else callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.seen === this.expected ? null : new TransferIncompleteError(this.path, this.expected, this.seen));
  }
}

export interface FetchTarget {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Where the file came from, kept as object metadata so the batch names its real source. */
  readonly sourceUri: string;
}

export interface FetchedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
  readonly bytes: number;
  /** The key held this version already (an earlier fetch whose hand-off was not recorded): nothing new was written. */
  readonly alreadyLanded: boolean;
}

/**
 * S3's answer to a conditional write whose key exists (If-None-Match: *): 412
 * PreconditionFailed, matched on the code alone because the SDK rewrites the
 * status of an error CompleteMultipartUpload answers inside a 200.
 */
function keyExists(error: unknown): boolean {
  return (error as { name?: string }).name === 'PreconditionFailed';
}

/**
 * Streams one remote file straight into the landing bucket with a multipart
 * upload (memory bounded by part size × queue size, whatever the file size).
 * The byte count is checked against the listed size, and the file's size and
 * mtime against the listed ones, before the upload is completed: a short read,
 * a dropped connection or a file written to meanwhile aborts the multipart
 * upload and leaves no object behind. The upload is conditional on the key
 * being free (If-None-Match: *, on PutObject or CompleteMultipartUpload): a key
 * that holds the version already stays as it is, one object version.
 */
export async function fetchToS3(
  sftp: SFTPWrapper,
  file: Pick<RemoteVersion, 'path' | 'size' | 'mtime'>,
  target: FetchTarget,
  options: { deadline: Deadline; onBytes?: (bytes: number) => void },
): Promise<FetchedObject> {
  const { path, size } = file;
  const body = new PassThrough();
  const upload = new Upload({
    client: target.s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      Metadata: {
        [SOURCE_URI_METADATA]: target.sourceUri,
        'sftp-size': String(size),
        'sftp-mtime': new Date(file.mtime).toISOString(),
      },
      IfNoneMatch: '*',
    },
    // Memory: about partSize × (queueSize + 1) live, whatever the file size.
    partSize: 8 * 1024 * 1024,
    queueSize: 2,
    leavePartsOnError: false,
  });
  const uploaded = upload.done();
  let moved = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      moved += chunk.length;
      options.onBytes?.(moved);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(remoteReadStream(sftp, file, { deadline: options.deadline }), new ExactLength(path, size), meter, body);
  } catch (error) {
    // Abort explicitly: the upload must never complete with what it has, and it does
    // not reliably notice a failed body on its own (it can wait for data forever).
    await upload.abort().catch(() => undefined);
    await uploaded.catch(() => undefined);
    throw error;
  }
  const landed = { bucket: target.bucket, key: target.key, bytes: moved };
  try {
    const result = await uploaded;
    return {
      ...landed,
      ...(result.VersionId ? { versionId: result.VersionId } : {}),
      ...(result.ETag ? { etag: result.ETag.replace(/"/g, '') } : {}),
      alreadyLanded: false,
    };
  } catch (error) {
    // lib-storage has aborted the multipart upload; the object there is this version's.
    if (keyExists(error)) return { ...landed, alreadyLanded: true };
    throw error;
  }
}
