/**
 * An encrypted feed end to end on the emulator: our decryption key in (moto's)
 * Secrets Manager, read by reference with ingestFile's packaged role (granted
 * exactly that secret), files made by gpg playing the partner. A file that
 * decrypts and verifies sends its rows; every other one is REJECTED with its
 * code and sends nothing. The archive keeps the file as received: encrypted.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { encryptPacketsAsTheyStand, GpgPeer } from '../support/gpg';
import { orderRow, ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, expectSingleEvent, putInbound, useTestStack } from '../support/stack';
import { useInitechFeed } from '../support/test-partner';

const stack = useTestStack();
let gpg: GpgPeer;

const SECRET = 'partner-ingest/initech/pgp';

beforeAll(async () => {
  gpg = new GpgPeer();
  await stack.clients.secrets.send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify({ privateKey: gpg.privateKey('us') }) }));
}, 60_000);

afterAll(() => gpg?.dispose());

const config = useInitechFeed(() => ({
  id: 'orders',
  files: ['orders_*.csv.pgp', 'orders_*.csv.asc'],
  format: { type: 'csv', encoding: 'utf-8' },
  schema: { id: 'orders', version: 1 },
  key: 'order_id',
  errorPolicy: { maxInvalidRatio: 0.1 },
  encryption: { type: 'pgp', privateKeyRef: SECRET, signers: [gpg.publicKey('partner')] },
  reports: { encryptTo: gpg.publicKey('partner') },
}));

/** Drops `file` into initech's inbound prefix and runs ingestFile (packaged with initech's config) over it. */
async function ingest(name: string, file: Buffer) {
  const key = `inbound/initech/${name}`;
  await putInbound(stack, key, file);
  await drainFileEvents(stack, stack.deps({ registry: config.registry }), { configRoot: config.root });
  const state = (await stack.ledger.get(await batchIdOfKey(stack, key)))!;
  const sent = await drainQueue(stack, stack.resources.workQueueUrl);
  return { state, sent };
}

async function archived(key: string): Promise<Buffer> {
  const { Body } = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.resources.landingBucket, Key: key }));
  return Buffer.from(await Body!.transformToByteArray());
}

const CSV = ordersFile(30, [orderRow(31, { quantity: 'many' })]);

test('an encrypted, signed file (binary) is decrypted and verified: its rows are sent; the archive keeps the encrypted file', async () => {
  const file = gpg.encrypt(CSV);
  const { state, sent } = await ingest('orders_1.csv.pgp', file);
  expect(state).toMatchObject({ status: 'COMPLETED', counts: { records: 31, valid: 30, invalid: 1, workItemsSent: 30 } });
  expect(sent).toHaveLength(30);
  expect(JSON.parse(sent[0]!.Body!).record.order_id).toMatch(/^ORD-0000000\d\d$/);
  expect((await archived(state.archive!.key)).equals(file)).toBe(true);
  expect(state.file.bytes).toBe(file.length);
  expect((await expectSingleEvent(stack, 'COMPLETED')).counts.workItemsSent).toBe(30);
});

