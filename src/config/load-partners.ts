import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import type Ajv2020 from 'ajv/dist/2020';
import { parseDocument } from 'yaml';
import { createAjv } from '../records/ajv';
import { compileRecordSchema, type CompiledRecordSchema } from '../records/record-schema';
import { RecordSchemaError } from '../records/errors';
import { ExpectationError } from '../expectations/errors';
import { scheduleOf } from '../expectations/schedule';
import { ConfigError } from './errors';
import { buildFixedWidthFormat, type RawFixedWidthFormat } from './fixed-width';
import { globToRegExp } from './glob';
import { parseSshPublicKey } from './ssh-public-key';
import { controlFormatProblem } from '../validate/control-records';
import type { CsvFormat, FeedConfig, FeedFormat, FeedExpectation, FeedLimits, PartnerConfig, PgpEncryption, ReportSettings, SequenceSettings, ControlFileSettings, SftpPushSource, SftpSource, WorkItemSettings } from './types';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../work-items/envelopes';

/** Everything the pipeline knows about partners, loaded and validated in one go. */
export interface PartnerRegistry {
  readonly partners: ReadonlyMap<string, PartnerConfig>;
  /** The feed of `partnerId` whose file patterns match `fileName`, if any. */
  feedForFile(partner: PartnerConfig, fileName: string): FeedConfig | undefined;
}

export interface ConfigLocation {
  /** Folder holding `partners/` and `schemas/`. */
  readonly root: string;
}

const DEFAULT_LIMITS: FeedLimits = {
  // A backstop, not a tuning knob: far above any real feed (the largest are a
  // few GiB), so no feed is refused by default, while a runaway file (an
  // endless upload, a disk image dropped by mistake) stops at a known size
  // instead of keeping validation busy for as long as it lasts. 256 GiB is 4×
  // maxDecompressedBytes (a plain file gets at least the room a gzip one has
  // once inflated) and about 7 hours of validation at ~10 MiB/s. Feeds that
  // know their sizes set their own.
  maxFileBytes: 256 * 1024 ** 3,
  maxRecordBytes: 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 ** 3,
  // Real CSV compresses 5–20×; a gzip bomb reaches about 1000×.
  maxCompressionRatio: 200,
  maxReportedErrors: 100_000,
};

/**
 * Where partners/ and schemas/ are: an explicit override, the Lambda task root
 * (they are packaged beside the bundle), or this checkout.
 */
export function defaultConfigLocation(): ConfigLocation {
  const root =
    process.env.PARTNER_INGEST_CONFIG_ROOT ?? process.env.LAMBDA_TASK_ROOT ?? path.resolve(__dirname, '..', '..');
  return { root };
}

function fieldOf(error: ErrorObject): string {
  const segments = error.instancePath.split('/').slice(1);
  if (error.keyword === 'additionalProperties') {
    segments.push(String((error.params as { additionalProperty: string }).additionalProperty));
  }
  if (error.keyword === 'required') {
    segments.push(String((error.params as { missingProperty: string }).missingProperty));
  }
  return segments.map((segment) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`)).join('').replace(/^\./, '');
}

function reasonOf(error: ErrorObject): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return 'unknown field (not allowed by schemas/partner.schema.json)';
    case 'required':
      return 'is required';
    case 'enum':
      return `${error.message} (${((error.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')})`;
    default:
      return error.message ?? 'is invalid';
  }
}

function readYaml(file: string): unknown {
  const document = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true, uniqueKeys: true });
  const [first] = document.errors;
  if (first) throw new ConfigError(file, '', `not valid YAML: ${first.message}`);
  return document.toJS();
}

function readJson(file: string, field: string): unknown {
  if (!existsSync(file)) throw new ConfigError(file, field, 'file not found');
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, '', `not valid JSON: ${(error as Error).message}`);
  }
}

interface RawFeed {
  id: string;
  files: string[];
  format: (Partial<CsvFormat> & Pick<CsvFormat, 'type' | 'encoding'>) | RawFixedWidthFormat;
  schema: { id: string; version: number };
  key?: string;
  errorPolicy: FeedConfig['errorPolicy'];
  limits?: Partial<FeedLimits>;
  workItems?: Partial<WorkItemSettings>;
  encryption?: Partial<PgpEncryption> & Pick<PgpEncryption, 'type' | 'privateKeyRef' | 'signers'>;
  reports?: ReportSettings;
  sequence?: SequenceSettings;
  controlFile?: Omit<ControlFileSettings, 'waitMinutes'> & { waitMinutes?: number };
  expect?: RawExpectation;
}

