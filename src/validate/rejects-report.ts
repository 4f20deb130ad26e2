import { StringDecoder } from 'node:string_decoder';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { stringify } from 'csv-stringify/sync';
import type { BatchReason } from './errors';
import type { InvalidRow, RejectSink } from './sinks';
import { S3TextWriter } from '../platform/s3-text-writer';

export const REJECTS_REPORT_COLUMNS = ['line', 'record', 'column', 'code', 'message', 'row'] as const;

export interface RejectsReport {
  readonly bucket: string;
  readonly key: string;
  /** Problem rows written (one per problem; a row with two bad columns appears twice). */
  readonly rows: number;
  /** True when more problems were found than the feed's maxReportedErrors. */
  readonly truncated: boolean;
}

/**
 * The partner's rejects report: a CSV in S3 with one line per problem — the
 * original line number, record number, column, stable code, message and the
 * original row's fields. It opens in spreadsheets, so cells starting with
 * = + - @, tab or CR are prefixed with a quote (OWASP CSV injection).
 * The object is only created when there is something to report.
 */
export class RejectsReportWriter implements RejectSink {
  private writer: S3TextWriter | undefined;
  private rows = 0;
  private truncated = false;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly delimiter: string,
    private readonly maxRows: number,
  ) {}

  /**
   * Starts this report with the rows of `earlier` — the report an earlier
   * segment of the same validation pass wrote — so the final report holds
   * every problem of the file. `earlier` itself is left untouched, so a
   * segment that fails can be run again from the same start.
   */
  async continueFrom(earlier: RejectsReport): Promise<void> {
    this.rows = earlier.rows;
    this.truncated = earlier.truncated;
    this.writer = new S3TextWriter(this.s3, this.bucket, this.key, 'text/csv; charset=utf-8');
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: earlier.bucket, Key: earlier.key }));
    const decoder = new StringDecoder('utf8'); // a chunk may end inside a character
    for await (const chunk of Body as AsyncIterable<Buffer>) {
      const text = decoder.write(chunk);
      this.writer.append(text);
      if (this.writer.backlogged) await this.writer.flush();
    }
  }

  get backlogged(): boolean {
    return this.writer?.backlogged ?? false;
  }

  write(row: InvalidRow): void {
    const original = stringify([row.fields], { delimiter: this.delimiter, eof: false });
    for (const error of row.errors) {
      this.add([row.line, row.recordNumber, error.column, error.code, error.message, original]);
    }
  }

  fileRejected(reason: BatchReason): void {
    this.add([reason.line ?? '', '', '', reason.code, reason.message, ''], true);
  }

  async flush(): Promise<void> {
    await this.writer?.flush();
  }

  /** Completes the report; undefined when nothing was wrong. */
  async close(): Promise<RejectsReport | undefined> {
    if (!this.writer) return undefined;
    await this.writer.close();
    return { bucket: this.bucket, key: this.key, rows: this.rows, truncated: this.truncated };
  }

  abort(reason: Error): void {
    this.writer?.abort(reason);
  }

  /** `always` lets the file-level reason through even when the row cap is reached. */
  private add(cells: readonly (string | number)[], always = false): void {
    if (this.rows >= this.maxRows && !always) {
      this.truncated = true;
      return;
    }
    if (!this.writer) {
      this.writer = new S3TextWriter(this.s3, this.bucket, this.key, 'text/csv; charset=utf-8');
      this.append([...REJECTS_REPORT_COLUMNS]);
    }
    this.rows++;
    this.append(cells);
  }

  private append(cells: readonly (string | number)[]): void {
    const line = stringify([cells], { escape_formulas: true, record_delimiter: '\r\n' });
    this.writer!.append(line);
  }
}
