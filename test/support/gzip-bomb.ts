import { constants, crc32, deflateRawSync } from 'node:zlib';
import { ORDERS_HEADER, orderRow } from './orders';

export interface GzipBomb {
  /** The gzip file: a single valid member (header, deflate data, CRC-32 and size trailer). */
  readonly gz: Buffer;
  /** Bytes it decompresses to. */
  readonly decompressedBytes: number;
}

/**
 * A gzip file that decompresses to `head` followed by `pattern` repeated for
 * about `fillBytes`, built without ever holding the decompressed data: one
 * block of the pattern (`blockBytes`, a few MiB) is deflated once with a full
 * flush — byte-aligned, no back-references before it — and that segment is
 * repeated; the trailer's CRC-32 is the block's CRC combined `blocks` times (as zlib's
 * crc32_combine does), so nothing is hashed more than once. The result is a
 * real, valid gzip member that `gunzip` inflates completely.
 */
export function gzipBomb(options: { head: string; pattern: string; fillBytes: number; blockBytes?: number }): GzipBomb {
  const head = Buffer.from(options.head);
  const pattern = Buffer.from(options.pattern);
  const reps = Math.max(1, Math.floor((options.blockBytes ?? 4 * 1024 * 1024) / pattern.length));
  const block = Buffer.alloc(reps * pattern.length);
  for (let i = 0; i < reps; i++) pattern.copy(block, i * pattern.length);
  const segment = { level: 9, finishFlush: constants.Z_FULL_FLUSH };
  const headDeflated = deflateRawSync(head, segment);
  const blockDeflated = deflateRawSync(block, segment);
  const finalBlock = deflateRawSync(Buffer.alloc(0)); // an empty final block
  const blocks = Math.ceil(options.fillBytes / block.length);

  const blockCrc = crc32(block);
  let crc = crc32(head);
  for (let i = 0; i < blocks; i++) crc = crc32Combine(crc, blockCrc, block.length);
  const decompressedBytes = head.length + blocks * block.length;
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(decompressedBytes % 2 ** 32, 4);

  const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const parts = [gzipHeader, headDeflated];
  for (let i = 0; i < blocks; i++) parts.push(blockDeflated);
  parts.push(finalBlock, trailer);
  return { gz: Buffer.concat(parts), decompressedBytes };
}

/**
 * A gzip bomb that looks like an acme orders file: the real header, then one
 * order row repeated for `fillBytes` (4 GiB by default, about 4 MB compressed).
 * The row's customer id is padded to 4 KiB — runs compress about 1000:1, and
 * big rows keep the parse cheap (csv-parse is slow per record, not per byte).
 */
export function ordersGzipBomb(fillBytes = 4 * 1024 ** 3): GzipBomb {
  return gzipBomb({
    head: `${ORDERS_HEADER}\n`,
    pattern: `${orderRow(1, { customer_id: `CUST-${'x'.repeat(4096)}` })}\n`,
    fillBytes,
  });
}

// CRC-32 combination, after zlib's crc32.c (multmodp, x2nmodp, crc32_combine):
// crc(A‖B) from crc(A), crc(B) and the length of B, in GF(2) polynomial arithmetic.
const CRC32_POLY = 0xedb88320;

/** a × b modulo the CRC-32 polynomial (bit-reflected). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let product = 0;
  for (;;) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m = m / 2;
    b = b & 1 ? (b >>> 1) ^ CRC32_POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31. */
const X2N: number[] = [];
for (let k = 0, p = 0x40000000; k < 32; k++, p = multModP(p, p)) X2N.push(p);

/** x^(n × 2^k) modulo the polynomial. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

function crc32Combine(crc1: number, crc2: number, length2: number): number {
  return (multModP(x2nModP(length2, 3), crc1) ^ crc2) >>> 0;
}
