import { KeySetError } from './errors';

/**
 * Remembers which key values a file has used, in about 10 bytes per key instead
 * of a JS string per key, so duplicate detection stays bounded on files of
 * millions of rows. Keys are stored as 64-bit fingerprints (two independent
 * 32-bit hashes); two different keys collide with probability about n²/2⁶⁵ —
 * about three in a million for ten million distinct keys.
 *
 * The fingerprints live in 256 open-addressing tables (by the top byte of the
 * first hash), each grown on its own: a growth step copies 1/256 of the set,
 * not all of it, so memory never spikes to twice the set's size. A table may
 * have any number of slots (the home slot is the other 24 bits of the first
 * hash scaled to the table's size), so it grows by 1.25× at 85% full instead of
 * doubling at 75%: 8 bytes per slot at 68–85% load. The tables start at sizes
 * spread over one growth step, so they grow at different moments and the set
 * as a whole stays near the average, ~10.5 bytes per key (worst case 8 / 0.68 ≈
 * 11.8 for one table), instead of all tables sitting just after a growth step
 * at once.
 */
const SHARD_BITS = 8;
const SHARDS = 1 << SHARD_BITS;
/** Bits of the first hash below the shard byte, which pick the home slot. */
const HOME_RANGE = 2 ** (32 - SHARD_BITS);
const MIN_SLOTS = 16;
/** 2²⁴ home slots: a bigger table would have slots no key starts at (~4 billion keys, far beyond a file). */
const MAX_SLOTS = HOME_RANGE;
/**
 * Measured on 2M ORD-… keys against power-of-two tables doubled at 75%: a key
 * already present costs the same (the cache miss on its home slot dominates;
 * 2.7 slots probed instead of 1.7, in the same or the next cache line); a new
 * key costs ~80 ns more, mostly growth copies (over a table's life each key
 * is copied ~4 times at ×1.25, once at ×2). ×1.5 would cost ~40 ns and 11.6
 * bytes per key; 90% load and ×1.2, ~150 ns (a new key probes ~19 slots).
 */
const MAX_LOAD = 0.85;
const GROWTH = 1.25;

/** "KSET" (little-endian), then the version of the layout after it (1: the layout before, without a header). */
const MAGIC = 0x5445534b;
const VERSION = 2;
/** Magic, version, keys, then the slots of each table. */
const HEADER_WORDS = 3 + SHARDS;
const HEADER_BYTES = HEADER_WORDS * 4;

export class KeyFingerprintSet {
  private readonly tables: Uint32Array[];
  private readonly used: Uint32Array = new Uint32Array(SHARDS);
  private total = 0;

