import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadPartnerRegistry } from '../../src/config/load-partners';
import type { CsvFormat, FeedConfig } from '../../src/config/types';
import type { ItemSink, RawRecord } from '../../src/validate/sinks';
import type { ValidationCheckpoint } from '../../src/validate/checkpoint';
import { KeyFingerprintSet } from '../../src/validate/key-set';
import { validateFile, validateSegment, type PausedValidation, type ValidationOutcome } from '../../src/validate/validate-file';
import { workItemContext, WorkItemEnvelopes, type StagedRecord } from '../../src/work-items/envelopes';
import { StagedRowDecoder, stagedRowFormat, stagedRowPrefix, textEncodingOf, type StagedRowFormat } from '../../src/work-items/staged-rows';
import { CollectingRejectSink } from '../../src/validate/collecting-reject-sink';

/** The checkout's root: partners/, schemas/ and bin/ live here. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** partners/acme.yml up to its orders feed, which it ends with: config tests append settings to that feed. */
export function acmeYmlUpToOrders(): string {
  const text = readFileSync(path.join(REPO_ROOT, 'partners', 'acme.yml'), 'utf8');
  return `${text.split(/^ {2}- id: remittances$/m)[0]!.trimEnd()}\n`;
}

/** The acme/orders columns in schema order. */
export const ORDER_COLUMNS = [
  'order_id',
  'customer_id',
  'sku',
  'quantity',
  'unit_price',
  'currency',
  'order_date',
  'email',
] as const;
export type OrderColumn = (typeof ORDER_COLUMNS)[number];
export type OrderRow = Record<OrderColumn, string>;

let registry: ReturnType<typeof loadPartnerRegistry> | undefined;

/** The shipped acme/orders feed (loaded once per test file). */
export function ordersFeed(): FeedConfig {
  registry ??= loadPartnerRegistry({ root: REPO_ROOT });
  return registry.partners.get('acme')!.feeds.find((feed) => feed.id === 'orders')!;
}

/** The acme/orders feed with some settings replaced (limits, error policy, format). */
export function ordersFeedWith(overrides: {
  limits?: Partial<FeedConfig['limits']>;
  errorPolicy?: FeedConfig['errorPolicy'];
  format?: Partial<CsvFormat>;
}): FeedConfig {
  const feed = ordersFeed();
  return {
    ...feed,
    limits: { ...feed.limits, ...overrides.limits },
    errorPolicy: overrides.errorPolicy ?? feed.errorPolicy,
    format: { ...(feed.format as CsvFormat), ...overrides.format },
  };
}

/** A valid order row; `n` makes the key unique. */
export function order(n: number, overrides: Partial<OrderRow> = {}): OrderRow {
  return {
    order_id: `ORD-${String(n).padStart(6, '0')}`,
    customer_id: `CUST-${n}`,
    sku: 'SKU-1',
    quantity: '2',
    unit_price: '19.99',
    currency: 'EUR',
    order_date: '2024-02-29',
    email: `buyer${n}@example.com`,
    ...overrides,
  };
}

/** One CSV line of `row` in the given column order (values are written as given, no quoting). */
export function line(row: OrderRow, columns: readonly string[] = ORDER_COLUMNS): string {
  return columns.map((column) => row[column as OrderColumn]).join(',');
}

export const HEADER = ORDER_COLUMNS.join(',');

/** A CSV text of the header and `count` valid rows, with rows listed in `invalid` (1-based) broken. */
export function ordersCsv(count: number, invalid: ReadonlySet<number> = new Set(), eol = '\n'): string {
  const lines = [HEADER];
  for (let n = 1; n <= count; n++) lines.push(line(order(n, invalid.has(n) ? { quantity: 'many' } : {})));
  return lines.join(eol) + eol;
}

/** `bytes` as a stream of Buffers of at most `size` bytes each (like an S3 body or a file stream). */
export function chunked(bytes: Buffer | string, size = 64 * 1024): Readable {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  const chunks: Buffer[] = [];
  for (let at = 0; at < buffer.length; at += size) chunks.push(buffer.subarray(at, at + size));
  return Readable.from(chunks);
}

/** The envelope of a work item body (README "Work item contract"). */
export interface WorkItemBody extends ValidRecord {
  itemId: string;
  batchId: string;
  partner: string;
  feed: string;
  schema: { id: string; version: number; uri: string };
}

/** A valid record as the validation pass hands it to its item sink. */
export interface ValidRecord {
  recordNumber: number;
  line: number;
  record: Record<string, unknown>;
}

