import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError } from 'csv-parse';
import type { FeedConfig } from '../config/types';
import { decodingStages, GZIP_MAGIC, isArmored, isGzip, openByteSource, type RawSource } from './byte-source';
import type { ValidationCheckpoint } from './checkpoint';
import type { ControlValues, ExternalControl } from './control-records';
import { applyErrorPolicy, type RecordCounts } from './decide';
import { FileRejectedError, RejectionCode, type BatchReason } from './errors';
import type { PgpKeys } from '../pgp/keys';
import { KeyFingerprintSet } from './key-set';
import { PreambleSkipper } from './preamble';
import { RecordLoop } from './record-loop';
import { ParseError, PauseSignal, RecordParser, recordParser } from './record-parser';
import { FixedWidthParser } from './fixed-width-parser';
import type { ItemSink, RejectSink } from './sinks';
import { workItemContext, WorkItemEnvelopes } from '../work-items/envelopes';

export interface ValidationOutcome {
  readonly status: 'COMPLETED' | 'REJECTED';
  readonly reason?: BatchReason;
  readonly counts: RecordCounts;
  /**
   * The raw file's size and SHA-256. When the pass stops reading early
   * (FILE_TOO_LARGE) `bytes` is how far it read — the file is at least that
   * big — and there is no `sha256`.
   */
  readonly file: { readonly bytes: number; readonly sha256?: string; readonly compressed: boolean };
  /** The control fields the file's header and trailer records gave, for a feed whose format has them. */
  readonly control?: ControlValues;
}

export interface ValidationInput {
  /**
   * The raw file bytes: a stream of the whole file (an S3 GetObject body, a
   * local file stream), or a function that opens it at a byte offset, which
   * lets a resumed segment of a plain file start reading at its checkpoint.
   */
  readonly source: RawSource;
  readonly feed: FeedConfig;
  readonly batchId: string;
  readonly items: ItemSink;
  readonly rejects: RejectSink;
  /** Called with the raw byte count as the file is read, for progress display. */
  readonly onProgress?: (rawBytes: number) => void;
  /** The keys of a feed with `encryption` (required then): the file is decrypted as it streams. */
  readonly decryption?: PgpKeys;
  /**
   * For a feed with `sequence`: claims the file's sequence number once every
   * other check has passed, or says why it is out of order. Without it (the
   * `validate` command, which has no ledger) the order is not checked.
   */
  readonly sequence?: SequenceGate;
  /** For a feed with `controlFile`: what its control file gives, checked once the file has been read. */
  readonly controlFile?: ExternalControl;
}

/** Claims a file's sequence number for its feed (src/ledger/feed-sequences.ts), or returns why the file is out of order. */
export interface SequenceGate {
  claim(sequence: string): Promise<BatchReason | undefined>;
}

export interface SegmentInput extends ValidationInput {
  /** Asked every few thousand records; true pauses the pass at the next record boundary. */
  readonly shouldPause: () => boolean;
  /**
   * Where an earlier segment paused. A plain file whose hash state the
   * checkpoint carries is read from the checkpoint on (when `source` can be
   * opened at an offset). Otherwise the file is read from byte 0 — gzip cannot
   * be entered mid-stream, and the second segment has no hash state to carry
   * on from — and the decompressed bytes before the checkpoint are skipped,
   * not parsed; bytes the saved hash already covers are not hashed again.
   */
  readonly resume?: ValidationCheckpoint;
  /** Key values seen by earlier segments (restored by the caller). */
  readonly keys?: KeyFingerprintSet;
}

export interface PausedValidation {
  readonly status: 'PAUSED';
  readonly checkpoint: ValidationCheckpoint;
}

/**
 * The validation pass over one file, shared by the ingest function and the
 * `validate` command: read raw bytes (hashing them) → gunzip → prove the
 * encoding → csv-parse → check the header → coerce, validate and de-duplicate
 * each record → valid records go to `items` as their raw bytes, invalid rows
 * go to `rejects`. Nothing is sent from here; the caller acts on the outcome.
 *
 * File-level problems end as a REJECTED outcome; anything else (a failing read,
 * a failing sink) is thrown for the caller to treat as an infrastructure fault.
 */
export function validateFile(input: ValidationInput): Promise<ValidationOutcome> {
  return validateSegment({ ...input, shouldPause: () => false }) as Promise<ValidationOutcome>;
}

/**
 * The validation pass, able to stop at a record boundary when `shouldPause`
 * says so and to carry on later from the checkpoint it returns: the ingest
 * function validates a file too big for one invocation in several segments.
 */