interface RawExpectation {
  schedule: string;
  timezone: string;
  graceMinutes: number;
  files?: number;
  calendar?: { skip?: string[] };
}

/** The feed's `expect` block with defaults, refused here when croner or Intl cannot schedule it. */
function buildExpectation(raw: RawExpectation, file: string, field: string): FeedExpectation {
  const expectation: FeedExpectation = {
    schedule: raw.schedule,
    timezone: raw.timezone,
    graceMinutes: raw.graceMinutes,
    files: raw.files ?? 1,
    skipDates: raw.calendar?.skip ?? [],
  };
  try {
    scheduleOf(expectation).checkGrace(new Date());
  } catch (error) {
    if (error instanceof ExpectationError) throw new ConfigError(file, `${field}.${error.field}`, error.message, { cause: error });
    throw error;
  }
  return expectation;
}

interface RawPartner {
  id: string;
  name: string;
  sources: {
    s3?: { principals?: string[] };
    sftp?: Partial<SftpSource> & Pick<SftpSource, 'host' | 'username' | 'hostKeys' | 'credentials' | 'remoteDir'>;
    sftpPush?: { publicKeys: string[] };
  };
  feeds: RawFeed[];
}

const SFTP_DEFAULTS = {
  port: 22,
  schedule: 'rate(15 minutes)',
  minAgeSeconds: 120,
  postFetch: { action: 'move', to: '' },
  maxConcurrentTransfers: 2,
  timeouts: { connectSeconds: 20, listSeconds: 60, stallSeconds: 60, endSeconds: 10 },
} as const;

function buildSftp(raw: NonNullable<RawPartner['sources']['sftp']>, file: string): SftpSource {
  const remoteDir = raw.remoteDir.replace(/\/+$/, '') || '/';
  const postFetch = raw.postFetch ?? { action: 'move', to: `${remoteDir === '/' ? '' : remoteDir}/processed` };
  if (postFetch.action === 'move' && postFetch.to.replace(/\/+$/, '') === remoteDir) {
    throw new ConfigError(file, 'sources.sftp.postFetch.to', 'must differ from remoteDir, or fetched files would be listed again');
  }
  return {
    ...SFTP_DEFAULTS,
    ...raw,
    remoteDir,
    postFetch,
    timeouts: { ...SFTP_DEFAULTS.timeouts, ...raw.timeouts },
  };
}

/** A Transfer Family user name has 3 to 100 characters (`^[\w][\w@.-]{2,99}$`); a partner id may have 2. */
const MIN_PUSH_USER_NAME = 3;

function buildSftpPush(partnerId: string, raw: NonNullable<RawPartner['sources']['sftpPush']>, file: string): SftpPushSource {
  if (partnerId.length < MIN_PUSH_USER_NAME) {
    throw new ConfigError(file, 'id', `"${partnerId}" is the SFTP user name of a push partner, which needs ${MIN_PUSH_USER_NAME} characters at least`);
  }
  const publicKeys = raw.publicKeys.map((text, index) => {
    try {
      return parseSshPublicKey(text).line;
    } catch (error) {
      throw new ConfigError(file, `sources.sftpPush.publicKeys[${index}]`, (error as Error).message, { cause: error });
    }
  });
  // The same key with two comments passes the schema's uniqueItems.
  publicKeys.forEach((key, index) => {
    if (publicKeys.indexOf(key) !== index) {
      throw new ConfigError(file, `sources.sftpPush.publicKeys[${index}]`, `the same key as publicKeys[${publicKeys.indexOf(key)}]`);
    }
  });
  return { publicKeys };
}

/**
 * One key, one partner: a key listed for two partners (a copy-paste slip)
 * would let one partner's key holder log in as the other.
 */
function refuseSharedPushKeys(partners: ReadonlyMap<string, PartnerConfig>, fileOf: ReadonlyMap<string, string>): void {
  const owners = new Map<string, string>();
  for (const partner of partners.values()) {
    partner.sources.sftpPush?.publicKeys.forEach((key, index) => {
      const owner = owners.get(key);
      if (owner !== undefined) {
        throw new ConfigError(fileOf.get(partner.id)!, `sources.sftpPush.publicKeys[${index}]`, `this key is also partner ${owner}'s; each push partner needs keys of its own`);
      }
      owners.set(key, partner.id);
    });
  }
}

