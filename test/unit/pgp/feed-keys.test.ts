/**
 * An encrypted feed's keys from its privateKeyRef secret: the secret's JSON
 * shape, a protected key's passphrase, errors that name the secret and never
 * its content, and the parsed keys kept while the secret is unchanged. The
 * secret store is a stand-in here (the end-to-end test reads moto's Secrets
 * Manager under the packaged role); the keys are gpg's.
 */
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { encryptKey, readPrivateKey } from 'openpgp';
import type { FeedConfig } from '../../../src/config/types';
import { PgpKeyError } from '../../../src/pgp/errors';
import { SecretFeedKeys } from '../../../src/pgp/feed-keys';
import { ordersFeed } from '../../support/csv-cases';
import { GpgPeer } from '../../support/gpg';

let gpg: GpgPeer;
let feed: FeedConfig;
beforeAll(() => {
  gpg = new GpgPeer();
  feed = { ...ordersFeed(), encryption: { type: 'pgp', privateKeyRef: 'partner-ingest/acme/pgp', signers: [gpg.publicKey('partner')], requireSignature: true } };
});
afterAll(() => gpg.dispose());

/** A secret store holding `value` under the feed's privateKeyRef; counts reads. */
function store(value: () => string) {
  const reads: string[] = [];
  const secrets = {
    get: async (name: string) => {
      reads.push(name);
      if (name !== 'partner-ingest/acme/pgp') throw new Error(`ResourceNotFoundException: ${name}`);
      return value();
    },
  } as unknown as SecretsProvider;
  return { keys: new SecretFeedKeys(secrets), reads };
}

async function failure(promise: Promise<unknown>): Promise<PgpKeyError> {
  const error = await promise.then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(PgpKeyError);
  expect((error as PgpKeyError).code).toBe('PGP_KEY_UNREADABLE');
  return error as PgpKeyError;
}

test('a plain feed needs no secret', async () => {
  const { keys, reads } = store(() => '');
  expect(await keys.keysFor(ordersFeed())).toBeUndefined();
  expect(reads).toEqual([]);
});

test('{"privateKey"}: the key and the feed signers, parsed once while the secret is unchanged', async () => {
  let value = JSON.stringify({ privateKey: gpg.privateKey('us') });
  const { keys, reads } = store(() => value);
  const first = await keys.keysFor(feed);
  expect(first!.decryptionKey.getFingerprint().toUpperCase()).toBe(gpg.fingerprint('us'));
  expect(first!.signers.map((key) => key.getFingerprint().toUpperCase())).toEqual([gpg.fingerprint('partner')]);
  expect(await keys.keysFor(feed)).toBe(first);
  // A rotated key (a new secret value) is parsed anew.
  value = JSON.stringify({ privateKey: gpg.privateKey('stranger') });
  expect((await keys.keysFor(feed))!.decryptionKey.getFingerprint().toUpperCase()).toBe(gpg.fingerprint('stranger'));
  expect(reads).toHaveLength(3);
});

test('a protected key: unlocked with "passphrase"; without it, or with a wrong one, an error naming the secret', async () => {
  const locked = (await encryptKey({ privateKey: await readPrivateKey({ armoredKey: gpg.privateKey('us') }), passphrase: 'correct horse' })).armor();
  const ok = store(() => JSON.stringify({ privateKey: locked, passphrase: 'correct horse' }));
  expect((await ok.keys.keysFor(feed))!.decryptionKey.isDecrypted()).toBe(true);
  const none = await failure(store(() => JSON.stringify({ privateKey: locked })).keys.keysFor(feed));
  expect(none.message).toBe('secret partner-ingest/acme/pgp: the private key is protected and no passphrase was given');
  const wrong = await failure(store(() => JSON.stringify({ privateKey: locked, passphrase: 'battery staple' })).keys.keysFor(feed));
  expect(wrong.message).toMatch(/^secret partner-ingest\/acme\/pgp: the passphrase does not unlock the private key/);
  expect(wrong.message).not.toContain('battery staple');
});

test('a secret of another shape, or one that cannot be read: an error naming the secret, never its content', async () => {
  for (const value of ['not json', JSON.stringify({ password: 'hunter2' }), JSON.stringify({ privateKey: gpg.publicKey('us') })]) {
    const error = await failure(store(() => value).keys.keysFor(feed));
    expect(error.message).toBe(
      'secret partner-ingest/acme/pgp: must be JSON {"privateKey": "-----BEGIN PGP PRIVATE KEY BLOCK-----…", "passphrase"?: "…"}',
    );
  }
  const missing = { ...feed, encryption: { ...feed.encryption!, privateKeyRef: 'partner-ingest/acme/other' } };
  const error = await failure(store(() => '').keys.keysFor(missing));
  expect(error.message).toMatch(/^secret partner-ingest\/acme\/other: cannot be read \(Error: ResourceNotFoundException/);
});
