import { createHash } from 'node:crypto';
import { HashGapError } from '../../../src/validate/errors';
import { fileHasher, type SavedHash } from '../../../src/validate/file-hash';

/** Deterministic bytes (xorshift). */
function bytesOf(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('fileHasher', () => {
  const file = bytesOf(100_003, 7);

  it('hashes a file read in one go with the native hash, which has no state to save', async () => {
    const hash = await fileHasher(false);
    for (let at = 0; at < file.length; at += 4099) hash.update(file.subarray(at, at + 4099), at);
    expect(hash.save()).toBeUndefined();
    expect(hash.digest()).toBe(sha256(file));
  });

  it('carries a hash over any number of segments, each reading from where it was entered, overlaps included', async () => {
    for (const chunk of [1, 63, 64, 65, 1000, 65_536]) {
      let saved: SavedHash | undefined;
      // Each segment starts a little before where the saved hash ends (the parse
      // checkpoint can be behind it) and stops at an arbitrary byte.
      const stops = [9_999, 10_000, 31_337, 64_000, 64_001, 99_999];
      let digest = '';
      for (let segment = 0; segment <= stops.length; segment++) {
        const hash = await fileHasher(true, saved);
        const from = Math.max(0, hash.position - 100);
        const to = stops[segment] ?? file.length;
        for (let at = from; at < to; at += chunk) hash.update(file.subarray(at, Math.min(at + chunk, to)), at);
        if (segment === stops.length) digest = hash.digest();
        else {
          saved = hash.save()!;
          expect(saved.bytes % 64).toBe(0);
          expect(saved.bytes).toBeLessThanOrEqual(to);
          expect(saved.bytes).toBeGreaterThan(to - 64);
        }
      }
      expect(digest).toBe(sha256(file));
    }
  });

  it('refuses bytes that leave a gap after what it has hashed', async () => {
    const hash = await fileHasher(true);
    hash.update(file.subarray(0, 100), 0);
    expect(() => hash.update(file.subarray(200, 300), 200)).toThrow(HashGapError);
  });

  it('starts from byte 0 when the saved state is not one it can load', async () => {
    for (const state of ['', 'not base64 at all', Buffer.alloc(116, 3).toString('base64')]) {
      const hash = await fileHasher(true, { state, bytes: 64_000 });
      expect(hash.position).toBe(0);
      hash.update(file, 0);
      expect(hash.digest()).toBe(sha256(file));
    }
  });
});
