import { KeyFingerprintSet } from '../../../src/pipeline/key-set';

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

  it('keeps every key while growing from the smallest table', () => {
    const keys = new KeyFingerprintSet(1);
    const added: string[] = [];
    const problems: string[] = [];
    for (let n = 0; n < 5000; n++) {
      const key = `k${n * 7919}`;
      if (!keys.add(key)) problems.push(`new ${key} refused`);
      added.push(key);
      // Around each growth step, everything added before must still be found.
      if ((n & (n + 1)) === 0) for (const old of added) if (keys.add(old)) problems.push(`${old} forgotten at ${n + 1} keys`);
    }
    expect(problems).toEqual([]);
    expect(keys.size).toBe(5000);
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

  it('survives a round trip through bytes, as between two invocations', () => {
    const keys = new KeyFingerprintSet();
    for (let n = 0; n < 3000; n++) keys.add(`key-${n}`);
    const bytes = Buffer.concat(keys.toChunks());
    const unaligned = Buffer.alloc(bytes.length + 1).fill(0);
    bytes.copy(unaligned, 1); // S3 may hand back a buffer at any offset
    const restored = KeyFingerprintSet.fromBytes(unaligned.subarray(1));
    expect(restored.size).toBe(3000);
    expect(restored.add('key-2999')).toBe(false);
    expect(restored.add('key-3000')).toBe(true);
    expect(() => KeyFingerprintSet.fromBytes(new Uint8Array(24))).toThrow(/not a key set/);
  });
});
