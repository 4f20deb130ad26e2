import { Transform, type TransformCallback } from 'node:stream';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Drops the first `lines` physical lines (`format.skipLeadingLines`, a
 * preamble before the header row) before csv-parse sees them: a preamble is
 * free text, and one quote in it would otherwise stop the file as malformed
 * CSV. A line ends at LF, CRLF or a lone CR, as csv-parse counts them. When
 * the preamble is behind it, `onDone(bytes)` says how many bytes it took, so
 * the parser numbers the offsets and lines after it as they are in the file.
 * Only the first segment of a pass has it: a resumed one starts past it.
 */
export class PreambleSkipper extends Transform {
  private bytes = 0;
  private pendingCr = false;

  constructor(
    private remaining: number,
    private readonly onDone: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.remaining === 0) {
      callback(null, chunk);
      return;
    }
    let at = 0;
    // A CR that ended the last chunk ends its line; an LF right after it belongs to that line break.
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] === LF) at = 1;
      if (--this.remaining === 0) return this.finish(chunk, at, callback);
    }
    for (; at < chunk.length; at++) {
      const byte = chunk[at];
      if (byte === LF) {
        if (--this.remaining === 0) return this.finish(chunk, at + 1, callback);
      } else if (byte === CR) {
        if (at + 1 === chunk.length) {
          this.pendingCr = true;
        } else {
          if (chunk[at + 1] === LF) at++;
          if (--this.remaining === 0) return this.finish(chunk, at + 1, callback);
        }
      }
    }
    this.bytes += chunk.length;
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // A file that ends inside its preamble has no header row: the pass finds it empty.
    callback();
  }

  private finish(chunk: Buffer, from: number, callback: TransformCallback): void {
    this.bytes += from;
    this.onDone(this.bytes);
    callback(null, from < chunk.length ? chunk.subarray(from) : undefined);
  }
}
