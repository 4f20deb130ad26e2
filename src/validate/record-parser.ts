import type { TransformCallback } from 'node:stream';
import { type CsvError, Parser } from 'csv-parse';
import type { CsvFormat, FeedLimits } from '../config/types';
import type { ValidationCheckpoint } from './checkpoint';
import type { RecordLoop } from './record-loop';
import type { RawRecord } from './sinks';

/** Line breaks in a field: CRLF, LF or a lone CR each end one physical line. */
function countLineBreaks(text: string): number {
  let count = 0;
  for (let at = 0; at < text.length; at++) {
    const char = text.charCodeAt(at);
    if (char === 0x0a || (char === 0x0d && text.charCodeAt(at + 1) !== 0x0a)) count++;
  }
  return count;
}

/** Stops the parse chain when the pass pauses; never reaches the caller. */
export class PauseSignal extends Error {}

/** Input is parsed in slices of at most this many bytes, so the records of one slice bound what sinks buffer past their backlog. */
const PARSE_SLICE_BYTES = 64 * 1024;

/** The parts of csv-parse's parser state RecordParser reads or overrides (not in its typings). */
interface ParserInternals {
  readonly api: {
    __onRecord(push: unknown): unknown;
    __autoDiscoverRecordDelimiter(buf: Buffer, pos: number): number;
  };
  readonly state: { expectedRecordLength?: number; recordDelimiterMaxLength: number; record: string[] };
  readonly info: { readonly lines: number; readonly bytes: number; readonly empty_lines: number };
  readonly options: { readonly record_delimiter?: Buffer[] };
}

/**
 * csv-parse's Parser, handing each record straight to the record loop with
 * the physical line it starts on, the file offsets where it starts and ends
 * and its raw bytes — no object-mode stream hop per record. csv-parse's live
 * `info.lines` and `info.bytes` (free to read, unlike the per-record snapshot
 * of the `info` option) say where a record ends and whether it spanned more
 * than one line; only then are its fields scanned, because csv-parse counts a
 * CRLF inside a quoted field as two lines.
 *
 * Blank lines are skipped by csv-parse itself (`skip_empty_lines`: a byte
 * test, no record). Each is exactly one record delimiter, counted in
 * `info.empty_lines` and in `info.lines`, so the parser moves the next
 * record's start and line past them (`passBlankLines`). Whitespace-only lines
 * are records of one field; the record loop skips those.
 *
 * Backpressure: after each slice of input the parser waits while a sink is
 * backlogged. When the loop pauses or fails, the rest of the slice is parsed
 * but not taken, and the slice ends the stream with the pause or the error.
 */
export class RecordParser extends Parser {
  /** The physical line the next record starts on. */
  private nextLine = 1;
  private parsedLines = 0;
  /** csv-parse's count of skipped blank lines, as far as they have been passed. */
  private blankLines = 0;
  /** Offset of this parser's first byte in the decompressed file (after an earlier segment). */
  private baseOffset = 0;
  /** Why records are no longer taken (a pause, a rejection, a failing sink). */
  private stopped: Error | undefined;
  /** The slice being parsed, the parser's offset of its first byte, and the start of the record being parsed. */
  private slice: Buffer = EMPTY;
  private sliceStart = 0;
  private recordStart = 0;
  /** The bytes of a record begun in an earlier slice (from `recordStart` to `sliceStart`). */
  private carried: Buffer = EMPTY;
  /** The record being handed over (one object, refilled for every record). */
  private readonly raw: { bytes: Buffer; start: number; end: number } = { bytes: EMPTY, start: 0, end: 0 };

