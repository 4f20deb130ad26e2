import type { ControlFields, ControlRecordFormat, CsvFormat, FeedConfig } from '../config/types';
import type { CompiledRecordSchema } from '../records/record-schema';
import { DecimalSum, parseControlDecimal } from '../records/decimal';
import type { RecordCounts } from './decide';
import { FileRejectedError, RejectionCode, type BatchReason } from './errors';
import { shown } from './header-check';
import type { RawRecord } from './sinks';

/** The control fields a header or trailer record gave, as text. */
export interface ControlValues {
  readonly recordCount?: string;
  readonly controlSum?: string;
  readonly fileDate?: string;
  readonly sequence?: string;
}

/** What the control checks carry from one validation segment to the next (JSON, in the checkpoint). */
export interface ControlState {
  readonly header?: ControlValues & { readonly line: number };
  readonly trailer?: ControlValues & { readonly line: number };
  /** The running sum of the control sum column over the data rows so far. */
  readonly sum?: string;
  /** Data rows whose control sum column held no decimal (they add nothing). */
  readonly unsummed?: number;
}

interface CompiledRecord {
  readonly what: 'header' | 'trailer';
  readonly pattern: RegExp;
  readonly fields: ControlFields;
  /** Text every record the pattern matches starts with ('' when the pattern does not say): a byte test spares most rows the decode and the match. */
  readonly prefix: string;
}

interface CompiledControl {
  readonly header?: CompiledRecord;
  readonly trailer?: CompiledRecord;
  readonly sumColumn?: string;
}

/** A problem with a feed's control record settings, for the config loader to report with the file. */
export interface ControlFormatProblem {
  /** Relative to the feed's `format`. */
  readonly field: string;
  readonly reason: string;
}

/** Compiled once per feed object (its lifetime), not per file. */
const compiled = new WeakMap<FeedConfig, CompiledControl | null>();

/** The control values a control file beside the data file gave (`controlFile`), read before the pass. */
export interface ExternalControl {
  /** The control file's name, for reasons. */
  readonly name: string;
  readonly values: ControlValues;
}

/** The group names a regular expression defines: an empty alternative makes every group show up, unmatched. */
function groupNames(pattern: RegExp): string[] {
  return Object.keys(new RegExp(`${pattern.source}|`).exec('')?.groups ?? {});
}

function compileRecord(what: 'header' | 'trailer', format: ControlRecordFormat): CompiledRecord {
  return { what, pattern: new RegExp(format.match), fields: format.fields ?? {}, prefix: literalPrefix(format.match) };
}

/**
 * The literal text an anchored pattern's matches all start with: `^TRL\|(?<n>…)`
 * → `TRL|`. Conservative: '' for a pattern with an alternation anywhere, and a
 * literal a quantifier follows is left out (`^TRL?` → `TR`). With a trailer,
 * every data row is a candidate: most fail this byte test and are neither
 * decoded nor matched.
 */