class SchemaCache {
  private readonly compiled = new Map<string, CompiledRecordSchema>();

  constructor(
    private readonly ajv: Ajv2020,
    private readonly schemasDir: string,
  ) {}

  get(id: string, version: number, partnerFile: string, field: string): CompiledRecordSchema {
    const file = path.join(this.schemasDir, 'records', `${id}.v${version}.schema.json`);
    const cached = this.compiled.get(file);
    if (cached) return cached;
    if (!existsSync(file)) {
      throw new ConfigError(partnerFile, field, `record schema ${id} v${version} not found (expected ${file})`);
    }
    try {
      const schema = compileRecordSchema(this.ajv, id, version, readJson(file, '') as object);
      this.compiled.set(file, schema);
      return schema;
    } catch (error) {
      if (error instanceof RecordSchemaError) throw new ConfigError(file, error.field, error.message, { cause: error });
      throw error;
    }
  }
}

function buildEncryption(raw: NonNullable<RawFeed['encryption']>, field: string, file: string): PgpEncryption {
  const encryption: PgpEncryption = { requireSignature: true, ...raw };
  // Without a signer to check against, requiring a signature would reject every file.
  if (encryption.requireSignature && encryption.signers.length === 0) {
    throw new ConfigError(file, `${field}.signers`, 'needs at least one public key when requireSignature is true');
  }
  return encryption;
}

function buildFormat(raw: RawFeed['format'], schemaColumns: readonly string[], file: string, field: string): FeedFormat {
  if (raw.type === 'fixed') return buildFixedWidthFormat(raw, schemaColumns, file, field);
  const format: CsvFormat = { delimiter: ',', quote: '"', header: true, compression: 'auto', ...raw };
  if (format.delimiter === format.quote) throw new ConfigError(file, `${field}.quote`, 'must differ from the delimiter');
  return format;
}

function buildFeed(partnerId: string, raw: RawFeed, index: number, file: string, schemas: SchemaCache): FeedConfig {
  const field = `feeds[${index}]`;
  const schema = schemas.get(raw.schema.id, raw.schema.version, file, `${field}.schema`);
  if (raw.key !== undefined && !schema.columns.includes(raw.key)) {
    throw new ConfigError(file, `${field}.key`, `"${raw.key}" is not a column of schema ${schema.id} v${schema.version}`);
  }
  if (raw.errorPolicy.maxInvalidRatio === undefined && raw.errorPolicy.maxInvalidCount === undefined) {
    throw new ConfigError(file, `${field}.errorPolicy`, 'needs maxInvalidRatio, maxInvalidCount or both');
  }
  // The rejects report carries the partner's rows back: an encrypted feed's
  // rows must not leave in plaintext (withholding them instead would leave the
  // partner a report it cannot act on).
  if (raw.encryption && !raw.reports?.encryptTo) {
    throw new ConfigError(file, `${field}.reports.encryptTo`, "is required when the feed has encryption: the rejects report carries the partner's rows back and is encrypted to this key (the partner's armored public key)");
  }
  const format = buildFormat(raw.format, schema.columns, file, `${field}.format`);
  const control = controlFormatProblem(format, schema);
  if (control) throw new ConfigError(file, `${field}.format.${control.field}`, control.reason);
  const controlSum = raw.controlFile?.fields.controlSum;
  if (controlSum) {
    const recordSum = format.trailerRecord?.fields?.controlSum ?? format.headerRecord?.fields?.controlSum;
    if (!schema.columns.includes(controlSum.column)) {
      throw new ConfigError(file, `${field}.controlFile.fields.controlSum.column`, `"${controlSum.column}" is not a column of schema ${schema.id} v${schema.version}`);
    }
    if (recordSum && recordSum.column !== controlSum.column) {
      throw new ConfigError(file, `${field}.controlFile.fields.controlSum.column`, `format sums "${recordSum.column}" already; one column is summed per file`);
    }
  }
  if (raw.sequence && !format.headerRecord?.fields?.sequence && !format.trailerRecord?.fields?.sequence) {
    throw new ConfigError(file, `${field}.sequence`, 'needs a sequence number to check: set format.headerRecord.fields.sequence (or trailerRecord\'s)');
  }
  return {
    id: raw.id,
    partnerId,
    files: raw.files,
    format,
    schema,
    key: raw.key,
    errorPolicy: raw.errorPolicy,
    limits: { ...DEFAULT_LIMITS, ...raw.limits },
    workItems: { recordsPerMessage: 1, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, ...raw.workItems },
    ...(raw.encryption ? { encryption: buildEncryption(raw.encryption, `${field}.encryption`, file) } : {}),
    ...(raw.reports ? { reports: raw.reports } : {}),
    ...(raw.sequence ? { sequence: raw.sequence } : {}),
    ...(raw.controlFile ? { controlFile: { waitMinutes: 60, ...raw.controlFile } } : {}),
    ...(raw.expect ? { expect: buildExpectation(raw.expect, file, `${field}.expect`) } : {}),
  };
}

