import type { FieldError } from '../records/error-codes';
import type { BatchReason } from './file-rejection';

/** A row that failed validation, with everything a partner needs to fix it. */
export interface InvalidRow {
  readonly recordNumber: number;
  /** 1-based physical line where the record starts (the header is line 1). */
  readonly line: number;
  readonly errors: readonly FieldError[];
  /** The parsed fields of the row, in file order. */
  readonly fields: readonly string[];
}

/**
 * Where the validation pass sends its output. Writes are synchronous and
 * buffered; the pass awaits `flush()` whenever a sink reports `backlogged`, so a
 * slow destination slows the parser down instead of growing memory.
 */
export interface ItemSink {
  /** False when the sink only counts: bodies are then built only to measure records near the size limit. */
  readonly wantsBodies: boolean;
  write(recordNumber: number, body: string, bytes: number): void;
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
  readonly wantsBodies = false;
  readonly backlogged = false;
  write(): void {
    this.items++;
  }
  async flush(): Promise<void> {}
}
