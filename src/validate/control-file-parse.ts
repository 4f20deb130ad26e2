import { parse } from 'csv-parse/sync';
import type { FeedConfig } from '../config/types';
import { parseControlDecimal } from '../records/decimal';
import type { ControlValues, ExternalControl } from './control-records';
import { RejectionCode, type BatchReason } from './errors';
import { textDialectOf } from '../config/text-dialect';

/** What reading a feed's control file came to: its values, its absence, or why it cannot be used. */
export type ControlFileRead = { readonly found: ExternalControl } | { readonly missing: true } | { readonly reason: BatchReason };

function invalid(name: string, problem: string): { reason: BatchReason } {
  return { reason: { code: RejectionCode.CONTROL_RECORD_INVALID, message: `the control file "${name}" ${problem}` } };
}

/**
 * A control file's values from its text (`name` for reasons), or why it
 * cannot be used (CONTROL_RECORD_INVALID). Shared by the ingest function and
 * `partner-ingest validate --control-file`.
 */
export function parseControlFile(text: string, feed: FeedConfig, name: string): ControlFileRead {
  const settings = feed.controlFile!;
  const record = settings.format === 'json' ? jsonRecord(text) : csvRecord(text, feed);
  if (typeof record === 'string') return invalid(name, record);
  const values: Record<string, string> = {};
  const { recordCount, controlSum } = settings.fields;
  if (recordCount !== undefined) {
    const count = record[recordCount];
    const textual = typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 ? String(count) : count;
    if (typeof textual !== 'string' || !/^[0-9]+$/.test(textual)) return invalid(name, `has no whole number in "${recordCount}"`);
    values.recordCount = textual;
  }
  if (controlSum !== undefined) {
    const sum = record[controlSum.field];
    // A JSON number is a float once parsed: only a string keeps a decimal exact (an integer is exact either way).
    const textual = typeof sum === 'number' && Number.isSafeInteger(sum) ? String(sum) : sum;
    if (typeof textual !== 'string' || !parseControlDecimal(textual)) {
      return invalid(name, `has no decimal in "${controlSum.field}"${typeof sum === 'number' ? ' (write a fractional sum as a JSON string, "1234.56", so no float rounds it)' : ''}`);
    }
    values.controlSum = textual;
  }
  return { found: { name, values: values as ControlValues } };
}

function jsonRecord(text: string): Record<string, unknown> | string {
  try {
    const value = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : 'is not a JSON object';
  } catch (error) {
    return `is not JSON (${(error as Error).message})`;
  }
}

function csvRecord(text: string, feed: FeedConfig): Record<string, unknown> | string {
  try {
    const { delimiter, quote } = textDialectOf(feed.format);
    const rows = parse(text, { columns: true, bom: true, skip_empty_lines: true, delimiter, quote }) as Record<string, string>[];
    return rows.length === 1 ? rows[0]! : `has ${rows.length} rows after its header; a control file has one`;
  } catch (error) {
    return `is not CSV (${(error as Error).message})`;
  }
}
