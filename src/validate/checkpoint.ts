import type { ControlState } from './control-records';
import type { RecordCounts } from './decide';

/**
 * Where a paused validation pass stands: what the next invocation needs to
 * carry on at the next record. The sinks' and key set's own state is kept by
 * the caller next to it.
 */
export interface ValidationCheckpoint {
  /** Offset in the decompressed bytes where the next record starts. */
  readonly offset: number;
  /** Physical line the next record starts on. */
  readonly nextLine: number;
  readonly counts: RecordCounts;
  /** The file's header row. */
  readonly header: readonly string[];
  /**
   * The line break csv-parse found in the header row, so a resumed segment
   * splits records exactly as the first did (absent in checkpoints written
   * before it was kept: those segments detect it again).
   */
  readonly recordDelimiter?: string;
  /**
   * Whether the file is gzip: a resumed segment may then enter a plain file
   * at `offset` without seeing its first bytes (absent in older checkpoints).
   */
  readonly compressed?: boolean;
  /**
   * The resumable SHA-256 (hash-wasm's saved state, base64) over the file's
   * first `hashedBytes` raw bytes, so the next segment hashes only what lies
   * past them. Absent after the first segment: node's native hash, which it
   * uses for speed, cannot be saved.
   */
  readonly hashState?: string;
  /** Raw bytes `hashState` covers (a multiple of 64; the reader runs ahead of the parse, so usually past `offset`). */
  readonly hashedBytes?: number;
  /** Header and trailer records and the running control sum, for a feed whose format has them. */
  readonly control?: ControlState;
}
