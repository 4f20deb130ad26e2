import type { FeedConfig } from '../config/types';
import { coerceRecord } from '../records/coerce';
import { RecordErrorCode, type FieldError } from '../records/error-codes';
import type { WorkItemEnvelopes } from '../work-items/envelopes';
import type { ValidationCheckpoint } from './checkpoint';
import type { RecordCounts } from './decide';
import { controlRecordsFor, type ControlRecords, type ExternalControl } from './control-records';
import type { BatchReason } from './errors';
import { checkHeader, shown } from './header-check';
import type { KeyFingerprintSet } from './key-set';
import type { ItemSink, RawRecord, RejectSink } from './sinks';

/** What a fixed-width parser hands over with a record besides its fields and line. */
export interface FixedWidthRecord {
  /** The record's length is not the layout's: it is invalid, its fields unchecked. */
  readonly recordError: FieldError | undefined;
  /** The record as comma-separated text of its fields: what is staged for it. */
  readonly staged: RawRecord;
}

/** Records between two `shouldPause` questions; also the least a segment validates, so a pass always progresses. */
const PAUSE_CHECK_RECORDS = 4096;

/** The per-record work of the validation pass, with the state it carries between records. */
export class RecordLoop {
  readonly maxRecordBytes: number;
  headerSeen = false;
  private records = 0;
  private valid = 0;
  private invalid = 0;
  /** For each schema column, its position in the file's header. */
  private positions: number[] = [];
  private width = 0;
  private keyPosition = -1;
  private header: readonly string[] = [];
  private readonly maxBodyBytes: number;
  private readonly recordJsonFrameBytes: number;
  /** A record JSON this long fits in a work item whatever its record and line numbers. */
  private readonly maxSureJsonBytes: number;
  /** Where the record after the last one taken starts: a pause resumes there. */
  private resumeOffset: number;
  private resumeLine: number;
  private untilPauseCheck = PAUSE_CHECK_RECORDS;
  private recordDelimiter = '';
  private layoutSent = false;
  /** Preamble, header and trailer records and the control totals, when the feed's format has them. */
  private readonly control: ControlRecords | undefined;
  /** A format without a header row (fixed width) names its fields itself. */
  private readonly implicitHeader: boolean;

  constructor(
    private readonly feed: FeedConfig,
    private readonly envelopes: WorkItemEnvelopes,
    private readonly items: ItemSink,
    private readonly rejects: RejectSink,
    private readonly keys: KeyFingerprintSet,
    private readonly shouldPause: () => boolean,
    resume: ValidationCheckpoint | undefined,
    /** The control file's values, for a feed with `controlFile`. */
    external?: ExternalControl,
  ) {
    this.maxRecordBytes = feed.limits.maxRecordBytes;
    this.maxBodyBytes = envelopes.maxMessageBytes - envelopes.itemAttributesBytes;
    // `{}`, and `"column":` and a comma per column.
    this.recordJsonFrameBytes = feed.schema.columns.reduce((sum, column) => sum + Buffer.byteLength(JSON.stringify(column)) + 2, 2);
    this.maxSureJsonBytes = this.maxBodyBytes - envelopes.itemBytes(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0);
    this.resumeOffset = resume?.offset ?? 0;
    this.resumeLine = resume?.nextLine ?? 1;
    this.control = controlRecordsFor(feed, resume?.control, external);
    this.implicitHeader = feed.format.type === 'fixed';
    if (resume) {
      ({ records: this.records, valid: this.valid, invalid: this.invalid } = resume.counts);
      this.readHeader([...resume.header]);
      this.sendLayout(resume.recordDelimiter ?? '');
    } else if (feed.format.type === 'fixed') {
      this.readHeader(feed.format.columns.map((column) => column.name));
    }
  }

  /** Where the pass stands after the last record taken. */
  checkpoint(): ValidationCheckpoint {
    return {
      offset: this.resumeOffset,
      nextLine: this.resumeLine,
      counts: this.counts,
      header: this.header,
      ...(this.recordDelimiter ? { recordDelimiter: this.recordDelimiter } : {}),
      ...(this.control ? { control: this.control.state() } : {}),
    };
  }

  /**
   * Once the whole file is read: why its control records reject it (a
   * missing trailer, a count or sum that differs), or undefined.
   */
  controlReason(): BatchReason | undefined {
    return this.control?.finish(this.counts);
  }

  /** The control fields the file's header and trailer records gave (file date, sequence number…). */
  controlValues(): ReturnType<ControlRecords['values']> | undefined {
    return this.control?.values();
  }

  get counts(): RecordCounts {
    return { records: this.records, valid: this.valid, invalid: this.invalid };
  }

  /**
   * Takes one parsed record, starting on physical `line` at file offset
   * `start` and ending at `end`. Returns false, taking nothing, when the pass
   * pauses here: the checkpoint then points at this record. A fixed-width
   * record comes with what its parser found (`fixed`): its length error, and
   * the text it is staged as (its `raw` bytes are the line).
   */
  take(record: string[], line: number, start: number, end: number, raw: RawRecord, fixed?: FixedWidthRecord): boolean {
    if (--this.untilPauseCheck <= 0 && this.pausesAt(start, line)) return false;
    this.accept(record, line, raw, fixed);
    this.resumeOffset = end;
    return true;
  }