  /** `initialCapacity`: about how many keys the set holds before its tables grow. */
  constructor(initialCapacity = 1 << 16) {
    const perShard = Math.max(MIN_SLOTS, initialCapacity / SHARDS / MAX_LOAD);
    this.tables = Array.from({ length: SHARDS }, (_, shard) => new Uint32Array(Math.ceil(perShard * GROWTH ** (shard / SHARDS)) * 2));
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
      // Rotated: the low k bits of x·odd depend only on the low k bits of x, so without it the lowest two
      // bits of both hashes were the same function of the key's characters (62 bits of fingerprint, not 64).
      h2 = Math.imul(((h2 << 5) | (h2 >>> 27)) ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    h1 >>>= 0;
    h2 = (h2 >>> 0) || 1; // (x, 0) marks an empty slot
    const shard = h1 >>> (32 - SHARD_BITS);
    const table = this.tables[shard]!;
    if (!insert(table, h1, h2)) return false;
    this.total++;
    if (++this.used[shard]! > (table.length >>> 1) * MAX_LOAD) this.tables[shard] = grown(table);
    return true;
  }

  /**
   * The set as byte chunks, to keep it across invocations: a header (magic,
   * version, keys, the slots of each table), then each table. Views, not
   * copies — a copy of a big set would double its memory.
   */
  toChunks(): Uint8Array[] {
    const header = Uint32Array.of(MAGIC, VERSION, this.total, ...this.tables.map((table) => table.length >>> 1));
    return [header, ...this.tables].map((array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  }

  /**
   * A set restored from the bytes of `toChunks()` as they arrive (an S3 body, a
   * file stream; chunks split anywhere). Each table is allocated at its own
   * size and filled by copying, so memory is the set plus one chunk, and a
   * table that later grows frees its old one (a view into one big buffer of
   * the whole set would keep all of it alive).
   */
  static async fromChunks(chunks: AsyncIterable<Uint8Array>): Promise<KeyFingerprintSet> {
    const set = new KeyFingerprintSet(0);
    const header = new Uint32Array(HEADER_WORDS);
    let expected = HEADER_BYTES; // the whole length once the header is in
    let received = 0;
    let shard = -1; // the table being filled; -1 for the header
    let target = new Uint8Array(header.buffer);
    let filled = 0;
    for await (const chunk of chunks) {
      for (let from = 0; from < chunk.byteLength; ) {
        if (shard === SHARDS) throw new KeySetError(`key set too long: expected ${expected} bytes, got ${received + chunk.byteLength} or more`);
        const length = Math.min(target.byteLength - filled, chunk.byteLength - from);
        target.set(chunk.subarray(from, from + length), filled);
        from += length;
        filled += length;
        if (filled < target.byteLength) continue;
        if (shard === -1) expected = lengthOf(header);
        else set.count(shard);
        if (++shard === SHARDS) continue;
        const table = new Uint32Array(header[3 + shard]! * 2);
        set.tables[shard] = table;
        target = new Uint8Array(table.buffer);
        filled = 0;
      }
      received += chunk.byteLength;
    }
    if (shard === -1 && filled >= 8) checkMagic(header); // short, but its start already says what it is
    if (shard < SHARDS) throw new KeySetError(`key set truncated: expected ${shard === -1 ? 'at least ' : ''}${expected} bytes, got ${received}`);
    if (set.total !== header[2]) throw new KeySetError(`key set corrupt: header says ${header[2]} keys, tables hold ${set.total}`);
    return set;
  }

  /** Counts the keys of a restored table. */
  private count(shard: number): void {
    const table = this.tables[shard]!;
    let used = 0;
    for (let at = 1; at < table.length; at += 2) if (table[at] !== 0) used++;
    // A full table would make the next new key probe forever.
    if (used >= table.length >>> 1) throw new KeySetError(`key set corrupt: table ${shard} is full`);
    this.used[shard] = used;
    this.total += used;
  }
}

function checkMagic(header: Uint32Array): void {
  if (header[0] !== MAGIC) throw new KeySetError(`not a key set: starts with 0x${header[0]!.toString(16).padStart(8, '0')}`);
  if (header[1] !== VERSION) throw new KeySetError(`not a key set of version ${VERSION}: version ${header[1]}`);
}

/** The length of the key set whose header this is. */
function lengthOf(header: Uint32Array): number {
  checkMagic(header);
  let bytes = HEADER_BYTES;
  for (let shard = 0; shard < SHARDS; shard++) {
    const slots = header[3 + shard]!;
    if (slots < MIN_SLOTS || slots > MAX_SLOTS) throw new KeySetError(`not a key set: table ${shard} has ${slots} slots`);
    bytes += slots * 8;
  }
  return bytes;
}

/** Inserts (h1, h2) by linear probing; false when it is already there. */
function insert(table: Uint32Array, h1: number, h2: number): boolean {
  // The home slot scales the bits below the shard byte to the table (no power-of-two size needed).
  let at = Math.floor(((h1 & (HOME_RANGE - 1)) * (table.length >>> 1)) / HOME_RANGE) * 2;
  for (;;) {
    if (table[at + 1] === 0) {
      table[at] = h1;
      table[at + 1] = h2;
      return true;
    }
    if (table[at] === h1 && table[at + 1] === h2) return false;
    at += 2;
    if (at === table.length) at = 0;
  }
}

function grown(old: Uint32Array): Uint32Array {
  const table = new Uint32Array(Math.ceil((old.length >>> 1) * GROWTH) * 2);
  for (let at = 0; at < old.length; at += 2) if (old[at + 1] !== 0) insert(table, old[at]!, old[at + 1]!);
  return table;
}
