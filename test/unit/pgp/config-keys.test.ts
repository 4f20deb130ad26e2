/**
 * The public keys a partner file gives an encrypted feed (reports.encryptTo,
 * encryption.signers), parsed and checked once after load: keys gpg made, and
 * errors that name the partner file and the field.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { ConfigError } from '../../../src/config/errors';
import { loadCheckedPartnerRegistry } from '../../../src/config/load-checked';
import { checkPartnerKeys, feedPublicKeys } from '../../../src/pgp/config-keys';
import type { SignerEntry } from '../../../src/config/types';
import { REPO_ROOT, tempDir } from '../../support/csv-cases';
import { GpgPeer } from '../../support/gpg';

let gpg: GpgPeer;
let root: string;
let cleanup: () => void;
beforeAll(() => {
  gpg = new GpgPeer();
  ({ dir: root, cleanup } = tempDir('partner-ingest-config-keys-'));
  cpSync(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
  mkdirSync(path.join(root, 'partners'));
}, 60_000);
afterAll(() => {
  gpg?.dispose();
  cleanup?.();
});

const partnerFile = () => path.join(root, 'partners', 'initech.yml');

function writeFeed(settings: { signers?: SignerEntry[]; encryptTo?: string }): void {
  const partner = {
    id: 'initech',
    name: 'Initech (test)',
    sources: { s3: {} },
    feeds: [
      {
        id: 'orders',
        files: ['orders_*.csv.pgp'],
        format: { type: 'csv', encoding: 'utf-8' },
        schema: { id: 'orders', version: 1 },
        errorPolicy: { maxInvalidRatio: 0.1 },
        encryption: { type: 'pgp', privateKeyRef: 'partner-ingest/initech/pgp', signers: settings.signers ?? [gpg.publicKey('partner')] },
        reports: { encryptTo: settings.encryptTo ?? gpg.publicKey('partner') },
      },
    ],
  };
  writeFileSync(partnerFile(), stringify(partner));
}

async function loadError(): Promise<ConfigError> {
  const error = await loadCheckedPartnerRegistry({ root }).then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(ConfigError);
  const configError = error as ConfigError;
  expect(configError.file).toBe(partnerFile());
  expect(configError.message.startsWith(`${configError.file}: ${configError.field}: `)).toBe(true);
  return configError;
}

test('a sound partner key loads; the parsed keys are kept per feed (parsed once)', async () => {
  writeFeed({});
  const registry = await loadCheckedPartnerRegistry({ root });
  const feed = registry.partners.get('initech')!.feeds[0]!;
  const keys = await feedPublicKeys(feed);
  expect(keys.reportRecipient!.getFingerprint().toUpperCase()).toBe(gpg.fingerprint('partner'));
  expect(keys.signers.map((key) => key.getFingerprint().toUpperCase())).toEqual([gpg.fingerprint('partner')]);
  expect(feedPublicKeys(feed)).toBe(feedPublicKeys(feed));
});

test('reports.encryptTo that is not a key', async () => {
  writeFeed({ encryptTo: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n' });
  const error = await loadError();
  expect(error.field).toBe('feeds[0].reports.encryptTo');
  expect(error.message).toContain('is not an armored OpenPGP public key');
});

test('reports.encryptTo that can only sign', async () => {
  writeFeed({ encryptTo: gpg.extraKey('signonly', { encrypt: false }) });
  const error = await loadError();
  expect(error.field).toBe('feeds[0].reports.encryptTo');
  expect(error.message).toContain('cannot encrypt');
});

test('reports.encryptTo that has expired (checked at each check, not only at the first parse)', async () => {
  writeFeed({ encryptTo: gpg.extraKey('shortlived', { expire: '1d' }) });
  const registry = await loadCheckedPartnerRegistry({ root });
  const inTwoDays = new Date(Date.now() + 2 * 24 * 3600 * 1000);
  const error = await checkPartnerKeys(registry, inTwoDays).then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).field).toBe('feeds[0].reports.encryptTo');
  expect((error as ConfigError).message).toMatch(/expired on|cannot encrypt/);
});

test('a signer that is not a key names its index', async () => {
  writeFeed({ signers: [gpg.publicKey('partner'), '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n'] });
  const error = await loadError();
  expect(error.field).toBe('feeds[0].encryption.signers[1]');
});

describe('signers by fingerprint', () => {
  const fingerprints = async () => {
    const registry = await loadCheckedPartnerRegistry({ root });
    const { signers } = await feedPublicKeys(registry.partners.get('initech')!.feeds[0]!);
    return signers.map((key) => key.getFingerprint().toUpperCase());
  };
  /** As `gpg --fingerprint` prints it: groups of four, two spaces in the middle. */
  const spaced = (fingerprint: string) => fingerprint.replace(/(.{4})/g, '$1 ').replace(/^((?:.{5}){5})/, '$1 ').trim();

  test('a fingerprint resolves to a key the feed gives: reports.encryptTo, or another signer\'s key', async () => {
    writeFeed({ signers: [spaced(gpg.fingerprint('partner'))], encryptTo: gpg.publicKey('partner') });
    expect(await fingerprints()).toEqual([gpg.fingerprint('partner')]);
    writeFeed({ signers: [gpg.publicKey('stranger'), gpg.fingerprint('stranger').toLowerCase()], encryptTo: gpg.publicKey('partner') });
    expect(await fingerprints()).toEqual([gpg.fingerprint('stranger'), gpg.fingerprint('stranger')]);
  });

  test('a fingerprint alone, naming no key given, fails with the field and what to write instead', async () => {
    writeFeed({ signers: [gpg.fingerprint('stranger')] });
    const error = await loadError();
    expect(error.field).toBe('feeds[0].encryption.signers[0]');
    expect(error.message).toContain(`fingerprint ${gpg.fingerprint('stranger')} names no key given in this feed`);
    expect(error.message).toContain('publicKey');
  });

  test('{fingerprint, publicKey}: the key pinned to the fingerprint; a key that does not match fails on the fingerprint', async () => {
    writeFeed({ signers: [{ fingerprint: spaced(gpg.fingerprint('partner')), publicKey: gpg.publicKey('partner') }] });
    expect(await fingerprints()).toEqual([gpg.fingerprint('partner')]);
    writeFeed({ signers: [{ fingerprint: gpg.fingerprint('partner'), publicKey: gpg.publicKey('stranger') }] });
    const error = await loadError();
    expect(error.field).toBe('feeds[0].encryption.signers[0].fingerprint');
    expect(error.message).toContain(`is not the fingerprint of the publicKey given (${gpg.fingerprint('stranger')})`);
  });
});
