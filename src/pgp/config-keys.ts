import { readKey, type PublicKey } from 'openpgp';
import type { PartnerRegistry } from '../config/load-partners';
import { ConfigError } from '../config/errors';
import type { FeedConfig, SignerEntry } from '../config/types';

/** The public keys partners/<id>.yml gives a feed, parsed and checked. */
export interface FeedPublicKeys {
  /** `encryption.signers`: a file signed by any other key is UNKNOWN_SIGNER. */
  readonly signers: readonly PublicKey[];
  /** `reports.encryptTo`: the key the rejects report is encrypted to. */
  readonly reportRecipient?: PublicKey;
}

/** Where a feed is written, for errors: the partner file and `feeds[<index>]`. */
export interface KeyLocation {
  readonly file: string;
  readonly field: string;
}

/**
 * Parsed once per feed (per cold start, per CLI run), not per file. Keyed by
 * the FeedConfig object, so a reloaded registry is parsed afresh.
 */
const parsed = new WeakMap<FeedConfig, Promise<FeedPublicKeys>>();

/**
 * The feed's public keys, parsed on first use and then kept. Rejects with a
 * ConfigError naming the partner file and the field. OpenPGP.js parses only
 * asynchronously, so this cannot run inside the (synchronous) registry load:
 * `checkPartnerKeys` runs it for every feed right after loading.
 */
export function feedPublicKeys(feed: FeedConfig, where: KeyLocation = { file: `partners/${feed.partnerId}.yml`, field: `feed ${feed.id}` }): Promise<FeedPublicKeys> {
  let keys = parsed.get(feed);
  if (!keys) {
    keys = parseFeedKeys(feed, where);
    // A failure is not kept: the error is the config's, and each caller should see it.
    keys.catch(() => parsed.delete(feed));
    parsed.set(feed, keys);
  }
  return keys;
}

/**
 * Parses and checks every feed's public keys: what `sls package`, the
 * `validate` command and an ingest cold start run after loadPartnerRegistry,
 * so a key that is not one, has expired or cannot encrypt fails there, not on
 * the first file. Throws the first ConfigError.
 */
export async function checkPartnerKeys(registry: PartnerRegistry, now = new Date()): Promise<void> {
  for (const partner of registry.partners.values()) {
    const file = partner.configFile ?? `partners/${partner.id}.yml`;
    for (const [index, feed] of partner.feeds.entries()) {
      const field = `feeds[${index}]`;
      const keys = await feedPublicKeys(feed, { file, field });
      // Judged again at each check, not only at the first parse: a key can expire while a process runs.
      if (keys.reportRecipient) await checkCanEncrypt(keys.reportRecipient, file, `${field}.reports.encryptTo`, now);
    }
  }
}

async function parseFeedKeys(feed: FeedConfig, { file, field }: KeyLocation): Promise<FeedPublicKeys> {
  const reportField = `${field}.reports.encryptTo`;
  const reportRecipient = feed.reports ? await readPublicKey(feed.reports.encryptTo, file, reportField) : undefined;
  if (reportRecipient) await checkCanEncrypt(reportRecipient, file, reportField, new Date());
  const signers = await readSigners(feed.encryption?.signers ?? [], reportRecipient, file, `${field}.encryption.signers`);
  return reportRecipient ? { signers, reportRecipient } : { signers };
}

/** 40 (v4) or 64 (v6) hex digits, as gpg prints them (groups of four, spaces) or not. */
function normalFingerprint(text: string): string {
  return text.replace(/\s+/g, '').toUpperCase();
}

function fingerprintsOf(key: PublicKey): string[] {
  return [key, ...key.getSubkeys()].map((part) => part.getFingerprint().toUpperCase());
}

/**
 * The feed's signer keys. A bare fingerprint is resolved against the keys the
 * feed gives (the other signers' keys, then reports.encryptTo): a fingerprint
 * says which key, not what it is, and there is no keyserver we would trust to
 * fetch one from. `{fingerprint, publicKey}` pins the key to the fingerprint
 * the partner gave out of band, so a wrong key pasted in fails here.
 * Fingerprints match a primary key or any of its subkeys (gpg shows both).
 */
async function readSigners(entries: readonly SignerEntry[], reportRecipient: PublicKey | undefined, file: string, field: string): Promise<PublicKey[]> {
  const given = await Promise.all(
    entries.map(async (entry, index) => {
      if (typeof entry === 'string') return isArmored(entry) ? readPublicKey(entry, file, `${field}[${index}]`) : undefined;
      const key = await readPublicKey(entry.publicKey, file, `${field}[${index}].publicKey`);
      const fingerprint = normalFingerprint(entry.fingerprint);
      if (!fingerprintsOf(key).includes(fingerprint)) {
        throw new ConfigError(file, `${field}[${index}].fingerprint`, `${fingerprint} is not the fingerprint of the publicKey given (${key.getFingerprint().toUpperCase()})`);
      }
      return key;
    }),
  );
  const known = [...given.filter((key): key is PublicKey => key !== undefined), ...(reportRecipient ? [reportRecipient] : [])];
  return entries.map((entry, index) => {
    const key = given[index];
    if (key) return key;
    const fingerprint = normalFingerprint(entry as string);
    const found = known.find((candidate) => fingerprintsOf(candidate).includes(fingerprint));
    if (!found) {
      throw new ConfigError(
        file,
        `${field}[${index}]`,
        `fingerprint ${fingerprint} names no key given in this feed (the signers' keys, reports.encryptTo); give the key too: { fingerprint: ${fingerprint}, publicKey: <armored public key> }`,
      );
    }
    return found;
  });
}

function isArmored(text: string): boolean {
  return /^\s*-----BEGIN PGP/.test(text);
}

async function readPublicKey(armoredKey: string, file: string, field: string): Promise<PublicKey> {
  let key;
  try {
    key = await readKey({ armoredKey });
  } catch (error) {
    throw new ConfigError(file, field, `is not an armored OpenPGP public key (${(error as Error).message})`, { cause: error });
  }
  if (key.isPrivate()) throw new ConfigError(file, field, 'is a private key: give the partner\'s public key (gpg --export --armor)');
  return key;
}

/** The key, or one of its subkeys, can encrypt now: not expired, not revoked, flagged for encryption. */
async function checkCanEncrypt(key: PublicKey, file: string, field: string, now: Date): Promise<void> {
  const id = key.getFingerprint().toUpperCase();
  const expires = await key.getExpirationTime().catch(() => null);
  if (expires instanceof Date && expires.getTime() <= now.getTime()) {
    throw new ConfigError(file, field, `key ${id} expired on ${expires.toISOString()}`);
  }
  try {
    await key.getEncryptionKey(undefined, now);
  } catch (error) {
    throw new ConfigError(file, field, `key ${id} cannot encrypt: it has no valid encryption key or subkey (${(error as Error).message})`, { cause: error });
  }
}
