/**
 * Issue 7: a 10,000,000-row file through the ingest pipeline, as the Lambda
 * runs it — validation in as many time-budgeted invocations as it takes
 * (pause, checkpoint, resume), then the send phase against a local S3/SQS
 * sink — reporting total time, invocations, peak RSS per invocation and SQS
 * requests per million records. See bench/README.md ("Large file").
 *
 *   npm run bench:large [-- --rows N] [--budget-ms MS] [--stop-margin-ms MS] [--records-per-message 1,10]
 *                          [--gzip] [--raw-mb MB] [--data-dir DIR] [--keep-work] [--work-dir DIR] [--no-key-check] [--skip-send]
 *                          [--skip-slices] [--send-invocations N] [--json]
 *
 * Every invocation is a child process of its own (fresh memory, like a new
 * Lambda container): this script with `--child validate|send|raw`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { loadPartnerRegistry } from '../src/config/load-partners';
import type { FeedConfig } from '../src/config/types';
import { KeyFingerprintSet } from '../src/validate/key-set';
import { DiscardingItemSink } from '../src/validate/sinks';
import type { ValidationCheckpoint } from '../src/validate/checkpoint';
import { validateSegment, type ValidationOutcome } from '../src/validate/validate-file';
import { CollectingRejectSink } from '../src/validate/collecting-reject-sink';
import { sendStagedItems } from '../src/work-items/sender';
import type { StagingManifest } from '../src/work-items/staging-writer';
import { DEFAULT_OPTIONS, defaultPath, generateOrders, type GeneratedFile } from './generate-orders';
import { CountingSqsHandler, LOCAL_QUEUE_URL, LocalS3Handler, localS3Client, localSqsClient, type SqsCounts } from './large-file-aws';
import { LocalRejectSink, LocalStagingSink, NOTHING_STAGED, writeBytesSync, type LocalStaged } from './large-file-sinks';
import { machine, table } from './report';

const ROOT = path.resolve(__dirname, '..');
const HIGH_WATER_MARK = 256 * 1024;
const TARGET_RATIO = 0.6;
const TARGET_RSS_MB = 256;
const BUCKET = 'bench-landing';
const MiB = 1024 * 1024;
/** A run that needs more invocations than this is stuck. */
const MAX_INVOCATIONS = 500;

const mb = (bytes: number) => bytes / MiB;

// ------------------------------------------------------------ shared types

interface ValidateState {
  readonly file: string;
  readonly batchId: string;
  readonly keyCheck: boolean;
  readonly segment: number;
  readonly checkpoint?: ValidationCheckpoint;
  readonly staged: LocalStaged;
  /** Key set table of the last paused segment. */
  readonly keysFile?: string;
  readonly rejectFiles: readonly string[];
  readonly outcome?: ValidationOutcome;
}

interface SendState {
  readonly nextChunk: number;
  readonly itemsSent: number;
}

