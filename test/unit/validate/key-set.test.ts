import { KeyFingerprintSet } from '../../../src/validate/key-set';

describe('KeyFingerprintSet', () => {
  it('accepts 200,000 distinct keys and refuses them the second time', () => {
    const keys = new KeyFingerprintSet();
    const count = 200_000;
    for (let n = 0; n < count; n++) {
      if (!keys.add(`ORD-${String(n).padStart(9, '0')}`)) throw new Error(`distinct key ${n} was refused`);
    }
    expect(keys.size).toBe(count);
    // Every 4th key, spread over the whole range (hashing is slow in Jest's VM context).
    for (let n = 0; n < count; n += 4) {
      if (keys.add(`ORD-${String(n).padStart(9, '0')}`)) throw new Error(`repeated key ${n} was accepted`);
    }
    expect(keys.size).toBe(count);
  });

  it('keeps every key through many growth steps of every table', () => {
    const keys = new KeyFingerprintSet(1);
    const firstSlots = slotsOf(keys);
    const problems: string[] = [];
    const count = 100_000;
    let checkAt = 1000;
    for (let n = 0; n < count; n++) {
      if (!keys.add(key(n))) problems.push(`new ${key(n)} refused`);
      // Now and then (tables grow at different moments), everything added before must still be found.
      if (n + 1 === checkAt || n + 1 === count) {
        for (let old = 0; old <= n; old += old < 2000 ? 1 : 5) if (keys.add(key(old))) problems.push(`${key(old)} forgotten at ${n + 1} keys`);
        checkAt *= 2;
      }
    }
    expect(problems).toEqual([]);
    expect(keys.size).toBe(count);
    // ~390 keys a table: each has grown at least ten times (1.25¹⁰ ≈ 9.3) from its first size.
    const lastSlots = slotsOf(keys);
    for (let shard = 0; shard < firstSlots.length; shard++) expect(lastSlots[shard]!).toBeGreaterThan(9 * firstSlots[shard]!);
  });

  it('tells apart keys that differ in one character, in order, or in length', () => {
    const keys = new KeyFingerprintSet();
    const similar = ['a', 'b', 'ab', 'ba', 'abc', 'abd', 'ORD-000001', 'ORD-000010', 'ORD-0000001', 'ORD-000001 ', ' ORD-000001', 'ord-000001'];
    for (const key of similar) expect(keys.add(key)).toBe(true);
    for (const key of similar) expect(keys.add(key)).toBe(false);
  });

  it('handles empty, non-ASCII and long keys', () => {
    const keys = new KeyFingerprintSet();
    const long = 'x'.repeat(10_000);
    for (const key of ['', 'Zoë', 'Zoe\u0308', '😀', '北京', long, `${long}y`]) expect(keys.add(key)).toBe(true);
    for (const key of ['', 'Zoë', '😀', long, `${long}y`]) expect(keys.add(key)).toBe(false);
    expect(keys.size).toBe(7);
  });

  it('treats a key the same however its string was built', () => {
    const keys = new KeyFingerprintSet();
    expect(keys.add(['ORD', '123456'].join('-'))).toBe(true);
    expect(keys.add(`ORD-${123456}`)).toBe(false);
    expect(keys.add('ORD-123456ORD-123457'.slice(0, 10))).toBe(false);
  });

  describe('kept across invocations (toChunks, fromChunks)', () => {
    const grownSet = (count: number) => {
      const keys = new KeyFingerprintSet(1);
      for (let n = 0; n < count; n++) keys.add(key(n));
      return keys;
    };

    it('restores from a stream split at odd, unaligned boundaries and then behaves exactly as the original', async () => {
      const original = grownSet(20_000);
      const restored = await KeyFingerprintSet.fromChunks(chunked(bytesOf(original), [1, 3, 4093, 7, 65_537, 2, 1035, 5]));
      expect(restored.size).toBe(20_000);
      // The same adds (half present, half new, enough for every table to grow again) give the same answers...
      const problems: string[] = [];
      for (let n = 10_000; n < 40_000; n++) {
        const expected = n >= 20_000;
        if (original.add(key(n)) !== expected) problems.push(`original: ${key(n)}`);
        if (restored.add(key(n)) !== expected) problems.push(`restored: ${key(n)}`);
        // Tables grow at the same moments (checked as they go: a restored table that never grew would fill up and hang).
        if (n % 500 === 0) expect(slotsOf(restored)).toEqual(slotsOf(original));
      }
      for (let n = 0; n < 40_000; n += 3) if (restored.add(key(n))) problems.push(`restored forgot ${key(n)}`);
      expect(problems).toEqual([]);
      expect(restored.size).toBe(40_000);
      // ...and the same tables, byte for byte (each grew the same way).
      expect(Buffer.from(bytesOf(restored)).equals(Buffer.from(bytesOf(original)))).toBe(true);
    });

    it('restores one byte at a time, and from a single chunk at an odd offset', async () => {
      const original = grownSet(3000);
      const bytes = bytesOf(original);
      for (const chunks of [chunked(bytes, [1]), chunked(bytes, [bytes.length])]) {
        const restored = await KeyFingerprintSet.fromChunks(chunks);
        expect(restored.size).toBe(3000);
        expect(restored.add(key(2999))).toBe(false);
        expect(restored.add(key(3000))).toBe(true);
      }
    });

    it('restores each table into an allocation of its own, so a table that grows frees its old one', async () => {
      const restored = await KeyFingerprintSet.fromChunks(chunked(bytesOf(grownSet(20_000)), [4096]));
      const tables = restored.toChunks().slice(1);
      expect(tables).toHaveLength(256);
      for (const table of tables) expect(table.buffer.byteLength).toBe(table.byteLength);
      expect(new Set(tables.map((table) => table.buffer)).size).toBe(256);
    });

    it('rejects what is not a whole key set of this version, saying what is wrong', async () => {
      const bytes = bytesOf(grownSet(3000));
      const restore = (input: Uint8Array) => KeyFingerprintSet.fromChunks(chunked(input, [1000]));
      const header = 4 * (3 + 256);
      await expect(restore(Buffer.from('{"not":"a key set", "but": "some JSON that is long enough"}'))).rejects.toThrow(
        'not a key set: starts with 0x6f6e227b',
      );
      // The layout before the header: 256 table sizes, then the tables.
      await expect(restore(new Uint8Array(new Uint32Array(256 + 256 * 32).fill(16, 0, 256).buffer))).rejects.toThrow(/^not a key set: starts with 0x00000010$/);
      const otherVersion = bytes.slice();
      otherVersion[4] = 3;
      await expect(restore(otherVersion)).rejects.toThrow('not a key set of version 2: version 3');
      await expect(restore(new Uint8Array(0))).rejects.toThrow(`key set truncated: expected at least ${header} bytes, got 0`);
      await expect(restore(bytes.subarray(0, 100))).rejects.toThrow(`key set truncated: expected at least ${header} bytes, got 100`);
      await expect(restore(bytes.subarray(0, bytes.length - 1))).rejects.toThrow(
        `key set truncated: expected ${bytes.length} bytes, got ${bytes.length - 1}`,
      );
      await expect(restore(bytes.subarray(0, header + 5))).rejects.toThrow(`key set truncated: expected ${bytes.length} bytes, got ${header + 5}`);
      await expect(restore(Buffer.concat([bytes, new Uint8Array(3)]))).rejects.toThrow(`key set too long: expected ${bytes.length} bytes`);
      const wrongCount = bytes.slice();
      new DataView(wrongCount.buffer).setUint32(8, 2999, true);
      await expect(restore(wrongCount)).rejects.toThrow('key set corrupt: header says 2999 keys, tables hold 3000');
      const tooSmall = bytes.slice();
      new DataView(tooSmall.buffer).setUint32(12 + 4 * 7, 0, true);
      await expect(restore(tooSmall)).rejects.toThrow('not a key set: table 7 has 0 slots');
      // A full table (no empty slot) would make the next new key probe forever.
      const full = new Uint32Array(3 + 256 + 256 * 32);
      full.set([0x5445534b, 2, 16], 0);
      full.fill(16, 3, 3 + 256);
      full.fill(1, 3 + 256, 3 + 256 + 32);
      await expect(restore(new Uint8Array(full.buffer))).rejects.toThrow('key set corrupt: table 0 is full');
      await expect(restore(bytes)).resolves.toHaveProperty('size', 3000);
    });

    it('passes on an error of the stream it restores from', async () => {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield bytesOf(grownSet(100)).subarray(0, 5000);
        throw new Error('connection reset');
      }
      await expect(KeyFingerprintSet.fromChunks(failing())).rejects.toThrow('connection reset');
    });
  });

  it('stays under 11 bytes per key as it grows to 500,000 keys', () => {
    // A table holds 8-byte slots at 68–85% load (grown ×1.25 at 85%): at worst 8 / 0.68 ≈ 11.8 bytes
    // per key. Tables start at sizes spread over one growth step, so they do not all sit just after a
    // growth step at once, and the set stays near the average, ≈ 10.5 bytes per key (the old
    // power-of-two tables: 10.7–21.3).
    const keys = new KeyFingerprintSet(); // room for 65,536 keys before any table grows
    const perKey: number[] = [];
    for (let n = 1; n <= 500_000; n++) {
      keys.add(key(n));
      if (n % 25_000 === 0 && n > 65_536) perKey.push(keys.toChunks().reduce((sum, chunk) => sum + chunk.byteLength, 0) / n);
    }
    expect(keys.size).toBe(500_000);
    expect(Math.max(...perKey)).toBeLessThan(11);
  });
});

const key = (n: number) => `ORD-${100_000_000 + n}`;

/** The set's bytes, joined. */
function bytesOf(keys: KeyFingerprintSet): Uint8Array {
  return new Uint8Array(Buffer.concat(keys.toChunks())); // a copy of its own (Buffer's slice() would be a view)
}

/** The slots of each table, from the header of `toChunks()` (after magic, version and keys). */
function slotsOf(keys: KeyFingerprintSet): Uint32Array {
  const header = keys.toChunks()[0]!;
  return new Uint32Array(header.buffer, header.byteOffset + 12, 256).slice();
}

/** `bytes` as a stream of chunks of the given sizes (in turn), each at an odd offset of a buffer of its own, as S3 or a file may hand them over. */
async function* chunked(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = Math.min(sizes[i % sizes.length]!, bytes.length - at);
    const chunk = new Uint8Array(size + 1);
    chunk.set(bytes.subarray(at, at + size), 1);
    yield chunk.subarray(1);
    at += size;
  }
}
