import { createHash } from 'node:crypto';
import { PassThrough, Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CsvError, Parser } from 'csv-parse';
import type { FeedConfig } from '../config/types';
import { RecordErrorCode, type FieldError } from '../records/error-codes';
import { applyErrorPolicy, type RecordCounts } from './decide';
import { EncodingGuard } from './encoding-guard';
import { FileRejectedError, RejectionCode, type BatchReason } from './file-rejection';
import { KeyFingerprintSet } from './key-set';
import type { ItemSink, RejectSink } from './sinks';
import { WORK_QUEUE_MAX_MESSAGE_BYTES, WorkItemEncoder, type WorkItemContext } from './work-item';

export interface ValidationOutcome {
  readonly status: 'COMPLETED' | 'REJECTED';
  readonly reason?: BatchReason;
  readonly counts: RecordCounts;
  readonly file: { readonly bytes: number; readonly sha256: string; readonly compressed: boolean };
}

export interface ValidationInput {
  /** The raw file bytes (e.g. an S3 GetObject body or a local file stream). */
  readonly source: AsyncIterable<Buffer> & Readable;
  readonly feed: FeedConfig;
  readonly batchId: string;
  readonly items: ItemSink;
  readonly rejects: RejectSink;
  /** Called with the raw byte count as the file is read, for progress display. */
  readonly onProgress?: (rawBytes: number) => void;
}

const GZIP_MAGIC = [0x1f, 0x8b];

