import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createMessage, encrypt, type PublicKey } from 'openpgp';
import type { RejectsReport } from './rejects-report';

/** As S3TextWriter's upload: lib-storage holds about partSize × (queueSize + 1) bytes. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** The name of the report inside the OpenPGP message (`gpg --use-embedded-filename` writes it). */
const LITERAL_NAME = 'rejects.csv';

/**
 * Encrypts a finished plaintext rejects report to the partner's key, as it
 * streams: S3 GET → OpenPGP.js (binary message, no compression) → multipart
 * upload, in memory bounded by the streams' buffers and the upload's parts,
 * whatever the report's size.
 *
 * The plaintext report stays where the validation pass wrote it, under
 * staging/ (which only the service reads, and which expires with the staged
 * rows): a validation pass split over several invocations builds its report
 * segment by segment, appending to the plaintext of the one before, which an
 * encrypted report could not be.
 *
 * Binary, not ASCII armor: a third smaller, and the report is fetched as an
 * object, never pasted into mail. `gpg --decrypt rejects.csv.pgp` reads it.
 */
export async function sealReport(
  s3: S3Client,
  plaintext: RejectsReport,
  target: { readonly bucket: string; readonly key: string },
  recipient: PublicKey,
): Promise<RejectsReport> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: plaintext.bucket, Key: plaintext.key }));
  const source = Body as Readable;
  const message = await createMessage({
    binary: Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>,
    filename: LITERAL_NAME,
    format: 'binary',
  });
  const encrypted = await encrypt({ message, encryptionKeys: recipient, format: 'binary' });
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: Readable.fromWeb(encrypted as unknown as import('node:stream/web').ReadableStream<Uint8Array>),
      ContentType: 'application/pgp-encrypted',
    },
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
  });
  try {
    await upload.done();
  } finally {
    source.destroy(); // an unread GetObject body would hold its socket (when the upload fails early)
  }
  return { ...plaintext, bucket: target.bucket, key: target.key };
}
