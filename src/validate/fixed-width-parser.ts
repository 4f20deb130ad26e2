import { Transform, type TransformCallback } from 'node:stream';
import type { FixedWidthFormat } from '../config/types';
import { RecordErrorCode, type FieldError } from '../records/error-codes';
import { textEncodingOf } from '../work-items/staged-rows';
import { FileRejectedError, RejectionCode } from './errors';
import { PauseSignal } from './record-parser';
import type { RecordLoop } from './record-loop';

const LF = 0x0a;
const CR = 0x0d;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const EMPTY = Buffer.alloc(0);

/** A field as staged (comma-separated, RFC 4180 quoting): fixed-width records are staged as CSV (config/text-dialect.ts). */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const TRIMS: Readonly<Record<FixedWidthFormat['trim'], (text: string) => string>> = {
  both: (text) => text.replace(/^ +| +$/g, ''),
  right: (text) => text.replace(/ +$/, ''),
  none: (text) => text,
};

/**
 * Splits a fixed-width file into records for the record loop: one record per
 * line (LF or CRLF), each field the characters of its column's positions,
 * trimmed of spaces as the feed says. The record loop then checks fields as
 * it does a CSV row's — types, schema, key, error policy — so a fixed-width
 * feed is a CSV feed with another way of finding fields.
 *
 * A record of another length than the layout's is invalid (RECORD_LENGTH)
 * without its fields being checked: its positions mean nothing. Blank lines
 * are skipped, as in CSV files.
 *
 * Each record goes to the item sink as the comma-separated text of its fields
 * (the feed's staged rows are CSV: text-dialect.ts), with the line it came from
 * and its file offsets, so checkpoints and resumes work as for CSV.
 */
export class FixedWidthParser extends Transform {
  private nextLine = 1;
  /** File offset of the next byte this parser takes (the start of `pending`). */
  private offset = 0;
  private pending: Buffer = EMPTY;
  private stopped: Error | undefined;
  private readonly encoding: 'utf8' | 'latin1';
  private readonly trim: (text: string) => string;
  /** Where the last column ends: a record without `recordLength` must reach it. */
  private readonly layoutEnd: number;

  constructor(
    private readonly loop: RecordLoop,
    private readonly format: FixedWidthFormat,
    private readonly maxRecordBytes: number,
  ) {
    super();
    this.encoding = textEncodingOf(format.encoding);
    this.trim = TRIMS[format.trim];
    const last = format.columns[format.columns.length - 1]!;
    this.layoutEnd = last.start + last.length;
  }

  /** Continues numbering lines and offsets from where an earlier segment stopped. */
  startAt(offset: number, line: number): void {
    this.offset = offset;
    this.nextLine = line;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let from = 0;
    try {
      for (let lineFeed = data.indexOf(LF); lineFeed !== -1 && !this.stopped; lineFeed = data.indexOf(LF, from)) {
        this.record(data, from, lineFeed + 1);
        from = lineFeed + 1;
      }
      // Copied: the rest of a chunk must not keep the whole chunk alive.
      this.pending = this.stopped ? EMPTY : Buffer.from(data.subarray(from));
      if (this.pending.length > this.maxRecordBytes) this.tooLong(this.nextLine);
    } catch (error) {
      this.stopped = error as Error;
    }
    this.afterChunk(callback);
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.pending.length && !this.stopped) this.record(this.pending, 0, this.pending.length);
    } catch (error) {
      this.stopped = error as Error;
    }
    this.afterChunk(callback);
  }

  /** Ends the stream with the pause or the failure, or waits for backlogged sinks before taking more. */
  private afterChunk(callback: TransformCallback): void {
    if (this.stopped) callback(this.stopped);
    else if (this.loop.backlogged) this.loop.flush().then(() => callback(), callback);
    else callback();
  }

  /** Takes the line `data[start, end)`, its line break included. */
  private record(data: Buffer, start: number, end: number): void {
    // The record loop knows the fields' names from the layout from the start.
    if (this.loop.needsLayout) this.loop.sendLayout('\n');
    const line = this.nextLine++;
    const recordStart = this.offset;
    this.offset += end - start;
    if (end - start > this.maxRecordBytes) this.tooLong(line);
    let contentStart = start;
    if (recordStart === 0 && this.encoding === 'utf8' && data.subarray(start, start + 3).equals(UTF8_BOM)) contentStart += 3;
    let contentEnd = end;
    if (data[contentEnd - 1] === LF) contentEnd--;
    if (data[contentEnd - 1] === CR && contentEnd > contentStart) contentEnd--;
    if (contentEnd === contentStart) {
      if (!this.loop.passBlank(1, this.offset, this.nextLine)) this.stopped = new PauseSignal();
      return;
    }
    const text = data.toString(this.encoding, contentStart, contentEnd);
    const fields = this.format.columns.map((column) => this.trim(text.slice(column.start, column.start + column.length)));
    const staged = Buffer.from(`${fields.map(csvField).join(',')}\n`, this.encoding);
    // The line itself is what header and trailer records are recognised by.
    const lineBytes = { bytes: data, start, end };
    const fixed = { recordError: this.lengthError(text.length), staged: { bytes: staged, start: 0, end: staged.length } };
    if (!this.loop.take(fields, line, recordStart, this.offset, lineBytes, fixed)) this.stopped = new PauseSignal();
  }

  private lengthError(length: number): FieldError | undefined {
    const { recordLength } = this.format;
    if (recordLength !== undefined ? length === recordLength : length >= this.layoutEnd) return undefined;
    const expected = recordLength !== undefined ? `the layout's records have ${recordLength}` : `the last column ends at position ${this.layoutEnd}`;
    return { column: '', code: RecordErrorCode.RECORD_LENGTH, message: `is ${length} characters long; ${expected}` };
  }

  private tooLong(line: number): never {
    throw new FileRejectedError(
      RejectionCode.MAX_RECORD_SIZE_EXCEEDED,
      `a record is larger than ${this.maxRecordBytes} bytes (the feed's maxRecordBytes)`,
      line,
    );
  }

}