function buildPartner(file: string, raw: RawPartner, schemas: SchemaCache): PartnerConfig {
  const expectedId = path.basename(file).replace(/\.ya?ml$/, '');
  if (raw.id !== expectedId) {
    throw new ConfigError(file, 'id', `"${raw.id}" must match the file name (${expectedId})`);
  }
  const seenFeeds = new Set<string>();
  const seenPatterns = new Set<string>();
  raw.feeds.forEach((feed, index) => {
    // Pulled and pushed files each land in a folder of their own (fetch or hand-off id): nothing lies beside them.
    if (feed.controlFile && !raw.sources.s3) {
      throw new ConfigError(file, `feeds[${index}].controlFile`, 'is found beside S3 drops (inbound/) only, and this partner has no sources.s3');
    }
    if (seenFeeds.has(feed.id)) throw new ConfigError(file, `feeds[${index}].id`, `duplicate feed id "${feed.id}"`);
    seenFeeds.add(feed.id);
    for (const pattern of feed.files) {
      if (seenPatterns.has(pattern)) {
        throw new ConfigError(file, `feeds[${index}].files`, `pattern "${pattern}" already belongs to another feed`);
      }
      seenPatterns.add(pattern);
    }
  });
  return {
    id: raw.id,
    configFile: file,
    name: raw.name,
    sources: {
      ...(raw.sources.s3 ? { s3: raw.sources.s3 } : {}),
      ...(raw.sources.sftp ? { sftp: buildSftp(raw.sources.sftp, file) } : {}),
      ...(raw.sources.sftpPush ? { sftpPush: buildSftpPush(raw.id, raw.sources.sftpPush, file) } : {}),
    },
    feeds: raw.feeds.map((feed, index) => buildFeed(raw.id, feed, index, file, schemas)),
  };
}

/**
 * Loads every `partners/*.yml`, validates each strictly against
 * `schemas/partner.schema.json`, and compiles the record schemas they use.
 * Throws a ConfigError naming the file, the field and the reason.
 */
export function loadPartnerRegistry(location: ConfigLocation = defaultConfigLocation()): PartnerRegistry {
  const partnersDir = path.join(location.root, 'partners');
  const schemasDir = path.join(location.root, 'schemas');
  const ajv = createAjv();
  const validatePartner = ajv.compile(readJson(path.join(schemasDir, 'partner.schema.json'), '') as object);
  const schemas = new SchemaCache(ajv, schemasDir);
  if (!existsSync(partnersDir)) throw new ConfigError(partnersDir, '', 'partners folder not found');

  const partners = new Map<string, PartnerConfig>();
  const fileOf = new Map<string, string>();
  for (const name of readdirSync(partnersDir).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    const file = path.join(partnersDir, name);
    const raw = readYaml(file);
    if (!validatePartner(raw)) {
      const error = validatePartner.errors![0]!;
      throw new ConfigError(file, fieldOf(error), reasonOf(error));
    }
    const partner = buildPartner(file, raw as RawPartner, schemas);
    partners.set(partner.id, partner);
    fileOf.set(partner.id, file);
  }
  refuseSharedPushKeys(partners, fileOf);

  const patterns = new Map<FeedConfig, RegExp[]>();
  for (const partner of partners.values()) {
    for (const feed of partner.feeds) patterns.set(feed, feed.files.map(globToRegExp));
  }
  return {
    partners,
    feedForFile(partner, fileName) {
      return partner.feeds.find((feed) => patterns.get(feed)!.some((pattern) => pattern.test(fileName)));
    },
  };
}
