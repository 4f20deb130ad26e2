import type { CsvFormat, FeedFormat } from './types';

/** How a feed's records are written as delimited text when staged and in rejects reports. */
export interface TextDialect {
  readonly delimiter: string;
  readonly quote: string;
  readonly encoding: CsvFormat['encoding'];
}

/** Fixed-width records are staged and reported as comma-separated text of their fields, in the file's encoding. */
const FIXED_WIDTH_DIALECT = { delimiter: ',', quote: '"' } as const;

/** The dialect of a feed: a CSV file's own, so its records are copied as they are; plain CSV for fixed width. */
export function textDialectOf(format: FeedFormat): TextDialect {
  const { delimiter, quote } = format.type === 'csv' ? format : FIXED_WIDTH_DIALECT;
  return { delimiter, quote, encoding: format.encoding };
}
