import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  encryptSessionKey,
  enums,
  generateSessionKey,
  PacketList,
  readKey,
  SymEncryptedIntegrityProtectedDataPacket,
} from 'openpgp';

/** Who plays which part in an encrypted exchange. */
export type GpgIdentity = 'us' | 'partner' | 'stranger';

const EMAIL: Record<GpgIdentity, string> = { us: 'us@example.com', partner: 'partner@example.com', stranger: 'stranger@example.com' };

export interface EncryptOptions {
  /** ASCII armor instead of binary packets. */
  readonly armor?: boolean;
  /** The compression inside the message (gpg's default is zip). */
  readonly compress?: 'zip' | 'zlib' | 'none';
  /** Who signs it; false: encrypted only. Default: the partner. */
  readonly signer?: GpgIdentity | false;
  /** Whose key it is encrypted to. Default: ours. */
  readonly recipient?: GpgIdentity;
}

/**
 * GnuPG, in a keyring of its own, playing the partner: real keys (ed25519 for
 * signing, cv25519 for encryption, made in well under a second) and real
 * OpenPGP files made the way a partner would make them.
 */
export class GpgPeer {
  readonly home = mkdtempSync(path.join(tmpdir(), 'gpg-peer-'));

  constructor() {
    for (const who of Object.keys(EMAIL) as GpgIdentity[]) {
      this.gpg(['--quick-gen-key', `${who} <${EMAIL[who]}>`, 'ed25519', 'sign', 'never']);
      this.gpg(['--quick-add-key', this.fingerprint(who), 'cv25519', 'encr', 'never']);
    }
  }

  /** The primary key's fingerprint (40 hex digits). */
  fingerprint(who: GpgIdentity): string {
    const listing = this.gpg(['--with-colons', '--list-keys', EMAIL[who]]).toString();
    return /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1]!;
  }

  publicKey(who: GpgIdentity): string {
    return this.gpg(['--armor', '--export', EMAIL[who]]).toString();
  }

  /** The armored secret key (unprotected: gpg made it with an empty passphrase). */
  privateKey(who: GpgIdentity): string {
    return this.gpg(['--armor', '--export-secret-keys', EMAIL[who]]).toString();
  }

  /** `plaintext` signed but not encrypted, its packets uncompressed (so a test can alter the signed data in place). */
  signOnly(plaintext: Buffer | string, who: GpgIdentity = 'partner'): Buffer {
    return this.gpg(['--compress-algo', 'none', '--local-user', EMAIL[who], '--sign'], Buffer.from(plaintext));
  }

  /** `plaintext` encrypted (and signed) as the options say. */
  encrypt(plaintext: Buffer | string, options: EncryptOptions = {}): Buffer {
    return this.gpg(this.encryptArgs(options), Buffer.from(plaintext));
  }

  /** Encrypts the file `from` into `to`, streaming (for files too big to pass through memory). */
  encryptFile(from: string, to: string, options: EncryptOptions = {}): void {
    this.gpg([...this.encryptArgs(options), '--output', to, from]);
  }

  /**
   * Decrypts `message` with whichever secret key in this keyring it is for,
   * as the partner would (`gpg --decrypt`); `recipients` are the key ids it
   * was encrypted to (gpg's ENC_TO status lines).
   */
  decrypt(message: Buffer): { plaintext: Buffer; recipients: string[] } {
    const result = spawnSync('gpg', [...this.baseArgs(), '--status-fd', '2', '--decrypt'], { input: message, maxBuffer: 1024 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`gpg --decrypt failed: ${result.stderr.toString()}`);
    const recipients = [...result.stderr.toString().matchAll(/^\[GNUPG:\] ENC_TO ([0-9A-F]{16}) /gm)].map((match) => match[1]!);
    return { plaintext: result.stdout, recipients };
  }

  /** The key id (16 hex digits) of `who`'s encryption subkey. */
  encryptionKeyId(who: GpgIdentity): string {
    const listing = this.gpg(['--with-colons', '--list-keys', EMAIL[who]]).toString();
    return /^sub:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):(?:[^:]*:){6}e/m.exec(listing)![1]!;
  }

  /**
   * A further key pair, for config checks: `encrypt: false` makes a signing-only
   * key; `expire` is gpg's (e.g. "1d", "never"). Returns the armored public key.
   */
  extraKey(name: string, { encrypt = true, expire = 'never' }: { encrypt?: boolean; expire?: string } = {}): string {
    const email = `${name}@example.com`;
    this.gpg(['--quick-gen-key', `${name} <${email}>`, 'ed25519', 'sign', expire]);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(this.gpg(['--with-colons', '--list-keys', email]).toString())![1]!;
    if (encrypt) this.gpg(['--quick-add-key', fingerprint, 'cv25519', 'encr', expire]);
    return this.gpg(['--armor', '--export', email]).toString();
  }

  dispose(): void {
    rmSync(this.home, { recursive: true, force: true });
  }

  private encryptArgs({ armor = false, compress, signer = 'partner', recipient = 'us' }: EncryptOptions): string[] {
    return [
      '--trust-model', 'always',
      ...(armor ? ['--armor'] : []),
      ...(compress ? ['--compress-algo', compress] : []),
      '--recipient', EMAIL[recipient],
      ...(signer ? ['--local-user', EMAIL[signer], '--sign'] : []),
      '--encrypt',
    ];
  }

  private baseArgs(): string[] {
    return ['--homedir', this.home, '--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', ''];
  }

  private gpg(args: string[], input?: Buffer): Buffer {
    return execFileSync('gpg', [...this.baseArgs(), ...args], {
      input,
      maxBuffer: 1024 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }
}

interface SeipdInternals {
  version: number;
  packets: { write(): Uint8Array };
  encrypt(algorithm: number, key: Uint8Array): Promise<boolean>;
}

/**
 * Encrypts `packets` — an OpenPGP packet sequence, e.g. a signed message gpg
 * made and a test then altered — to `recipientKey` exactly as they stand.
 * gpg cannot: it wraps whatever it encrypts in a new literal data packet. So
 * OpenPGP.js builds the two outer packets (session key, SEIPD v1 with its MDC),
 * as gpg 2.2 would.
 */
export async function encryptPacketsAsTheyStand(packets: Buffer, recipientKey: string): Promise<Buffer> {
  const encryptionKeys = await readKey({ armoredKey: recipientKey });
  const sessionKey = await generateSessionKey({ encryptionKeys });
  const keyPacket = await encryptSessionKey({ ...sessionKey, encryptionKeys, format: 'binary' });
  // OpenPGP.js's typings leave out the packet's internals this needs.
  const data = new SymEncryptedIntegrityProtectedDataPacket() as unknown as SeipdInternals;
  data.version = 1;
  // What SEIPD encrypts is whatever its packet list writes.
  data.packets = { write: () => packets };
  await data.encrypt(enums.symmetric[sessionKey.algorithm as keyof typeof enums.symmetric], sessionKey.data);
  const list = new PacketList<SymEncryptedIntegrityProtectedDataPacket>();
  list.push(data as unknown as SymEncryptedIntegrityProtectedDataPacket);
  return Buffer.concat([keyPacket, list.write()]);
}