  /**
   * Counts `count` blank lines csv-parse skipped toward the pause check, as
   * if they were records. Returns false when the pass pauses after them: the
   * checkpoint then points at `offset`, the start of the line after them.
   */
  passBlank(count: number, offset: number, line: number): boolean {
    this.untilPauseCheck -= count;
    return !(this.untilPauseCheck <= 0 && this.pausesAt(offset, line));
  }

  /**
   * Asks whether to pause at the record boundary (`offset`, `line`), and if
   * so makes it the checkpoint. Never before the header is known: a resumed
   * segment takes the header from the checkpoint.
   */
  private pausesAt(offset: number, line: number): boolean {
    if (!this.headerSeen) return false;
    this.untilPauseCheck = PAUSE_CHECK_RECORDS;
    if (!this.shouldPause()) return false;
    this.resumeOffset = offset;
    this.resumeLine = line;
    return true;
  }

  /** True once the header is known and the item sink has not been told it. */
  get needsLayout(): boolean {
    return this.headerSeen && !this.layoutSent;
  }

  /**
   * Tells the item sink the file's header and line break: right after the
   * header row, or at the start of a resumed segment (from the checkpoint).
   */
  sendLayout(recordDelimiter: string): void {
    this.layoutSent = true;
    this.recordDelimiter = recordDelimiter;
    this.items.layout(this.header, recordDelimiter);
  }

  get backlogged(): boolean {
    return this.items.backlogged || this.rejects.backlogged;
  }

  private accept(record: string[], line: number, raw: RawRecord, fixed: FixedWidthRecord | undefined): void {
    if (record.length === 1 && record[0]!.trim() === '') return;
    // Without a header row, a header record is due until it has been read.
    const pastHeaderRow = this.implicitHeader ? !this.control?.awaitingHeaderRecord : this.headerSeen;
    if (this.control?.intercept(line, raw, pastHeaderRow)) return;
    if (!this.headerSeen) this.readHeader(record, line);
    else this.check(record, line, fixed?.staged ?? raw, fixed?.recordError);
  }

  async flush(): Promise<void> {
    await Promise.all([this.items.flush(), this.rejects.flush()]);
  }

  private readHeader(header: string[], line = 1): void {
    const columns = this.feed.schema.columns;
    checkHeader(header, columns, line);
    this.control?.columns(header);
    this.headerSeen = true;
    this.header = header;
    this.width = header.length;
    this.positions = columns.map((column) => header.indexOf(column));
    this.keyPosition = this.feed.key === undefined ? -1 : header.indexOf(this.feed.key);
  }

  /**
   * `raw`: the bytes the record is staged as. `recordError`: what the parser
   * found wrong with the record as a whole (a fixed-width record's length);
   * its fields are not checked then.
   */
  private check(fields: string[], line: number, raw: RawRecord, recordError: FieldError | undefined): void {
    const recordNumber = ++this.records;
    // Control totals cover every data row as sent, valid or not.
    this.control?.addRow(fields);
    const errors = recordError ? [recordError] : this.findErrors(fields);
    if (!errors.length) {
      // The work item is built when sending; its size is only worked out here
      // when a cheap bound says the record might not fit.
      const bytes = this.recordJsonUpperBound(raw) > this.maxSureJsonBytes ? this.itemBytes(fields, recordNumber, line) : 0;
      if (bytes <= this.maxBodyBytes) {
        this.valid++;
        this.items.write(recordNumber, line, raw);
        return;
      }
      errors.push({
        column: '',
        code: RecordErrorCode.RECORD_TOO_LARGE,
        message: `its work item would be ${bytes + this.envelopes.itemAttributesBytes} bytes; the feed's work items take at most ${this.envelopes.maxMessageBytes} (workItems.maxMessageBytes)`,
      });
    }
    this.invalid++;
    this.rejects.write({ recordNumber, line, errors, fields });
  }

  /** The exact size of a record's item envelope. */
  private itemBytes(fields: readonly string[], recordNumber: number, line: number): number {
    return this.envelopes.itemBytes(recordNumber, line, Buffer.byteLength(JSON.stringify(this.coerced(fields))));
  }

  private coerced(fields: readonly string[]): Record<string, unknown> {
    const { columns, coercers } = this.feed.schema;
    return coerceRecord(fields, this.positions, columns, coercers);
  }

  /**
   * A cheap upper bound of a record's JSON size, from the length of its raw
   * bytes alone: its fields hold at most that many UTF-16 units (no encoding
   * takes fewer bytes than units per character; delimiters and quotes are
   * dropped), and JSON encodes one unit of text (or of a coerced number) in at
   * most 6 bytes. No loop over the fields: this runs for every valid record.
   */
  private recordJsonUpperBound(raw: RawRecord): number {
    return this.recordJsonFrameBytes + (raw.end - raw.start) * 6;
  }

  private findErrors(fields: string[]): FieldError[] {
    if (fields.length !== this.width) {
      return [
        { column: '', code: RecordErrorCode.COLUMN_COUNT, message: `has ${fields.length} fields; the header has ${this.width}` },
      ];
    }
    const found = this.feed.schema.errorsOf(fields, this.positions);
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
}
