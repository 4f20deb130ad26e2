/**
 * Issue 12: what a resumed validation segment reads. A file validated in N
 * segments used to be read from byte 0 by every segment (to hash all of it,
 * and because gzip cannot be entered mid-stream): O(N²) bytes. Now a segment
 * carries the SHA-256 on from a saved state and enters a plain file at its
 * checkpoint. This prints, per segment, where it entered the file, the bytes
 * it read and the bytes it hashed, and the throughput of the two SHA-256
 * implementations involved. See bench/README.md ("Resuming a segment").
 *
 *   npm run bench:resume [-- --rows N] [--segments N] [--gzip] [--from-zero] [--hash-mb N] [--json]
 *
 * --from-zero hands every segment a stream of the whole file (no ranged
 * opener): what a caller that cannot open the file at an offset gets, and the
 * only mode the code before this change had.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createSHA256 } from 'hash-wasm';
import { loadPartnerRegistry } from '../src/config/load-partners';
import { KeyFingerprintSet } from '../src/validate/key-set';
import { DiscardingItemSink } from '../src/validate/sinks';
import type { ValidationCheckpoint } from '../src/validate/checkpoint';
import { validateSegment } from '../src/validate/validate-file';
import { CollectingRejectSink } from '../src/validate/collecting-reject-sink';
import { DEFAULT_OPTIONS, generateOrders } from './generate-orders';
import { log, machine, table } from './report';

const MiB = 1024 * 1024;
const HIGH_WATER_MARK = 256 * 1024;
/** record-loop.ts asks shouldPause every this many records. */
const PAUSE_CHECK_RECORDS = 4096;

interface SegmentReport {
  readonly segment: number;
  readonly enteredAt: number;
  readonly bytesRead: number;
  /** Raw bytes this segment added to the file's SHA-256. */
  readonly bytesHashed: number;
  readonly records: number;
  readonly seconds: number;
  readonly status: string;
}

