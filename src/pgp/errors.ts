import { PartnerIngestError } from '../platform/errors';

export type PgpKeyErrorCode = 'PGP_KEY_UNREADABLE';

/**
 * Our decryption key or a feed's signer key cannot be used: a configuration
 * fault (the batch is retried, never rejected for it). The message names where
 * the key came from, never its content.
 */
export class PgpKeyError extends PartnerIngestError<PgpKeyErrorCode> {
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super('PGP_KEY_UNREADABLE', `${source}: ${reason}`, options);
  }
}
