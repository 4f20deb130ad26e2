/**
 * An SSH public key as a partner sends it (one authorized_keys line), checked
 * beyond its shape: a key that is not what its type says would be accepted by
 * the schema's pattern and then refused by Transfer Family at deploy time (or
 * by sshd silently, locally), so it is refused at load with the reason.
 */

/** The key types both Transfer Family and OpenSSH accept. */
const CURVE_POINT_BYTES = { nistp256: 65, nistp384: 97, nistp521: 133 } as const;
/** Below this an RSA key is too weak to accept from a partner. */
const MIN_RSA_BITS = 2048;

export interface SshPublicKey {
  readonly type: string;
  /** `<type> <base64>`, the comment dropped: what the endpoint is given. */
  readonly line: string;
}

/** Reads the length-prefixed strings of an SSH wire-format key blob. */
function wireStrings(blob: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < blob.length) {
    if (offset + 4 > blob.length) throw new Error('truncated key blob');
    const length = blob.readUInt32BE(offset);
    offset += 4;
    if (offset + length > blob.length) throw new Error('truncated key blob');
    parts.push(blob.subarray(offset, offset + length));
    offset += length;
  }
  return parts;
}

function bitsOf(mpint: Buffer): number {
  let start = 0;
  while (start < mpint.length && mpint[start] === 0) start++;
  if (start === mpint.length) return 0;
  return (mpint.length - start - 1) * 8 + (32 - Math.clz32(mpint[start]!));
}

/** Why the blob is not a key of `type`, or undefined when it is one. */
function blobProblem(type: string, blob: Buffer): string | undefined {
  let parts: Buffer[];
  try {
    parts = wireStrings(blob);
  } catch {
    return 'its base64 is not an SSH key blob';
  }
  if (parts[0]?.toString('latin1') !== type) return `its blob is not a ${type} key (it says ${JSON.stringify(parts[0]?.toString('latin1') ?? '')})`;
  if (type === 'ssh-ed25519') {
    return parts.length === 2 && parts[1]!.length === 32 ? undefined : 'its blob is not a 32-byte Ed25519 key';
  }
  if (type.startsWith('ecdsa-sha2-')) {
    const curve = type.slice('ecdsa-sha2-'.length) as keyof typeof CURVE_POINT_BYTES;
    const ok = parts.length === 3 && parts[1]!.toString('latin1') === curve && parts[2]!.length === CURVE_POINT_BYTES[curve] && parts[2]![0] === 4;
    return ok ? undefined : `its blob is not an uncompressed ${curve} point`;
  }
  // ssh-rsa: exponent and modulus.
  if (parts.length !== 3) return 'its blob is not an RSA key';
  const bits = bitsOf(parts[2]!);
  return bits >= MIN_RSA_BITS ? undefined : `an RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are required`;
}

/**
 * Parses one authorized_keys line (the schema has checked its shape); throws an
 * Error with the reason when the blob is not a key of the type it names.
 */
export function parseSshPublicKey(text: string): SshPublicKey {
  const [type, base64] = text.trim().split(/\s+/) as [string, string];
  const blob = Buffer.from(base64, 'base64');
  // Buffer.from skips what is not base64; a round trip shows a blob that was cut or padded wrong.
  if (blob.toString('base64') !== base64) throw new Error('its base64 is not canonical (cut or wrongly padded?)');
  const problem = blobProblem(type, blob);
  if (problem) throw new Error(problem);
  return { type, line: `${type} ${base64}` };
}
