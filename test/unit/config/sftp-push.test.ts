import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../../src/config/errors';
import { loadPartnerRegistry } from '../../../src/config/load-partners';
import { parseSshPublicKey } from '../../../src/config/ssh-public-key';
import { REPO_ROOT, tempDir } from '../../support/csv-cases';

/** Real keys, made by ssh-keygen, so the checks are held against what partners send. */
function makeKey(dir: string, type: string, bits?: number): string {
  const file = path.join(dir, `key-${type}-${bits ?? 'default'}-${Math.random().toString(16).slice(2)}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', 'partner@example', '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

const ACME_YML = readFileSync(path.join(REPO_ROOT, 'partners', 'acme.yml'), 'utf8');

describe('sources.sftpPush', () => {
  let root: string;
  let cleanup: () => void;
  let ed25519: string;
  let ecdsa: string;

  beforeAll(() => {
    ({ dir: root, cleanup } = tempDir('partner-ingest-push-config-'));
    cpSync(path.join(REPO_ROOT, 'partners'), path.join(root, 'partners'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
    ed25519 = makeKey(root, 'ed25519');
    ecdsa = makeKey(root, 'ecdsa', 384);
  });
  afterAll(() => cleanup());

  /** acme's file as partner `id`, with `sources` replaced. */
  function writePartner(id: string, sources: string): string {
    const file = path.join(root, 'partners', `${id}.yml`);
    const text = ACME_YML.replace(/^id: acme$/m, `id: ${id}`).replace(/^sources:\n(  .*\n)+/m, `sources:\n${sources}`);
    writeFileSync(file, text);
    return file;
  }

  function loadError(): ConfigError {
    try {
      loadPartnerRegistry({ root });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('the config loaded, but it is broken');
  }

  const pushSources = (...keys: string[]) => `  sftpPush:\n    publicKeys:\n${keys.map((key) => `      - ${JSON.stringify(key)}\n`).join('')}`;

  afterEach(() => {
    for (const id of ['pushco', 'other', 'ab']) rmSync(path.join(root, 'partners', `${id}.yml`), { force: true });
  });

  it('loads a push partner with several keys, comments dropped', () => {
    writePartner('pushco', pushSources(ed25519, ecdsa));
    const partner = loadPartnerRegistry({ root }).partners.get('pushco')!;
    expect(partner.sources.sftpPush!.publicKeys).toEqual([ed25519, ecdsa].map((key) => key.split(' ').slice(0, 2).join(' ')));
    expect(partner.sources.s3).toBeUndefined();
  });

  it('a push partner may also drop into S3', () => {
    writePartner('pushco', `  s3: {}\n${pushSources(ed25519)}`);
    const partner = loadPartnerRegistry({ root }).partners.get('pushco')!;
    expect(partner.sources.s3).toEqual({});
    expect(partner.sources.sftpPush!.publicKeys).toHaveLength(1);
  });

  it('refuses no keys, an unknown field, and a DSA or private key line', () => {
    writePartner('pushco', '  sftpPush:\n    publicKeys: []\n');
    expect(loadError().field).toBe('sources.sftpPush.publicKeys');
    writePartner('pushco', `${pushSources(ed25519)}    homeDirectory: /x\n`);
    expect(loadError().field).toBe('sources.sftpPush.homeDirectory');
    writePartner('pushco', pushSources(`ssh-dss ${ed25519.split(' ')[1]}`));
    expect(loadError().field).toBe('sources.sftpPush.publicKeys[0]');
    writePartner('pushco', pushSources('-----BEGIN OPENSSH PRIVATE KEY-----'));
    expect(loadError().field).toBe('sources.sftpPush.publicKeys[0]');
  });

  it('refuses a key whose blob is not what its type says, or is cut', () => {
    const [, ed25519Blob] = ed25519.split(' ');
    writePartner('pushco', pushSources(`ecdsa-sha2-nistp256 ${ed25519Blob}`));
    const error = loadError();
    expect(error.field).toBe('sources.sftpPush.publicKeys[0]');
    expect(error.message).toContain('not a ecdsa-sha2-nistp256 key');
    writePartner('pushco', pushSources(`ssh-ed25519 ${ed25519Blob!.slice(0, 40)}`));
    expect(loadError().field).toBe('sources.sftpPush.publicKeys[0]');
  });

  it('refuses an RSA key under 2048 bits and takes one of 3072', () => {
    expect(() => parseSshPublicKey(makeKey(root, 'rsa', 1024))).toThrow('1024 bits');
    expect(parseSshPublicKey(makeKey(root, 'rsa', 3072)).type).toBe('ssh-rsa');
  });

  it('refuses the same key twice under two comments', () => {
    writePartner('pushco', pushSources(ed25519, `${ed25519.split(' ').slice(0, 2).join(' ')} laptop`));
    const error = loadError();
    expect(error.field).toBe('sources.sftpPush.publicKeys[1]');
    expect(error.message).toContain('the same key as publicKeys[0]');
  });

  it('refuses one key for two partners', () => {
    writePartner('other', pushSources(ecdsa));
    writePartner('pushco', pushSources(ed25519, ecdsa));
    const error = loadError();
    expect(error.file).toBe(path.join(root, 'partners', 'pushco.yml'));
    expect(error.message).toContain("also partner other's");
  });

  it('refuses a 2-character id, too short for a Transfer Family user name', () => {
    writePartner('ab', pushSources(ed25519));
    const error = loadError();
    expect(error.field).toBe('id');
    expect(error.message).toContain('3 characters');
  });
});
