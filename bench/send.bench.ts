/**
 * Send throughput against a fast local SQS: messages/s and records/s of one
 * sender (sendStagedItems, as ingestFile and sendRange call it) into fauxqs, at
 * 1, 10 and 100 records per message (256 KiB cap) and 1000 (1 MiB cap), at the
 * sender's default concurrency (8) and one more. See bench/README.md, "Send
 * throughput".
 *
 *   npm run bench:send [-- --rows N] [--per-message 1,10,100,1000] [--concurrency 8,32] [--json]
 *
 * The orders file (bench/generate-orders.ts, no invalid rows) goes through the
 * real validation pass into an in-memory staging sink chunked like
 * StagingWriter. Each variant gets a fresh queue (MaximumMessageSize 1 MiB) in
 * one fauxqs process on 127.0.0.1 and a real SQSClient (JSON protocol, SigV4,
 * MD5 checks, HTTP over loopback). Afterwards the queue must hold exactly the
 * messages the sender says it sent, and a sample of them must match the work
 * item schemas. fauxqs runs in its own process: its CPU is reported apart,
 * and on this 2-core machine it competes with the sender for the cores.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { clientSettings } from '../src/platform/aws-client-settings';
import { sendStagedItems } from '../src/work-items/sender';
import { itemIdsOf, memoryS3 } from '../test/unit/work-items/staged-fixture';
import { stagedOrders } from './staged-orders';
import { startFauxqs, type LocalFauxqs } from './local-fauxqs';
import { log, machine, table } from './report';
import { meterSendMessageBatch } from './sqs-request-meter';

const BATCH_ID = '5e9d5e9d5e9d5e9d5e9d5e9d5e9d5e9d';
/** The sender's default (SendOptions.concurrency), which the functions use. */
const DEFAULT_CONCURRENCY = 8;
/** bench:cost reads the figures from here. */
const SEND_RESULTS_DIR = path.join(__dirname, 'data');

export interface SendRun {
  readonly recordsPerMessage: number;
  readonly maxMessageBytes: number;
  readonly concurrency: number;
  readonly records: number;
  readonly messages: number;
  readonly requests: number;
  readonly billedRequests: number;
  readonly messageBytes: number;
  readonly wallSeconds: number;
  readonly senderCpuSeconds: number;
  readonly fauxqsCpuSeconds: number;
  readonly messagesPerSecond: number;
  readonly recordsPerSecond: number;
  /** 1-minute load average before and after the variant. */
  readonly load: readonly [number, number];
}

export interface SendReport {
  readonly date: string;
  readonly machine: ReturnType<typeof machine>;
  readonly rows: number;
  readonly stagedBytes: number;
  readonly csvBytes: number;
  readonly chunks: number;
  readonly runs: readonly SendRun[];
}

const load1 = () => Number(os.loadavg()[0]!.toFixed(2));

