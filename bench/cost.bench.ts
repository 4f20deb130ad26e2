/**
 * What one file of 1M (and 10M) rows costs on AWS at list prices, from
 * measured figures: the validation pass's CPU (measured here), the sender's
 * CPU and SQS requests (from `npm run bench:send`'s saved figures), the
 * stack's configuration (serverless.yml) and the code paths' request counts
 * (bench/cost-model.ts). Prices: bench/prices.json. See bench/README.md, "Cost".
 *
 *   npm run bench:cost [-- --rows N] [--region us-east-1] [--concurrency 8] [--sqs-round-trip-ms 20]
 *                      [--validate-cpu S] [--send-results FILE] [--json]
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { loadPartnerRegistry } from '../src/config/load-partners';
import { DEFAULT_MIN_CHUNKS_PER_RANGE, DEFAULT_STOP_MARGIN_MS } from '../src/ingest/constants';
import { validateFile } from '../src/validate/validate-file';
import { CollectingRejectSink } from '../src/validate/collecting-reject-sink';
import { DEFAULT_CHUNK_LIMITS } from '../src/work-items/staging-writer';
import { MemoryStagingSink } from '../test/unit/work-items/staged-fixture';
import {
  batchUsage,
  lineItems,
  regionPrices,
  totalUsd,
  type BatchAssumptions,
  type MeasuredPerMillion,
  type PricesFile,
  type StackShape,
} from './cost-model';
import { generateOrders } from './generate-orders';
import { log, machine, table } from './report';
import type { SendReport } from './send.bench';

const ROOT = path.resolve(__dirname, '..');
/** S3TextWriter's lib-storage part size (src/platform/s3-text-writer.ts). */
const STAGING_PART_BYTES = 8 * 1024 * 1024;

