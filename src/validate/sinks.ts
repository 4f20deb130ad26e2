import type { FieldError } from '../records/error-codes';
import type { BatchReason } from './errors';

/** A row that failed validation, with everything a partner needs to fix it. */
export interface InvalidRow {
  readonly recordNumber: number;
  /** 1-based physical line where the record starts (the header is line 1). */
  readonly line: number;
  readonly errors: readonly FieldError[];
  /** The parsed fields of the row, in file order. */
  readonly fields: readonly string[];
}

/** A record's bytes exactly as they are in the file: `bytes[start, end)`. A view, valid only during the call that receives it. */
export interface RawRecord {
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
}

/**
 * Where the validation pass sends its output. Writes are synchronous and
 * buffered; the pass awaits `flush()` whenever a sink reports `backlogged`, so a
 * slow destination slows the parser down instead of growing memory.
 */
export interface ItemSink {
  /**
   * The file's header row and the line break csv-parse found in it ('' for a
   * one-line file): once per segment, before its first valid record.
   */
  layout(header: readonly string[], recordDelimiter: string): void;
  /**
   * Valid record `recordNumber`, starting on physical `line`: `raw` is its CSV
   * text exactly as in the file (source encoding, its line break included when
   * it has one).
   */
  write(recordNumber: number, line: number, raw: RawRecord): void;
  readonly backlogged: boolean;
  flush(): Promise<void>;
}

export interface RejectSink {
  write(row: InvalidRow): void;
  /** Records why the whole file was rejected (header, encoding, malformed CSV, policy). */
  fileRejected(reason: BatchReason): void;
  readonly backlogged: boolean;
  flush(): Promise<void>;
}

/** Counts items and keeps nothing: for `validate`, which sends nothing. */
export class DiscardingItemSink implements ItemSink {
  items = 0;
  readonly backlogged = false;
  layout(): void {}
  write(): void {
    this.items++;
  }
  async flush(): Promise<void> {}
}
