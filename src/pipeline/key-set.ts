/**
 * Remembers which key values a file has used, in 8 bytes per key instead of a
 * JS string per key, so duplicate detection stays bounded on files of millions
 * of rows. Keys are stored as 64-bit fingerprints (two independent 32-bit
 * hashes); two different keys collide with probability about n²/2⁶⁵ — below
 * one in a million for ten million distinct keys.
 *
 * The fingerprints live in 256 open-addressing tables (by the top byte of the
 * first hash), each grown on its own at 3/4 full: a growth step copies 1/256 of
 * the set, not all of it, so memory never spikes to twice the set's size.
 */
const SHARD_BITS = 8;
const SHARDS = 1 << SHARD_BITS;
const MIN_SLOTS = 16;

export class KeyFingerprintSet {
  private readonly tables: Uint32Array[];
  private readonly used: Uint32Array = new Uint32Array(SHARDS);
  private total = 0;

  constructor(initialCapacity = 1 << 16) {
    const perShard = 2 ** Math.ceil(Math.log2(Math.max(MIN_SLOTS, initialCapacity / SHARDS)));
    this.tables = Array.from({ length: SHARDS }, () => new Uint32Array(perShard * 2));
  }

  get size(): number {
    return this.total;
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
    const shard = h1 >>> (32 - SHARD_BITS);
    if (!insert(this.tables[shard]!, h1, h2)) return false;
    this.total++;
    // Grown at 3/4 full: linear probing stays short, and 10M keys fit in 128 MiB.
    if (++this.used[shard]! * 8 > this.tables[shard]!.length * 3) this.tables[shard] = grown(this.tables[shard]!);
    return true;
  }

  /**
   * The set as byte chunks, to keep it across invocations: a header (the slots
   * of each table), then each table. Views, not copies — a copy of a big set
   * would double its memory.
   */
  toChunks(): Uint8Array[] {
    const header = Uint32Array.from(this.tables, (table) => table.length / 2);
    return [header, ...this.tables].map((array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  }

  /** A set restored from the bytes of `toChunks()`, viewing them where they are aligned. */
  static fromBytes(bytes: Uint8Array): KeyFingerprintSet {
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
    const words = new Uint32Array(aligned.buffer, aligned.byteOffset, Math.floor(aligned.byteLength / 4));
    const set = new KeyFingerprintSet(0);
    let at = SHARDS;
    for (let shard = 0; shard < SHARDS; shard++) {
      const slots = words[shard] ?? 0;
      if (slots < MIN_SLOTS || !Number.isInteger(Math.log2(slots)) || at + slots * 2 > words.length) {
        throw new Error(`not a key set: ${bytes.byteLength} bytes`);
      }
      const table = words.subarray(at, at + slots * 2);
      at += slots * 2;
      set.tables[shard] = table;
      let used = 0;
      for (let slot = 1; slot < table.length; slot += 2) if (table[slot] !== 0) used++;
      set.used[shard] = used;
      set.total += used;
    }
    if (at !== words.length) throw new Error(`not a key set: ${bytes.byteLength} bytes`);
    return set;
  }
}

/** Inserts (h1, h2) by linear probing; false when it is already there. */
function insert(table: Uint32Array, h1: number, h2: number): boolean {
  const mask = table.length / 2 - 1;
  let slot = h1 & mask;
  for (;;) {
    const at = slot * 2;
    if (table[at + 1] === 0) {
      table[at] = h1;
      table[at + 1] = h2;
      return true;
    }
    if (table[at] === h1 && table[at + 1] === h2) return false;
    slot = (slot + 1) & mask;
  }
}

function grown(old: Uint32Array): Uint32Array {
  const table = new Uint32Array(old.length * 2);
  for (let at = 0; at < old.length; at += 2) if (old[at + 1] !== 0) insert(table, old[at]!, old[at + 1]!);
  return table;
}
