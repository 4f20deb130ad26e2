import { Readable } from 'node:stream';
import { decrypt, readMessage, type DecryptMessageResult } from 'openpgp';
import type { PgpKeys } from '../pgp/keys';
import type { CompressedCounter } from './inflate-guard';
import { FileRejectedError, RejectionCode } from './errors';

/** A file being decrypted as it streams, and what can only be judged at its end. */
export interface DecryptingStream {
  /** The plaintext (the literal data, decompressed if the message was compressed). */
  readonly plaintext: Readable;
  /** Encrypted bytes consumed so far, for the bomb guard (the message's own ZIP/ZLIB compression). */
  readonly consumed: CompressedCounter;
  /**
   * Judges the signatures once `plaintext` has ended (OpenPGP.js settles them
   * only then): throws a FileRejectedError for a missing, unknown or invalid one.
   */
  checkSignatures(): Promise<void>;
}

function decryptionFailed(error: unknown, what: string): FileRejectedError {
  return new FileRejectedError(RejectionCode.DECRYPTION_FAILED, `${what} (${(error as Error)?.message ?? String(error)})`, undefined, { cause: error });
}

/**
 * Decrypts an OpenPGP message as it streams, in memory bounded by the streams'
 * buffers whatever the file's size.
 *
 * OpenPGP.js is told to release plaintext before the message's integrity check
 * (MDC or AEAD tag) has run at its end (`allowUnauthenticatedStream`); buffering
 * instead would hold the whole file in memory. That is safe only because the
 * validation pass sends nothing: a failed check surfaces as an error at the end
 * of `plaintext`, the pass ends REJECTED with DECRYPTION_FAILED, and the rows
 * staged from the unauthenticated plaintext are never read.
 *
 * Anything wrong with the message itself — not OpenPGP, not encrypted to our
 * key, corrupt, a failed integrity check — is a FileRejectedError with
 * DECRYPTION_FAILED, whether it shows at the start or the end.
 */
export async function decryptingStream(ciphertext: AsyncIterable<Buffer>, armored: boolean, keys: PgpKeys): Promise<DecryptingStream> {
  const consumed = { bytesWritten: 0 };
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of ciphertext) {
      consumed.bytesWritten += chunk.length;
      yield chunk;
    }
  }
  const bytes = ReadableStream.from(counted());
  let data: DecryptMessageResult['data'];
  let signatures: DecryptMessageResult['signatures'];
  try {
    const message = armored
      ? await readMessage({ armoredMessage: bytes.pipeThrough(new TextDecoderStream('latin1')) })
      : await readMessage({ binaryMessage: bytes });
    ({ data, signatures } = await decrypt({
      message,
      decryptionKeys: keys.decryptionKey,
      verificationKeys: [...keys.signers],
      format: 'binary',
      config: { allowUnauthenticatedStream: true },
    }));
  } catch (error) {
    throw decryptionFailed(error, 'the file is not an OpenPGP message encrypted to our key');
  }
  // Each settles only after the last byte; one the stream's failure rejects first
  // must not become an unhandled rejection.
  for (const signature of signatures) signature.verified.catch(() => undefined);

  async function* plaintext(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of data as unknown as AsyncIterable<Uint8Array>) {
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    } catch (error) {
      throw decryptionFailed(error, 'the encrypted data is corrupt or failed its integrity check');
    }
  }

  return {
    plaintext: Readable.from(plaintext(), { objectMode: false }),
    consumed,
    async checkSignatures() {
      if (signatures.length === 0) {
        if (!keys.requireSignature) return;
        throw new FileRejectedError(RejectionCode.SIGNATURE_MISSING, 'the file is not signed; the feed requires a signature by one of its signers');
      }
      const bySigners = signatures.filter((signature) => keys.signers.some((key) => key.getKeys(signature.keyID).length > 0));
      if (bySigners.length === 0) {
        const ids = signatures.map((signature) => signature.keyID.toHex().toUpperCase()).join(', ');
        throw new FileRejectedError(RejectionCode.UNKNOWN_SIGNER, `the file is signed by key ${ids}, which is not among the feed's signers`);
      }
      for (const signature of bySigners) {
        try {
          await signature.verified;
        } catch (error) {
          throw new FileRejectedError(
            RejectionCode.SIGNATURE_INVALID,
            `the signature by key ${signature.keyID.toHex().toUpperCase()} does not verify (${(error as Error).message})`,
            undefined,
            { cause: error },
          );
        }
      }
    },
  };
}
