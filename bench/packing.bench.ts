/**
 * What packing records into work queue messages saves on the send side: SQS
 * SendMessageBatch requests, messages and bytes per million records, and the
 * CPU time of the send pass, for recordsPerMessage 1, 10, 100 and 1000 at a
 * message cap of 256 KiB and of 1 MiB. See bench/README.md.
 *
 *   npm run bench:packing [-- --rows N] [--per-message 1,10,100,1000] [--max-message-bytes 262144,1048576] [--json]
 *
 * The 1,000,000-row orders file (bench/generate-orders.ts, no invalid rows) goes
 * through the real validation pass into an in-memory staging sink chunked like
 * StagingWriter (1,000 items / 4 MiB). Each send runs sendStagedItems as the
 * ingest function does, with a real SQSClient (JSON protocol, SigV4 signing, MD5
 * checks of the response) whose HTTP handler is a local sink that acknowledges
 * every entry — no moto, which manages about 200 messages a second. The sink's
 * own work (parsing the request, MD5 of each body for the response) is timed
 * and left out of the send-side CPU figure.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sendStagedItems } from '../src/work-items/sender';
import { memoryS3 } from '../test/unit/work-items/staged-fixture';
import { stagedOrders } from './staged-orders';
import { log, machine, peakRssMB, table } from './report';

const BATCH_ID = '5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e';

/** What the local SQS endpoint saw. */
interface SinkCounts {
  requests: number;
  messages: number;
  /** Message bodies plus attributes, as SQS counts message size (and bills: per 64 KiB chunk). */
  messageBytes: number;
  /** 64 KiB chunks: SQS bills each started 64 KiB of a request as one request. */
  billedChunks: number;
  /** HTTP request bodies (the JSON of SendMessageBatch, bodies escaped). */
  requestBytes: number;
  /** Time spent inside the sink, to leave out of the send side's CPU. */
  sinkMs: number;
}

/**
 * An HTTP handler standing in for the SQS endpoint: answers every
 * SendMessageBatch with all entries successful (with the MD5 the SDK checks).
 */
function acknowledgingSqs(): { sqs: SQSClient; counts: SinkCounts } {
  const counts: SinkCounts = { requests: 0, messages: 0, messageBytes: 0, billedChunks: 0, requestBytes: 0, sinkMs: 0 };
  const requestHandler = {
    async handle(request: { body?: unknown; headers: Record<string, string> }) {
      const started = performance.now();
      const raw = request.body;
      const text = typeof raw === 'string' ? raw : Buffer.from((raw as Uint8Array).buffer, (raw as Uint8Array).byteOffset, (raw as Uint8Array).byteLength).toString('utf8');
      const input = JSON.parse(text) as {
        Entries: { Id: string; MessageBody: string; MessageAttributes?: Record<string, { DataType: string; StringValue: string }> }[];
      };
      let requestMessageBytes = 0;
      const successful = input.Entries.map((entry) => {
        let bytes = Buffer.byteLength(entry.MessageBody);
        for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
          bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + Buffer.byteLength(value.StringValue);
        }
        requestMessageBytes += bytes;
        return {
          Id: entry.Id,
          MessageId: `${counts.messages++}`,
          MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex'),
        };
      });
      counts.requests++;
      counts.messageBytes += requestMessageBytes;
      counts.billedChunks += Math.max(1, Math.ceil(requestMessageBytes / 65_536));
      counts.requestBytes += Buffer.byteLength(text);
      const body = Buffer.from(JSON.stringify({ Successful: successful, Failed: [] }));
      counts.sinkMs += performance.now() - started;
      return { response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: 'http://sqs.local',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler,
  });
  return { sqs, counts };
}