test('the rejects report goes back encrypted to the partner: not plaintext in S3, and gpg decrypts it to the exact rows', async () => {
  const { state } = await ingest('orders_report.csv.pgp', gpg.encrypt(CSV));
  await expectSingleEvent(stack, 'COMPLETED');
  const report = state.validation!.rejects!;
  expect(report.key).toMatch(/^rejects\/initech\/.+\/attempt-1\/rejects\.csv\.pgp$/);
  expect(report.rows).toBe(1);
  const stored = await archived(report.key);
  // Neither the row nor the report's header is in the object as stored.
  expect(stored.includes(Buffer.from('ORD-000000031'))).toBe(false);
  expect(stored.includes(Buffer.from('line,record'))).toBe(false);
  const { plaintext, recipients } = gpg.decrypt(stored);
  expect(recipients).toEqual([gpg.encryptionKeyId('partner')]);
  const lines = plaintext.toString().split('\r\n');
  expect(lines).toHaveLength(3);
  expect(lines[0]).toBe('line,record,column,code,message,row');
  // The bad row comes back exactly as the partner sent it: its fields re-encoded as CSV, in one (quoted) cell.
  expect(lines[1]).toMatch(/^32,31,quantity,[A-Z_]+,[^,]+,"/);
  expect(lines[1]!.endsWith(`,"${orderRow(31, { quantity: 'many' })}"`)).toBe(true);
  expect(lines[2]).toBe('');
});

test('a validation pass split over invocations builds the report in staging and seals all of it, every segment\'s rows, at the end', async () => {
  // Every row invalid: REJECTED (nothing to send, so the emulator's slow SQS stays out of it), 9,000 report lines over 3 segments.
  const rows = Array.from({ length: 9000 }, (_, index) => orderRow(index + 1, { quantity: 'many' }));
  const key = 'inbound/initech/orders_segments.csv.pgp';
  await putInbound(stack, key, gpg.encrypt(ordersFile(0, rows)));
  // A stop margin longer than any invocation: each pauses at its first chance, after 4,096 records.
  const pausing = stack.deps({ registry: config.registry, settings: { ...stack.deps().settings, stopMarginMs: 10_000_000 } });
  await drainFileEvents(stack, pausing, { configRoot: config.root });
  const state = (await stack.ledger.get(await batchIdOfKey(stack, key)))!;
  expect(state).toMatchObject({ status: 'REJECTED', reason: { code: 'TOO_MANY_INVALID_ROWS' }, counts: { records: 9000, invalid: 9000 } });
  await expectSingleEvent(stack, 'REJECTED');
  const report = state.validation!.rejects!;
  expect(report.key).toMatch(/\/rejects\.csv\.pgp$/);
  const lines = gpg.decrypt(await archived(report.key)).plaintext.toString().split('\r\n');
  // The header, one line per row in file order, the file-level reason, and the final line break.
  expect(lines).toHaveLength(1 + 9000 + 1 + 1);
  expect(lines.slice(1, 9001).map((text) => Number(text.split(',')[1]))).toEqual(Array.from({ length: 9000 }, (_, index) => index + 1));
  expect(lines[9001]).toMatch(/^,,,TOO_MANY_INVALID_ROWS,/);
  // Three segments, each with its plaintext report under staging/; under rejects/ only the sealed one.
  const keysUnder = async (prefix: string) =>
    ((await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.resources.landingBucket, Prefix: prefix }))).Contents ?? []).map((object) => object.Key!).sort();
  expect(await keysUnder(`staging/initech/${state.batchId}/attempt-1/rejects`)).toEqual(
    ['rejects.1.csv', 'rejects.2.csv', 'rejects.csv'].map((name) => `staging/initech/${state.batchId}/attempt-1/${name}`),
  );
  expect(await keysUnder(`rejects/initech/${state.batchId}/`)).toEqual([report.key]);
}, 120_000);

test('an ASCII-armored, ZLIB-compressed file completes too', async () => {
  const { state, sent } = await ingest('orders_2.csv.asc', gpg.encrypt(CSV, { armor: true, compress: 'zlib' }));
  expect(state.status).toBe('COMPLETED');
  expect(sent).toHaveLength(30);
  await expectSingleEvent(stack, 'COMPLETED');
});

test.each([
  ['unsigned', 'SIGNATURE_MISSING', () => gpg.encrypt(CSV, { signer: false }), 31],
  ['signed by an unknown key', 'UNKNOWN_SIGNER', () => gpg.encrypt(CSV, { signer: 'stranger' }), 31],
  [
    'whose signature does not match (a row altered after signing)',
    'SIGNATURE_INVALID',
    () => {
      const signed = gpg.signOnly(CSV);
      const at = signed.indexOf(Buffer.from(orderRow(7)));
      signed.write(orderRow(7).replace('ORD-000000007', 'ORD-000000999'), at);
      return encryptPacketsAsTheyStand(signed, gpg.publicKey('us'));
    },
    31,
  ],
  ['for another recipient', 'DECRYPTION_FAILED', () => gpg.encrypt(CSV, { recipient: 'stranger' }), 0],
  [
    'tampered (its integrity check fails at the end, after the rows were read)',
    'DECRYPTION_FAILED',
    () => {
      const file = gpg.encrypt(CSV, { compress: 'none' });
      file[file.length - 1]! ^= 0x01;
      return file;
    },
    // The last row is complete only when the input ends; here it fails instead.
    30,
  ],
] as [string, string, () => Buffer | Promise<Buffer>, number][])('a file %s is REJECTED %s and sends nothing', async (name, code, make, records) => {
  const file = await make();
  const { state, sent } = await ingest(`orders_${name.split(' ')[0]}.csv.pgp`, file);
  expect(state.status).toBe('REJECTED');
  expect(state.reason?.code).toBe(code);
  expect(state.counts).toMatchObject({ records, workItemsSent: 0 });
  expect(sent).toHaveLength(0);
  expect((await archived(state.archive!.key)).equals(file)).toBe(true);
  const event = await expectSingleEvent(stack, 'REJECTED');
  expect(event.reason.code).toBe(code);
});