interface MemoryPeak {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

interface InvocationReport {
  readonly phase: 'validate' | 'send';
  readonly recordsPerMessage?: number;
  readonly budgetMs: number;
  /** From handler start (after init: node, tsx, modules, partner config) to its end: what Lambda's timeout counts. */
  readonly handlerMs: number;
  readonly peakRssMB: number;
  /** RSS when the handler started (the init's share). */
  readonly startRssMB: number;
  /** Highest of each `process.memoryUsage()` figure, sampled every 50 ms. */
  readonly memoryPeakMB: MemoryPeak;
  readonly cpuSeconds: number;
  readonly steps: Record<string, number>;
  readonly detail: Record<string, unknown>;
  /** Set by the parent: the whole child process, init included. */
  processMs?: number;
}

// -------------------------------------------------------------- child side

function sampleMemory(): { peak: MemoryPeak; stop: () => void } {
  const peak: MemoryPeak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const take = () => {
    const usage = process.memoryUsage();
    for (const name of Object.keys(peak) as (keyof MemoryPeak)[]) peak[name] = Math.max(peak[name], mb(usage[name]));
  };
  take();
  const timer = setInterval(take, 50);
  timer.unref();
  return {
    peak,
    stop: () => {
      clearInterval(timer);
      take();
    },
  };
}

function acmeOrders(keyCheck: boolean): FeedConfig {
  const feed = loadPartnerRegistry().partners.get('acme')!.feeds.find((candidate) => candidate.id === 'orders')!;
  return keyCheck ? feed : ({ ...feed, key: undefined } as FeedConfig);
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const writeJson = (file: string, value: unknown) => writeFileSync(file, `${JSON.stringify(value)}\n`);

/** Times the steps of an invocation: `step(name)` adds the time since the previous call to `steps[name]`. */
function stepTimer(): { steps: Record<string, number>; step: (name: string) => void } {
  const steps: Record<string, number> = {};
  let mark = performance.now();
  return {
    steps,
    step: (name) => {
      const now = performance.now();
      steps[name] = (steps[name] ?? 0) + (now - mark);
      mark = now;
    },
  };
}

/** One validation invocation: restore, validate until done or the budget runs low, persist. */
async function validateInvocation(work: string, budgetMs: number, marginMs: number): Promise<Omit<InvocationReport, 'handlerMs' | 'peakRssMB' | 'startRssMB' | 'memoryPeakMB' | 'cpuSeconds'>> {
  const stateFile = path.join(work, 'validate-state.json');
  const state = readJson<ValidateState>(stateFile);
  const feed = acmeOrders(state.keyCheck);
  // Init ends here: the budget counts from now, as Lambda's timeout counts from the handler's start.
  const deadline = performance.now() + budgetMs;
  const { steps, step } = stepTimer();

  const keys = state.keysFile ? await KeyFingerprintSet.fromChunks(createReadStream(state.keysFile)) : new KeyFingerprintSet();
  const rssAfterRestoreMB = mb(process.memoryUsage.rss());
  step('restoreKeysMs');
  const items = new LocalStagingSink(work, state.batchId, feed, state.staged);
  const rejects = new LocalRejectSink(work, state.segment);
  const recordsBefore = state.checkpoint?.counts.records ?? 0;
  // Opened where the pass asks, as the ingest function's ranged GET; counted, for the bytes each invocation reads.
  const read = { from: 0, bytes: 0 };
  const open = (from: number): Readable => {
    read.from = from;
    const file = createReadStream(state.file, { start: from, highWaterMark: HIGH_WATER_MARK });
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of file as AsyncIterable<Buffer>) {
        read.bytes += chunk.length;
        yield chunk;
      }
    }
    return Readable.from(counted(), { objectMode: false, highWaterMark: HIGH_WATER_MARK });
  };
  const outcome = await validateSegment({
    source: open,
    feed,
    batchId: state.batchId,
    items,
    rejects,
    keys,
    shouldPause: () => deadline - performance.now() < marginMs,
    ...(state.checkpoint ? { resume: state.checkpoint } : {}),
  });
  step('validateMs');
  const keyTableBytes = keys.toChunks().reduce((sum, chunk) => sum + chunk.byteLength, 0);
  const base = {
    segment: state.segment,
    resumedAtOffset: state.checkpoint?.offset ?? 0,
    enteredAtByte: read.from,
    bytesRead: read.bytes,
    keysInSet: keys.size,
    keyTableMB: mb(keyTableBytes),
    rssAfterKeyRestoreMB: rssAfterRestoreMB,
  };
  let next: ValidateState;
  let detail: Record<string, unknown>;
  if (outcome.status === 'PAUSED') {
    const staged = await items.closeSegment();
    await rejects.close();
    let keysFile: string | undefined;
    if (feed.key !== undefined) {
      keysFile = path.join(work, `keys.${state.segment}.bin`);
      writeBytesSync(keysFile, keys.toChunks());
      if (state.keysFile) rmSync(state.keysFile, { force: true });
    }
    next = { ...state, segment: state.segment + 1, checkpoint: outcome.checkpoint, staged, rejectFiles: [...state.rejectFiles, rejects.file], ...(keysFile ? { keysFile } : {}) };
    detail = { ...base, status: 'PAUSED', records: outcome.checkpoint.counts.records - recordsBefore, counts: outcome.checkpoint.counts, offset: outcome.checkpoint.offset };
  } else {
    const manifest = await items.close(BUCKET);
    await rejects.close();
    writeJson(path.join(work, 'manifest.json'), manifest);
    if (state.keysFile) rmSync(state.keysFile, { force: true });
    const { keysFile: _dropped, ...rest } = state;
    next = { ...rest, segment: state.segment + 1, rejectFiles: [...state.rejectFiles, rejects.file], outcome };
    detail = { ...base, status: outcome.status, records: outcome.counts.records - recordsBefore, counts: outcome.counts, chunks: manifest.chunks.length, stagedBytes: manifest.bytes, reason: outcome.reason };
  }
  writeJson(stateFile, next);
  step('persistMs');
  return { phase: 'validate', budgetMs, steps, detail };
}

/** One send invocation: the staged chunks from the checkpoint on, until done or the budget runs low. */
async function sendInvocation(work: string, recordsPerMessage: number, budgetMs: number, marginMs: number): Promise<Omit<InvocationReport, 'handlerMs' | 'peakRssMB' | 'startRssMB' | 'memoryPeakMB' | 'cpuSeconds'>> {
  const validation = readJson<ValidateState>(path.join(work, 'validate-state.json'));
  const deadline = performance.now() + budgetMs;
  const { steps, step } = stepTimer();

  const stateFile = path.join(work, `send-${recordsPerMessage}.json`);
  const sinkFile = path.join(work, `sqs-${recordsPerMessage}.bin`);
  const state: SendState = existsSync(stateFile) ? readJson<SendState>(stateFile) : { nextChunk: 0, itemsSent: 0 };
  const manifest = readJson<StagingManifest>(path.join(work, 'manifest.json'));
  const s3Handler = new LocalS3Handler(work);
  const sqsHandler = new CountingSqsHandler(validation.outcome!.counts.records);
  sqsHandler.load(sinkFile);
  const before: SqsCounts = { ...sqsHandler.counts };
  step('restoreMs');
  let checkpoints = 0;
  const progress = await sendStagedItems({
    s3: localS3Client(s3Handler),
    sqs: localSqsClient(sqsHandler),
    queueUrl: LOCAL_QUEUE_URL,
    manifest,
    fromChunk: state.nextChunk,
    recordsPerMessage,
    shouldStop: () => deadline - performance.now() < marginMs,
    // The ledger's sendCheckpoint, one conditional write per chunk in the service.
    onChunkSent: async (nextChunk, itemsSent) => {
      checkpoints++;
      writeJson(stateFile, { nextChunk, itemsSent } satisfies SendState);
    },
  });
  step('sendMs');
  sqsHandler.save(sinkFile);
  step('persistMs');
  const after = sqsHandler.counts;
  const p = progress as typeof progress & { messagesSent?: number; requests?: number };
  return {
    phase: 'send',
    recordsPerMessage,
    budgetMs,
    steps,
    detail: {
      fromChunk: state.nextChunk,
      nextChunk: progress.nextChunk,
      chunks: progress.nextChunk - state.nextChunk,
      done: progress.done,
      itemsSent: progress.itemsSent - state.itemsSent,
      checkpoints,
      messagesSent: p.messagesSent,
      senderRequests: p.requests,
      sqsRequests: after.requests - before.requests,
      sqsMessages: after.messages - before.messages,
      sqsRecords: after.records - before.records,
      s3Requests: s3Handler.requests,
      s3MB: mb(s3Handler.bytes),
      totalChunks: manifest.chunks.length,
    },
  };
}

