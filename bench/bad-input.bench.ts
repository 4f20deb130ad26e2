/**
 * Issue 12, "bad input at scale": what the validation pass costs on files of
 * blank and whitespace-only lines, next to the same size of ordinary rows, and
 * how soon it rejects a small gzip of newlines. See bench/README.md ("Bad input").
 *
 *   npm run bench:bad-input [-- --repeats N] [--mb N] [--gzip-newlines-mb N] [--only rows,blank,…] [--json]
 *
 * Everything is built in memory and validated in this process, as
 * `partner-ingest validate` runs the pass (DiscardingItemSink,
 * CollectingRejectSink(100), the acme/orders feed).
 */
import os from 'node:os';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { loadPartnerRegistry } from '../src/config/load-partners';
import { DiscardingItemSink } from '../src/validate/sinks';
import { validateFile, type ValidationOutcome } from '../src/validate/validate-file';
import { CollectingRejectSink } from '../src/validate/collecting-reject-sink';
import { log, machine, median, table } from './report';

const MiB = 1024 * 1024;
const HEADER = 'order_id,customer_id,sku,quantity,unit_price,currency,order_date,email\n';

interface Case {
  /** For --only. */
  readonly key: string;
  readonly name: string;
  readonly bytes: Buffer;
  /** Bytes of CSV text (decompressed). */
  readonly csvBytes: number;
}

/** `text` repeated to `bytes` (whole repeats), after `head`. */
function filled(head: string, text: string, bytes: number): Buffer {
  const unit = Buffer.from(text);
  const count = Math.floor((bytes - head.length) / unit.length);
  const out = Buffer.alloc(head.length + count * unit.length);
  out.write(head);
  for (let at = head.length; at < out.length; at += unit.length) unit.copy(out, at);
  return out;
}

function rows(bytes: number): Buffer {
  const lines = [HEADER];
  let size = HEADER.length;
  for (let n = 1; size < bytes; n++) {
    const line = `ORD-${String(n).padStart(7, '0')},CUST-${n % 977},SKU-${n % 89},${1 + (n % 9)},${(n % 500) + 0.99},EUR,2026-11-20,buyer${n}@example.com\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

/** The header, then newlines, gzipped as a stream (the decompressed text is never held). */
async function gzipOfNewlines(newlines: number): Promise<Buffer> {
  const block = Buffer.alloc(MiB, '\n');
  async function* text(): AsyncGenerator<Buffer> {
    yield Buffer.from(HEADER);
    for (let left = newlines; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
  }
  const parts: Buffer[] = [];
  for await (const part of Readable.from(text()).pipe(createGzip({ level: 9 }))) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function measure(feed: ReturnType<typeof acmeOrders>, bytes: Buffer): Promise<{ seconds: number; cpuSeconds: number; outcome: ValidationOutcome }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const outcome = await validateFile({
    source: Readable.from([bytes]),
    feed,
    batchId: 'bench',
    items: new DiscardingItemSink(),
    rejects: new CollectingRejectSink(100),
  });
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, outcome };
}

function acmeOrders() {
  return loadPartnerRegistry().partners.get('acme')!.feeds.find((feed) => feed.id === 'orders')!;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      repeats: { type: 'string', default: '3' },
      mb: { type: 'string', default: '4' },
      'gzip-newlines-mb': { type: 'string', default: '300' },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const repeats = Number(values.repeats);
  const size = Number(values.mb) * MiB;
  const options = { json: values.json };
  const loadBefore = os.loadavg()[0]!;
  const feed = acmeOrders();
  const gz = await gzipOfNewlines(Number(values['gzip-newlines-mb']) * MiB);
  const cases: Case[] = [
    { key: 'rows', name: `${values.mb} MiB of rows`, bytes: rows(size), csvBytes: size },
    { key: 'blank', name: `${values.mb} MiB of blank lines`, bytes: filled('', '\n', size), csvBytes: size },
    { key: 'header-blank', name: `header + ${values.mb} MiB of blank lines`, bytes: filled(HEADER, '\n', size), csvBytes: size },
    { key: 'header-blank-crlf', name: `header + ${values.mb} MiB of blank CRLF lines`, bytes: filled(HEADER.replace('\n', '\r\n'), '\r\n', size), csvBytes: size },
    { key: 'header-whitespace', name: `header + ${values.mb} MiB of whitespace-only lines`, bytes: filled(HEADER, ' \t \n', size), csvBytes: size },
    { key: 'gzip-newlines', name: `gzip of header + ${values['gzip-newlines-mb']} MiB of newlines (${(gz.length / 1024).toFixed(0)} KiB)`, bytes: gz, csvBytes: Number(values['gzip-newlines-mb']) * MiB },
  ];
  const only = values.only?.split(',');
  const results = [];
  for (const item of cases.filter((candidate) => !only || only.includes(candidate.key))) {
    const runs: number[] = [];
    const cpuRuns: number[] = [];
    let outcome: ValidationOutcome | undefined;
    for (let repeat = 0; repeat < repeats; repeat++) {
      const run = await measure(feed, item.bytes);
      runs.push(run.seconds);
      cpuRuns.push(run.cpuSeconds);
      outcome = run.outcome;
      log(options, `  ${item.name}: ${run.seconds.toFixed(3)} s (CPU ${run.cpuSeconds.toFixed(3)} s), ${run.outcome.status}${run.outcome.reason ? ` ${run.outcome.reason.code}` : ''}`);
    }
    results.push({
      name: item.name,
      fileBytes: item.bytes.length,
      seconds: median(runs),
      cpuSeconds: median(cpuRuns),
      runs,
      status: outcome!.status,
      code: outcome!.reason?.code ?? null,
      records: outcome!.counts.records,
    });
  }
  const baseline = results.find((result) => result.name.includes('of rows'))?.seconds ?? Number.NaN;
  const report = { date: new Date().toISOString(), machine: machine(), loadAverage: [loadBefore, os.loadavg()[0]!].map((load) => Number(load.toFixed(2))), repeats, results };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const m = report.machine;
  process.stdout.write(
    [
      `partner-ingest bad-input benchmark — ${report.date}`,
      `machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.platform}; median of ${repeats} runs in one process`,
      `load:    1-min load average ${report.loadAverage.join(' → ')} (start → end)`,
      '',
      table(
        ['input', 'file bytes', 'seconds', 'CPU s', 'vs rows', 'outcome', 'records'],
        results.map((result) => [
          result.name,
          result.fileBytes.toLocaleString('en-US'),
          result.seconds.toFixed(3),
          result.cpuSeconds.toFixed(3),
          `${(result.seconds / baseline).toFixed(1)}×`,
          `${result.status}${result.code ? ` ${result.code}` : ''}`,
          result.records.toLocaleString('en-US'),
        ]),
      ),
      '',
    ].join('\n'),
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`bad-input.bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