/** Keeps every valid record's raw text, and reads them back the way the sender does, so tests can look at the typed records. */
export class CollectingItemSink implements ItemSink {
  readonly items: { recordNumber: number; line: number; raw: Buffer }[] = [];
  format: StagedRowFormat | undefined;
  constructor(
    private readonly feed: FeedConfig,
    private readonly backlogEvery = 0,
  ) {}
  get backlogged(): boolean {
    return this.backlogEvery > 0 && this.items.length % this.backlogEvery === 0;
  }
  layout(header: readonly string[], recordDelimiter: string): void {
    this.format = stagedRowFormat(this.feed, header, recordDelimiter);
  }
  write(recordNumber: number, line: number, raw: RawRecord): void {
    this.items.push({ recordNumber, line, raw: Buffer.from(raw.bytes.subarray(raw.start, raw.end)) });
  }
  async flush(): Promise<void> {
    // A slow destination: the validation pass has to wait for it.
    if (this.backlogEvery > 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  /** The records as the sender builds them from staged rows. */
  stagedRecords(): StagedRecord[] {
    if (!this.items.length) return [];
    const { delimiter, encoding } = this.format!;
    const prefix = (recordNumber: number, line: number) => Buffer.from(stagedRowPrefix(recordNumber, line, delimiter), textEncodingOf(encoding));
    const rows = this.items.flatMap(({ recordNumber, line, raw }) => [prefix(recordNumber, line), raw]);
    return new StagedRowDecoder(this.format!).decode(Buffer.concat(rows));
  }
  records(): ValidRecord[] {
    return this.stagedRecords().map((staged) => JSON.parse(staged.text) as ValidRecord);
  }
  /** The item envelopes the sender builds from these records, with the UTF-8 size it computes for each. */
  itemBodies(batchId: string): { body: WorkItemBody; text: string; bytes: number }[] {
    const envelopes = new WorkItemEnvelopes(workItemContext(batchId, this.feed));
    return this.stagedRecords().map((staged) => {
      const body = envelopes.item(staged);
      return { body: JSON.parse(body) as WorkItemBody, text: body, bytes: envelopes.itemBodyBytes(staged) };
    });
  }
}

export interface RunOptions {
  feed?: FeedConfig;
  /** Source chunk size in bytes. */
  chunkSize?: number;
  batchId?: string;
  maxErrors?: number;
  /** Makes the item sink report a backlog every N items (like an SQS sender waiting on sends). */
  backlogEvery?: number;
}

export interface RunResult {
  outcome: ValidationOutcome;
  rejects: CollectingRejectSink;
  items: CollectingItemSink;
}

/** Runs the validation pass over `input` (bytes, or a ready-made stream) against acme/orders by default. */
export async function validate(input: Buffer | string | Readable, options: RunOptions = {}): Promise<RunResult> {
  const rejects = new CollectingRejectSink(options.maxErrors ?? 1000);
  const feed = options.feed ?? ordersFeed();
  const items = new CollectingItemSink(feed, options.backlogEvery);
  const source = input instanceof Readable ? input : chunked(input, options.chunkSize);
  const outcome = await validateFile({
    source,
    feed,
    batchId: options.batchId ?? 'batch-1',
    items,
    rejects,
  });
  return { outcome, rejects, items };
}

/** A fresh folder under the OS temp dir, removed by the returned cleanup. */
export interface Segmented {
  final: ValidationOutcome;
  checkpoints: ValidationCheckpoint[];
  items: CollectingItemSink;
  rejects: CollectingRejectSink;
}

/**
 * Validates `bytes` against `feed` pausing at every chance, each segment a new
 * invocation; each opens the file where the pass asks (`ranged`) or reads it
 * from byte 0.
 */
export async function validateInSegments(bytes: Buffer, options: { feed: FeedConfig; ranged: boolean; chunkSize?: number }): Promise<Segmented> {
  const { feed, ranged, chunkSize = 4096 } = options;
  const items = new CollectingItemSink(feed);
  const rejects = new CollectingRejectSink(100_000);
  const keys = new KeyFingerprintSet();
  const checkpoints: ValidationCheckpoint[] = [];
  let resume: ValidationCheckpoint | undefined;
  for (let segment = 1; segment < 1000; segment++) {
    const outcome = await validateSegment({
      source: ranged ? (from: number) => chunked(bytes.subarray(from), chunkSize) : chunked(bytes, chunkSize),
      feed,
      batchId: 'batch-1',
      items,
      rejects,
      keys,
      shouldPause: () => true,
      ...(resume ? { resume } : {}),
    });
    if (outcome.status !== 'PAUSED') return { final: outcome, checkpoints, items, rejects };
    resume = (outcome as PausedValidation).checkpoint;
    checkpoints.push(resume);
  }
  throw new Error('the pass never finished');
}

export function tempDir(prefix = 'partner-ingest-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `content` to `name` inside `dir` and returns its path. */
export function writeTemp(dir: string, name: string, content: Buffer | string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}
