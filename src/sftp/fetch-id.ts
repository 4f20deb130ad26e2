import { createHash } from 'node:crypto';
import type { RemoteVersion } from './remote-file-ledger';

/**
 * The id of one version of a remote file: the first 32 hex digits of
 * SHA-256(partner, path, size, mtime). It names the version's landing key
 * (src/landing/layout.ts pulledKeyOf), so every fetch of that version writes
 * the same key, and only the first one creates an object.
 */
export function fetchIdOf(version: RemoteVersion): string {
  return createHash('sha256')
    .update(`${version.partner}\n${version.path}\n${version.size}\n${version.mtime}`)
    .digest('hex')
    .slice(0, 32);
}
