import type { BatchReason } from './errors';
import type { InvalidRow, RejectSink } from './sinks';

/** One reported problem, flattened to one column of one row (or the whole file). */
export interface ReportedError {
  readonly line: number | null;
  readonly column: string;
  readonly code: string;
  readonly message: string;
}

/** Keeps the first `limit` errors in memory, for the validate command's output. */
export class CollectingRejectSink implements RejectSink {
  readonly errors: ReportedError[] = [];
  truncated = false;
  readonly backlogged = false;

  constructor(private readonly limit: number) {}

  write(row: InvalidRow): void {
    for (const error of row.errors) this.add({ line: row.line, ...error });
  }

  fileRejected(reason: BatchReason): void {
    if (reason.line !== undefined) this.add({ line: reason.line, column: '', code: reason.code, message: reason.message });
  }

  async flush(): Promise<void> {}

  private add(error: ReportedError): void {
    if (this.errors.length < this.limit) this.errors.push(error);
    else this.truncated = true;
  }
}