interface Run {
  readonly recordsPerMessage: number;
  /** The feed's cap on one message (workItems.maxMessageBytes). */
  readonly maxMessageBytes: number;
  readonly records: number;
  readonly requests: number;
  readonly messages: number;
  readonly messageBytes: number;
  readonly billedChunks: number;
  readonly requestBytes: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly sinkSeconds: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      'per-message': { type: 'string', default: '1,10,100,1000' },
      'max-message-bytes': { type: 'string', default: '262144,1048576' },
      json: { type: 'boolean', default: false },
    },
  });
  const options = { json: values.json ?? false };
  const rows = Number(values.rows);
  const perMessage = values['per-message']!.split(',').map(Number);
  const caps = values['max-message-bytes']!.split(',').map(Number);

  const { file, manifest, data, seconds } = await stagedOrders(rows, BATCH_ID);
  log(options, `${file.reused ? 'reused' : 'generated'} ${file.path} (${rows.toLocaleString('en')} rows)`);
  log(options, `staged ${manifest.items.toLocaleString('en')} items (${(data.length / 2 ** 20).toFixed(1)} MiB, ${manifest.chunks.length} chunks) in ${seconds.toFixed(1)} s`);

  const runs: Run[] = [];
  // One record per message does not depend on the cap: measured once.
  const variants = perMessage.flatMap((recordsPerMessage) => (recordsPerMessage === 1 ? caps.slice(0, 1) : caps).map((cap) => ({ recordsPerMessage, cap })));
  for (const { recordsPerMessage, cap } of variants) {
    const { sqs, counts } = acknowledgingSqs();
    (globalThis as { gc?: () => void }).gc?.();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const progress = await sendStagedItems({
      s3: memoryS3(data),
      sqs,
      queueUrl: 'http://sqs.local/000000000000/work',
      // Every record was validated against the default cap, so it fits any larger one.
      manifest: { ...manifest, maxMessageBytes: cap },
      fromChunk: 0,
      recordsPerMessage,
      onChunkSent: async () => {},
    });
    const wallSeconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    if (progress.itemsSent !== manifest.items || progress.messagesSent !== counts.messages || progress.requests !== counts.requests) {
      throw new Error(`counts do not reconcile: ${JSON.stringify({ progress, counts })}`);
    }
    const run: Run = {
      recordsPerMessage,
      maxMessageBytes: cap,
      records: progress.itemsSent,
      requests: counts.requests,
      messages: counts.messages,
      messageBytes: counts.messageBytes,
      billedChunks: counts.billedChunks,
      requestBytes: counts.requestBytes,
      wallSeconds,
      cpuSeconds: (used.user + used.system) / 1e6 - counts.sinkMs / 1000,
      sinkSeconds: counts.sinkMs / 1000,
    };
    runs.push(run);
    log(options, `recordsPerMessage ${recordsPerMessage}, cap ${cap / 1024} KiB: ${run.requests} requests, ${run.messages} messages, ${wallSeconds.toFixed(1)} s`);
  }

  const perMillion = (value: number, records: number) => (value * 1_000_000) / records;
  const report = {
    date: new Date().toISOString(),
    machine: machine(),
    records: manifest.items,
    stagedBytes: data.length,
    chunks: manifest.chunks.length,
    runs,
    peakRssMB: peakRssMB(),
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const fmt = (value: number) => Math.round(value).toLocaleString('en');
  const m = machine();
  process.stdout.write(
    `partner-ingest packing benchmark — ${report.date}\n${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.platform}\n` +
      `${fmt(report.records)} records staged (${(data.length / 2 ** 20).toFixed(1)} MiB, ${report.chunks} chunks); figures per 1,000,000 records\n\n`,
  );
  process.stdout.write(
    `${table(
      ['records/message', 'cap KiB', 'SendMessageBatch', 'messages', 'message MiB', 'billed 64K units', 'request MiB', 'send CPU s', 'wall s', 'CPU vs 1'],
      runs.map((run) => [
        String(run.recordsPerMessage),
        String(run.maxMessageBytes / 1024),
        fmt(perMillion(run.requests, run.records)),
        fmt(perMillion(run.messages, run.records)),
        (perMillion(run.messageBytes, run.records) / 2 ** 20).toFixed(1),
        fmt(perMillion(run.billedChunks, run.records)),
        (perMillion(run.requestBytes, run.records) / 2 ** 20).toFixed(1),
        perMillion(run.cpuSeconds, run.records).toFixed(2),
        perMillion(run.wallSeconds, run.records).toFixed(2),
        `${(run.cpuSeconds / runs[0]!.cpuSeconds).toFixed(2)}×`,
      ]),
    )}\n\n`,
  );
  process.stdout.write(
    `peak RSS ${Math.round(report.peakRssMB)} MB (staged items held in memory)\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
