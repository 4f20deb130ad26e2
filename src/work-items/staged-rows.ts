/**
 * How valid records wait between validation and sending: as *staged rows*,
 * the file's own CSV text of each valid record, prefixed with its record
 * number and starting line — `7,8,ORD-000007,CUST-7,…` — in the file's
 * dialect and encoding. The validation pass copies each valid record's bytes
 * instead of serializing it: it is the one part of ingesting a file that
 * cannot be spread over invocations running side by side, so it does as
 * little as it can. The sender, which runs in parallel ranges, parses its
 * chunk again, coerces every record with the same code the validation pass
 * used, and builds the JSON work items.
 */
import type { Options } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import type { FeedConfig } from '../config/types';
import type { RawRecord } from '../validate/sinks';
import { stagedRecord, type StagedRecord } from './envelopes';
import { COERCERS, coerceRecord, type ColumnType } from '../records/coerce';
import type { TextWriter } from '../platform/s3-text-writer';
import { textDialectOf, type TextDialect } from '../config/text-dialect';

/** What the sender needs to read staged rows back into the records the validation pass checked. */
export interface StagedRowFormat {
  readonly delimiter: string;
  readonly quote: string;
  readonly encoding: FeedConfig['format']['encoding'];
  /** The line break csv-parse found in the file (`\n`, `\r\n` or `\r`); '' when the file has a single line. */
  readonly recordDelimiter: string;
  /** The file's header row: the staged rows' fields after the two numbers are in this order. */
  readonly header: readonly string[];
  /** The record schema's columns and their types, as of validation. */
  readonly columns: readonly { readonly name: string; readonly type: ColumnType }[];
}

/** The format of a feed's staged rows, once the file's header and line break are known. */
export function stagedRowFormat(feed: FeedConfig, header: readonly string[], recordDelimiter: string): StagedRowFormat {
  const { delimiter, quote, encoding } = textDialectOf(feed.format);
  const { columns, columnTypes } = feed.schema;
  return { delimiter, quote, encoding, recordDelimiter, header, columns: columns.map((name) => ({ name, type: columnTypes[name]! })) };
}

/** The two fields a staged row starts with. */
export function stagedRowPrefix(recordNumber: number, line: number, delimiter: string): string {
  return `${recordNumber}${delimiter}${line}${delimiter}`;
}

/** Appends the staged row of a record to `writer`, the prefix in the file's encoding like the delimiter in the file; returns its size. */
export function appendStagedRow(writer: TextWriter, format: TextDialect, recordNumber: number, line: number, raw: RawRecord): number {
  const delimiter = format.delimiter.charCodeAt(0);
  // A delimiter of one byte in the file's encoding (nearly always): the numbers are written as bytes.
  const prefix =
    delimiter < (format.encoding === 'utf-8' ? 0x80 : 0x100)
      ? writer.appendNumber(recordNumber, delimiter) + writer.appendNumber(line, delimiter)
      : writer.append(stagedRowPrefix(recordNumber, line, format.delimiter), textEncodingOf(format.encoding));
  return prefix + writer.appendBytes(raw.bytes, raw.start, raw.end);
}

/** Node's name for a feed's encoding (ASCII files are read as latin1; the encoding guard keeps them ASCII). */
export function textEncodingOf(encoding: FeedConfig['format']['encoding']): 'utf8' | 'latin1' {
  return encoding === 'utf-8' ? 'utf8' : 'latin1';
}

/** Turns staged rows back into staged records (work-item.ts): the record-specific JSON of each work item. */
export class StagedRowDecoder {
  private readonly options: Options;
  private readonly positions: number[];
  private readonly names: string[];
  private readonly coercers: ((text: string) => unknown)[];
  private readonly width: number;

  constructor(format: StagedRowFormat) {
    this.options = {
      delimiter: format.delimiter,
      quote: format.quote,
      escape: format.quote,
      encoding: textEncodingOf(format.encoding),
      ...(format.recordDelimiter ? { record_delimiter: format.recordDelimiter } : {}),
    };
    this.names = format.columns.map((column) => column.name);
    // +2: the record number and line come first.
    this.positions = this.names.map((name) => format.header.indexOf(name) + 2);
    if (this.positions.some((position) => position < 2)) {
      throw new Error(`staged rows lack a column: header ${format.header.join(',')}, columns ${this.names.join(',')}`);
    }
    this.coercers = format.columns.map((column) => COERCERS[column.type]);
    this.width = format.header.length + 2;
  }

  /** The staged records of one chunk of staged rows; throws on anything that is not a staged row. */
  decode(bytes: Buffer): StagedRecord[] {
    const rows = parse(bytes, this.options) as string[][];
    return rows.map((fields, index) => {
      const recordNumber = Number(fields[0]);
      const line = Number(fields[1]);
      if (fields.length !== this.width || !(recordNumber > 0) || !Number.isSafeInteger(recordNumber) || !(line > 0)) {
        throw new Error(`row ${index + 1} is not a staged row of ${this.width} fields`);
      }
      const text = stagedRecord(recordNumber, line, JSON.stringify(coerceRecord(fields, this.positions, this.names, this.coercers)));
      return { recordNumber, text, bytes: Buffer.byteLength(text) };
    });
  }
}
