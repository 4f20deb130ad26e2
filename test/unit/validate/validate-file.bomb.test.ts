/**
 * The validation pass against a real gzip bomb (4 GiB decompressed, about
 * 6 MB compressed, built in the test without ever holding the decompressed
 * data) and against real, compressible CSV that must not be mistaken for one.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { RejectionCode } from '../../../src/validate/errors';
import { DiscardingItemSink } from '../../../src/validate/sinks';
import { validateFile, type ValidationOutcome } from '../../../src/validate/validate-file';
import { CollectingRejectSink } from '../../../src/validate/collecting-reject-sink';
import { HEADER, chunked, line, order, ordersFeed, ordersFeedWith } from '../../support/csv-cases';
import { ordersGzipBomb } from '../../support/gzip-bomb';

const MIB = 1024 * 1024;

async function validateBytes(bytes: Buffer, feed = ordersFeed(), onProgress?: () => void): Promise<ValidationOutcome> {
  return validateFile({
    source: chunked(bytes) as Readable & AsyncIterable<Buffer>,
    feed,
    batchId: 'b'.repeat(32),
    items: new DiscardingItemSink(),
    rejects: new CollectingRejectSink(100),
    ...(onProgress ? { onProgress } : {}),
  });
}

describe('validateFile: decompression bombs', () => {
  it('the test bomb is a real gzip file (checked on a 64 MiB one: size, CRC and content)', () => {
    const small = ordersGzipBomb(64 * MIB);
    const text = gunzipSync(small.gz); // verifies the CRC-32 and size trailer
    expect(text.length).toBe(small.decompressedBytes);
    const lines = text.subarray(0, 10_000).toString().split('\n');
    expect(lines[0]).toBe('order_id,customer_id,sku,quantity,unit_price,currency,order_date,email');
    expect(lines[1]).toMatch(/^ORD-000000001,CUST-x{4096},SKU-1,2,2\.01,USD,2026-11-20,buyer1@example\.com$/);
  });

  it('rejects a 4 GiB bomb as DECOMPRESSION_BOMB after 16 MiB, in bounded memory', async () => {
    const bomb = ordersGzipBomb(4 * 1024 * MIB);
    expect(bomb.decompressedBytes).toBeGreaterThanOrEqual(4 * 1024 * MIB);
    expect(bomb.gz.length).toBeLessThan(8 * MIB);

    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sample = () => {
      peak = Math.max(peak, process.memoryUsage().rss);
    };
    const sampler = setInterval(sample, 5);
    let outcome: ValidationOutcome;
    try {
      outcome = await validateBytes(bomb.gz, ordersFeed(), sample);
    } finally {
      clearInterval(sampler);
    }
    sample();
    const grewMiB = (peak - baseline) / MIB;
    console.info(`4 GiB gzip bomb: RSS ${(baseline / MIB).toFixed(0)} MiB before, peak +${grewMiB.toFixed(1)} MiB`);

    expect(outcome.status).toBe('REJECTED');
    expect(outcome.reason).toEqual({
      code: RejectionCode.DECOMPRESSION_BOMB,
      message: expect.stringMatching(/^the gzip data expands \d+:1 \(16\.0 MiB from \d+ compressed bytes\), beyond the feed's maxCompressionRatio of 200:1$/),
    });
    // Stopped at the 16 MiB floor: about 4,000 of the bomb's million 4 KiB rows were parsed.
    expect(outcome.counts.records).toBeLessThan((16 * MIB) / 4096 + 10);
    // The raw file was still read to its end, so size and checksum are those of the whole file.
    expect(outcome.file).toEqual({
      bytes: bomb.gz.length,
      sha256: createHash('sha256').update(bomb.gz).digest('hex'),
      compressed: true,
    });
    // What the stage holds at once is its stream buffers (16 KiB each, 256 parsed rows of
    // 4 KiB at the record loop: about 1 MiB) plus the garbage of the rows parsed so far; the
    // 6 MB input is allocated before the baseline. 128 MiB leaves room for V8 growing its
    // heap, and is still a 32nd of what the bomb decompresses to.
    expect(grewMiB).toBeLessThan(128);
  }, 180_000);

  it('accepts real CSV past the 16 MiB floor at the default limit, and measures its true ratio', async () => {
    // Wide rows (long customer ids and emails, all valid) pass the floor with fewer records to parse.
    const rows = 60_000;
    const csv = Buffer.from(wideOrdersCsv(rows));
    expect(csv.length).toBeGreaterThan(17 * MIB);
    const gz = gzipSync(csv);
    const ratio = csv.length / gz.length;
    expect(ratio).toBeGreaterThan(10);
    expect(ratio).toBeLessThan(100);

    const accepted = await validateBytes(gz);
    expect(accepted.reason).toBeUndefined();
    expect(accepted.counts).toEqual({ records: rows, valid: rows, invalid: 0 });

    const strict = await validateBytes(gz, ordersFeedWith({ limits: { maxCompressionRatio: 5 } }));
    expect(strict.status).toBe('REJECTED');
    expect(strict.reason?.code).toBe(RejectionCode.DECOMPRESSION_BOMB);
    expect(strict.reason?.message).toContain('maxCompressionRatio of 5:1');
  }, 180_000);

  it('never judges the ratio of a file that decompresses to less than 16 MiB', async () => {
    const csv = Buffer.from(wideOrdersCsv(20_000));
    expect(csv.length).toBeLessThan(16 * MIB);
    const { reason, counts } = await validateBytes(gzipSync(csv), ordersFeedWith({ limits: { maxCompressionRatio: 2 } }));
    expect(reason).toBeUndefined();
    expect(counts.valid).toBe(20_000);
  }, 120_000);
});

/** An orders file of `count` valid rows about 350 bytes wide (customer ids and emails near their maximum lengths). */
function wideOrdersCsv(count: number): string {
  const lines = [HEADER];
  for (let n = 1; n <= count; n++) {
    const tag = n.toString(36);
    lines.push(
      line(
        order(n, {
          customer_id: `CUST-${tag}-${'k'.repeat(40)}-${tag}`.slice(0, 64),
          email: `buyer.${tag}.${'m'.repeat(40)}.${tag}@${'orders.'.repeat(22)}example.com`,
        }),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
