import { ConfigError } from './errors';
import type { FixedColumn, FixedWidthFormat } from './types';

/** A fixed-width format as written in a partner file (schemas/partner.schema.json `fixedFormat`). */
export interface RawFixedWidthFormat {
  type: 'fixed';
  encoding: FixedWidthFormat['encoding'];
  compression?: FixedWidthFormat['compression'];
  recordLength?: number;
  skipLeadingLines?: number;
  headerRecord?: FixedWidthFormat['headerRecord'];
  trailerRecord?: FixedWidthFormat['trailerRecord'];
  trim?: FixedWidthFormat['trim'];
  columns: { name: string; start: number; length?: number; end?: number }[];
}

/**
 * The checked layout of a fixed-width feed: every column of the record schema
 * exactly once, no two fields sharing a position, all within `recordLength`.
 * Errors name the partner file and the field, as every config error does.
 */
export function buildFixedWidthFormat(raw: RawFixedWidthFormat, schemaColumns: readonly string[], file: string, field: string): FixedWidthFormat {
  const columns: FixedColumn[] = raw.columns.map((column, index) => {
    const length = column.length ?? column.end! - column.start + 1;
    if (length < 1) throw new ConfigError(file, `${field}.columns[${index}].end`, `must not be before its start (${column.start})`);
    return { name: column.name, start: column.start - 1, length };
  });
  const seen = new Set<string>();
  columns.forEach((column, index) => {
    if (!schemaColumns.includes(column.name)) {
      throw new ConfigError(file, `${field}.columns[${index}].name`, `"${column.name}" is not a column of the feed's record schema (${schemaColumns.join(', ')})`);
    }
    if (seen.has(column.name)) throw new ConfigError(file, `${field}.columns[${index}].name`, `"${column.name}" is laid out twice`);
    seen.add(column.name);
  });
  const missing = schemaColumns.filter((name) => !seen.has(name));
  if (missing.length) throw new ConfigError(file, `${field}.columns`, `lays out no position for the schema's ${missing.map((name) => `"${name}"`).join(', ')}`);
  const byStart = [...columns].sort((a, b) => a.start - b.start);
  for (let at = 1; at < byStart.length; at++) {
    const [before, after] = [byStart[at - 1]!, byStart[at]!];
    if (after.start < before.start + before.length) {
      throw new ConfigError(file, `${field}.columns`, `"${before.name}" (${span(before)}) and "${after.name}" (${span(after)}) overlap`);
    }
  }
  const last = byStart[byStart.length - 1]!;
  if (raw.recordLength !== undefined && last.start + last.length > raw.recordLength) {
    throw new ConfigError(file, `${field}.recordLength`, `is ${raw.recordLength}, but "${last.name}" ends at position ${last.start + last.length}`);
  }
  return {
    type: 'fixed',
    encoding: raw.encoding,
    compression: raw.compression ?? 'auto',
    trim: raw.trim ?? 'both',
    columns: byStart,
    ...(raw.recordLength !== undefined ? { recordLength: raw.recordLength } : {}),
    ...(raw.skipLeadingLines ? { skipLeadingLines: raw.skipLeadingLines } : {}),
    ...(raw.headerRecord ? { headerRecord: raw.headerRecord } : {}),
    ...(raw.trailerRecord ? { trailerRecord: raw.trailerRecord } : {}),
  };
}

/** A column's positions as the config writes them: 1-based, inclusive. */
function span(column: FixedColumn): string {
  return `positions ${column.start + 1}-${column.start + column.length}`;
}
