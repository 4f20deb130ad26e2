/**
 * Generates an acme `orders` file (partners/acme.yml, schemas/records/orders.v1)
 * for benchmarks: N data rows of realistic, varied values, deterministic for a
 * given seed, with a share of invalid rows of several kinds spread through the
 * file. Streams with backpressure, so memory stays flat whatever N is.
 *
 * Files are cached: a file is reused when its `.meta.json` sidecar shows it was
 * made with the same parameters by the same generator version and the size on
 * disk matches.
 *
 *   node bin/run-ts.js bench/generate-orders.ts [--rows N] [--seed S] [--invalid RATIO] [--gzip] [--out PATH]
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';

/** Bump when the generated content changes, so cached files are regenerated. */
const GENERATOR_VERSION = 2;

export const DATA_DIR = path.resolve(__dirname, 'data');

export const INVALID_KINDS = [
  'bad_quantity',
  'bad_date',
  'duplicate_key',
  'bad_currency',
  'bad_price',
  'bad_email',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

export interface GenerateOptions {
  /** Data rows (the header is extra). */
  readonly rows: number;
  readonly seed: number;
  /** Share of data rows that are invalid, 0–1; each invalid row has exactly one problem. */
  readonly invalidRate: number;
  readonly gzip: boolean;
}

export interface GeneratedFile extends GenerateOptions {
  readonly generatorVersion: number;
  readonly path: string;
  /** Size on disk (compressed size for gzip). */
  readonly bytes: number;
  /** Size of the CSV text. */
  readonly csvBytes: number;
  readonly invalidRows: number;
  readonly invalidByKind: Readonly<Record<InvalidKind, number>>;
  /** True when an existing file was reused. */
  readonly reused: boolean;
}

export const DEFAULT_OPTIONS: GenerateOptions = { rows: 1_000_000, seed: 42, invalidRate: 0.01, gzip: false };

const HEADER = 'order_id,customer_id,sku,quantity,unit_price,currency,order_date,email\n';
const CHUNK_CHARS = 64 * 1024;
/** Duplicate keys repeat one of this many most recent ids. */
const RECENT_IDS = 10_000;

/** mulberry32: small, fast, good enough for test data. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST_NAMES = ['anna', 'bob', 'chloe', 'dmitri', 'emma', 'farid', 'greta', 'hiro', 'ines', 'jamal', 'kofi', 'lena', 'marco', 'nadia', 'olaf', 'priya', 'quinn', 'rosa', 'sven', 'tariq', 'uma', 'viktor', 'wen', 'ximena', 'yusuf', 'zoe'];
const LAST_NAMES = ['smith', 'muller', 'garcia', 'rossi', 'nguyen', 'kowalski', 'okafor', 'tanaka', 'dubois', 'silva', 'jensen', 'ivanova', 'oconnor', 'haddad', 'novak'];
const DOMAINS = ['example.com', 'mail.example.org', 'shop.example.net', 'acme.example', 'corp.example.co.uk', 'example.de'];
const SKU_FAMILIES = ['WIDGET', 'GADGET', 'BOLT', 'NUT', 'SCREW', 'CABLE', 'HINGE', 'VALVE', 'PUMP', 'GEAR', 'LAMP', 'FAN'];
/** Customer names that need quoting (comma, quote) or are not ASCII. */
const QUOTED_CUSTOMERS = ['"Müller, Schmidt & Co"', '"Dupont, SARL"', '"The ""Big"" Store"', '"Øster, Jensen"', '"Smith, J."'];

const CURRENCIES = ['EUR', 'EUR', 'EUR', 'USD', 'USD', 'GBP'];

const BAD_QUANTITIES = ['0', '-2', '2.5', '10001', 'ten', '', '1e3'];
const BAD_DATES = ['2026-02-30', '2026-13-01', '2026-4-7', '01/04/2026', '2025-02-29', '2026-06-31'];
const BAD_CURRENCIES = ['usd', 'JPY', 'EURO', '', 'CHF'];
const BAD_PRICES = ['19.999', '0.00', '-5.00', '"12,50"', 'abc', '0'];
const BAD_EMAILS = ['anna.example.com', 'bob@', '@example.com', 'two@@example.com'];

/** All real dates of 2025 and 2026 as YYYY-MM-DD. */
function allDates(): string[] {
  const dates: string[] = [];
  for (let t = Date.UTC(2025, 0, 1); t < Date.UTC(2027, 0, 1); t += 86_400_000) {
    dates.push(new Date(t).toISOString().slice(0, 10));
  }
  return dates;
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!;
}

/** Yields the file's CSV text in chunks of about CHUNK_CHARS; counts invalid rows into `invalid`. */
function* csvChunks(options: GenerateOptions, invalid: Record<InvalidKind, number>): Generator<Buffer> {
  const random = prng(options.seed);
  const dates = allDates();
  const skus: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const family = pick(random, SKU_FAMILIES);
    skus.push(random() < 0.3 ? `${family}-M${1 + Math.floor(random() * 24)}` : `${family}-${Math.floor(random() * 100000)}`);
  }
  const firstId = 100_000_000;
  const recent: string[] = [];
  let recentCount = 0;
  let chunk = HEADER;
  for (let i = 0; i < options.rows; i++) {
    let orderId = `ORD-${firstId + i}`;
    let repeated = false;

    const c = random();
    const customer =
      c < 0.9
        ? `CUST-${1 + Math.floor(random() * 250_000)}`
        : c < 0.98
          ? `acme-retail/${String(Math.floor(random() * 100_000)).padStart(5, '0')}`
          : pick(random, QUOTED_CUSTOMERS);

    const sku = pick(random, skus);

    // Mostly small quantities, a long tail up to the 10000 maximum.
    const q = random();
    let quantity = String(q < 0.7 ? 1 + Math.floor(random() * 5) : q < 0.97 ? 1 + Math.floor(random() * 250) : 1 + Math.floor(random() * 10_000));

    // Prices from 0.01 to 4999.99; some written with fewer decimals (still valid).
    const cents = 1 + Math.floor(random() ** 3 * 499_999);
    const p = random();
    let price =
      p < 0.9
        ? `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`
        : p < 0.95
          ? `${Math.floor(cents / 100) || 1}`
          : `${Math.floor(cents / 100)}.${Math.floor((cents % 100) / 10) || 5}`;

    let currency = pick(random, CURRENCIES);
    let date = dates[Math.floor(random() * dates.length)]!;

    const e = random();
    let email = '';
    if (e < 0.85) {
      const first = pick(random, FIRST_NAMES);
      const last = pick(random, LAST_NAMES);
      const domain = pick(random, DOMAINS);
      email =
        e < 0.5
          ? `${first}.${last}@${domain}`
          : e < 0.7
            ? `${first}${Math.floor(random() * 1000)}@${domain}`
            : e < 0.8
              ? `${first}_${last}+orders@${domain}`
              : `${first.toUpperCase()}.${last}@${domain}`;
    }
    // e >= 0.85: no email (optional, still valid)

    if (i > 0 && random() < options.invalidRate) {
      const kind = pick(random, INVALID_KINDS);
      invalid[kind]++;
      switch (kind) {
        case 'bad_quantity':
          quantity = pick(random, BAD_QUANTITIES);
          break;
        case 'bad_date':
          date = pick(random, BAD_DATES);
          break;
        case 'duplicate_key':
          // Repeat the id of one of the last RECENT_IDS rows that had their own id.
          orderId = recent[Math.floor(random() * Math.min(recentCount, RECENT_IDS))]!;
          repeated = true;
          break;
        case 'bad_currency':
          currency = pick(random, BAD_CURRENCIES);
          break;
        case 'bad_price':
          price = pick(random, BAD_PRICES);
          break;
        case 'bad_email':
          email = pick(random, BAD_EMAILS);
          break;
      }
    }

    // Only ids that first appear here are candidates for later repeats.
    if (!repeated) recent[recentCount++ % RECENT_IDS] = orderId;
    chunk += `${orderId},${customer},${sku},${quantity},${price},${currency},${date},${email}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      yield Buffer.from(chunk);
      chunk = '';
    }
  }
  if (chunk) yield Buffer.from(chunk);
}

/** bench/data/orders_<rows>_s<seed>_i<rate>.csv[.gz] */
export function defaultPath(options: GenerateOptions): string {
  return path.join(DATA_DIR, `orders_${options.rows}_s${options.seed}_i${options.invalidRate}.csv${options.gzip ? '.gz' : ''}`);
}

function readCached(file: string, options: GenerateOptions): GeneratedFile | undefined {
  const metaFile = `${file}.meta.json`;
  if (!existsSync(file) || !existsSync(metaFile)) return undefined;
  try {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as GeneratedFile;
    const same =
      meta.generatorVersion === GENERATOR_VERSION &&
      meta.rows === options.rows &&
      meta.seed === options.seed &&
      meta.invalidRate === options.invalidRate &&
      meta.gzip === options.gzip &&
      statSync(file).size === meta.bytes;
    return same ? { ...meta, path: file, reused: true } : undefined;
  } catch {
    return undefined;
  }
}

/** Writes (or reuses) the file; resolves with its description. */
export async function generateOrders(partial: Partial<GenerateOptions> = {}, file?: string): Promise<GeneratedFile> {
  const options: GenerateOptions = { ...DEFAULT_OPTIONS, ...partial };
  if (!Number.isInteger(options.rows) || options.rows < 1) throw new Error(`rows must be a positive integer, got ${options.rows}`);
  if (!(options.invalidRate >= 0 && options.invalidRate <= 1)) throw new Error(`invalidRate must be within 0–1, got ${options.invalidRate}`);
  const target = path.resolve(file ?? defaultPath(options));
  const cached = readCached(target, options);
  if (cached) return cached;

  mkdirSync(path.dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  const invalid = Object.fromEntries(INVALID_KINDS.map((kind) => [kind, 0])) as Record<InvalidKind, number>;
  let csvBytes = 0;
  const source = Readable.from(
    (function* counted() {
      for (const chunk of csvChunks(options, invalid)) {
        csvBytes += chunk.length;
        yield chunk;
      }
    })(),
  );
  const stages: Transform[] = options.gzip ? [createGzip()] : [];
  try {
    // pipeline pulls from the generator only as fast as the file takes the bytes.
    await (pipeline as (...streams: unknown[]) => Promise<void>)(source, ...stages, createWriteStream(temporary));
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  renameSync(temporary, target);
  const result: GeneratedFile = {
    generatorVersion: GENERATOR_VERSION,
    ...options,
    path: target,
    bytes: statSync(target).size,
    csvBytes,
    invalidRows: Object.values(invalid).reduce((sum, count) => sum + count, 0),
    invalidByKind: invalid,
    reused: false,
  };
  writeFileSync(`${target}.meta.json`, `${JSON.stringify({ ...result, reused: undefined }, null, 2)}\n`);
  return result;
}

async function cli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rows: { type: 'string' },
      seed: { type: 'string' },
      invalid: { type: 'string' },
      gzip: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const started = performance.now();
  const result = await generateOrders(
    {
      ...(values.rows !== undefined ? { rows: Number(values.rows) } : {}),
      ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
      ...(values.invalid !== undefined ? { invalidRate: Number(values.invalid) } : {}),
      gzip: values.gzip,
    },
    values.out,
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`${result.reused ? 'reused' : `generated in ${seconds} s`}: ${result.path}\n`);
}

// Run as a script (directly or through bin/run-ts.js), not when imported.
if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  cli(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`generate-orders: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
