/**
 * The validation pass over OpenPGP files made by GnuPG playing the partner:
 * decrypted as they stream, their signature judged after the last byte, and
 * every way a file can fail ending REJECTED with its own code.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FeedConfig, PgpEncryption } from '../../../src/config/types';
import { pgpKeysFor, type PgpKeys } from '../../../src/pgp/keys';
import { CollectingRejectSink } from '../../../src/validate/collecting-reject-sink';
import { RejectionCode } from '../../../src/validate/errors';
import { DiscardingItemSink } from '../../../src/validate/sinks';
import type { ValidationCheckpoint } from '../../../src/validate/checkpoint';
import { KeyFingerprintSet } from '../../../src/validate/key-set';
import { validateFile, validateSegment, type ValidationOutcome } from '../../../src/validate/validate-file';
import { chunked, ordersFeed } from '../../support/csv-cases';
import { encryptPacketsAsTheyStand, GpgPeer } from '../../support/gpg';
import { ordersFile, orderRow } from '../../support/orders';

let gpg: GpgPeer;
let feed: FeedConfig;
let keys: PgpKeys;

function encryptedFeed(overrides: Partial<PgpEncryption> = {}): FeedConfig {
  const encryption: PgpEncryption = {
    type: 'pgp',
    privateKeyRef: 'partner-ingest/acme/pgp',
    signers: [gpg.publicKey('partner')],
    requireSignature: true,
    ...overrides,
  };
  return { ...ordersFeed(), encryption };
}

beforeAll(async () => {
  gpg = new GpgPeer();
  feed = encryptedFeed();
  keys = await pgpKeysFor(feed, { armoredKey: gpg.privateKey('us'), source: 'test' });
});
afterAll(() => gpg.dispose());

async function validate(bytes: Buffer, options: { feed?: FeedConfig; keys?: PgpKeys } = {}) {
  const items = new DiscardingItemSink();
  const rejects = new CollectingRejectSink(100);
  const outcome: ValidationOutcome = await validateFile({
    source: chunked(bytes, 4096) as Readable & AsyncIterable<Buffer>,
    feed: options.feed ?? feed,
    batchId: 'b'.repeat(32),
    items,
    rejects,
    decryption: options.keys ?? keys,
  });
  return { outcome, staged: items.items, rejects };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const CSV = ordersFile(500, [orderRow(501, { quantity: 'many' })]);

describe('validateFile: OpenPGP files made by gpg', () => {
  it.each([
    ['binary, ZIP-compressed (gpg default)', {}],
    ['binary, ZLIB-compressed', { compress: 'zlib' as const }],
    ['binary, uncompressed', { compress: 'none' as const }],
    ['ASCII-armored, ZLIB-compressed', { armor: true, compress: 'zlib' as const }],
  ])('%s: decrypted, signature verified, COMPLETED; size and SHA-256 are the encrypted file’s', async (_name, options) => {
    const file = gpg.encrypt(CSV, options);
    const { outcome, staged, rejects } = await validate(file);
    expect(outcome).toEqual({
      status: 'COMPLETED',
      counts: { records: 501, valid: 500, invalid: 1 },
      file: { bytes: file.length, sha256: sha256(file), compressed: false },
    });
    expect(staged).toBe(500);
    expect(rejects.errors).toEqual([expect.objectContaining({ line: 502, column: 'quantity' })]);
  });

  it('encrypted but unsigned when the feed requires a signature: REJECTED SIGNATURE_MISSING', async () => {
    const { outcome } = await validate(gpg.encrypt(CSV, { signer: false }));
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason?.code).toBe(RejectionCode.SIGNATURE_MISSING);
    // The whole file was read and validated first: the signature is known only at its end.
    expect(outcome.counts).toEqual({ records: 501, valid: 500, invalid: 1 });
  });

  it('unsigned is accepted when the feed sets requireSignature: false', async () => {
    const lenient = encryptedFeed({ requireSignature: false });
    const { outcome } = await validate(gpg.encrypt(CSV, { signer: false }), { feed: lenient, keys: { ...keys, requireSignature: false } });
    expect(outcome.reason).toBeUndefined();
    expect(outcome.status).toBe('COMPLETED');
  });

  it('signed by a key not among the signers: REJECTED UNKNOWN_SIGNER, naming the key', async () => {
    const { outcome } = await validate(gpg.encrypt(CSV, { signer: 'stranger' }));
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason).toEqual({
      code: RejectionCode.UNKNOWN_SIGNER,
      message: `the file is signed by key ${gpg.fingerprint('stranger').slice(-16)}, which is not among the feed's signers`,
    });
    expect(outcome.counts.records).toBe(501);
  });

  it('a signature that does not match the data: REJECTED SIGNATURE_INVALID', async () => {
    // gpg signs; one row is altered after signing (same length: only the digest
    // differs); the altered message is then encrypted to us as it stands.
    const signed = gpg.signOnly(CSV);
    const at = signed.indexOf(Buffer.from(orderRow(7)));
    expect(at).toBeGreaterThan(0);
    signed.write(orderRow(7).replace('ORD-000000007', 'ORD-000000999'), at);
    const file = await encryptPacketsAsTheyStand(signed, gpg.publicKey('us'));
    const { outcome } = await validate(file);
    expect(outcome.reason).toEqual({ code: RejectionCode.SIGNATURE_INVALID, message: expect.stringMatching(/^the signature by key /) });
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.counts).toEqual({ records: 501, valid: 500, invalid: 1 });
  });

  it('tampered after encryption (last byte, inside the integrity check): REJECTED DECRYPTION_FAILED after every row was parsed', async () => {
    const file = gpg.encrypt(CSV, { compress: 'none' });
    file[file.length - 1]! ^= 0x01;
    const { outcome, staged } = await validate(file);
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason?.code).toBe(RejectionCode.DECRYPTION_FAILED);
    expect(outcome.reason?.message).toMatch(/corrupt or failed its integrity check/);
    // The plaintext was released before the check, as the pass streams it; the
    // rows it staged are never read, since the decision rejects the file.
    expect(staged).toBe(500);
    expect(outcome.file.sha256).toBe(sha256(file));
  });

  it('tampered in the middle of compressed data: REJECTED DECRYPTION_FAILED', async () => {
    const file = gpg.encrypt(ordersFile(5000), { compress: 'zlib' });
    file[Math.floor(file.length / 2)]! ^= 0xff;
    const { outcome } = await validate(file);
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason?.code).toBe(RejectionCode.DECRYPTION_FAILED);
  });

  it('encrypted to another key: REJECTED DECRYPTION_FAILED, nothing parsed', async () => {
    const { outcome, staged } = await validate(gpg.encrypt(CSV, { recipient: 'stranger' }));
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason?.code).toBe(RejectionCode.DECRYPTION_FAILED);
    expect(outcome.counts).toEqual({ records: 0, valid: 0, invalid: 0 });
    expect(staged).toBe(0);
  });

  it.each([
    ['plain CSV', Buffer.from(CSV)],
    ['signed, not encrypted', Buffer.alloc(0)],
  ])('not an encrypted OpenPGP message (%s): REJECTED DECRYPTION_FAILED', async (name, bytes) => {
    const file = name === 'signed, not encrypted' ? gpg.signOnly(CSV) : bytes;
    const { outcome } = await validate(file);
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason?.code).toBe(RejectionCode.DECRYPTION_FAILED);
    expect(outcome.counts.records).toBe(0);
  });

  it("a message whose own compression expands beyond the feed's maxCompressionRatio: REJECTED DECOMPRESSION_BOMB after 16 MiB", async () => {
    // A header, then 24 MiB of blank lines: gpg's ZLIB takes it to about 50 KB, near deflate's 1032:1.
    const file = gpg.encrypt(`${ordersFile(0)}${'\n'.repeat(24 * 1024 * 1024)}`, { compress: 'zlib' });
    expect(file.length).toBeLessThan(256 * 1024);
    const { outcome } = await validate(file);
    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason).toEqual({
      code: RejectionCode.DECOMPRESSION_BOMB,
      message: expect.stringMatching(/^the OpenPGP message expands \d+:1 \(16\.\d MiB from \d+ compressed bytes\)/),
    });
    expect(outcome.file.sha256).toBe(sha256(file));
  }, 120_000);

  it('an empty file is EMPTY_FILE, as for any feed', async () => {
    const { outcome } = await validate(Buffer.alloc(0));
    expect(outcome.reason?.code).toBe(RejectionCode.EMPTY_FILE);
  });

  /** Validates `file` pausing at every chance, each segment opening the file where the pass asks (a ranged GET in Lambda). */
  async function validateInSegments(file: Buffer) {
    const items = new DiscardingItemSink();
    const rejects = new CollectingRejectSink(1000);
    const keySet = new KeyFingerprintSet();
    const starts: number[] = [];
    let resume: ValidationCheckpoint | undefined;
    for (let segment = 1; segment < 100; segment++) {
      const outcome = await validateSegment({
        source: (from) => {
          starts.push(from);
          return chunked(file.subarray(from), 4096);
        },
        feed,
        batchId: 'b'.repeat(32),
        items,
        rejects,
        keys: keySet,
        decryption: keys,
        shouldPause: () => true,
        ...(resume ? { resume } : {}),
      });
      if (outcome.status !== 'PAUSED') return { final: outcome, segments: segment, starts, staged: items.items, rejects };
      resume = outcome.checkpoint;
    }
    throw new Error('the pass never finished');
  }

  it('paused and resumed across invocations: every segment decrypts from byte 0, and the segments add up to one pass', async () => {
    const csv = ordersFile(20_000, [orderRow(20_001, { quantity: 'many' }), orderRow(5)]);
    const file = gpg.encrypt(csv, { compress: 'zlib' });
    const whole = await validate(file);
    expect(whole.outcome.status).toBe('COMPLETED');
    const split = await validateInSegments(file);
    expect(split.segments).toBeGreaterThan(3);
    // An encrypted file, like a gzip one, cannot be entered mid-stream.
    expect(split.starts.every((from) => from === 0)).toBe(true);
    expect(split.final).toEqual(whole.outcome);
    expect(split.staged).toBe(whole.staged);
    expect(split.rejects.errors).toEqual(whole.rejects.errors);
  });

  it('a segmented pass judges the signature in its last segment: unsigned is REJECTED SIGNATURE_MISSING', async () => {
    const split = await validateInSegments(gpg.encrypt(ordersFile(20_000), { signer: false }));
    expect(split.segments).toBeGreaterThan(3);
    expect(split.final.status).toBe('REJECTED');
    expect(split.final.reason?.code).toBe(RejectionCode.SIGNATURE_MISSING);
    expect(split.final.counts).toEqual({ records: 20_000, valid: 20_000, invalid: 0 });
  });
});