/** The configuration that sets what a batch uses: memory, timeout, architecture, ranges, staging retention. */
function stackShape(): StackShape {
  const config = parse(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent' });
  const defaults = config.params.default;
  return {
    architecture: config.provider.architecture ?? 'x86_64',
    ingestMemoryMb: Number(config.functions.ingestFile.memorySize),
    sendMemoryMb: Number(config.functions.sendRange.memorySize),
    timeoutSeconds: Number(config.custom.ingestFileTimeout),
    stopMarginSeconds: DEFAULT_STOP_MARGIN_MS / 1000,
    chunkItems: DEFAULT_CHUNK_LIMITS.maxItems,
    maxSendRanges: Number(defaults.sendRangeConcurrency),
    minChunksPerRange: DEFAULT_MIN_CHUNKS_PER_RANGE,
    stagingPartBytes: STAGING_PART_BYTES,
    stagingRetentionDays: Number(defaults.stagingRetentionDays),
  };
}

/** CPU seconds per million rows of the validation pass (1% invalid rows, valid ones staged in memory as StagingWriter chunks them). */
async function measureValidation(rows: number): Promise<{ cpuSecondsPerMillion: number; load: [number, number] }> {
  const file = await generateOrders({ rows, invalidRate: 0.01 });
  const feed = loadPartnerRegistry().partners.get('acme')!.feeds.find((candidate) => candidate.id === 'orders')!;
  const batchId = 'c057c057c057c057c057c057c057c057';
  const before = os.loadavg()[0]!;
  const cpu = process.cpuUsage();
  const outcome = await validateFile({
    source: createReadStream(file.path, { highWaterMark: 256 * 1024 }),
    feed,
    batchId,
    items: new MemoryStagingSink(feed, batchId, DEFAULT_CHUNK_LIMITS),
    rejects: new CollectingRejectSink(100),
  });
  const used = process.cpuUsage(cpu);
  if (outcome.counts.records !== rows) throw new Error(`expected ${rows} records, the pass saw ${outcome.counts.records}`);
  return { cpuSecondsPerMillion: ((used.user + used.system) / 1e6) * (1_000_000 / rows), load: [Number(before.toFixed(2)), Number(os.loadavg()[0]!.toFixed(2))] };
}

/** The send figures per million records of each records-per-message variant at one concurrency. */
function sendFigures(report: SendReport, concurrency: number) {
  const runs = report.runs.filter((run) => run.concurrency === concurrency);
  if (!runs.length) throw new Error(`the send results have no run at concurrency ${concurrency} (they have ${[...new Set(report.runs.map((run) => run.concurrency))].join(', ')})`);
  const scale = (value: number, records: number) => (value * 1_000_000) / records;
  return runs.map((run) => ({
    recordsPerMessage: run.recordsPerMessage,
    maxMessageBytes: run.maxMessageBytes,
    senderCpuSeconds: scale(run.senderCpuSeconds, run.records),
    requests: scale(run.requests, run.records),
    billedRequests: scale(run.billedRequests, run.records),
    load: run.load,
  }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '200000' },
      region: { type: 'string', default: process.env.PARTNER_INGEST_BENCH_REGION ?? 'us-east-1' },
      concurrency: { type: 'string', default: '8' },
      'sqs-round-trip-ms': { type: 'string', default: '20' },
      'write-units': { type: 'string', default: '1' },
      'validate-cpu': { type: 'string' },
      'send-results': { type: 'string', default: path.join(__dirname, 'data', 'send-results.json') },
      json: { type: 'boolean', default: false },
    },
  });
  const options = { json: values.json ?? false };
  const region = values.region!;
  const pricesFile = JSON.parse(readFileSync(path.join(__dirname, 'prices.json'), 'utf8')) as PricesFile;
  const prices = regionPrices(pricesFile, region);
  if (!existsSync(values['send-results']!)) throw new Error(`${values['send-results']} is missing: run npm run bench:send first`);
  const sendReport = JSON.parse(readFileSync(values['send-results']!, 'utf8')) as SendReport;
  const concurrency = Number(values.concurrency);
  const sends = sendFigures(sendReport, concurrency);
  const shape = stackShape();
  const assumptions: BatchAssumptions = {
    sqsRoundTripSeconds: Number(values['sqs-round-trip-ms']) / 1000,
    sendConcurrency: concurrency,
    writeUnitsPerLedgerWrite: Number(values['write-units']),
  };

  let validation: { cpuSecondsPerMillion: number; load?: [number, number] };
  if (values['validate-cpu']) {
    validation = { cpuSecondsPerMillion: Number(values['validate-cpu']) };
  } else {
    log(options, `measuring the validation pass on ${Number(values.rows).toLocaleString('en')} rows…`);
    validation = await measureValidation(Number(values.rows));
  }
  const perRecord = (value: number) => (value * 1_000_000) / sendReport.rows;
  const scenarios = sends.map((send) => {
    const measured: MeasuredPerMillion = {
      csvBytes: perRecord(sendReport.csvBytes),
      stagedBytes: perRecord(sendReport.stagedBytes),
      validateCpuSeconds: validation.cpuSecondsPerMillion,
      sendCpuSeconds: send.senderCpuSeconds,
      sendRequests: send.requests,
      sendBilledRequests: send.billedRequests,
    };
    return {
      send,
      sizes: [1_000_000, 10_000_000].map((rows) => {
        const usage = batchUsage(rows, measured, shape, assumptions);
        const items = lineItems(usage, prices, shape.architecture);
        return { rows, usage, items, totalUsd: totalUsd(items) };
      }),
    };
  });

  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    region,
    pricesTaken: pricesFile.taken,
    shape,
    assumptions,
    validation,
    send: { date: sendReport.date, rows: sendReport.rows, concurrency, node: sendReport.machine.node },
    scenarios,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  printReport(report);
}

