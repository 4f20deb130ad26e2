import { decryptKey, readKey, readPrivateKey, type PrivateKey, type PublicKey } from 'openpgp';
import type { PgpEncryption } from '../config/types';
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

/** The feed's signer public keys (armored, as partners/<id>.yml lists them). */
export async function readSigners(armoredKeys: readonly string[], source: string): Promise<PublicKey[]> {
  return Promise.all(
    armoredKeys.map(async (armoredKey, index) => {
      try {
        return await readKey({ armoredKey });
      } catch (error) {
        throw new PgpKeyError(`${source}[${index}]`, `is not an armored OpenPGP public key (${(error as Error).message})`, { cause: error });
      }
    }),
  );
}

/** The keys for one feed, given our private key (from wherever the caller keeps it). */
export async function pgpKeysFor(
  encryption: PgpEncryption,
  privateKey: { readonly armoredKey: string; readonly passphrase?: string; readonly source: string },
  feedField: string,
): Promise<PgpKeys> {
  const [decryptionKey, signers] = await Promise.all([
    readDecryptionKey(privateKey.armoredKey, privateKey.passphrase, privateKey.source),
    readSigners(encryption.signers, `${feedField}.encryption.signers`),
  ]);
  return { decryptionKey, signers, requireSignature: encryption.requireSignature };
}
