import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gzipSync } from 'node:zlib';
import { FileRejectedError, RejectionCode } from '../../../src/validate/errors';
import { INFLATE_GUARD_FLOOR_BYTES, InflateGuard } from '../../../src/validate/inflate-guard';
import { ordersCsv } from '../../support/csv-cases';
import { gzipBomb } from '../../support/gzip-bomb';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Counts (and drops) what comes out of the guard. */
function countingSink(): Writable & { bytes: number } {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      sink.bytes += chunk.length;
      callback();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

/** Feeds `chunks` of output through a guard whose "compressed bytes consumed" is whatever `consumed` says at the time. */
async function run(chunks: Buffer[], consumed: () => number, maxRatio: number, floor: number) {
  const guard = new InflateGuard(
    {
      get bytesWritten() {
        return consumed();
      },
    },
    maxRatio,
    floor,
  );
  const seen: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      seen.push(chunk);
      callback();
    },
  });
  const error = await pipeline(Readable.from(chunks), guard, sink).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, seen, guard };
}

describe('InflateGuard', () => {
  it('defaults to a 16 MiB floor', () => {
    expect(INFLATE_GUARD_FLOOR_BYTES).toBe(16 * MIB);
  });

  it('passes chunks through unchanged, whatever the ratio, up to the floor', async () => {
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(KIB, i));
    const { error, seen, guard } = await run(chunks, () => 1, 200, 16 * KIB);
    expect(error).toBeUndefined();
    expect(Buffer.concat(seen)).toEqual(Buffer.concat(chunks));
    expect(guard.bytes).toBe(16 * KIB);
  });

  it('accepts output past the floor while the ratio stays within the limit', async () => {
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(KIB));
    let out = 0;
    // Consumed input follows the output at exactly 200:1, the limit itself.
    const { error, seen } = await run(
      chunks.map((chunk) => {
        out += chunk.length;
        return chunk;
      }),
      () => out / 200,
      200,
      16 * KIB,
    );
    expect(error).toBeUndefined();
    expect(seen).toHaveLength(64);
  });

  it('rejects as DECOMPRESSION_BOMB once past the floor with a ratio over the limit, naming the ratio and the limit', async () => {
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(KIB));
    const { error, seen } = await run(chunks, () => 100, 200, 16 * KIB);
    expect(error).toBeInstanceOf(FileRejectedError);
    const rejection = error as FileRejectedError;
    expect(rejection.code).toBe(RejectionCode.DECOMPRESSION_BOMB);
    // Past the 16 KiB floor, 17, 18 and 19 KiB from 100 bytes are 174, 184 and 194:1; 20 KiB is 204:1.
    expect(rejection.message).toContain('204:1');
    expect(rejection.message).toContain('maxCompressionRatio of 200:1');
    expect(rejection.reason).toEqual({ code: 'DECOMPRESSION_BOMB', message: rejection.message });
    // Nothing from the offending chunk on reaches the next stage.
    expect(seen).toHaveLength(19);
  });

  it('treats "nothing consumed yet" as one byte rather than dividing by zero', async () => {
    const { error } = await run([Buffer.alloc(2 * KIB)], () => 0, 200, KIB);
    expect((error as FileRejectedError).code).toBe(RejectionCode.DECOMPRESSION_BOMB);
  });

  describe('after a real gunzip', () => {
    async function gunzipThroughGuard(source: Readable, maxRatio: number, floor: number) {
      const gunzip = createGunzip();
      const guard = new InflateGuard(gunzip, maxRatio, floor);
      const sink = countingSink();
      const error = await pipeline(source, gunzip, guard, sink).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      return { error, gunzip, guard, sink };
    }

    it('stops a 1 GiB bomb after reading a sliver of it', async () => {
      const bomb = gzipBomb({ head: 'a,b\n', pattern: '\n', fillBytes: 1024 * MIB });
      expect(bomb.gz.length).toBeLessThan(1.1 * MIB); // about 1000:1
      let pulled = 0;
      // 4 KiB reads, pulled lazily: how much of the file is read shows how early the guard stopped.
      const source = Readable.from(
        (function* () {
          for (let at = 0; at < bomb.gz.length; at += 4 * KIB) {
            const chunk = bomb.gz.subarray(at, at + 4 * KIB);
            pulled += chunk.length;
            yield chunk;
          }
        })(),
      );
      const { error, gunzip, sink } = await gunzipThroughGuard(source, 200, MIB);
      expect((error as FileRejectedError).code).toBe(RejectionCode.DECOMPRESSION_BOMB);
      expect((error as Error).message).toMatch(/expands (9\d\d|10\d\d):1/);
      // Only what fits under the floor went on; the bomb stopped about 1 KiB into its compressed bytes.
      expect(sink.bytes).toBeLessThanOrEqual(MIB);
      expect(gunzip.bytesWritten).toBeLessThan(4 * KIB);
      // The read side stopped too: at most the stream buffers (16 chunks of 4 KiB, one 16 KiB write buffer) beyond that.
      expect(pulled).toBeLessThan(128 * KIB);
      expect(pulled / bomb.gz.length).toBeLessThan(0.15);
    });

    it('lets real CSV through past the floor at the default limit, and measures its true ratio', async () => {
      const csv = Buffer.from(ordersCsv(30_000)); // about 2 MiB, compresses about 9:1
      const gz = gzipSync(csv);
      const ratio = csv.length / gz.length;
      expect(ratio).toBeGreaterThan(6);
      expect(ratio).toBeLessThan(15);

      const passed = await gunzipThroughGuard(Readable.from([gz]), 200, 256 * KIB);
      expect(passed.error).toBeUndefined();
      expect(passed.sink.bytes).toBe(csv.length);

      // A limit under its real ratio rejects it once past the floor …
      const strict = await gunzipThroughGuard(Readable.from([gz]), 5, 256 * KIB);
      expect((strict.error as FileRejectedError).code).toBe(RejectionCode.DECOMPRESSION_BOMB);
      // … and the floor alone keeps it accepted when the whole file is under it.
      const floored = await gunzipThroughGuard(Readable.from([gz]), 5, 4 * MIB);
      expect(floored.error).toBeUndefined();
      expect(floored.sink.bytes).toBe(csv.length);
    });
  });
});
