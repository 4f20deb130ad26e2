import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FeedConfig } from '../config/types';
import type { ValidationCheckpoint } from './checkpoint';
import { EncodingGuard } from './encoding-guard';
import { fileHasher, type FileHasher } from './file-hash';
import { InflateGuard, type CompressedCounter } from './inflate-guard';

/**
 * Opens the raw file at byte `fromByte` (0: all of it) — a ranged GET, a file
 * stream with `start`. It must start exactly there.
 */
export type SourceOpener = (fromByte: number) => Promise<Readable> | Readable;

/** The raw file: a stream of all of it, or a function that opens it at a byte offset. */
export type RawSource = (AsyncIterable<Buffer> & Readable) | SourceOpener;

/**
 * The file's hasher, carrying on from the checkpoint's saved hash, and its raw
 * bytes, opened at `enterAt`.
 */
export async function openByteSource(
  raw: RawSource,
  resume: ValidationCheckpoint | undefined,
  /** An encrypted file, like a gzip one, cannot be entered mid-stream. */
  encrypted = false,
): Promise<{ readonly hash: FileHasher; readonly enterAt: number; readonly source: Readable }> {
  const saved =
    resume?.hashState !== undefined && resume.hashedBytes !== undefined ? { state: resume.hashState, bytes: resume.hashedBytes } : undefined;
  const hash = await fileHasher(resume !== undefined, saved);
  // A plain file is entered where the parse or the saved hash stands, whichever
  // is first; a gzip or encrypted file, or one whose bytes before the checkpoint
  // are not all hashed yet, is read from byte 0.
  const enterAt =
    resume && resume.compressed === false && !encrypted && typeof raw === 'function' ? Math.min(resume.offset, hash.position) : 0;
  const source = typeof raw === 'function' ? await raw(enterAt) : raw;
  return { hash, enterAt, source };
}

export const GZIP_MAGIC = [0x1f, 0x8b];

/** ASCII armor starts with text; a binary OpenPGP packet's first byte always has its top bit set (RFC 9580 §4.2). */
export function isArmored(head: Buffer): boolean {
  return head.length > 0 && (head[0]! & 0x80) === 0;
}

export function isGzip(head: Buffer, compression: FeedConfig['format']['compression']): boolean {
  if (compression === 'none') return false;
  if (compression === 'gzip') return true;
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/**
 * The stages between the raw bytes and the record parser: gunzip and its bomb
 * guard for a gzip file, the skip past what earlier segments parsed, and the
 * encoding guard.
 */
export function decodingStages(
  compressed: boolean,
  feed: FeedConfig,
  resume: ValidationCheckpoint | undefined,
  /** Bytes before the checkpoint that reach the chain (decompressed): skipped, not parsed. */
  skip: number,
  /** For an encrypted file: the encrypted bytes its decryption has consumed (the message may be ZIP/ZLIB-compressed inside). */
  decrypted?: CompressedCounter,
): Transform[] {
  const { format, limits } = feed;
  const stages: Transform[] = [];
  if (decrypted) stages.push(new InflateGuard(decrypted, limits.maxCompressionRatio, undefined, 'OpenPGP message'));
  if (compressed) {
    // The guard reads how much compressed input gunzip has consumed, to stop a bomb by its ratio.
    const gunzip = createGunzip();
    stages.push(gunzip, new InflateGuard(gunzip, limits.maxCompressionRatio));
  }
  if (skip > 0) stages.push(new SkipBytes(skip));
  stages.push(
    new EncodingGuard(format.encoding, compressed || decrypted ? limits.maxDecompressedBytes : Number.POSITIVE_INFINITY, {
      offset: resume?.offset ?? 0,
      line: resume?.nextLine ?? 1,
    }),
  );
  return stages;
}

/** Drops the first `count` bytes: the part of the file earlier segments validated. */
class SkipBytes extends Transform {
  constructor(private remaining: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.remaining >= chunk.length) {
      this.remaining -= chunk.length;
      callback();
      return;
    }
    const rest = this.remaining ? chunk.subarray(this.remaining) : chunk;
    this.remaining = 0;
    callback(null, rest);
  }
}