function printReport(report: {
  date: string;
  machine: ReturnType<typeof machine>;
  region: string;
  pricesTaken: string;
  shape: StackShape;
  assumptions: BatchAssumptions;
  validation: { cpuSecondsPerMillion: number; load?: [number, number] };
  send: { date: string; rows: number; concurrency: number; node: string };
  scenarios: { send: ReturnType<typeof sendFigures>[number]; sizes: { rows: number; usage: ReturnType<typeof batchUsage>; items: ReturnType<typeof lineItems>; totalUsd: number }[] }[];
}): void {
  const { shape, assumptions } = report;
  const m = report.machine;
  const usd = (value: number) => (value >= 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(6)}`);
  const qty = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en') : Number(value.toFixed(2)).toLocaleString('en'));
  const label = (send: (typeof report.scenarios)[number]['send']) => `${send.recordsPerMessage}/msg${send.maxMessageBytes > 262_144 ? ' (1 MiB)' : ''}`;
  process.stdout.write(
    `partner-ingest cost of a file — ${report.date}\n${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.platform}\n` +
      `prices: ${report.region}, list prices taken ${report.pricesTaken} (bench/prices.json), no free tier\n` +
      `stack:  ${shape.architecture}, ingestFile ${shape.ingestMemoryMb} MB, sendRange ${shape.sendMemoryMb} MB (${(Math.min(1, shape.ingestMemoryMb / 1769)).toFixed(2)} vCPU), ` +
      `timeout ${shape.timeoutSeconds} s − ${shape.stopMarginSeconds} s margin, up to ${shape.maxSendRanges} send ranges, staging kept ${shape.stagingRetentionDays} days (serverless.yml)\n` +
      `measured: validation ${report.validation.cpuSecondsPerMillion.toFixed(1)} CPU s per 1M rows` +
      `${report.validation.load ? ` (load ${report.validation.load[0]} → ${report.validation.load[1]})` : ' (given)'}; ` +
      `send from bench:send ${report.send.date} (${report.send.rows.toLocaleString('en')} rows, concurrency ${report.send.concurrency}, Node ${report.send.node}): ` +
      report.scenarios.map(({ send }) => `${label(send)} ${send.senderCpuSeconds.toFixed(1)} CPU s/1M (load ${send.load[0]} → ${send.load[1]})`).join(', ') +
      `\nassumed: Lambda time = CPU s × 1769 / memory MB, at least SendMessageBatch calls × ${assumptions.sqsRoundTripSeconds * 1000} ms / ${assumptions.sendConcurrency} in flight; ` +
      `${assumptions.writeUnitsPerLedgerWrite} write unit per ledger write; S3/DynamoDB/SQS counts from the code paths (bench/cost-model.ts)\n`,
  );
  for (const [index, rows] of [1_000_000, 10_000_000].entries()) {
    const first = report.scenarios[0]!.sizes[index]!;
    const lines = first.items.map((item, line) => [
      item.item,
      item.unit,
      ...report.scenarios.flatMap(({ sizes }) => [qty(sizes[index]!.items[line]!.quantity), usd(sizes[index]!.items[line]!.usd)]),
    ]);
    lines.push(['total', '', ...report.scenarios.flatMap(({ sizes }) => ['', usd(sizes[index]!.totalUsd)])]);
    lines.push(['per million rows', '', ...report.scenarios.flatMap(({ sizes }) => ['', usd((sizes[index]!.totalUsd * 1_000_000) / rows)])]);
    const shapeOf = report.scenarios.map(({ send, sizes }) => {
      const usage = sizes[index]!.usage;
      return `${label(send)}: ${usage.validateInvocations} validation + ${usage.sendInvocations} send invocation(s), ${usage.ranges} range(s), ~${Math.round(usage.validateSeconds)} s + ${Math.round(usage.sendSeconds)} s`;
    });
    process.stdout.write(
      `\n${rows.toLocaleString('en')} rows in one file (${first.usage.chunks.toLocaleString('en')} chunks)\n  ${shapeOf.join('\n  ')}\n\n` +
        `${table(['line item', 'unit', ...report.scenarios.flatMap(({ send }) => [label(send), 'USD'])], lines)}\n`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
