import { PartnerIngestError } from '../platform/errors';

export type SftpErrorCode =
  | 'SFTP_HOST_KEY_MISMATCH'
  | 'SFTP_TIMEOUT'
  | 'SFTP_TRANSFER_INCOMPLETE'
  | 'SFTP_FILE_CHANGED'
  | 'SFTP_CREDENTIALS_INVALID';

/** The server presented a host key that is not pinned for the partner: refused before authentication. */
export class HostKeyMismatchError extends PartnerIngestError<SftpErrorCode> {
  constructor(
    readonly partner: string,
    readonly presented: string,
    readonly pinned: readonly string[],
  ) {
    super('SFTP_HOST_KEY_MISMATCH', `host key ${presented} of partner ${partner} is not pinned (pinned: ${pinned.join(', ')}); connection refused`);
  }
}

/** A call to the partner's server missed its deadline (src/sftp/deadlines.ts). */
export class SftpTimeoutError extends PartnerIngestError<SftpErrorCode> {
  constructor(step: string, seconds: number) {
    super('SFTP_TIMEOUT', `${step} did not finish within ${seconds} s`);
  }
}

/** The bytes read differ from the size the listing announced: the copy is discarded. */
export class TransferIncompleteError extends PartnerIngestError<SftpErrorCode> {
  constructor(path: string, expected: number, received: number) {
    super('SFTP_TRANSFER_INCOMPLETE', `${path}: read ${received} bytes, the server listed ${expected}`);
  }
}

/**
 * The remote file was written to while it was read (its size or mtime is no
 * longer the listed one): the copy is discarded, and the file is fetched once
 * it is stable again.
 */
export class RemoteFileChangedError extends PartnerIngestError<SftpErrorCode> {
  constructor(path: string, listed: { size: number; mtime: number }, now: { size: number; mtime: number }) {
    super(
      'SFTP_FILE_CHANGED',
      `${path} changed while it was read: listed ${listed.size} bytes, mtime ${new Date(listed.mtime).toISOString()}; ` +
        `now ${now.size} bytes, mtime ${new Date(now.mtime).toISOString()}`,
    );
  }
}

/** The partner's login secret is missing or malformed (its value is never shown). */
export class SftpCredentialsError extends PartnerIngestError<SftpErrorCode> {
  constructor(secretRef: string, reason: string) {
    super('SFTP_CREDENTIALS_INVALID', `secret ${secretRef}: ${reason}`);
  }
}

/** Resolves `promise`, or rejects with SftpTimeoutError after `seconds` (and runs `onTimeout`). */
export async function within<T>(promise: Promise<T>, seconds: number, step: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new SftpTimeoutError(step, seconds));
    }, seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
