import { decryptKey, readPrivateKey, type PrivateKey, type PublicKey } from 'openpgp';
import type { FeedConfig } from '../config/types';
import { feedPublicKeys } from './config-keys';
import { PgpKeyError } from './errors';

/** What decrypting and checking one encrypted feed's files needs, parsed once. */
export interface PgpKeys {
  readonly decryptionKey: PrivateKey;
  readonly signers: readonly PublicKey[];
  readonly requireSignature: boolean;
}

/** Our private key from its armored text, unlocked with `passphrase` when it is protected. */
export async function readDecryptionKey(armoredKey: string, passphrase: string | undefined, source: string): Promise<PrivateKey> {
  let key: PrivateKey;
  try {
    key = await readPrivateKey({ armoredKey });
  } catch (error) {
    throw new PgpKeyError(source, `is not an armored OpenPGP private key (${(error as Error).message})`, { cause: error });
  }
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) throw new PgpKeyError(source, 'the private key is protected and no passphrase was given');
  try {
    return await decryptKey({ privateKey: key, passphrase });
  } catch (error) {
    throw new PgpKeyError(source, `the passphrase does not unlock the private key (${(error as Error).message})`, { cause: error });
  }
}

/**
 * The keys for one encrypted feed, given our private key (from wherever the
 * caller keeps it). The feed's public keys come parsed once, from
 * partners/<id>.yml (src/pgp/config-keys.ts): signers given by fingerprint are
 * resolved there.
 */
export async function pgpKeysFor(
  feed: FeedConfig,
  privateKey: { readonly armoredKey: string; readonly passphrase?: string; readonly source: string },
): Promise<PgpKeys> {
  const encryption = feed.encryption;
  if (!encryption) throw new Error(`feed ${feed.partnerId}/${feed.id} has no encryption`);
  const [decryptionKey, { signers }] = await Promise.all([
    readDecryptionKey(privateKey.armoredKey, privateKey.passphrase, privateKey.source),
    feedPublicKeys(feed),
  ]);
  return { decryptionKey, signers, requireSignature: encryption.requireSignature };
}
