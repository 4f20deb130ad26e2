import type { CompiledRecordSchema } from '../records/record-schema';

/** The CSV dialect of a feed, as written in partners/<id>.yml with defaults applied. */
export interface CsvFormat {
  readonly type: 'csv';
  readonly delimiter: string;
  readonly quote: string;
  readonly header: true;
  readonly encoding: 'utf-8' | 'latin1' | 'ascii';
  readonly compression: 'auto' | 'gzip' | 'none';
  /** Physical lines before the header row that are not records (a preamble); absent means 0. */
  readonly skipLeadingLines?: number;
  /** A control record right before the header row. */
  readonly headerRecord?: ControlRecordFormat;
  /** A control record that must be the last record of the file. */
  readonly trailerRecord?: ControlRecordFormat;
}

/**
 * A header or trailer record: `match`, a regular expression over the record's
 * text, recognises it, and its named groups hold the fields `fields` names.
 * Checked at load (src/validate/control-records.ts compiles it).
 */
export interface ControlRecordFormat {
  readonly match: string;
  readonly fields?: ControlFields;
}

/** Which named group of a control record's `match` holds which control field. */
export interface ControlFields {
  /** Data rows in the file (digits). */
  readonly recordCount?: string;
  /** The sum of decimal column `column` over all data rows. */
  readonly controlSum?: { readonly group: string; readonly column: string };
  readonly fileDate?: string;
  /** The file's sequence number (digits). */
  readonly sequence?: string;
}

/** One field of a fixed-width record: characters [start, start + length) of the line, 0-based (the config's `start` is 1-based). */
export interface FixedColumn {
  readonly name: string;
  readonly start: number;
  readonly length: number;
}

/** Fixed-width records, one per line, fields by position (README, "Fixed-width files"). */
export interface FixedWidthFormat {
  readonly type: 'fixed';
  readonly encoding: CsvFormat['encoding'];
  readonly compression: CsvFormat['compression'];
  /** Characters every record has, its line break not counted; undefined: at least up to the last column's end. */
  readonly recordLength?: number;
  readonly trim: 'both' | 'right' | 'none';
  /** In the order of the line (by start). */
  readonly columns: readonly FixedColumn[];
  /** Physical lines before the first record that are not records (a preamble); absent means 0. */
  readonly skipLeadingLines?: number;
  /** A control record before the first data record, recognised by `match` over the whole line. */
  readonly headerRecord?: ControlRecordFormat;
  /** A control record that must be the last line. */
  readonly trailerRecord?: ControlRecordFormat;
}

export type FeedFormat = CsvFormat | FixedWidthFormat;

export interface ErrorPolicy {
  readonly maxInvalidRatio?: number;
  readonly maxInvalidCount?: number;
  /** Fewest data rows a file may have (default 0: a header-only file completes with 0 records). */
  readonly minRecords?: number;
}

export interface FeedLimits {
  /** Largest file accepted as received (raw bytes, compressed or not); a larger one is REJECTED with FILE_TOO_LARGE. */
  readonly maxFileBytes: number;
  readonly maxRecordBytes: number;
  readonly maxDecompressedBytes: number;
  /** Decompressed ÷ compressed bytes beyond which a compressed file is treated as a bomb. */
  readonly maxCompressionRatio: number;
  readonly maxReportedErrors: number;
}

export interface WorkItemSettings {
  /** Records per work queue message; 1 sends single-record envelopes, more sends packed ones. */
  readonly recordsPerMessage: number;
  /** Cap on one work queue message, body plus attributes (default 256 KiB, at most SQS's 1 MiB). */
  readonly maxMessageBytes: number;
}

/**
 * One of a feed's signers, as partners/<id>.yml writes it: an armored public
 * key; a fingerprint of a key given elsewhere in the feed (another signer's
 * `publicKey`, `reports.encryptTo`); or a key pinned to the fingerprint the
 * partner gave out of band. Resolved and checked by src/pgp/config-keys.ts.
 */
export type SignerEntry = string | { readonly fingerprint: string; readonly publicKey: string };

/**
 * An OpenPGP-encrypted feed: files are decrypted with our private key (read
 * from Secrets Manager by reference) and must be signed by one of `signers`.
 */
