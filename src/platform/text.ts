/**
 * The most UTF-8 bytes a human-readable message (a batch reason, a row error,
 * a lastError) may take. Messages travel in ledger items (400 KB per item),
 * completion events (SNS 256 KiB) and rejects reports, next to everything else
 * those carry; a few KB says what is wrong without crowding any of them out.
 */
export const MAX_MESSAGE_BYTES = 2048;

/** `text` cut to at most `maxBytes` UTF-8 bytes, ending with how many bytes were left out. */
export function capText(text: string, maxBytes = MAX_MESSAGE_BYTES): string {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  // Room for the tail: "…and 9,999,999,999 more bytes" is under 40 bytes.
  let cut = Buffer.from(text).subarray(0, Math.max(0, maxBytes - 40)).toString('utf8');
  // A cut inside a multi-byte character decodes to U+FFFD: drop it.
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  const tail = `…and ${(bytes - Buffer.byteLength(cut)).toLocaleString('en-US')} more bytes`;
  return `${cut}${tail}`;
}

/**
 * Joins `items` with `separator` until the next one would take the text past
 * `maxBytes`, then ends with "…and N more <what>": for lists of unknown length
 * (unexpected header columns, failed entries) inside one message.
 */
export function joinCapped(items: readonly string[], what: string, maxBytes = MAX_MESSAGE_BYTES / 2, separator = ', '): string {
  let text = '';
  for (let index = 0; index < items.length; index++) {
    const next = `${index ? separator : ''}${items[index]}`;
    if (Buffer.byteLength(text) + Buffer.byteLength(next) > maxBytes) {
      return `${text}${separator}…and ${(items.length - index).toLocaleString('en-US')} more ${what}`;
    }
    text += next;
  }
  return text;
}