export function literalPrefix(source: string): string {
  if (!source.startsWith('^') || /(^|[^\\])(\\\\)*\|/.test(source)) return '';
  let prefix = '';
  for (let at = 1; at < source.length; ) {
    const char = source[at]!;
    let literal: string | undefined;
    let width = 1;
    if (char === '\\') {
      const next = source[at + 1];
      // An escaped punctuation mark stands for itself; \d, \w, \s, \b… do not.
      if (next !== undefined && /[^A-Za-z0-9]/.test(next)) [literal, width] = [next, 2];
    } else if (/[A-Za-z0-9 ,;:_#@!"'=%&~<>\/-]/.test(char)) {
      literal = char;
    }
    if (literal === undefined) break;
    if (/[?*+{]/.test(source[at + width] ?? '')) break;
    prefix += literal;
    at += width;
  }
  return prefix;
}

/**
 * Checks a feed's skipLeadingLines / headerRecord / trailerRecord against its
 * record schema: each `match` compiles, each field names a group of it, the
 * control sum's column is a column of the schema and not a boolean, and at
 * most one column is summed. Returns the first problem.
 */
export function controlFormatProblem(format: Pick<CsvFormat, 'headerRecord' | 'trailerRecord'>, schema: CompiledRecordSchema): ControlFormatProblem | undefined {
  let sumColumn: string | undefined;
  for (const what of ['headerRecord', 'trailerRecord'] as const) {
    const record = format[what];
    if (!record) continue;
    let pattern: RegExp;
    try {
      pattern = new RegExp(record.match);
    } catch (error) {
      return { field: `${what}.match`, reason: `is not a regular expression (${(error as Error).message})` };
    }
    const groups = groupNames(pattern);
    for (const [role, value] of Object.entries(record.fields ?? {}) as [keyof ControlFields, ControlFields[keyof ControlFields]][]) {
      const group = typeof value === 'string' ? value : value!.group;
      const field = `${what}.fields.${role}${typeof value === 'string' ? '' : '.group'}`;
      if (!groups.includes(group)) {
        return { field, reason: `"${group}" is not a named group of match (it has ${groups.length ? groups.map((name) => `"${name}"`).join(', ') : 'none'}; write (?<${group}>…))` };
      }
      if (role !== 'controlSum') continue;
      const column = (value as NonNullable<ControlFields['controlSum']>).column;
      const type = schema.columnTypes[column];
      if (type === undefined) return { field: `${what}.fields.controlSum.column`, reason: `"${column}" is not a column of schema ${schema.id} v${schema.version}` };
      if (type === 'boolean') return { field: `${what}.fields.controlSum.column`, reason: `"${column}" is a boolean column; a control sum needs a decimal one` };
      if (sumColumn !== undefined && sumColumn !== column) {
        return { field: `${what}.fields.controlSum.column`, reason: `the header record already sums "${sumColumn}"; one column is summed per file` };
      }
      sumColumn = column;
    }
  }
  return undefined;
}

function compile(feed: FeedConfig): CompiledControl | undefined {
  let control = compiled.get(feed);
  if (control === undefined) {
    const { format } = feed;
    const sum = format.trailerRecord?.fields?.controlSum ?? format.headerRecord?.fields?.controlSum ?? feed.controlFile?.fields.controlSum;
    control =
      format.headerRecord || format.trailerRecord || feed.controlFile
        ? {
            ...(format.headerRecord ? { header: compileRecord('header', format.headerRecord) } : {}),
            ...(format.trailerRecord ? { trailer: compileRecord('trailer', format.trailerRecord) } : {}),
            ...(sum ? { sumColumn: sum.column } : {}),
          }
        : null;
    compiled.set(feed, control);
  }
  return control ?? undefined;
}

/** The control checks of `feed`, or undefined when it has none (the common case costs nothing). */
export function controlRecordsFor(feed: FeedConfig, resume: ControlState | undefined, external?: ExternalControl): ControlRecords | undefined {
  const control = compile(feed);
  return control && new ControlRecords(control, feed.format.encoding === 'utf-8' ? 'utf8' : 'latin1', resume, external);
}

/**
 * A header record and a trailer record, taken out of the
 * record stream before the header row and the data rows see it, and the
 * control totals checked once the file has ended.
 *
 * The totals cover every data row as the partner sent it, valid or not: the
 * count is the file's data rows (blank lines aside), the sum adds the column's
 * text of each row in exact decimal arithmetic. A row whose cell is not a
 * decimal (an invalid row) adds nothing, and the reason says how many did.
 */
export class ControlRecords {
  private header: ControlState['header'];
  private trailer: ControlState['trailer'];
  private readonly sum: DecimalSum;
  private unsummed: number;
  private sumPosition = -1;
  /** Each record pattern's literal prefix in the file's encoding. */
  private readonly prefixes = new Map<CompiledRecord, Buffer>();

  constructor(
    private readonly control: CompiledControl,
    private readonly encoding: 'utf8' | 'latin1',
    resume: ControlState | undefined,
    private readonly external?: ExternalControl,
  ) {
    this.header = resume?.header;
    this.trailer = resume?.trailer;
    this.sum = resume?.sum ? DecimalSum.from(resume.sum) : new DecimalSum();
    this.unsummed = resume?.unsummed ?? 0;
  }

  /** True while the file's header record is due: the format has one and it has not been read. */
  get awaitingHeaderRecord(): boolean {
    return this.control.header !== undefined && this.header === undefined;
  }

  /**
   * Whether the record starting on `line` is a control record (taken here,
   * not a header row or data row). The preamble never reaches here
   * (src/validate/preamble.ts). Throws a FileRejectedError
   * when the header record is missing, a field in a control record is wrong,
   * or a record follows the trailer.
   */
  intercept(line: number, raw: RawRecord, headerSeen: boolean): boolean {
    if (this.trailer) {
      throw new FileRejectedError(
        RejectionCode.TRAILER_MISSING,
        `the trailer record (line ${this.trailer.line}) is not the last record: line ${line} follows it`,
        line,
      );
    }
    const { header, trailer } = this.control;
    if (!headerSeen) {
      if (!header || this.header) return false;
      const values = this.read(header, line, raw);
      if (!values) {
        throw new FileRejectedError(
          RejectionCode.HEADER_RECORD_MISSING,
          `the first record (line ${line}) is not the header record: it does not match format.headerRecord.match ${shown(header.pattern.source)}`,
          line,
        );
      }
      this.header = { ...values, line };
      return true;
    }
    if (!trailer) return false;
    const values = this.read(trailer, line, raw);
    if (!values) return false;
    this.trailer = { ...values, line };
    return true;
  }

  /** Finds the control sum column in the file's header row. */
  columns(headerRow: readonly string[]): void {
    if (this.control.sumColumn !== undefined) this.sumPosition = headerRow.indexOf(this.control.sumColumn);
  }

  /** Adds a data row (valid or not) to the control sum. */
  addRow(fields: readonly string[]): void {
    if (this.sumPosition < 0) return;
    const cell = fields[this.sumPosition];
    if (cell === undefined || !this.sum.add(cell)) this.unsummed++;
  }

  state(): ControlState {
    return {
      ...(this.header ? { header: this.header } : {}),
      ...(this.trailer ? { trailer: this.trailer } : {}),
      ...(this.control.sumColumn !== undefined ? { sum: this.sum.toString(), unsummed: this.unsummed } : {}),
    };
  }

  /** The control fields the file gave (the trailer's over the header's), e.g. its sequence number. */
  values(): ControlValues {
    const { line: _headerLine, ...header } = this.header ?? { line: 0 };
    const { line: _trailerLine, ...trailer } = this.trailer ?? { line: 0 };
    return { ...header, ...trailer };
  }

  /** Once the whole file has been read: why its control records reject it, or undefined. */
  finish(counts: RecordCounts): BatchReason | undefined {
    if (this.control.trailer && !this.trailer) {
      return {
        code: RejectionCode.TRAILER_MISSING,
        message: `the file has no trailer record: no record after the header row matches format.trailerRecord.match ${shown(this.control.trailer.pattern.source)}`,
      };
    }
    const sources = [
      ...(this.header ? [{ what: `the header record (line ${this.header.line})`, values: this.header, line: this.header.line }] : []),
      ...(this.trailer ? [{ what: `the trailer record (line ${this.trailer.line})`, values: this.trailer, line: this.trailer.line }] : []),
      ...(this.external ? [{ what: `the control file ${shown(this.external.name)}`, values: this.external.values, line: undefined }] : []),
    ];
    for (const { what, values, line } of sources) {
      const at = line === undefined ? {} : { line };
      if (values.recordCount !== undefined && BigInt(values.recordCount) !== BigInt(counts.records)) {
        return { code: RejectionCode.CONTROL_COUNT_MISMATCH, message: `${what} gives ${values.recordCount} data rows; the file has ${counts.records}`, ...at };
      }
      if (values.controlSum !== undefined && !this.sum.equals(values.controlSum)) {
        const unsummed = this.unsummed ? ` (${this.unsummed} row${this.unsummed === 1 ? '' : 's'} had no decimal in it and added nothing)` : '';
        return {
          code: RejectionCode.CONTROL_SUM_MISMATCH,
          message: `${what} gives ${values.controlSum} as the sum of ${this.control.sumColumn}; the data rows sum to ${this.sum.toString()}${unsummed}`,
          ...at,
        };
      }
    }
    return undefined;
  }

  /** Whether the record's bytes start with the pattern's literal prefix (after a BOM, which only a first line has). */
  private startsWith(raw: RawRecord, record: CompiledRecord): boolean {
    let prefix = this.prefixes.get(record);
    if (!prefix) this.prefixes.set(record, (prefix = Buffer.from(record.prefix, this.encoding)));
    const bom = raw.bytes[raw.start] === 0xef && raw.bytes[raw.start + 1] === 0xbb && raw.bytes[raw.start + 2] === 0xbf ? 3 : 0;
    const start = raw.start + bom;
    return raw.end - start >= prefix.length && raw.bytes.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;
  }

  /** The control values of the record on `line` when it matches `record`'s pattern; undefined when it does not match. */
  private read(record: CompiledRecord, line: number, raw: RawRecord): ControlValues | undefined {
    if (record.prefix && !this.startsWith(raw, record)) return undefined;
    const text = raw.bytes.toString(this.encoding, raw.start, raw.end).replace(/^\uFEFF/, '').replace(/\r?\n$|\r$/, '');
    const match = record.pattern.exec(text);
    if (!match) return undefined;
    const { recordCount, controlSum, fileDate, sequence } = record.fields;
    const value = (role: string, group: string | undefined, valid: (text: string) => boolean, what: string): string | undefined => {
      if (group === undefined) return undefined;
      const found = match.groups?.[group];
      if (found === undefined || !valid(found)) {
        throw new FileRejectedError(
          RejectionCode.CONTROL_RECORD_INVALID,
          `the ${record.what} record (line ${line}) has ${found === undefined ? `no ${role}` : `${role} ${shown(found)}, which is not ${what}`}`,
          line,
        );
      }
      return found;
    };
    const digits = (text: string) => /^[0-9]+$/.test(text);
    const values: Record<string, string | undefined> = {
      recordCount: value('recordCount', recordCount, digits, 'a whole number'),
      controlSum: value('controlSum', controlSum?.group, (text) => parseControlDecimal(text) !== undefined, 'a decimal'),
      fileDate: value('fileDate', fileDate, () => true, ''),
      sequence: value('sequence', sequence, digits, 'a whole number'),
    };
    return Object.fromEntries(Object.entries(values).filter(([, text]) => text !== undefined)) as ControlValues;
  }
}