/** Messages the queue holds, visible or not: fauxqs keeps these exact. */
async function messagesInQueue(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** Receives up to 10 messages and checks each against its envelope's schema. */
async function checkSample(sqs: SQSClient, queueUrl: string): Promise<void> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 60 }),
  );
  if (!Messages.length) throw new Error('the queue returned no message to check');
  for (const message of Messages) {
    const attributes = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue!]));
    itemIdsOf({ body: message.Body!, attributes });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '100000' },
      'per-message': { type: 'string', default: '1,10,100,1000' },
      concurrency: { type: 'string', default: `${DEFAULT_CONCURRENCY},32` },
      json: { type: 'boolean', default: false },
    },
  });
  const options = { json: values.json ?? false };
  const rows = Number(values.rows);
  const perMessage = values['per-message']!.split(',').map(Number);
  const concurrencies = values.concurrency!.split(',').map(Number);

  const { file, manifest, data } = await stagedOrders(rows, BATCH_ID);
  log(options, `${file.reused ? 'reused' : 'generated'} ${file.path} (${rows.toLocaleString('en')} rows)`);
  log(options, `staged ${manifest.items.toLocaleString('en')} items in ${manifest.chunks.length} chunks`);

  let fauxqs: LocalFauxqs | undefined;
  const stop = () => fauxqs?.stop();
  process.once('SIGINT', () => void Promise.resolve(stop()).finally(() => process.exit(130)));
  try {
    fauxqs = await startFauxqs();
    log(options, `fauxqs on ${fauxqs.endpoint} (pid ${fauxqs.pid})`);
    const runs: SendRun[] = [];
    // 1 MiB packs only pay off with many records per message: 1000 goes to the 1 MiB cap, the rest stay at the default.
    const variants = perMessage.flatMap((recordsPerMessage) =>
      concurrencies.map((concurrency) => ({ recordsPerMessage, concurrency, cap: recordsPerMessage >= 1000 ? 1_048_576 : 262_144 })),
    );
    for (const [index, { recordsPerMessage, concurrency, cap }] of variants.entries()) {
      const sqs = new SQSClient({ ...clientSettings({ region: 'us-east-1', endpoint: fauxqs.endpoint }).common, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `send-bench-${index}`, Attributes: { MaximumMessageSize: '1048576' } }));
      const counts = meterSendMessageBatch(sqs);
      const loadBefore = load1();
      const fauxqsBefore = await fauxqs.cpuSeconds();
      const cpu = process.cpuUsage();
      const started = performance.now();
      const progress = await sendStagedItems({
        s3: memoryS3(data),
        sqs,
        queueUrl: QueueUrl!,
        // Every record was validated against the default cap, so it fits any larger one.
        manifest: { ...manifest, maxMessageBytes: cap },
        fromChunk: 0,
        recordsPerMessage,
        concurrency,
        onChunkSent: async () => {},
      });
      const wallSeconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const fauxqsCpuSeconds = (await fauxqs.cpuSeconds()) - fauxqsBefore;
      const loadAfter = load1();
      const queued = await messagesInQueue(sqs, QueueUrl!);
      if (progress.itemsSent !== rows || progress.messagesSent !== counts.messages || progress.requests !== counts.requests || queued !== counts.messages) {
        throw new Error(`counts do not reconcile: ${JSON.stringify({ rows, progress, counts, queued })}`);
      }
      await checkSample(sqs, QueueUrl!);
      await sqs.send(new DeleteQueueCommand({ QueueUrl }));
      sqs.destroy();
      const run: SendRun = {
        recordsPerMessage,
        maxMessageBytes: cap,
        concurrency,
        records: progress.itemsSent,
        messages: counts.messages,
        requests: counts.requests,
        billedRequests: counts.billedRequests,
        messageBytes: counts.messageBytes,
        wallSeconds,
        senderCpuSeconds: (used.user + used.system) / 1e6,
        fauxqsCpuSeconds,
        messagesPerSecond: counts.messages / wallSeconds,
        recordsPerSecond: progress.itemsSent / wallSeconds,
        load: [loadBefore, loadAfter],
      };
      runs.push(run);
      log(options, `rpm ${recordsPerMessage}, concurrency ${concurrency}: ${Math.round(run.messagesPerSecond)} msg/s, ${Math.round(run.recordsPerSecond)} rec/s (${wallSeconds.toFixed(1)} s, load ${loadBefore} → ${loadAfter}); queue holds ${queued}`);
    }

    const report: SendReport = {
      date: new Date().toISOString(),
      machine: machine(),
      rows,
      stagedBytes: data.length,
      csvBytes: file.csvBytes,
      chunks: manifest.chunks.length,
      runs,
    };
    mkdirSync(SEND_RESULTS_DIR, { recursive: true });
    const saved = path.join(SEND_RESULTS_DIR, 'send-results.json');
    writeFileSync(saved, `${JSON.stringify(report, null, 2)}\n`);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    printReport(report, saved);
  } finally {
    await stop();
  }
}

function printReport(report: SendReport, saved: string): void {
  const fmt = (value: number) => Math.round(value).toLocaleString('en');
  const perMillion = (value: number, records: number) => (value * 1_000_000) / records;
  const m = report.machine;
  process.stdout.write(
    `partner-ingest send benchmark (fauxqs) — ${report.date}\n${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.platform}\n` +
      `${fmt(report.rows)} records staged in ${report.chunks} chunks; one sender, fauxqs in its own process on 127.0.0.1; CPU per 1M records\n\n`,
  );
  process.stdout.write(
    `${table(
      ['records/msg', 'cap KiB', 'concurrency', 'messages/s', 'records/s', 'wall s', 'sender CPU s/1M', 'fauxqs CPU s/1M', 'requests/1M', 'billed 64K/1M', 'load 1-min'],
      report.runs.map((run) => [
        String(run.recordsPerMessage),
        String(run.maxMessageBytes / 1024),
        String(run.concurrency),
        fmt(run.messagesPerSecond),
        fmt(run.recordsPerSecond),
        run.wallSeconds.toFixed(1),
        perMillion(run.senderCpuSeconds, run.records).toFixed(1),
        perMillion(run.fauxqsCpuSeconds, run.records).toFixed(1),
        fmt(perMillion(run.requests, run.records)),
        fmt(perMillion(run.billedRequests, run.records)),
        `${run.load[0]} → ${run.load[1]}`,
      ]),
    )}\n\n`,
  );
  process.stdout.write(`counts reconcile in every run (messages in the queue = messages sent; a sample matches the schemas)\nfigures saved to ${path.relative(process.cwd(), saved)} (bench:cost reads them)\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