/** The first `limit` bytes of the CSV text (cut after a line break); counts what it passed in `counter.bytes`. */
function csvSlice(file: string, gzip: boolean, limit: number, counter: { bytes: number }): Readable {
  const raw = createReadStream(file, { highWaterMark: HIGH_WATER_MARK });
  const text: Readable = gzip ? raw.pipe(createGunzip()) : raw;
  async function* limited(): AsyncGenerator<Buffer> {
    for await (const chunk of text as AsyncIterable<Buffer>) {
      if (counter.bytes + chunk.length >= limit) {
        const cut = chunk.subarray(0, limit - counter.bytes);
        const piece = cut.subarray(0, cut.lastIndexOf(0x0a) + 1);
        counter.bytes += piece.length;
        yield piece;
        raw.destroy();
        return;
      }
      counter.bytes += chunk.length;
      yield chunk;
    }
  }
  return Readable.from(limited(), { objectMode: false });
}

/**
 * The validation pass alone over the same slice as the raw baseline, in one
 * segment: `discard` as validate.bench.ts runs it (nothing staged), `stage`
 * with the bench's local staging sink (every valid row staged, as the ingest
 * function does).
 * Splits the pipeline's cost over csv-parse, validation and staging.
 */
async function sliceInvocation(file: string, gzip: boolean, limitMB: number, mode: string): Promise<Record<string, unknown>> {
  const feed = acmeOrders(true);
  const counter = { bytes: 0 };
  const work = mode === 'stage' ? mkdtempSync(path.join(os.tmpdir(), 'partner-ingest-large-slice-')) : undefined;
  try {
    if (work) mkdirSync(path.join(work, 'staging'));
    const items = work ? new LocalStagingSink(work, 'slice', feed) : new DiscardingItemSink();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const outcome = await validateSegment({
      source: csvSlice(file, gzip, limitMB * MiB, counter) as Readable & AsyncIterable<Buffer>,
      feed,
      batchId: 'slice',
      items,
      rejects: work ? new LocalRejectSink(work, 0) : new CollectingRejectSink(100),
      shouldPause: () => false,
    });
    if (items instanceof LocalStagingSink) await items.close(BUCKET);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const records = outcome.status === 'PAUSED' ? 0 : outcome.counts.records;
    return { mode, seconds, cpuSeconds, records, csvBytes: counter.bytes, csvMBPerSecond: mb(counter.bytes) / seconds, csvMBPerCpuSecond: mb(counter.bytes) / cpuSeconds };
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
}

/** csv-parse alone over the first `limitMB` MiB of CSV (whole lines; 0 = the whole file), as validate.bench.ts measures it. */
async function rawInvocation(file: string, gzip: boolean, limitMB: number): Promise<Record<string, unknown>> {
  const limit = limitMB > 0 ? limitMB * MiB : Number.POSITIVE_INFINITY;
  let records = 0;
  let csvBytes = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const raw = createReadStream(file, { highWaterMark: HIGH_WATER_MARK });
  const text: Readable = gzip ? raw.pipe(createGunzip()) : raw;
  async function* limited(): AsyncGenerator<Buffer> {
    for await (const chunk of text as AsyncIterable<Buffer>) {
      if (csvBytes + chunk.length >= limit) {
        const cut = chunk.subarray(0, limit - csvBytes);
        const last = cut.lastIndexOf(0x0a);
        const piece = cut.subarray(0, last + 1);
        csvBytes += piece.length;
        yield piece;
        raw.destroy();
        return;
      }
      csvBytes += chunk.length;
      yield chunk;
    }
  }
  const source = limit === Number.POSITIVE_INFINITY && !gzip ? raw : Readable.from(limited(), { objectMode: false });
  if (source === raw) csvBytes = statSync(file).size;
  await pipeline(
    source,
    parse(),
    new Writable({
      objectMode: true,
      write(_record: string[], _encoding, callback) {
        records++;
        callback();
      },
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return { seconds, cpuSeconds, csvMBPerCpuSecond: mb(csvBytes) / cpuSeconds, records, csvBytes, csvMBPerSecond: mb(csvBytes) / seconds, rowsPerSecond: records / seconds };
}

async function child(kind: string, args: string[]): Promise<void> {
  if (kind === 'slice') {
    const [file, gzip, limitMB, mode] = args;
    const result = await sliceInvocation(file!, gzip === 'gzip', Number(limitMB), mode!);
    process.stdout.write(`${JSON.stringify({ ...result, peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
    return;
  }
  if (kind === 'raw') {
    const [file, gzip, limitMB] = args;
    const startRssMB = mb(process.memoryUsage.rss());
    const result = await rawInvocation(file!, gzip === 'gzip', Number(limitMB));
    process.stdout.write(`${JSON.stringify({ ...result, startRssMB, peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
    return;
  }
  const [work, budget, margin, rpm] = args;
  const startRssMB = mb(process.memoryUsage.rss());
  const memory = sampleMemory();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const report =
    kind === 'validate'
      ? await validateInvocation(work!, Number(budget), Number(margin))
      : await sendInvocation(work!, Number(rpm), Number(budget), Number(margin));
  const handlerMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  memory.stop();
  const full: InvocationReport = {
    ...report,
    handlerMs,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    startRssMB,
    memoryPeakMB: memory.peak,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
  process.stdout.write(`${JSON.stringify(full)}\n`);
}

// ------------------------------------------------------------- parent side

interface Options {
  readonly rows: number;
  readonly gzip: boolean;
  readonly budgetMs: number;
  readonly stopMarginMs: number;
  readonly recordsPerMessage: number[];
  readonly rawMB: number;
  readonly dataDir: string;
  readonly keepWork: boolean;
  readonly workDir?: string;
  readonly keyCheck: boolean;
  readonly skipSend: boolean;
  readonly skipSlices: boolean;
  /** At most this many invocations per send phase (a partial run). */
  readonly sendInvocations: number;
  readonly json: boolean;
}

function say(options: Options, text: string): void {
  if (!options.json) process.stderr.write(`${text}\n`);
}

function runChild<T>(kind: string, args: string[], timeoutMs: number): { result: T; processMs: number } {
  const started = performance.now();
  const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'run-ts.js'), __filename, '--child', kind, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    // The SDK's "node >= 22 after January 2027" notice, once per child, would bury the progress lines.
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    timeout: timeoutMs,
    maxBuffer: 16 * MiB,
  });
  const processMs = performance.now() - started;
  if (run.status !== 0) throw new Error(`child ${kind} ${args.join(' ')} failed (exit ${run.status ?? run.signal})`);
  const last = run.stdout.trim().split('\n').pop() ?? '';
  return { result: JSON.parse(last) as T, processMs };
}

/** Runs invocations of one phase until it reports done. */
function runPhase(
  options: Options,
  label: string,
  args: string[],
  isDone: (report: InvocationReport) => boolean,
  cap = Number.POSITIVE_INFINITY,
): { invocations: InvocationReport[]; wallMs: number; done: boolean } {
  const invocations: InvocationReport[] = [];
  const started = performance.now();
  for (;;) {
    if (invocations.length >= MAX_INVOCATIONS) throw new Error(`${label}: no end after ${MAX_INVOCATIONS} invocations`);
    if (invocations.length >= cap) {
      say(options, `  ${label}: stopped after ${cap} invocation(s) (--send-invocations): a partial run`);
      return { invocations, wallMs: performance.now() - started, done: false };
    }
    const { result, processMs } = runChild<InvocationReport>(label.split(' ')[0]!, args, Math.max(3 * options.budgetMs, options.budgetMs + 120_000));
    result.processMs = processMs;
    invocations.push(result);
    const d = result.detail;
    say(
      options,
      `  ${label} #${invocations.length}: ${(result.handlerMs / 1000).toFixed(1)} s of ${(options.budgetMs / 1000).toFixed(0)} s` +
        `${result.handlerMs > options.budgetMs ? ' OVER BUDGET' : ''}, peak RSS ${result.peakRssMB.toFixed(0)} MB, ` +
        (result.phase === 'validate'
          ? `${String(d.status)} after ${Number(d.records).toLocaleString('en-US')} records (key table ${Number(d.keyTableMB).toFixed(0)} MB)`
          : `${Number(d.chunks).toLocaleString('en-US')} chunks, ${Number(d.sqsRequests).toLocaleString('en-US')} requests${d.done ? ', done' : ''}`),
    );
    if (isDone(result)) break;
  }
  return { invocations, wallMs: performance.now() - started, done: true };
}

/** Record numbers listed in the local rejects files. */
function invalidBitmap(files: readonly string[], records: number): { bitmap: Uint8Array; rows: number; duplicates: number } {
  const bitmap = new Uint8Array((records >> 3) + 1);
  let rows = 0;
  let duplicates = 0;
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const record = Number(line.slice(0, line.indexOf(',')));
      if (record === 0) continue; // a file-level reason
      rows++;
      const bit = 1 << (record & 7);
      if (bitmap[record >> 3]! & bit) duplicates++;
      bitmap[record >> 3]! |= bit;
    }
  }
  return { bitmap, rows, duplicates };
}

interface Reconciliation {
  readonly recordsPerMessage: number;
  readonly ok: boolean;
  /** False for a send phase cut short by --send-invocations: records not yet sent are not counted as missing. */
  readonly complete: boolean;
  readonly records: number;
  readonly valid: number;
  readonly invalid: number;
  readonly itemsSent: number;
  readonly sentTwice: number;
  readonly neverSent: number;
  readonly invalidSent: number;
  readonly outOfRange: number;
}

function reconcile(records: number, valid: number, invalid: Uint8Array, sink: CountingSqsHandler, recordsPerMessage: number, complete: boolean): Reconciliation {
  const sent = sink.bitmap;
  let neverSent = 0;
  let invalidSent = 0;
  let sentCount = 0;
  for (let record = 1; record <= records; record++) {
    const bit = 1 << (record & 7);
    const isSent = (sent[record >> 3]! & bit) !== 0;
    const isInvalid = (invalid[record >> 3]! & bit) !== 0;
    if (isSent) sentCount++;
    if (isSent && isInvalid) invalidSent++;
    if (!isSent && !isInvalid) neverSent++;
  }
  const { duplicates, outOfRange } = sink.counts;
  const ok = complete
    ? duplicates === 0 && neverSent === 0 && invalidSent === 0 && outOfRange === 0 && sentCount === valid && sink.counts.records === valid
    : duplicates === 0 && invalidSent === 0 && outOfRange === 0 && sentCount === sink.counts.records;
  return { recordsPerMessage, ok, complete, records, valid, invalid: records - valid, itemsSent: sentCount, sentTwice: duplicates, neverSent, invalidSent, outOfRange };
}

async function parent(options: Options): Promise<void> {
  const started = performance.now();
  const date = new Date();
  const loadBefore = os.loadavg()[0]!;
  mkdirSync(options.dataDir, { recursive: true });
  const genOptions = { ...DEFAULT_OPTIONS, rows: options.rows, gzip: options.gzip };
  const genStarted = performance.now();
  const file: GeneratedFile = await generateOrders(genOptions, path.join(options.dataDir, path.basename(defaultPath(genOptions))));
  say(options, `${file.reused ? 'reusing' : `generated (${((performance.now() - genStarted) / 1000).toFixed(1)} s)`}: ${file.path} (${mb(file.bytes).toFixed(0)} MiB, ${mb(file.csvBytes).toFixed(0)} MiB of CSV)`);

  // The speed limit: csv-parse alone over (the first part of) the same file.
  say(options, `  raw csv-parse over ${options.rawMB ? `the first ${options.rawMB} MiB` : 'the whole file'} …`);
  const raw = runChild<{ seconds: number; cpuSeconds: number; csvMBPerCpuSecond: number; records: number; csvBytes: number; csvMBPerSecond: number; rowsPerSecond: number; peakRssMB: number }>(
    'raw',
    [file.path, options.gzip ? 'gzip' : 'plain', String(options.rawMB)],
    30 * 60_000,
  ).result;
  say(options, `  raw csv-parse: ${raw.csvMBPerSecond.toFixed(1)} MiB/s (${raw.records.toLocaleString('en-US')} records in ${raw.seconds.toFixed(1)} s)`);
  // The same slice through the validation pass, without and with staging.
  const slices = options.rawMB > 0 && !options.skipSlices
    ? (['discard', 'stage'] as const).map((mode) => {
        const slice = runChild<{ mode: string; seconds: number; cpuSeconds: number; records: number; csvMBPerSecond: number; csvMBPerCpuSecond: number; peakRssMB: number }>(
          'slice',
          [file.path, options.gzip ? 'gzip' : 'plain', String(options.rawMB), mode],
          30 * 60_000,
        ).result;
        say(options, `  validate slice (${mode}): ${slice.csvMBPerSecond.toFixed(1)} MiB/s, ${slice.csvMBPerCpuSecond.toFixed(1)} MiB per CPU s`);
        return slice;
      })
    : [];

  // A kept work dir whose validation finished is reused: only the send phase runs again.
  const reuse = options.workDir !== undefined && existsSync(path.join(options.workDir, 'validation-runs.json'));
  const work = options.workDir ?? mkdtempSync(path.join(os.tmpdir(), 'partner-ingest-large-'));
  mkdirSync(path.join(work, 'staging'), { recursive: true });
  try {
    const budget = [String(options.budgetMs), String(options.stopMarginMs)];
    let validation: { invocations: InvocationReport[]; wallMs: number };
    if (reuse) {
      validation = readJson(path.join(work, 'validation-runs.json'));
      say(options, `  reusing the validation phase in ${work} (${validation.invocations.length} invocations)`);
    } else {
      const batchId = createHash('sha256').update(`bench-large:${path.basename(file.path)}`).digest('hex').slice(0, 32);
      const initial: ValidateState = { file: file.path, batchId, keyCheck: options.keyCheck, segment: 0, staged: NOTHING_STAGED, rejectFiles: [] };
      writeJson(path.join(work, 'validate-state.json'), initial);
      validation = runPhase(options, 'validate', [work, ...budget], (report) => report.detail.status !== 'PAUSED');
      writeJson(path.join(work, 'validation-runs.json'), validation);
    }
    const state = readJson<ValidateState>(path.join(work, 'validate-state.json'));
    const outcome = state.outcome!;
    const manifest = readJson<StagingManifest>(path.join(work, 'manifest.json'));

    // Exact counts.
    const { counts } = outcome;
    const checks: string[] = [];
    if (counts.records !== options.rows) checks.push(`records ${counts.records} ≠ rows ${options.rows}`);
    if (counts.valid + counts.invalid !== counts.records) checks.push(`valid + invalid ≠ records`);
    if (counts.invalid !== file.invalidRows) checks.push(`invalid ${counts.invalid} ≠ planted ${file.invalidRows}`);
    if (manifest.items !== counts.valid) checks.push(`staged ${manifest.items} ≠ valid ${counts.valid}`);
    const chunkItems = manifest.chunks.reduce((sum, chunk) => sum + chunk.items, 0);
    if (chunkItems !== counts.valid) checks.push(`chunks hold ${chunkItems} ≠ valid ${counts.valid}`);
    if (manifest.chunks.some((chunk) => chunk.items > 1000)) checks.push('a chunk holds more than 1000 items');
    const invalid = invalidBitmap(state.rejectFiles, counts.records);
    if (invalid.rows !== counts.invalid || invalid.duplicates) checks.push(`rejects list ${invalid.rows} rows (${invalid.duplicates} twice), invalid ${counts.invalid}`);

    const sends: { recordsPerMessage: number; invocations: InvocationReport[]; wallMs: number; counts: SqsCounts; reconciliation: Reconciliation }[] = [];
    if (!options.skipSend && outcome.status === 'COMPLETED') {
      for (const rpm of options.recordsPerMessage) {
        rmSync(path.join(work, `send-${rpm}.json`), { force: true });
        rmSync(path.join(work, `sqs-${rpm}.bin`), { force: true });
        const phase = runPhase(options, `send rpm=${rpm}`, [work, ...budget, String(rpm)], (report) => report.detail.done === true, options.sendInvocations);
        const sink = new CountingSqsHandler(counts.records);
        sink.load(path.join(work, `sqs-${rpm}.bin`));
        const reconciliation = reconcile(counts.records, counts.valid, invalid.bitmap, sink, rpm, phase.done);
        if (!reconciliation.ok) checks.push(`send rpm=${rpm}: ${JSON.stringify(reconciliation)}`);
        const last = readJson<SendState>(path.join(work, `send-${rpm}.json`));
        if (phase.done && last.itemsSent !== counts.valid) checks.push(`send rpm=${rpm}: checkpoint says ${last.itemsSent} items sent, valid ${counts.valid}`);
        sends.push({ recordsPerMessage: rpm, invocations: phase.invocations, wallMs: phase.wallMs, counts: sink.counts, reconciliation });
      }
    }

    // Figures.
    const all = [...validation.invocations, ...sends.flatMap((send) => send.invocations)];
    const overBudget = all.filter((invocation) => invocation.handlerMs > options.budgetMs);
    const maxRss = Math.max(...all.map((invocation) => invocation.peakRssMB));
    const validateHandlerMs = validation.invocations.reduce((sum, invocation) => sum + invocation.handlerMs, 0);
    const validateMBps = mb(file.csvBytes) / (validateHandlerMs / 1000);
    // The first segment reads no skipped bytes and restores no key set: the pass's own speed.
    const first = validation.invocations[0]!;
    const firstSegmentMB = (Number((first.detail.status === 'PAUSED' ? first.detail.offset : file.csvBytes)) || 0) / MiB;
    const firstSegmentMBps = firstSegmentMB / (first.steps.validateMs! / 1000);
    const ratio = validateMBps / raw.csvMBPerSecond;
    // Less swayed by other load on the machine than wall time.
    const validateCpuSeconds = validation.invocations.reduce((sum, invocation) => sum + invocation.cpuSeconds, 0);
    const ratioByCpu = mb(file.csvBytes) / validateCpuSeconds / raw.csvMBPerCpuSecond;
    // Per million records sent (all valid records, unless a send phase was cut short).
    const perMillion = (value: number, sent: number) => (value / sent) * 1e6;
    const result = {
      date: date.toISOString(),
      machine: { ...machine(), loadAverage: [loadBefore, os.loadavg()[0]!].map((load) => Number(load.toFixed(2))) },
      file: { path: file.path, rows: file.rows, gzip: file.gzip, bytes: file.bytes, csvBytes: file.csvBytes, invalidRows: file.invalidRows },
      settings: { budgetMs: options.budgetMs, stopMarginMs: options.stopMarginMs, recordsPerMessage: options.recordsPerMessage, keyCheck: options.keyCheck, chunkItems: 1000 },
      raw,
      slices,
      validation: {
        invocations: validation.invocations.length,
        wallMs: validation.wallMs,
        handlerMs: validateHandlerMs,
        csvMBPerSecond: validateMBps,
        firstSegmentCsvMBPerSecond: firstSegmentMBps,
        /** Raw bytes of the file the invocations read, all together. */
        bytesRead: validation.invocations.reduce((sum, invocation) => sum + (Number(invocation.detail.bytesRead) || 0), 0),
        outcome: { status: outcome.status, counts, reason: outcome.reason },
        staged: { chunks: manifest.chunks.length, items: manifest.items, bytes: manifest.bytes },
        runs: validation.invocations,
      },
      sends: sends.map((send) => ({
        recordsPerMessage: send.recordsPerMessage,
        invocations: send.invocations.length,
        wallMs: send.wallMs,
        handlerMs: send.invocations.reduce((sum, invocation) => sum + invocation.handlerMs, 0),
        complete: send.reconciliation.complete,
        recordsSent: send.counts.records,
        totalWallMs: validation.wallMs + send.wallMs,
        sqs: send.counts,
        requestsPerMillionRecords: perMillion(send.counts.requests, send.counts.records),
        messagesPerMillionRecords: perMillion(send.counts.messages, send.counts.records),
        requestMBPerMillionRecords: mb(perMillion(send.counts.requestBytes, send.counts.records)),
        recordsPerSecond: send.counts.records / (send.invocations.reduce((sum, invocation) => sum + invocation.handlerMs, 0) / 1000),
        reconciliation: send.reconciliation,
        runs: send.invocations,
      })),
      checks,
      targets: {
        peakRssMB: { target: TARGET_RSS_MB, actual: Number(maxRss.toFixed(1)), pass: maxRss < TARGET_RSS_MB },
        validationVsRaw: { target: TARGET_RATIO, actual: Number(ratio.toFixed(3)), pass: ratio >= TARGET_RATIO },
        /** Informational: the same ratio from CPU seconds. */
        validationVsRawByCpu: { target: TARGET_RATIO, actual: Number(ratioByCpu.toFixed(3)), pass: ratioByCpu >= TARGET_RATIO },
        withinBudget: { target: 0, actual: overBudget.length, pass: overBudget.length === 0 },
        exactCounts: { pass: checks.length === 0 },
      },
      benchWallMs: performance.now() - started,
    };

    writeJson(path.join(options.dataDir, `result-${options.rows}${options.gzip ? '-gz' : ''}.json`), result);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`${render(result, options)}\n`);
    }
    if (checks.length) process.exitCode = 1;
  } finally {
    if (options.keepWork || options.workDir) say(options, `work dir kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

function render(result: any, options: Options): string {
  const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const out: string[] = [];
  const m = result.machine;
  out.push(`partner-ingest large-file benchmark — ${result.date}`);
  out.push(`machine: ${m.cpu}, ${m.cores} cores, ${m.totalMemoryGB} GB RAM, Node ${m.node}, ${m.platform}`);
  out.push(`load:    1-min load average ${m.loadAverage.join(' → ')} (start → end)`);
  out.push(
    `file:    ${result.file.path}: ${fmt(result.file.rows)} rows, ${fmt(mb(result.file.csvBytes))} MiB of CSV` +
      `${result.file.gzip ? ` (${fmt(mb(result.file.bytes))} MiB gzip)` : ''}, ${fmt(result.file.invalidRows)} invalid rows planted`,
  );
  out.push(
    `budget:  ${s(options.budgetMs)} s per invocation, stop margin ${s(options.stopMarginMs)} s; each invocation a fresh child process; ` +
      `staged chunks of 1,000 items on local disk; local S3 (ranged GETs) and counting SQS via the SDK's requestHandler${options.keyCheck ? '' : '; DUPLICATE-KEY CHECK OFF'}`,
  );
  out.push('');
  const rows: string[][] = [];
  const add = (label: string, invocation: InvocationReport, what: string) => {
    rows.push([
      label,
      s(invocation.handlerMs),
      `${invocation.handlerMs > options.budgetMs ? 'OVER ' : ''}${fmt((invocation.handlerMs / options.budgetMs) * 100)}%`,
      s(invocation.processMs ?? Number.NaN),
      fmt(invocation.cpuSeconds, 1),
      fmt(invocation.peakRssMB),
      fmt(invocation.startRssMB),
      fmt(invocation.memoryPeakMB.arrayBuffers),
      fmt(invocation.memoryPeakMB.heapUsed),
      what,
    ]);
  };
  result.validation.runs.forEach((invocation: InvocationReport, i: number) => {
    const d = invocation.detail as any;
    add(
      `validate #${i + 1}`,
      invocation,
      `${d.status} ${fmt(d.records)} rec; read ${fmt(mb(d.bytesRead ?? 0))} MiB from ${fmt(mb(d.enteredAtByte ?? 0))} MiB; keys ${fmt(d.keysInSet)} in ${fmt(d.keyTableMB)} MB; restore ${s(invocation.steps.restoreKeysMs!)} s, persist ${s(invocation.steps.persistMs!)} s`,
    );
  });
  for (const send of result.sends) {
    send.runs.forEach((invocation: InvocationReport, i: number) => {
      const d = invocation.detail as any;
      add(`send rpm=${send.recordsPerMessage} #${i + 1}`, invocation, `chunks ${fmt(d.fromChunk)}–${fmt(d.nextChunk)}${d.done ? ' done' : ''}; ${fmt(d.sqsRequests)} req, ${fmt(d.sqsMessages)} msg`);
    });
  }
  out.push(table(['invocation', 'handler s', 'of budget', 'process s', 'CPU s', 'peak RSS MB', '(at start)', 'arrayBuf MB', 'heap MB', 'what'], rows));
  out.push('handler s = what the Lambda timeout counts (after init); process s = the child process, node + tsx start-up included; arrayBuf/heap = peaks of process.memoryUsage() sampled every 50 ms');
  out.push('');
  const v = result.validation;
  out.push(
    `validation: ${v.invocations} invocation(s), ${s(v.wallMs)} s wall (${s(v.handlerMs)} s in handlers); ${v.outcome.status}: ` +
      `${fmt(v.outcome.counts.records)} records = ${fmt(v.outcome.counts.valid)} valid + ${fmt(v.outcome.counts.invalid)} invalid; ` +
      `staged ${fmt(v.staged.items)} items in ${fmt(v.staged.chunks)} chunks, ${fmt(mb(v.staged.bytes))} MiB; ` +
      `read ${fmt(mb(v.bytesRead))} MiB of the file in all (${(v.bytesRead / result.file.bytes).toFixed(2)}× its size)`,
  );
  out.push(
    `throughput: raw csv-parse ${fmt(result.raw.csvMBPerSecond, 1)} MiB/s (${options.rawMB ? `first ${options.rawMB} MiB` : 'whole file'}); ` +
      `${fmt(result.raw.csvMBPerCpuSecond, 1)} MiB per CPU s; validation phase ${fmt(v.csvMBPerSecond, 1)} MiB/s over all handlers (staging, re-reads, key-set restore included); ` +
      `first segment alone ${fmt(v.firstSegmentCsvMBPerSecond, 1)} MiB/s`,
  );
  for (const slice of result.slices) {
    out.push(
      `  same slice, validation pass in one segment, ${slice.mode === 'discard' ? 'nothing staged (as validate.bench.ts)' : 'valid rows staged locally           '}: ` +
        `${fmt(slice.csvMBPerSecond, 1)} MiB/s (${(slice.csvMBPerSecond / result.raw.csvMBPerSecond).toFixed(2)}× raw), ` +
        `${fmt(slice.csvMBPerCpuSecond, 1)} MiB per CPU s (${(slice.csvMBPerCpuSecond / result.raw.csvMBPerCpuSecond).toFixed(2)}× raw), peak RSS ${fmt(slice.peakRssMB)} MB`,
    );
  }
  out.push('');
  if (result.sends.length) {
    out.push(
      table(
        ['send', 'invocations', 'wall s', 'total s (validate + send)', 'records/s', 'requests', 'per 1M records', 'messages', 'per 1M records', 'request MiB per 1M', 'largest body B', 'exactly once'],
        result.sends.map((send: any) => [
          `recordsPerMessage ${send.recordsPerMessage}${send.complete ? '' : ` (partial: ${fmt(send.recordsSent)} records)`}`,
          String(send.invocations),
          s(send.wallMs),
          s(send.totalWallMs),
          fmt(send.recordsPerSecond),
          fmt(send.sqs.requests),
          fmt(send.requestsPerMillionRecords),
          fmt(send.sqs.messages),
          fmt(send.messagesPerMillionRecords),
          fmt(send.requestMBPerMillionRecords, 1),
          fmt(send.sqs.maxBodyBytes),
          send.reconciliation.ok ? (send.complete ? 'yes' : 'so far') : `NO (${send.reconciliation.sentTwice} twice, ${send.reconciliation.neverSent} never, ${send.reconciliation.invalidSent} invalid sent)`,
        ]),
      ),
    );
    out.push('per 1M records = per million records sent (all valid records unless partial); exactly once = bitmap of record numbers in the SQS sink: every valid record once, no invalid record, nothing twice');
    out.push('');
  }
  const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
  const t = result.targets;
  out.push(`peak RSS, every invocation:        ${fmt(t.peakRssMB.actual)} MB (target < ${TARGET_RSS_MB} MB)  ${verdict(t.peakRssMB.pass)}`);
  out.push(`validation / raw csv-parse:        ${t.validationVsRaw.actual.toFixed(3)}× (target ≥ ${TARGET_RATIO}×)  ${verdict(t.validationVsRaw.pass)}`);
  out.push(`  (by CPU seconds instead of wall:  ${t.validationVsRawByCpu.actual.toFixed(3)}×)`);
  out.push(`invocations over their budget:     ${t.withinBudget.actual}  ${verdict(t.withinBudget.pass)}`);
  out.push(`exact counts and exactly-once:     ${result.checks.length ? result.checks.join('; ') : 'all checks hold'}  ${verdict(t.exactCounts.pass)}`);
  out.push(`bench wall time: ${s(result.benchWallMs)} s`);
  return out.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      child: { type: 'string' },
      rows: { type: 'string', default: '10000000' },
      gzip: { type: 'boolean', default: false },
      'budget-ms': { type: 'string', default: '60000' },
      'stop-margin-ms': { type: 'string', default: '10000' },
      'records-per-message': { type: 'string', default: '1,10' },
      'raw-mb': { type: 'string', default: '256' },
      'data-dir': { type: 'string', default: path.join(os.tmpdir(), 'partner-ingest-bench-large') },
      'keep-work': { type: 'boolean', default: false },
      'work-dir': { type: 'string' },
      'no-key-check': { type: 'boolean', default: false },
      'skip-send': { type: 'boolean', default: false },
      'skip-slices': { type: 'boolean', default: false },
      'send-invocations': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.child !== undefined) {
    await child(values.child, positionals);
    return;
  }
  const number = (name: string, text: string, min: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${text}"`);
    return value;
  };
  const options: Options = {
    rows: number('rows', values.rows, 1),
    gzip: values.gzip,
    budgetMs: number('budget-ms', values['budget-ms'], 1000),
    stopMarginMs: number('stop-margin-ms', values['stop-margin-ms'], 0),
    recordsPerMessage: values['records-per-message'].split(',').map((text) => number('records-per-message', text, 1)),
    rawMB: number('raw-mb', values['raw-mb'], 0),
    dataDir: path.resolve(values['data-dir']),
    keepWork: values['keep-work'],
    ...(values['work-dir'] !== undefined ? { workDir: path.resolve(values['work-dir']) } : {}),
    keyCheck: !values['no-key-check'],
    skipSend: values['skip-send'],
    skipSlices: values['skip-slices'],
    sendInvocations: values['send-invocations'] === undefined ? Number.POSITIVE_INFINITY : number('send-invocations', values['send-invocations'], 1),
    json: values.json,
  };
  if (options.stopMarginMs >= options.budgetMs) throw new Error('--stop-margin-ms must be below --budget-ms');
  await parent(options);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`large-file.bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