  constructor(
    private readonly loop: RecordLoop,
    options: ConstructorParameters<typeof Parser>[0],
  ) {
    // relax_column_count keeps a record whose field count differs from the first
    // one's (the record loop reports COLUMN_COUNT against the header itself).
    super({ ...options, skip_empty_lines: true, relax_column_count: true });
    const { api, state } = this as unknown as ParserInternals;
    // Even relaxed, csv-parse 7's __onRecord builds a CsvError — stack trace and
    // an info snapshot — for every record whose field count differs from the
    // first record's, before deciding to keep it: 4 MiB of blank lines after a
    // header took 200 s or more. It compares `record.length` with
    // `state.expectedRecordLength` (set from the first record, read nowhere
    // else without `columns`); set to the current record's length just before,
    // the comparison never fails and no error is built. (A getter on the state
    // would do the same, but turns csv-parse's hot state object slow: 3× the
    // time per byte.)
    const onRecord = api.__onRecord;
    api.__onRecord = function (this: Pick<ParserInternals, 'state'>, push: unknown): unknown {
      this.state.expectedRecordLength = this.state.record.length;
      return onRecord.call(this, push);
    };
    // Until it has seen a line break, csv-parse tries every byte against "\r\n",
    // "\n" and "\r" (three new Buffers a byte) and sizes its look-ahead with one
    // more: a wide header, or a file with no line break at all, cost a second
    // per 400 KB. The tries all start with CR or LF (one byte each in the feed
    // encodings), so any other byte is spared them; the look-ahead gets the
    // size it would compute, CRLF's, up front.
    const discover = api.__autoDiscoverRecordDelimiter;
    api.__autoDiscoverRecordDelimiter = function (buf: Buffer, pos: number): number {
      const byte = buf[pos];
      return byte === 0x0a || byte === 0x0d ? discover.call(this, buf, pos) : 0;
    };
    if (state.recordDelimiterMaxLength === 0) state.recordDelimiterMaxLength = 2;
  }

  private get internals(): ParserInternals {
    return this as unknown as ParserInternals;
  }

  /** Continues numbering lines and offsets from where an earlier segment stopped. */
  startAt(offset: number, line: number): void {
    this.baseOffset = offset;
    this.nextLine = line;
  }

  /** The physical line of the record a parse error stopped in. */
  errorLine(): number {
    this.passBlankLines();
    return this.nextLine;
  }

  override push(record: string[] | null): boolean {
    if (record === null) return super.push(null);
    this.passBlankLines();
    const line = this.nextLine;
    const { lines, bytes: end } = this.internals.info;
    // csv-parse's live byte count stands just past the record's line break here.
    const start = this.recordStart;
    const raw = this.rawRecord(end);
    this.recordStart = end;
    let breaks = 0;
    if (lines - this.parsedLines > 1) {
      for (const field of record) breaks += countLineBreaks(field);
      breaks -= this.crlfAcrossDelimiter(raw);
    }
    this.parsedLines = lines;
    this.nextLine += 1 + breaks;
    if (this.stopped) return true;
    try {
      if (!this.loop.take(record, line, this.baseOffset + start, this.baseOffset + end, raw)) this.stopped = new PauseSignal();
      else if (this.loop.needsLayout) this.loop.sendLayout(this.recordDelimiter());
    } catch (error) {
      this.stopped = error as Error;
    }
    return true;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    this.parseSlices(chunk, 0, encoding, callback);
  }

  override _flush(callback: TransformCallback): void {
    super._flush((error?: Error | null) => this.afterSlice(error, callback));
  }

  /**
   * Moves the next record's start and line past the blank lines csv-parse
   * skipped since the last record: each is one record delimiter (it is known
   * by then: a line is only blank once a delimiter ends it). Returns how many.
   */
  private passBlankLines(): number {
    const skipped = this.internals.info.empty_lines - this.blankLines;
    if (skipped === 0) return 0;
    this.blankLines += skipped;
    this.recordStart += skipped * this.internals.options.record_delimiter![0]!.length;
    this.nextLine += skipped;
    this.parsedLines += skipped;
    return skipped;
  }

  /**
   * 1 when a field's CR and the record delimiter make one CRLF line break
   * between them, which the field scan counts as a break of its own: a CRLF
   * line in an LF file (its last field ends in CR), or one in a CR file (the
   * next record's first field starts with LF). Mixed line endings are common
   * enough that lines must not drift on them.
   */
  private crlfAcrossDelimiter(raw: RawRecord): number {
    const delimiter = this.internals.options.record_delimiter?.[0];
    if (delimiter?.length !== 1) return 0;
    const { bytes, start, end } = raw;
    if (delimiter[0] === 0x0a) return end - start >= 2 && bytes[end - 1] === 0x0a && bytes[end - 2] === 0x0d ? 1 : 0;
    if (delimiter[0] === 0x0d) return end > start && bytes[start] === 0x0a ? 1 : 0;
    return 0;
  }

  /** The line break csv-parse detected (or was given), '' while none has been seen. */
  private recordDelimiter(): string {
    const found = this.internals.options.record_delimiter?.[0];
    return found ? found.toString('latin1') : '';
  }