export interface PgpEncryption {
  readonly type: 'pgp';
  /** Secrets Manager secret name or ARN; its JSON value is {"privateKey": "<armored>", "passphrase"?: "…"}. */
  readonly privateKeyRef: string;
  /** The partner's signing keys; a signature by any other key is UNKNOWN_SIGNER. */
  readonly signers: readonly SignerEntry[];
  /** When true (the default) an unsigned file is REJECTED (SIGNATURE_MISSING). */
  readonly requireSignature: boolean;
}

/** What goes back to the partner (the `reports` block). */
export interface ReportSettings {
  /**
   * The partner's armored OpenPGP public key: the rejects report, which carries
   * the partner's rows back, is written encrypted to it (`rejects.csv.pgp`).
   * Parsed and checked once at load (src/pgp/config-keys.ts).
   */
  readonly encryptTo: string;
}

/** The `controlFile` block, with defaults applied. */
export interface ControlFileSettings {
  /** The control file's name, `{name}` standing for the data file's: `{name}.ctl`. */
  readonly name: string;
  readonly format: 'json' | 'csv';
  /** The json keys or csv columns holding the control fields. */
  readonly fields: { readonly recordCount?: string; readonly controlSum?: { readonly field: string; readonly column: string } };
  readonly waitMinutes: number;
}

/** The `sequence` block: files applied in order (src/ledger/feed-sequences.ts). */
export interface SequenceSettings {
  /** The number the feed's first file must carry; absent: the first file's number is taken as it comes. */
  readonly first?: number;
}

/** When a feed's files are due (the `expect` block), with defaults applied; see src/expectations/. */
export interface FeedExpectation {
  /** Five-field cron expression of the due times, read in `timezone`. */
  readonly schedule: string;
  /** The partner's IANA time zone. */
  readonly timezone: string;
  readonly graceMinutes: number;
  /** Files expected per due time. */
  readonly files: number;
  /** Days (YYYY-MM-DD in `timezone`) on which nothing is due. */
  readonly skipDates: readonly string[];
}

export interface FeedConfig {
  readonly id: string;
  readonly partnerId: string;
  readonly files: readonly string[];
  readonly format: FeedFormat;
  readonly schema: CompiledRecordSchema;
  readonly key?: string;
  readonly errorPolicy: ErrorPolicy;
  readonly limits: FeedLimits;
  readonly workItems: WorkItemSettings;
  /** Set when the partner encrypts its files: they are decrypted as they are validated. */
  readonly encryption?: PgpEncryption;
  /** Required with `encryption`: plaintext rows must not go back unencrypted. */
  readonly reports?: ReportSettings;
  /** Files must follow each other by the sequence number of their header or trailer record. */
  readonly sequence?: SequenceSettings;
  /** A control file beside each data file, waited for and checked (src/ingest/control-file.ts). */
  readonly controlFile?: ControlFileSettings;
  readonly expect?: FeedExpectation;
}

export type PostFetchAction =
  | { readonly action: 'move'; readonly to: string }
  | { readonly action: 'delete' }
  | { readonly action: 'leave' };

/** A partner SFTP server we pull from, with defaults applied. */
export interface SftpSource {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** Pinned `SHA256:…` host key fingerprints. */
  readonly hostKeys: readonly string[];
  readonly credentials: { readonly secretRef: string };
  readonly remoteDir: string;
  readonly schedule: string;
  readonly minAgeSeconds: number;
  readonly postFetch: PostFetchAction;
  readonly maxConcurrentTransfers: number;
  readonly timeouts: {
    readonly connectSeconds: number;
    readonly listSeconds: number;
    readonly stallSeconds: number;
    readonly endSeconds: number;
  };
}

/**
 * The partner uploads to our SFTP endpoint as user `<id>`, into its own folder
 * only; a completed upload is ingested (src/landing/layout.ts, pushed/).
 */
export interface SftpPushSource {
  /** `<type> <base64>` lines, comments dropped; several allow a rotation. */
  readonly publicKeys: readonly string[];
}

export interface PartnerConfig {
  readonly id: string;
  /** The partners/<id>.yml it was loaded from, for errors found after load (checking PGP keys is asynchronous). */
  readonly configFile?: string;
  readonly name: string;
  readonly sources: {
    readonly s3?: { readonly principals?: readonly string[] };
    readonly sftp?: SftpSource;
    readonly sftpPush?: SftpPushSource;
  };
  readonly feeds: readonly FeedConfig[];
}
