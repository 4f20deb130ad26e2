/**
 * `partner-ingest validate --decrypt-key` on files gpg made: a child process,
 * as an operator runs it, against a config with an encrypted feed.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encryptKey, readPrivateKey } from 'openpgp';
import { stringify } from 'yaml';
import { REPO_ROOT, tempDir } from '../support/csv-cases';
import { GpgPeer } from '../support/gpg';
import { orderRow, ordersFile } from '../support/orders';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'partner-ingest.js'), 'validate', '--config-root', root, '--partner', 'initech', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, PARTNER_INGEST_CONFIG_ROOT: undefined, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

let gpg: GpgPeer;
let root: string;
let cleanup: () => void;
const files: Record<string, string> = {};

beforeAll(async () => {
  gpg = new GpgPeer();
  ({ dir: root, cleanup } = tempDir('partner-ingest-cli-pgp-'));
  cpSync(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
  mkdirSync(path.join(root, 'partners'));
  const feed = {
    id: 'orders',
    files: ['orders_*.pgp'],
    format: { type: 'csv', encoding: 'utf-8' },
    schema: { id: 'orders', version: 1 },
    key: 'order_id',
    errorPolicy: { maxInvalidRatio: 0.1 },
    encryption: { type: 'pgp', privateKeyRef: 'partner-ingest/initech/pgp', signers: [gpg.publicKey('partner')] },
    reports: { encryptTo: gpg.publicKey('partner') },
  };
  writeFileSync(path.join(root, 'partners', 'initech.yml'), stringify({ id: 'initech', name: 'Initech', sources: { s3: {} }, feeds: [feed] }));
  const write = (name: string, content: Buffer | string) => {
    files[name] = path.join(root, name);
    writeFileSync(files[name]!, content);
  };
  const csv = ordersFile(20, [orderRow(21, { quantity: 'many' })]);
  write('orders_signed.pgp', gpg.encrypt(csv, { armor: true }));
  write('orders_stranger.pgp', gpg.encrypt(csv, { signer: 'stranger' }));
  write('us.asc', gpg.privateKey('us'));
  const locked = await encryptKey({ privateKey: await readPrivateKey({ armoredKey: gpg.privateKey('us') }), passphrase: 'correct horse' });
  write('us-locked.asc', locked.armor());
}, 60_000);

afterAll(() => {
  gpg?.dispose();
  cleanup?.();
});

test('a signed file from the partner: exit 0, COMPLETED with its counts', async () => {
  const run = await cli([files['orders_signed.pgp']!, '--decrypt-key', files['us.asc']!, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ status: 'COMPLETED', counts: { records: 21, valid: 20, invalid: 1 } });
});

test('signed by a key not among the signers: exit 1, UNKNOWN_SIGNER', async () => {
  const run = await cli([files['orders_stranger.pgp']!, '--decrypt-key', files['us.asc']!, '--json']);
  expect(run.code).toBe(1);
  expect(JSON.parse(run.stdout)).toMatchObject({ status: 'REJECTED', reasonCode: 'UNKNOWN_SIGNER' });
});

test('a passphrase-protected key, its passphrase from the environment variable --passphrase-env names', async () => {
  const args = [files['orders_signed.pgp']!, '--decrypt-key', files['us-locked.asc']!, '--passphrase-env', 'PGP_PASS', '--json'];
  const ok = await cli(args, { PGP_PASS: 'correct horse' });
  expect(ok.code).toBe(0);
  const wrong = await cli(args, { PGP_PASS: 'battery staple' });
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toMatch(/us-locked\.asc: the passphrase does not unlock the private key/);
  const unset = await cli(args);
  expect(unset.code).toBe(2);
  expect(unset.stderr).toMatch(/--passphrase-env PGP_PASS: the environment variable is not set/);
});

test('an encrypted feed without --decrypt-key is a usage error (exit 2) that says what to pass', async () => {
  const run = await cli([files['orders_signed.pgp']!]);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/feed initech\/orders is encrypted \(OpenPGP\): pass --decrypt-key FILE/);
});