export async function validateSegment(input: SegmentInput): Promise<ValidationOutcome | PausedValidation> {
  const { feed, items, rejects, resume, decryption } = input;
  if (feed.encryption && !decryption) {
    throw new Error(`feed ${feed.partnerId}/${feed.id} is encrypted: validating it needs its decryption keys`);
  }
  const { hash, enterAt, source } = await openByteSource(input.source, resume, decryption !== undefined);
  const maxFileBytes = feed.limits.maxFileBytes;
  let rawBytes = enterAt;
  let compressed = enterAt > 0 ? false : (resume?.compressed ?? false);
  const envelopes = new WorkItemEnvelopes(workItemContext(input.batchId, feed), feed.workItems.maxMessageBytes);
  const state = new RecordLoop(feed, envelopes, items, rejects, input.keys ?? new KeyFingerprintSet(), input.shouldPause, resume, input.controlFile);

  let chainInput: PassThrough | undefined;
  let chainDone: Promise<unknown> | undefined;
  let chainError: unknown;
  let tooLarge = false;

  const startChain = (head: Buffer | undefined): PassThrough => {
    // Inside an OpenPGP message the first bytes are ciphertext: gzip there is
    // only what the feed declares (`compression: gzip`); the message's own
    // ZIP/ZLIB compression is OpenPGP's to undo.
    if (head) compressed = decryption ? feed.format.compression === 'gzip' : isGzip(head, feed.format.compression);
    const chain = new PassThrough();
    const skip = resume ? resume.offset - enterAt : 0;
    const pgp = decryption && { keys: decryption, armored: head !== undefined && isArmored(head) };
    chainDone = runChain(chain, compressed, feed, state, resume, skip, pgp).catch((error: unknown) => {
      chainError = error;
    });
    return chain;
  };
  // The gzip magic may arrive split over the first chunks: hold them until it can be seen.
  let head: Buffer | undefined;

  // The raw bytes are read by this loop, not by the parse chain, so the size and
  // SHA-256 of the whole file are known even when parsing stops early.
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (chainError instanceof PauseSignal) break;
    if (rawBytes + chunk.length > maxFileBytes) {
      // Past the feed's limit nothing more is read: the file is rejected whatever the rest holds.
      if (!chainInput && enterAt === 0) compressed = isGzip(head ? Buffer.concat([head, chunk]) : chunk, feed.format.compression);
      rawBytes += chunk.length;
      tooLarge = true;
      break;
    }
    hash.update(chunk, rawBytes);
    rawBytes += chunk.length;
    input.onProgress?.(rawBytes);
    if (chainError !== undefined) continue;
    let bytes: Buffer = chunk;
    if (!chainInput) {
      if (enterAt === 0) {
        bytes = head ? Buffer.concat([head, chunk]) : chunk;
        if (bytes.length < GZIP_MAGIC.length) {
          head = bytes;
          continue;
        }
        head = undefined;
        chainInput = startChain(bytes);
      } else {
        chainInput = startChain(undefined);
      }
    }
    if (!chainInput.write(bytes)) {
      await Promise.race([new Promise((resolve) => chainInput!.once('drain', resolve)), chainDone]);
    }
  }
  if (tooLarge) {
    source.destroy(); // an unread GetObject body would hold its socket
    chainInput?.destroy();
    await chainDone;
    const reason = new FileRejectedError(
      RejectionCode.FILE_TOO_LARGE,
      `the file is larger than ${maxFileBytes} bytes (the feed's maxFileBytes); reading stopped at byte ${rawBytes}`,
    ).reason;
    rejects.fileRejected(reason);
    await rejects.flush();
    return { status: 'REJECTED', reason, counts: state.counts, file: { bytes: rawBytes, compressed } };
  }
  if (!chainInput && head) {
    chainInput = startChain(head);
    chainInput.write(head);
  }
  if (chainInput && chainError === undefined) {
    chainInput.end();
    await chainDone;
  }

  if (chainError instanceof PauseSignal) {
    source.destroy(); // an unread GetObject body would hold its socket
    await state.flush();
    const hashed = hash.save();
    return {
      status: 'PAUSED',
      checkpoint: { ...state.checkpoint(), compressed, ...(hashed ? { hashState: hashed.state, hashedBytes: hashed.bytes } : {}) },
    };
  }
  const file = { bytes: rawBytes, sha256: hash.digest(), compressed };
  let reason: BatchReason | undefined;
  if (chainError !== undefined) {
    reason = classify(chainError, state).reason;
  } else if (!state.headerSeen) {
    reason = { code: RejectionCode.EMPTY_FILE, message: 'the file has no header row (it is empty or blank)' };
  } else {
    await state.flush();
    // A file whose control records disagree with it is rejected as such, before its rows are judged.
    reason = state.controlReason() ?? applyErrorPolicy(feed.errorPolicy, state.counts);
    // Last: a number is claimed only by a file that is otherwise accepted.
    const sequence = state.controlValues()?.sequence;
    if (!reason && input.sequence && feed.sequence && sequence !== undefined) reason = await input.sequence.claim(sequence);
  }
  if (reason) {
    rejects.fileRejected(reason);
    await rejects.flush();
  }
  const control = state.controlValues();
  return { status: reason ? 'REJECTED' : 'COMPLETED', ...(reason ? { reason } : {}), counts: state.counts, file, ...(control ? { control } : {}) };
}