  /**
   * The bytes of the record ending at parser offset `end`: a view, or a copy
   * when it began in an earlier slice. csv-parse may hold a slice's last bytes
   * back until the next one (it looks ahead for line breaks and quotes), so a
   * record can also end before the slice it is emitted in.
   */
  private rawRecord(end: number): RawRecord {
    const { recordStart, sliceStart, carried, raw } = this;
    if (recordStart >= sliceStart) return this.view(this.slice, recordStart - sliceStart, end - sliceStart);
    const carriedStart = sliceStart - carried.length;
    if (end <= sliceStart) return this.view(carried, recordStart - carriedStart, end - carriedStart);
    raw.bytes = Buffer.concat([carried.subarray(recordStart - carriedStart), this.slice.subarray(0, end - sliceStart)]);
    raw.start = 0;
    raw.end = raw.bytes.length;
    return raw;
  }

  private view(bytes: Buffer, start: number, end: number): RawRecord {
    this.raw.bytes = bytes;
    this.raw.start = start;
    this.raw.end = end;
    return this.raw;
  }

  private parseSlices(chunk: Buffer, from: number, encoding: BufferEncoding, callback: TransformCallback): void {
    const to = Math.min(chunk.length, from + PARSE_SLICE_BYTES);
    this.enterSlice(chunk.subarray(from, to));
    super._transform(this.slice, encoding, (error?: Error | null) => {
      if (to < chunk.length && !error && !this.stopped) {
        this.afterSlice(null, () => this.parseSlices(chunk, to, encoding, callback), callback);
      } else {
        this.afterSlice(error, callback);
      }
    });
  }

  /**
   * Keeps the unfinished record's bytes (a copy: at most maxRecordBytes) and
   * moves on to `slice`. Blank lines skipped so far are passed first: they are
   * no part of the record, and a long run of them would otherwise be carried
   * from slice to slice. They count toward the loop's pause check, so a file
   * of blank lines pauses too.
   */
  private enterSlice(slice: Buffer): void {
    const blank = this.passBlankLines();
    if (blank && !this.stopped && !this.loop.passBlank(blank, this.baseOffset + this.recordStart, this.nextLine)) {
      this.stopped = new PauseSignal();
    }
    const sliceEnd = this.sliceStart + this.slice.length;
    const unfinished = sliceEnd - this.recordStart;
    if (unfinished <= 0) this.carried = EMPTY;
    else if (unfinished <= this.slice.length) this.carried = Buffer.from(this.slice.subarray(this.slice.length - unfinished));
    else this.carried = Buffer.concat([this.carried.subarray(this.carried.length - (unfinished - this.slice.length)), this.slice]);
    this.sliceStart = sliceEnd;
    this.slice = slice;
  }

  /** Waits for backlogged sinks, then continues — or ends the stream with a parse error, the pause or the loop's failure. */
  private afterSlice(error: Error | null | undefined, next: () => void, fail: TransformCallback = next): void {
    const stop = error ?? this.stopped;
    if (stop) {
      fail(stop);
      return;
    }
    if (!this.loop.backlogged) {
      next();
      return;
    }
    this.loop.flush().then(next, fail);
  }
}

const EMPTY = Buffer.alloc(0);

/** A csv-parse error with the physical line of the record it stopped in. */
export class ParseError extends Error {
  constructor(
    readonly csvError: CsvError,
    readonly line: number,
  ) {
    super(csvError.message, { cause: csvError });
  }
}

/** The record parser for a CSV format, numbering lines and offsets from where `resume` stands. */
export function recordParser(loop: RecordLoop, format: CsvFormat, limits: FeedLimits, resume: ValidationCheckpoint | undefined): RecordParser {
  // No `info`/`on_record`: csv-parse copies its state into a new object per
  // record for those, which halves throughput. RecordParser counts lines.
  const parser = new RecordParser(loop, {
    delimiter: format.delimiter,
    quote: format.quote,
    escape: format.quote,
    encoding: format.encoding === 'utf-8' ? 'utf8' : 'latin1',
    bom: true,
    max_record_size: limits.maxRecordBytes,
    ...(resume?.recordDelimiter ? { record_delimiter: resume.recordDelimiter } : {}),
  });
  if (resume) parser.startAt(resume.offset, resume.nextLine);
  return parser;
}