/** MB/s of SHA-256 over `total` bytes fed in 256 KiB chunks: node's native hash and hash-wasm's. */
async function hashThroughput(total: number): Promise<{ nativeMBps: number; hashWasmMBps: number }> {
  const chunk = Buffer.alloc(HIGH_WATER_MARK, 0x5a);
  const time = (run: () => void) => {
    const started = performance.now();
    run();
    return total / MiB / ((performance.now() - started) / 1000);
  };
  const native = createHash('sha256');
  const nativeMBps = time(() => {
    for (let done = 0; done < total; done += chunk.length) native.update(chunk);
    native.digest();
  });
  const wasm = await createSHA256();
  wasm.init();
  const hashWasmMBps = time(() => {
    for (let done = 0; done < total; done += chunk.length) wasm.update(chunk);
    wasm.digest();
  });
  return { nativeMBps, hashWasmMBps };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rows: { type: 'string', default: '2000000' },
      segments: { type: 'string', default: '8' },
      gzip: { type: 'boolean', default: false },
      'from-zero': { type: 'boolean', default: false },
      'hash-mb': { type: 'string', default: '512' },
      json: { type: 'boolean', default: false },
    },
  });
  const options = { json: values.json };
  const rows = Number(values.rows);
  const segments = Number(values.segments);
  const file = await generateOrders({ ...DEFAULT_OPTIONS, rows, gzip: values.gzip });
  log(options, `${file.reused ? 'reusing' : 'generated'} ${file.path} (${(file.bytes / MiB).toFixed(1)} MiB${values.gzip ? ` gzip of ${(file.csvBytes / MiB).toFixed(1)} MiB` : ''})`);
  const feed = loadPartnerRegistry().partners.get('acme')!.feeds.find((candidate) => candidate.id === 'orders')!;

  // Each segment pauses once it has taken its share of the rows (shouldPause is asked every 4,096 records).
  const checksPerSegment = Math.max(1, Math.round(rows / segments / PAUSE_CHECK_RECORDS));
  const keys = new KeyFingerprintSet();
  const reports: SegmentReport[] = [];
  let resume: ValidationCheckpoint | undefined;
  let sha256: string | undefined;
  for (let segment = 1; ; segment++) {
    let enteredAt = 0;
    let bytesRead = 0;
    const open = (fromByte: number): Readable => {
      enteredAt = fromByte;
      const stream = createReadStream(file.path, { start: fromByte, highWaterMark: HIGH_WATER_MARK });
      async function* counted(): AsyncGenerator<Buffer> {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          bytesRead += chunk.length;
          yield chunk;
        }
      }
      return Readable.from(counted(), { objectMode: false, highWaterMark: HIGH_WATER_MARK });
    };
    let checks = 0;
    const started = performance.now();
    const outcome = await validateSegment({
      // The code before this change takes streams only.
      source: values['from-zero'] ? (open(0) as Readable & AsyncIterable<Buffer>) : open,
      feed,
      batchId: 'bench-resume',
      items: new DiscardingItemSink(),
      rejects: new CollectingRejectSink(100),
      keys,
      shouldPause: () => ++checks >= checksPerSegment,
      ...(resume ? { resume } : {}),
    });
    const seconds = (performance.now() - started) / 1000;
    const recordsBefore = resume?.counts.records ?? 0;
    // A segment hashes what it reads past the state it was handed (none for the first two:
    // the first uses node's hash, which cannot be saved; the second starts over from byte 0).
    const bytesHashed = enteredAt + bytesRead - ((resume as { hashedBytes?: number } | undefined)?.hashedBytes ?? 0);
    const records = (outcome.status === 'PAUSED' ? outcome.checkpoint.counts.records : outcome.counts.records) - recordsBefore;
    reports.push({ segment, enteredAt, bytesRead, bytesHashed, records, seconds, status: outcome.status });
    log(options, `  segment ${segment}: entered at ${(enteredAt / MiB).toFixed(1)} MiB, read ${(bytesRead / MiB).toFixed(1)} MiB in ${seconds.toFixed(2)} s, ${outcome.status}`);
    if (outcome.status === 'PAUSED') {
      resume = outcome.checkpoint;
      continue;
    }
    if (outcome.counts.records !== rows) throw new Error(`saw ${outcome.counts.records} records, expected ${rows}`);
    sha256 = outcome.file.sha256;
    break;
  }
  // The file facts must be those of one pass.
  const expected = await new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file.path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
  if (sha256 !== expected) throw new Error(`sha256 ${sha256} ≠ ${expected}`);

  const hashing = await hashThroughput(Number(values['hash-mb']) * MiB);
  const totals = {
    bytesRead: reports.reduce((sum, report) => sum + report.bytesRead, 0),
    bytesHashed: reports.reduce((sum, report) => sum + report.bytesHashed, 0),
    seconds: reports.reduce((sum, report) => sum + report.seconds, 0),
  };
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    file: { path: file.path, rows, gzip: values.gzip, bytes: file.bytes, csvBytes: file.csvBytes },
    source: values['from-zero'] ? 'a stream of the whole file per segment' : 'opened where the segment asks (createReadStream start)',
    segments: reports,
    totals,
    hashing,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const mb = (bytes: number) => (bytes / MiB).toFixed(1);
  const m = result.machine;
  process.stdout.write(
    [
      `partner-ingest resume benchmark — ${result.date}`,
      `machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.platform}`,
      `file:    ${file.path}: ${rows.toLocaleString('en-US')} rows, ${mb(file.bytes)} MiB${values.gzip ? ` (gzip of ${mb(file.csvBytes)} MiB)` : ''}; source: ${result.source}`,
      '',
      table(
        ['segment', 'entered at MiB', 'read MiB', 'hashed MiB', 'records', 'seconds', 'status'],
        [
          ...reports.map((report) => [
            String(report.segment),
            mb(report.enteredAt),
            mb(report.bytesRead),
            mb(report.bytesHashed),
            report.records.toLocaleString('en-US'),
            report.seconds.toFixed(2),
            report.status,
          ]),
          ['all', '', mb(totals.bytesRead), mb(totals.bytesHashed), rows.toLocaleString('en-US'), totals.seconds.toFixed(2), ''],
        ],
      ),
      `read ${(totals.bytesRead / file.bytes).toFixed(2)}× the file; sha256 equals one pass over the file`,
      '',
      `SHA-256 over ${values['hash-mb']} MiB in 256 KiB chunks: node crypto ${hashing.nativeMBps.toFixed(0)} MiB/s, hash-wasm ${hashing.hashWasmMBps.toFixed(0)} MiB/s (${(hashing.nativeMBps / hashing.hashWasmMBps).toFixed(1)}×)`,
      '',
    ].join('\n'),
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`resume.bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
