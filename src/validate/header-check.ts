import { joinCapped } from '../platform/text';
import { FileRejectedError, RejectionCode } from './errors';

/** A name or value as a message quotes it: JSON, cut after 40 characters. */
export function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/**
 * `names`, shown, as a capped list ("…and N more columns"). Each shown name
 * takes at least 4 bytes with its separator, so only the first `maxBytes / 4
 * + 2` can fit: only those are formatted — a header may hold millions of
 * names — and the array keeps `names.length` (one entry set at its far end, a
 * sparse array that costs nothing) so joinCapped counts the rest.
 */
function listed(names: readonly string[], maxBytes: number): string {
  const fit = Math.floor(maxBytes / 4) + 2;
  const items = names.slice(0, fit).map(shown);
  if (names.length > fit) items[names.length - 1] = '';
  return joinCapped(items, 'columns', maxBytes);
}

/** Bytes of a header-mismatch reason for the lists of names (split between those present) and for the expected columns. */
const HEADER_LISTS_BYTES = 1300;
const EXPECTED_COLUMNS_BYTES = 300;

/**
 * Compares the header with the schema's columns: exactly these names, in any
 * order. The reason lists each problem name once and stays within
 * MAX_MESSAGE_BYTES however wide the header is.
 */
export function checkHeader(header: readonly string[], columns: readonly string[], line = 1): void {
  const expected = new Set(columns);
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) repeated.add(name);
    else seen.add(name);
  }
  const missing = columns.filter((name) => !seen.has(name));
  const unexpected = [...seen].filter((name) => !expected.has(name));
  if (!missing.length && !unexpected.length && !repeated.size) return;
  const lists = [
    ['missing', missing],
    ['unexpected', unexpected],
    ['repeated', [...repeated]],
  ] as const;
  const present = lists.filter(([, names]) => names.length > 0);
  const share = Math.floor(HEADER_LISTS_BYTES / present.length);
  const parts = present.map(([what, names]) => `${what} ${listed(names, share)}`);
  throw new FileRejectedError(
    RejectionCode.HEADER_MISMATCH,
    `header does not match the feed's columns: ${parts.join('; ')} (expected ${joinCapped(columns, 'columns', EXPECTED_COLUMNS_BYTES)})`,
    line,
  );
}
