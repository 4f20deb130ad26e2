/**
 * What one batch costs on AWS, as arithmetic only: the billable quantities a
 * batch of N rows causes (from measured figures and the code paths, see
 * batchUsage) times list prices (bench/prices.json). No I/O here, so
 * test/unit/bench/cost-model.test.ts can hold the arithmetic still.
 */

/** SQS bills each started 64 KiB of a request's payload as one request. */
export const SQS_BILLING_CHUNK_BYTES = 65_536;
/** Lambda gives a function one full vCPU at 1,769 MB, and a proportional share below it. */
export const LAMBDA_MB_PER_VCPU = 1769;

export function billedSqsRequests(payloadBytes: number): number {
  return Math.max(1, Math.ceil(payloadBytes / SQS_BILLING_CHUNK_BYTES));
}

/** One price as bench/prices.json writes it: `usd` for every `per` units, and where it was read. */
export interface PriceEntry {
  readonly usd: number;
  readonly per: number;
  readonly unit: string;
  readonly source: string;
}

export interface PricesFile {
  readonly taken: string;
  readonly regions: Record<string, Record<string, PriceEntry | Record<string, PriceEntry>>>;
}

/** Dollars per single unit (per GB-s, per request, ...). */
const perUnit = (entry: PriceEntry) => entry.usd / entry.per;

/** The prices of `region` as dollars per unit; a region the file lacks is an error naming the ones it has. */
export function regionPrices(file: PricesFile, region: string): RegionPrices {
  const prices = file.regions[region];
  if (!prices) throw new Error(`bench/prices.json has no prices for ${region} (it has ${Object.keys(file.regions).join(', ')})`);
  const entry = (name: string) => prices[name] as PriceEntry;
  const lambda = prices.lambdaGbSecond as Record<string, PriceEntry>;
  return {
    lambdaGbSecond: { arm64: perUnit(lambda.arm64!), x86_64: perUnit(lambda.x86_64!) },
    lambdaRequest: perUnit(entry('lambdaRequest')),
    sqsRequest: perUnit(entry('sqsRequest')),
    s3Put: perUnit(entry('s3Put')),
    s3Get: perUnit(entry('s3Get')),
    s3GbMonth: perUnit(entry('s3GbMonth')),
    dynamoWriteUnit: perUnit(entry('dynamoWriteUnit')),
    snsPublish: perUnit(entry('snsPublish')),
    eventBridgeEvent: perUnit(entry('eventBridgeEvent')),
  };
}

export interface RegionPrices {
  readonly lambdaGbSecond: { readonly arm64: number; readonly x86_64: number };
  readonly lambdaRequest: number;
  readonly sqsRequest: number;
  readonly s3Put: number;
  readonly s3Get: number;
  readonly s3GbMonth: number;
  readonly dynamoWriteUnit: number;
  readonly snsPublish: number;
  readonly eventBridgeEvent: number;
}

/** What the stack is configured with (serverless.yml) and what the code does per batch (src/). */
export interface StackShape {
  readonly architecture: 'arm64' | 'x86_64';
  /** ingestFile's memorySize (validation, and sending when the batch is not split). */
  readonly ingestMemoryMb: number;
  /** sendRange's memorySize. */
  readonly sendMemoryMb: number;
  readonly timeoutSeconds: number;
  /** An invocation stops this long before its timeout (DEFAULT_STOP_MARGIN_MS). */
  readonly stopMarginSeconds: number;
  /** Staged items per chunk (DEFAULT_CHUNK_LIMITS.maxItems): one ranged GET and one checkpoint write each. */
  readonly chunkItems: number;
  /** MAX_SEND_RANGES (param sendRangeConcurrency) and DEFAULT_MIN_CHUNKS_PER_RANGE. */
  readonly maxSendRanges: number;
  readonly minChunksPerRange: number;
  /** lib-storage part size of the staged rows object (S3TextWriter). */
  readonly stagingPartBytes: number;
  /** Staging objects expire after this many days (param stagingRetentionDays). */
  readonly stagingRetentionDays: number;
}

/** Measured on the bench machine, per 1,000,000 rows (bench:send, and the validation pass in bench:cost). */
export interface MeasuredPerMillion {
  readonly csvBytes: number;
  readonly stagedBytes: number;
  /** CPU seconds of the validation pass (parse, check, stage). */
  readonly validateCpuSeconds: number;
  /** CPU seconds of the sender (read chunks, build envelopes, sign, send). */
  readonly sendCpuSeconds: number;
  /** SendMessageBatch requests and the 64 KiB units SQS bills for them. */
  readonly sendRequests: number;
  readonly sendBilledRequests: number;
}

