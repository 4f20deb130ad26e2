/**
 * Remembers which key values a file has used, in 8 bytes per key instead of a
 * JS string per key, so duplicate detection stays bounded on files of millions
 * of rows. Keys are stored as 64-bit fingerprints (two independent 32-bit
 * hashes); two different keys collide with probability about n²/2⁶⁵ — below
 * one in a million for ten million distinct keys.
 */
export class KeyFingerprintSet {
  private table: Uint32Array;
  private mask: number;
  private used = 0;

  constructor(initialCapacity = 1 << 16) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.table = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.used;
  }

  /** The set's table as bytes (a view, not a copy), to keep it across invocations. */
  toBytes(): Uint8Array {
    return new Uint8Array(this.table.buffer, this.table.byteOffset, this.table.byteLength);
  }

  /** A set restored from `toBytes()` output. */
  static fromBytes(bytes: Uint8Array): KeyFingerprintSet {
    const slots = bytes.byteLength / 8;
    if (!Number.isInteger(Math.log2(slots)) || slots < 16) throw new Error(`not a key set: ${bytes.byteLength} bytes`);
    const set = new KeyFingerprintSet(16);
    // A view of the given bytes where they are aligned: a second copy of a big table would double the peak.
    set.table =
      bytes.byteOffset % 4 === 0
        ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
        : new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    set.mask = slots - 1;
    for (let at = 1; at < set.table.length; at += 2) if (set.table[at] !== 0) set.used++;
    return set;
  }

  /** Adds `key`; returns false when it was already present. */
  add(key: string): boolean {
    let h1 = 0xdeadbeef;
    let h2 = 0x41c6ce57;
    for (let i = 0; i < key.length; i++) {
      const ch = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    h1 >>>= 0;
    h2 = (h2 >>> 0) || 1; // (x, 0) marks an empty slot
    if (!this.insert(h1, h2)) return false;
    // Grown at 3/4 full: linear probing stays short, and 10M keys fit in 128 MiB.
    if (++this.used * 4 > (this.mask + 1) * 3) this.grow();
    return true;
  }

  private insert(h1: number, h2: number): boolean {
    const table = this.table;
    let slot = h1 & this.mask;
    for (;;) {
      const at = slot * 2;
      if (table[at + 1] === 0) {
        table[at] = h1;
        table[at + 1] = h2;
        return true;
      }
      if (table[at] === h1 && table[at + 1] === h2) return false;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    this.mask = old.length - 1;
    for (let at = 0; at < old.length; at += 2) {
      if (old[at + 1] !== 0) this.insert(old[at]!, old[at + 1]!);
    }
  }
}