function isGzip(head: Buffer, compression: FeedConfig['format']['compression']): boolean {
  if (compression === 'none') return false;
  if (compression === 'gzip') return true;
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/** Line breaks in a field: CRLF, LF or a lone CR each end one physical line. */
function countLineBreaks(text: string): number {
  let count = 0;
  for (let at = 0; at < text.length; at++) {
    const char = text.charCodeAt(at);
    if (char === 0x0a || (char === 0x0d && text.charCodeAt(at + 1) !== 0x0a)) count++;
  }
  return count;
}

function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** Compares the header with the schema's columns: exactly these names, in any order. */
function checkHeader(header: readonly string[], columns: readonly string[]): void {
  const expected = new Set(columns);
  const seen = new Set<string>();
  const duplicate = header.filter((name) => (seen.has(name) ? true : (seen.add(name), false)));
  const missing = columns.filter((name) => !seen.has(name));
  const unexpected = header.filter((name) => !expected.has(name));
  if (!missing.length && !unexpected.length && !duplicate.length) return;
  const parts = [
    missing.length ? `missing ${missing.map(shown).join(', ')}` : '',
    unexpected.length ? `unexpected ${unexpected.map(shown).join(', ')}` : '',
    duplicate.length ? `repeated ${duplicate.map(shown).join(', ')}` : '',
  ].filter(Boolean);
  throw new FileRejectedError(
    RejectionCode.HEADER_MISMATCH,
    `header does not match the feed's columns: ${parts.join('; ')} (expected ${columns.join(', ')})`,
    1,
  );
}

/**
 * The validation pass over one file, shared by the ingest function and the
 * `validate` command: read raw bytes (hashing them) → gunzip → prove the
 * encoding → csv-parse → check the header → coerce, validate and de-duplicate
 * each record → valid records become work item bodies in `items`, invalid rows
 * go to `rejects`. Nothing is sent from here; the caller acts on the outcome.
 *
 * File-level problems end as a REJECTED outcome; anything else (a failing read,
 * a failing sink) is thrown for the caller to treat as an infrastructure fault.
 */
export async function validateFile(input: ValidationInput): Promise<ValidationOutcome> {
  const { feed, items, rejects } = input;
  const hash = createHash('sha256');
  let rawBytes = 0;
  let compressed = false;
  const state = new RecordLoop(feed, new WorkItemEncoder(workItemContext(input.batchId, feed), feed.schema.columns), items, rejects);

  let chainInput: PassThrough | undefined;
  let chainDone: Promise<unknown> | undefined;
  let chainError: unknown;

  const startChain = (head: Buffer): PassThrough => {
    compressed = isGzip(head, feed.format.compression);
    const chain = new PassThrough();
    chainDone = runChain(chain, compressed, feed, state).catch((error: unknown) => {
      chainError = error;
    });
    return chain;
  };
  // The gzip magic may arrive split over the first chunks: hold them until it can be seen.
  let head: Buffer | undefined;

  // The raw bytes are read by this loop, not by the parse chain, so the size and
  // SHA-256 of the whole file are known even when parsing stops early.
  for await (const chunk of input.source) {
    hash.update(chunk);
    rawBytes += chunk.length;
    input.onProgress?.(rawBytes);
    if (chainError !== undefined) continue;
    let bytes: Buffer = chunk;
    if (!chainInput) {
      bytes = head ? Buffer.concat([head, chunk]) : chunk;
      if (bytes.length < GZIP_MAGIC.length) {
        head = bytes;
        continue;
      }
      head = undefined;
      chainInput = startChain(bytes);
    }
    if (!chainInput.write(bytes)) {
      await Promise.race([new Promise((resolve) => chainInput!.once('drain', resolve)), chainDone]);
    }
  }
  if (!chainInput && head) {
    chainInput = startChain(head);
    chainInput.write(head);
  }
  if (chainInput && chainError === undefined) {
    chainInput.end();
    await chainDone;
  }

  const file = { bytes: rawBytes, sha256: hash.digest('hex'), compressed };
  let reason: BatchReason | undefined;
  if (chainError !== undefined) {
    reason = classify(chainError, state).reason;
  } else if (!state.headerSeen) {
    reason = { code: RejectionCode.EMPTY_FILE, message: 'the file has no header row (it is empty or blank)' };
  } else {
    await state.flush();
    reason = applyErrorPolicy(feed.errorPolicy, state.counts);
  }
  if (reason) {
    rejects.fileRejected(reason);
    await rejects.flush();
  }
  return { status: reason ? 'REJECTED' : 'COMPLETED', ...(reason ? { reason } : {}), counts: state.counts, file };
}

function workItemContext(batchId: string, feed: FeedConfig): WorkItemContext {
  const { id, version, uri } = feed.schema;
  return { batchId, partner: feed.partnerId, feed: feed.id, schema: { id, version, uri } };
}

async function runChain(input: PassThrough, compressed: boolean, feed: FeedConfig, state: RecordLoop): Promise<void> {
  const { format, limits } = feed;
  const stages: Transform[] = compressed ? [createGunzip()] : [];
  stages.push(new EncodingGuard(format.encoding, compressed ? limits.maxDecompressedBytes : Number.POSITIVE_INFINITY));
  // No `info`/`on_record`: csv-parse copies its state into a new object per
  // record for those, which halves throughput. LineCountingParser counts lines.
  const parser = new LineCountingParser({
    delimiter: format.delimiter,
    quote: format.quote,
    escape: format.quote,
    encoding: format.encoding === 'utf-8' ? 'utf8' : 'latin1',
    bom: true,
    relax_column_count: true,
    max_record_size: limits.maxRecordBytes,
  });
  // pipeline's typings have no overload for a spread of stages.
  try {
    await (pipeline as (...streams: unknown[]) => Promise<void>)(input, ...stages, parser, state.writable(parser));
  } catch (error) {
    if (error instanceof CsvError) throw new ParseError(error, parser.nextLine);
    throw error;
  }
}

/**
 * csv-parse's Parser, also noting the physical line each record it emits
 * starts on. csv-parse's live `info.lines` (free to read, unlike the per-record
 * snapshot of the `info` option) says whether a record spanned more than one
 * line; only then are its fields scanned, because csv-parse counts a CRLF inside
 * a quoted field as two lines. Blank lines are emitted too (as one empty field;
 * skip_empty_lines would hide them from the count) and skipped by the record
 * loop. Start lines queue up in emission order for the record loop; when the
 * parser stops on an error, records it emitted may still be waiting (a
 * backlogged sink pauses the loop), so `nextLine` is the line of the record
 * that failed.
 */
class LineCountingParser extends Parser {
  /** The physical line the next record starts on. */
  nextLine = 1;
  private parsedLines = 0;
  private readonly startLines: number[] = [];

  override push(record: string[] | null): boolean {
    if (record !== null) {
      this.startLines.push(this.nextLine);
      const lines = (this.info as { lines: number }).lines;
      let breaks = 0;
      if (lines - this.parsedLines > 1) for (const field of record) breaks += countLineBreaks(field);
      this.parsedLines = lines;
      this.nextLine += 1 + breaks;
    }
    return super.push(record);
  }

  /** The start line of the oldest emitted record not yet taken; the queue stays as short as the stream buffers. */
  takeStartLine(): number {
    return this.startLines.shift()!;
  }
}

/** A csv-parse error with the physical line of the record it stopped in. */
class ParseError extends Error {
  constructor(
    readonly csvError: CsvError,
    readonly line: number,
  ) {
    super(csvError.message, { cause: csvError });
  }
}

/** Maps what stopped the parse chain to a file rejection; anything unexpected is rethrown. */
function classify(error: unknown, state: RecordLoop): FileRejectedError {
  if (error instanceof FileRejectedError) return error;
  if (error instanceof ParseError) {
    const { line, csvError } = error;
    switch (csvError.code) {
      case 'CSV_QUOTE_NOT_CLOSED':
        return new FileRejectedError(RejectionCode.MALFORMED_CSV, 'a quoted field is never closed', line, { cause: csvError });
      case 'CSV_MAX_RECORD_SIZE':
        return new FileRejectedError(
          RejectionCode.MAX_RECORD_SIZE_EXCEEDED,
          `a record is larger than ${state.maxRecordBytes} bytes (the feed's maxRecordBytes)`,
          line,
          { cause: csvError },
        );
      default:
        return new FileRejectedError(RejectionCode.MALFORMED_CSV, csvError.message, line, { cause: csvError });
    }
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new FileRejectedError(
      RejectionCode.DECOMPRESSION_FAILED,
      `the gzip data is corrupt or truncated (${(error as Error).message})`,
      undefined,
      { cause: error },
    );
  }
  throw error;
}

/** The per-record work of the validation pass, with the state it carries between records. */
class RecordLoop {
  readonly maxRecordBytes: number;
  headerSeen = false;
  private records = 0;
  private valid = 0;
  private invalid = 0;
  /** For each schema column, its position in the file's header. */
  private positions: number[] = [];
  private width = 0;
  private keyPosition = -1;
  private readonly keys = new KeyFingerprintSet();
  private readonly maxBodyBytes: number;
  /** The coerced form of the record being checked. */
  private current: Record<string, unknown> = {};

  constructor(
    private readonly feed: FeedConfig,
    private readonly encoder: WorkItemEncoder,
    private readonly items: ItemSink,
    private readonly rejects: RejectSink,
  ) {
    this.maxRecordBytes = feed.limits.maxRecordBytes;
    this.maxBodyBytes = WORK_QUEUE_MAX_MESSAGE_BYTES - encoder.attributesBytes;
  }

  get counts(): RecordCounts {
    return { records: this.records, valid: this.valid, invalid: this.invalid };
  }

  /** The end of the parse chain: one call per parsed record, paused while a sink drains. */
  writable(parser: LineCountingParser): Writable {
    return new Writable({
      objectMode: true,
      highWaterMark: 256,
      write: (record: string[], _encoding, callback) => {
        try {
          this.accept(record, parser.takeStartLine());
        } catch (error) {
          callback(error as Error);
          return;
        }
        if (this.items.backlogged || this.rejects.backlogged) this.flush().then(() => callback(), callback);
        else callback();
      },
    });
  }

  private accept(record: string[], line: number): void {
    if (record.length === 1 && record[0]!.trim() === '') return;
    if (!this.headerSeen) this.readHeader(record);
    else this.check(record, line);
  }

  async flush(): Promise<void> {
    await Promise.all([this.items.flush(), this.rejects.flush()]);
  }

  private readHeader(header: string[]): void {
    const columns = this.feed.schema.columns;
    checkHeader(header, columns);
    this.headerSeen = true;
    this.width = header.length;
    this.positions = columns.map((column) => header.indexOf(column));
    this.keyPosition = this.feed.key === undefined ? -1 : header.indexOf(this.feed.key);
  }

  private check(fields: string[], line: number): void {
    const recordNumber = ++this.records;
    const errors = this.findErrors(fields);
    if (!errors.length) {
      const record = this.current;
      // Encoding a body only to measure it is costly; skip it when the sink needs
      // no bodies and the record is certain to fit.
      const encode = this.items.wantsBodies || this.encoder.upperBoundBytes(fields) > this.maxBodyBytes;
      const body = encode ? this.encoder.encode(recordNumber, line, record) : '';
      const bytes = encode ? Buffer.byteLength(body) : 0;
      if (bytes <= this.maxBodyBytes) {
        this.valid++;
        this.items.write(recordNumber, body, bytes);
        return;
      }
      errors.push({
        column: '',
        code: RecordErrorCode.RECORD_TOO_LARGE,
        message: `its work item would be ${bytes + this.encoder.attributesBytes} bytes; the work queue accepts ${WORK_QUEUE_MAX_MESSAGE_BYTES}`,
      });
    }
    this.invalid++;
    this.rejects.write({ recordNumber, line, errors, fields });
  }

  private findErrors(fields: string[]): FieldError[] {
    if (fields.length !== this.width) {
      return [
        { column: '', code: RecordErrorCode.COLUMN_COUNT, message: `has ${fields.length} fields; the header has ${this.width}` },
      ];
    }
    this.current = this.coerce(fields);
    const found = this.feed.schema.validate(this.current, fields, this.positions);
    const errors = found.length ? [...found] : [];
    if (this.keyPosition >= 0) {
      const key = fields[this.keyPosition]!;
      if (key !== '' && !this.keys.add(key)) {
        errors.push({
          column: this.feed.key!,
          code: RecordErrorCode.DUPLICATE_KEY,
          message: `repeats ${shown(key)} from an earlier row of this file`,
        });
      }
    }
    return errors;
  }

  private coerce(fields: string[]): Record<string, unknown> {
    const { columns, coercers } = this.feed.schema;
    const record: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const text = fields[this.positions[i]!]!;
      if (text !== '') record[columns[i]!] = coercers[i]!(text);
    }
    return record;
  }
}