export interface BatchAssumptions {
  /** Round trip of one SendMessageBatch inside a region; with `concurrency` in flight it floors the send time. */
  readonly sqsRoundTripSeconds: number;
  readonly sendConcurrency: number;
  /** Write units per ledger write (1 per started KB of the item). */
  readonly writeUnitsPerLedgerWrite: number;
}

export interface BatchUsage {
  readonly rows: number;
  readonly chunks: number;
  readonly ranges: number;
  readonly validateInvocations: number;
  readonly sendInvocations: number;
  readonly validateSeconds: number;
  readonly sendSeconds: number;
  readonly lambdaGbSeconds: number;
  readonly lambdaRequests: number;
  readonly sqsBilledRequests: number;
  readonly s3Puts: number;
  readonly s3Gets: number;
  readonly s3GbMonths: number;
  readonly dynamoWriteUnits: number;
  readonly snsPublishes: number;
  readonly eventBridgeEvents: number;
}

/** CPU-bound seconds on a Lambda of `memoryMb`: below 1,769 MB it gets only that share of a vCPU. */
export function lambdaSeconds(cpuSeconds: number, memoryMb: number): number {
  return cpuSeconds / Math.min(1, memoryMb / LAMBDA_MB_PER_VCPU);
}

/** How many ranges BatchRun.planRanges splits a send of `chunks` into (1: not split, ingestFile sends). */
export function sendRangesOf(chunks: number, shape: StackShape): number {
  const ranges = Math.min(shape.maxSendRanges, Math.floor(chunks / shape.minChunksPerRange));
  return ranges < 2 ? 1 : ranges;
}

/**
 * The billable quantities of one batch of `rows` valid rows, counted from the
 * code paths (src/ingest/batch-run.ts, src/work-items/, src/ledger/):
 *
 * - Lambda: validation is CPU-bound, its time is the measured CPU scaled to
 *   the function's vCPU share; sending takes at least its CPU and at least
 *   requests × round trip / concurrency. Each invocation works
 *   timeout − stop margin.
 * - S3 PUT class: partner upload 1, archive copy 1, staged rows (multipart:
 *   create + parts + complete, per validation segment), rejects report 1 per
 *   segment, segment chunk list + key set per pause, manifest 1.
 * - S3 GET class: HEAD 1, archive read 1 per segment, key set + rejects read
 *   per resume, manifest 1 per send invocation (and 2 more for a split send:
 *   the dispatch and the completion), one ranged GET per chunk.
 * - Storage: the inbound file and its archive copy for a month; staged rows
 *   for their retention.
 * - DynamoDB: one checkpoint per chunk, plus per batch register, lease,
 *   archive, validation result, finish (a transaction of 2 items, 2 units
 *   each), 2 announce marks; per pause a progress save, a release, and a
 *   resuming lease of 2 writes (ledger.acquire first tries to start an attempt:
 *   that conditional write fails, and a failed conditional write is billed);
 *   per range its plan item, lease and completion, then the batch's lease
 *   (2 writes, as above) and its release or, by the last range, the count;
 *   for a split send the plan and the dispatch's release; a send invocation
 *   beyond one per range a release and a lease.
 *   test/integration/cost-model-counts.test.ts checks these against moto.
 * - SQS: the work queue's billed SendMessageBatch units (measured); per batch
 *   the S3 notification, its receive and delete (file events); per range its
 *   enqueue share, receive and delete. Consumers' receives are not ours.
 * - One SNS publish and one EventBridge event per batch.
 */
