import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { FeedConfig } from '../config/types';
import { PgpKeyError } from './errors';
import type { PgpKeys } from './keys';

/** Where the ingest core gets an encrypted feed's keys. */
export interface FeedKeys {
  /** The feed's keys, or undefined for a feed without `encryption`. */
  keysFor(feed: FeedConfig): Promise<PgpKeys | undefined>;
}

/** The JSON value of a feed's `privateKeyRef` secret. */
export interface DecryptionKeySecret {
  readonly privateKey: string;
  readonly passphrase?: string;
}

/**
 * Encrypted feeds' keys, our private key read from Secrets Manager by reference
 * (`encryption.privateKeyRef`). Powertools caches the secret for five minutes, so
 * a rotated key is picked up without a cold start; the parsed keys are kept
 * while the secret's value stays the same (parsing and unlocking a key costs
 * milliseconds, once per cold start, not per file). Errors name the secret,
 * never its content.
 */
export class SecretFeedKeys implements FeedKeys {
  private readonly parsed = new Map<FeedConfig, { readonly secret: string; readonly keys: Promise<PgpKeys> }>();

  constructor(private readonly secrets: SecretsProvider) {}

  async keysFor(feed: FeedConfig): Promise<PgpKeys | undefined> {
    const encryption = feed.encryption;
    if (!encryption) return undefined;
    const ref = encryption.privateKeyRef;
    let raw: unknown;
    try {
      raw = await this.secrets.get(ref, { maxAge: 300 });
    } catch (error) {
      throw new PgpKeyError(`secret ${ref}`, `cannot be read (${(error as Error).name}: ${(error as Error).message})`, { cause: error });
    }
    const text = typeof raw === 'string' ? raw : Buffer.from(raw as Uint8Array).toString('utf8');
    const cached = this.parsed.get(feed);
    if (cached?.secret === text) return cached.keys;
    // OpenPGP.js loads on the first encrypted file, not at every cold start.
    const { pgpKeysFor } = await import('./keys');
    const keys = pgpKeysFor(feed, { ...decryptionKeySecret(text, ref), source: `secret ${ref}` });
    // A failed parse is not kept: the next file tries again (the secret may be fixed meanwhile).
    keys.catch(() => this.parsed.delete(feed));
    this.parsed.set(feed, { secret: text, keys });
    return keys;
  }
}

function decryptionKeySecret(text: string, ref: string): { armoredKey: string; passphrase?: string } {
  let value: Partial<DecryptionKeySecret> | undefined;
  try {
    value = JSON.parse(text) as Partial<DecryptionKeySecret>;
  } catch {
    value = undefined;
  }
  if (!value || typeof value.privateKey !== 'string' || !value.privateKey.includes('PGP PRIVATE KEY BLOCK')) {
    throw new PgpKeyError(`secret ${ref}`, 'must be JSON {"privateKey": "-----BEGIN PGP PRIVATE KEY BLOCK-----…", "passphrase"?: "…"}');
  }
  if (value.passphrase !== undefined && typeof value.passphrase !== 'string') {
    throw new PgpKeyError(`secret ${ref}`, '"passphrase" must be a string');
  }
  return value.passphrase === undefined ? { armoredKey: value.privateKey } : { armoredKey: value.privateKey, passphrase: value.passphrase };
}
