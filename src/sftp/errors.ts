import { PartnerIngestError } from '../platform/errors';

export type SftpErrorCode = 'SFTP_HOST_KEY_MISMATCH' | 'SFTP_TIMEOUT' | 'SFTP_TRANSFER_INCOMPLETE' | 'SFTP_CREDENTIALS_INVALID';

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

/** A step against the partner's server took too long (connect, list, transfer stall, end). */
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