export function batchUsage(
  rows: number,
  measured: MeasuredPerMillion,
  shape: StackShape,
  assumptions: BatchAssumptions,
): BatchUsage {
  const perRow = (value: number) => (value * rows) / 1_000_000;
  const chunks = Math.ceil(rows / shape.chunkItems);
  const ranges = sendRangesOf(chunks, shape);
  const workSeconds = shape.timeoutSeconds - shape.stopMarginSeconds;

  const validateSeconds = lambdaSeconds(perRow(measured.validateCpuSeconds), shape.ingestMemoryMb);
  const sendMemoryMb = ranges > 1 ? shape.sendMemoryMb : shape.ingestMemoryMb;
  const sendRequests = perRow(measured.sendRequests);
  // Each range sends its share at `concurrency` requests in flight, in parallel with the others.
  const sendSeconds = Math.max(
    lambdaSeconds(perRow(measured.sendCpuSeconds), sendMemoryMb),
    (sendRequests * assumptions.sqsRoundTripSeconds) / assumptions.sendConcurrency,
  );
  const validateInvocations = Math.max(1, Math.ceil(validateSeconds / workSeconds));
  const sendInvocations = ranges * Math.max(1, Math.ceil(sendSeconds / ranges / workSeconds));
  const pauses = validateInvocations - 1;
  const lambdaGbSeconds = (validateSeconds * shape.ingestMemoryMb + sendSeconds * sendMemoryMb) / 1024;
  // A batch that is not split sends from the invocation that finished validating.
  const lambdaRequests = validateInvocations + (ranges > 1 ? sendInvocations : sendInvocations - 1);

  const stagedPerSegment = perRow(measured.stagedBytes) / validateInvocations;
  const partsPerSegment = stagedPerSegment > shape.stagingPartBytes ? Math.ceil(stagedPerSegment / shape.stagingPartBytes) + 2 : 1;
  const s3Puts = 1 + 1 + validateInvocations * (partsPerSegment + 1) + pauses * 2 + 1;
  const split = ranges > 1;
  const s3Gets = 1 + validateInvocations + pauses * 2 + sendInvocations + (split ? 2 : 0) + chunks;
  const gib = 1024 ** 3;
  const s3GbMonths = (2 * perRow(measured.csvBytes)) / gib + (perRow(measured.stagedBytes) / gib) * (shape.stagingRetentionDays / 30);

  const perBatchWrites = 1 + 1 + 1 + 1 + 2 * 2 + 2;
  const perPauseWrites = 2 + 2;
  const perRangeWrites = split ? ranges * 6 + 2 : 0;
  const ledgerWrites = chunks + perBatchWrites + pauses * perPauseWrites + perRangeWrites + (sendInvocations - ranges) * 2;
  const fileEvents = 3;
  const rangeMessages = ranges > 1 ? Math.ceil(ranges / 10) + 2 * ranges : 0;

  return {
    rows,
    chunks,
    ranges,
    validateInvocations,
    sendInvocations,
    validateSeconds,
    sendSeconds,
    lambdaGbSeconds,
    lambdaRequests,
    sqsBilledRequests: perRow(measured.sendBilledRequests) + fileEvents + rangeMessages,
    s3Puts,
    s3Gets,
    s3GbMonths,
    dynamoWriteUnits: ledgerWrites * assumptions.writeUnitsPerLedgerWrite,
    snsPublishes: 1,
    eventBridgeEvents: 1,
  };
}

export interface LineItem {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

/** The usage priced line by line (list prices, no free tier). */
export function lineItems(usage: BatchUsage, prices: RegionPrices, architecture: StackShape['architecture']): LineItem[] {
  return [
    { item: `Lambda compute (${architecture})`, quantity: usage.lambdaGbSeconds, unit: 'GB-s', usd: usage.lambdaGbSeconds * prices.lambdaGbSecond[architecture] },
    { item: 'Lambda requests', quantity: usage.lambdaRequests, unit: 'invocations', usd: usage.lambdaRequests * prices.lambdaRequest },
    { item: 'SQS requests', quantity: usage.sqsBilledRequests, unit: 'billed 64K units', usd: usage.sqsBilledRequests * prices.sqsRequest },
    { item: 'S3 PUT/COPY/POST', quantity: usage.s3Puts, unit: 'requests', usd: usage.s3Puts * prices.s3Put },
    { item: 'S3 GET/HEAD', quantity: usage.s3Gets, unit: 'requests', usd: usage.s3Gets * prices.s3Get },
    { item: 'S3 storage', quantity: usage.s3GbMonths, unit: 'GB-month', usd: usage.s3GbMonths * prices.s3GbMonth },
    { item: 'DynamoDB writes', quantity: usage.dynamoWriteUnits, unit: 'write units', usd: usage.dynamoWriteUnits * prices.dynamoWriteUnit },
    { item: 'SNS publishes', quantity: usage.snsPublishes, unit: 'publishes', usd: usage.snsPublishes * prices.snsPublish },
    { item: 'EventBridge events', quantity: usage.eventBridgeEvents, unit: 'events', usd: usage.eventBridgeEvents * prices.eventBridgeEvent },
  ];
}

export function totalUsd(items: readonly LineItem[]): number {
  return items.reduce((sum, item) => sum + item.usd, 0);
}
