import { createHash } from 'node:crypto';

/** The OpenSSH fingerprint of a raw public key blob: `SHA256:` + unpadded base64, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * A host verifier for ssh2 that accepts only pinned fingerprints (fail closed).
 * ssh2 calls it during the key exchange, before any credential is sent; the
 * presented fingerprint is kept so a refusal can be reported precisely.
 */
export function pinnedHostVerifier(pinned: readonly string[]): { verify: (key: Buffer) => boolean; presented: () => string | undefined } {
  let presented: string | undefined;
  return {
    verify(key: Buffer) {
      presented = fingerprintOf(key);
      return pinned.includes(presented);
    },
    presented: () => presented,
  };
}