/**
 * OpenPGP.js, a large module, loads with the first encrypted file: plain feeds'
 * cold starts and the CLI's start-up do without it. require, not import(): under
 * tsx's CommonJS hook (bin/run-ts.js, which runs the benchmarks) an import() of a
 * .ts module is left to node, which cannot find it; esbuild bundles either.
 */
function pgpDecrypt(): typeof import('./pgp-decrypt') {
  return require('./pgp-decrypt') as typeof import('./pgp-decrypt');
}

/** The parser that finds the records of the feed's format, numbering lines and offsets from where `resume` stands. */
function parserFor(loop: RecordLoop, feed: FeedConfig, resume: ValidationCheckpoint | undefined): RecordParser | FixedWidthParser {
  if (feed.format.type === 'csv') return recordParser(loop, feed.format, feed.limits, resume);
  const parser = new FixedWidthParser(loop, feed.format, feed.limits.maxRecordBytes);
  if (resume) parser.startAt(resume.offset, resume.nextLine);
  return parser;
}

async function runChain(
  input: PassThrough,
  compressed: boolean,
  feed: FeedConfig,
  state: RecordLoop,
  resume: ValidationCheckpoint | undefined,
  skip: number,
  pgp: { readonly keys: PgpKeys; readonly armored: boolean } | undefined,
): Promise<void> {
  const decrypting = pgp ? await pgpDecrypt().decryptingStream(input, pgp.armored, pgp.keys) : undefined;
  const stages = decodingStages(compressed, feed, resume, skip, decrypting?.consumed);
  const parser = parserFor(state, feed, resume);
  const preamble = feed.format.skipLeadingLines && !resume ? feed.format.skipLeadingLines : 0;
  // Lines after the preamble keep their numbers, and records their offsets, as in the file.
  if (preamble) stages.push(new PreambleSkipper(preamble, (bytes) => parser.startAt(bytes, preamble + 1)));
  // pipeline's typings have no overload for a spread of stages.
  try {
    await (pipeline as (...streams: unknown[]) => Promise<void>)(decrypting?.plaintext ?? input, ...stages, parser);
  } catch (error) {
    if (error instanceof CsvError && parser instanceof RecordParser) throw new ParseError(error, parser.errorLine());
    throw error;
  }
  // Known only now, after the last byte: before the decision, so a bad signature sends nothing.
  await decrypting?.checkSignatures();
}

/** Maps what stopped the parse chain to a file rejection; anything unexpected is rethrown. */
function classify(error: unknown, state: RecordLoop): FileRejectedError {
  if (error instanceof FileRejectedError) return error;
  if (error instanceof ParseError) {
    const { line, csvError } = error;
    switch (csvError.code) {
      case 'CSV_QUOTE_NOT_CLOSED':
        return new FileRejectedError(RejectionCode.MALFORMED_CSV, 'a quoted field is never closed', line, { cause: csvError });
      case 'CSV_MAX_RECORD_SIZE':
        return new FileRejectedError(
          RejectionCode.MAX_RECORD_SIZE_EXCEEDED,
          `a record is larger than ${state.maxRecordBytes} bytes (the feed's maxRecordBytes)`,
          line,
          { cause: csvError },
        );
      default:
        return new FileRejectedError(RejectionCode.MALFORMED_CSV, csvError.message, line, { cause: csvError });
    }
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new FileRejectedError(
      RejectionCode.DECOMPRESSION_FAILED,
      `the gzip data is corrupt or truncated (${(error as Error).message})`,
      undefined,
      { cause: error },
    );
  }
  throw error;
}
