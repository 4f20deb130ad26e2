/**
 * Throughput and peak memory of the validation pass, against the speed limit
 * any csv-parse pipeline runs under: csv-parse alone, records as arrays, no
 * other work. See bench/README.md.
 *
 *   npm run bench [-- --rows N] [--repeats N] [--json] [--cpu-prof]
 *
 * Each measurement runs in its own child process (this script with --child), so
 * its peak RSS is its own; only the measured work is timed, not start-up.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { loadPartnerRegistry } from '../src/config/load-partners';
import { DiscardingItemSink } from '../src/validate/sinks';
import { validateFile } from '../src/validate/validate-file';
import { CollectingRejectSink } from '../src/validate/collecting-reject-sink';
import { pgpKeysFor, type PgpKeys } from '../src/pgp/keys';
import { GpgPeer } from '../test/support/gpg';
import { DATA_DIR, DEFAULT_OPTIONS, generateOrders, type GeneratedFile } from './generate-orders';
import { log, machine, median, peakRssMB, table } from './report';

const ROOT = path.resolve(__dirname, '..');
const HIGH_WATER_MARK = 256 * 1024;
const TARGET_RATIO = 0.6;
const TARGET_RSS_MB = 256;

/** What one child measures. */
const KINDS = {
  raw: 'csv-parse alone',
  'raw-gz': 'gunzip + csv-parse alone',
  validate: 'validate',
  'validate-gz': 'validate (gzip)',
  'validate-pgp': 'validate (OpenPGP, signed)',
} as const;
type Kind = keyof typeof KINDS;

interface ChildResult {
  readonly kind: Kind;
  readonly seconds: number;
  /** CPU time (user + system, all threads) of the measured work: less sensitive than wall time to other load on the machine. */
  readonly cpuSeconds: number;
  /** csv-parse records (raw, header included) or data records (validate). */
  readonly records: number;
  readonly peakRssMB: number;
  /** RSS when the measured work started (after module loading). */
  readonly startRssMB: number;
  readonly status?: string;
  readonly valid?: number;
  readonly invalid?: number;
}

const mb = (bytes: number) => bytes / (1024 * 1024);
// ---------------------------------------------------------------- child side

async function measureRaw(file: string, gzip: boolean): Promise<Omit<ChildResult, 'kind' | 'cpuSeconds' | 'peakRssMB' | 'startRssMB'>> {
  let records = 0;
  const started = performance.now();
  const stages = [createReadStream(file, { highWaterMark: HIGH_WATER_MARK }), ...(gzip ? [createGunzip()] : []), parse()];
  await (pipeline as (...streams: unknown[]) => Promise<void>)(
    ...stages,
    new Writable({
      objectMode: true,
      write(_record: string[], _encoding, callback) {
        records++;
        callback();
      },
    }),
  );
  return { seconds: (performance.now() - started) / 1000, records };
}

/** Our private key and the partner's public key for the encrypted file, beside it. */
const pgpKeyFiles = (file: string) => ({ ours: `${file}.us.asc`, partner: `${file}.partner.asc` });

async function measureValidate(file: string, encrypted: boolean): Promise<Omit<ChildResult, 'kind' | 'cpuSeconds' | 'peakRssMB' | 'startRssMB'>> {
  // As src/cli/validate-command.ts does it, minus argument parsing and output.
  const plainFeed = loadPartnerRegistry().partners.get('acme')!.feeds.find((candidate) => candidate.id === 'orders')!;
  let feed = plainFeed;
  let decryption: PgpKeys | undefined;
  if (encrypted) {
    const keyFiles = pgpKeyFiles(file);
    const encryption = { type: 'pgp', privateKeyRef: 'bench', signers: [readFileSync(keyFiles.partner, 'utf8')], requireSignature: true } as const;
    feed = { ...plainFeed, encryption };
    decryption = await pgpKeysFor(feed, { armoredKey: readFileSync(keyFiles.ours, 'utf8'), source: keyFiles.ours });
  }
  const started = performance.now();
  const outcome = await validateFile({
    source: createReadStream(file, { highWaterMark: HIGH_WATER_MARK }),
    feed,
    batchId: 'local',
    items: new DiscardingItemSink(),
    rejects: new CollectingRejectSink(100),
    ...(decryption ? { decryption } : {}),
  });
  return {
    seconds: (performance.now() - started) / 1000,
    records: outcome.counts.records,
    status: outcome.status,
    valid: outcome.counts.valid,
    invalid: outcome.counts.invalid,
  };
}

async function child(kind: Kind, file: string): Promise<void> {
  const startRssMB = mb(process.memoryUsage.rss());
  const cpu = process.cpuUsage();
  const result =
    kind === 'raw' || kind === 'raw-gz' ? await measureRaw(file, kind === 'raw-gz') : await measureValidate(file, kind === 'validate-pgp');
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const report: ChildResult = { kind, ...result, cpuSeconds, peakRssMB: peakRssMB(), startRssMB };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// --------------------------------------------------------------- parent side

interface Options {
  readonly rows: number;
  readonly repeats: number;
  readonly json: boolean;
  readonly cpuProf: boolean;
}

function runChild(kind: Kind, file: string, options: Options): ChildResult {
  const profile = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.join(DATA_DIR, 'profiles', kind)] : [];
  const run = spawnSync(
    process.execPath,
    [...profile, path.join(ROOT, 'bin', 'run-ts.js'), __filename, '--child', kind, file],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (run.status !== 0) throw new Error(`child ${kind} failed (exit ${run.status ?? run.signal})`);
  const last = run.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as ChildResult;
}

interface CliRun {
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly peakRssMB: number;
  readonly status: string;
  readonly records: number;
}

/** Preloaded into the CLI process to report its peak RSS on exit, without touching the CLI. */
const RSS_PROBE =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("BENCH_MAX_RSS_KB="+process.resourceUsage().maxRSS+"\\n"))';

function runCli(args: string[]): { seconds: number; exitCode: number | null; stdout: string; peakRssMB: number } {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--import', RSS_PROBE, path.join(ROOT, 'bin', 'partner-ingest.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  const rss = /BENCH_MAX_RSS_KB=(\d+)/.exec(run.stderr);
  return { seconds, exitCode: run.status, stdout: run.stdout, peakRssMB: rss ? Number(rss[1]) / 1024 : Number.NaN };
}

interface Summary {
  readonly kind: Kind;
  readonly label: string;
  readonly file: string;
  readonly rows: number;
  readonly medianSeconds: number;
  readonly medianCpuSeconds: number;
  readonly rowsPerSecond: number;
  /** Uncompressed CSV megabytes (MiB) per second, for every kind. */
  readonly csvMBPerSecond: number;
  /** The largest peak RSS of the repeats. */
  readonly peakRssMB: number;
  readonly medianPeakRssMB: number;
  readonly startRssMB: number;
  readonly runsSeconds: number[];
  readonly runsCpuSeconds: number[];
  readonly status?: string;
  readonly valid?: number;
  readonly invalid?: number;
}

async function parent(options: Options): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  const date = new Date();
  const loadBefore = os.loadavg()[0]!;
  const files: Record<'plain' | 'gzip', GeneratedFile> = {
    plain: await timed(options, 'plain', () => generateOrders({ ...DEFAULT_OPTIONS, rows: options.rows, gzip: false })),
    gzip: await timed(options, 'gzip', () => generateOrders({ ...DEFAULT_OPTIONS, rows: options.rows, gzip: true })),
  };
  const pgpFile = await timed(options, 'OpenPGP', async () => encryptForBench(files.plain));
  const fileOf = (kind: Kind) => (kind.endsWith('-gz') ? files.gzip : kind === 'validate-pgp' ? pgpFile : files.plain);

  const kinds = Object.keys(KINDS) as Kind[];
  const runs = new Map<Kind, ChildResult[]>(kinds.map((kind) => [kind, []]));
  // Interleaved, so a drift in machine load spreads over every kind alike.
  for (let repeat = 1; repeat <= options.repeats; repeat++) {
    for (const kind of kinds) {
      const result = runChild(kind, fileOf(kind).path, options);
      runs.get(kind)!.push(result);
      log(options, `  run ${repeat}/${options.repeats} ${kind.padEnd(11)} ${result.seconds.toFixed(2)} s (CPU ${result.cpuSeconds.toFixed(2)} s), peak RSS ${result.peakRssMB.toFixed(0)} MB`);
    }
  }

  const summaries: Summary[] = kinds.map((kind) => {
    const results = runs.get(kind)!;
    const file = fileOf(kind);
    const seconds = median(results.map((result) => result.seconds));
    const first = results[0]!;
    return {
      kind,
      label: KINDS[kind],
      file: path.relative(ROOT, file.path),
      rows: file.rows,
      medianSeconds: seconds,
      medianCpuSeconds: median(results.map((result) => result.cpuSeconds)),
      rowsPerSecond: file.rows / seconds,
      csvMBPerSecond: mb(file.csvBytes) / seconds,
      peakRssMB: Math.max(...results.map((result) => result.peakRssMB)),
      medianPeakRssMB: median(results.map((result) => result.peakRssMB)),
      startRssMB: median(results.map((result) => result.startRssMB)),
      runsSeconds: results.map((result) => Number(result.seconds.toFixed(3))),
      runsCpuSeconds: results.map((result) => Number(result.cpuSeconds.toFixed(3))),
      ...(first.status !== undefined ? { status: first.status, valid: first.valid, invalid: first.invalid } : {}),
    };
  });
  const byKind = Object.fromEntries(summaries.map((summary) => [summary.kind, summary])) as Record<Kind, Summary>;

  // Sanity: every run saw every row, and validate found exactly the planted invalid rows.
  for (const kind of kinds) {
    for (const result of runs.get(kind)!) {
      const expected = kind.startsWith('raw') ? options.rows + 1 : options.rows;
      if (result.records !== expected) throw new Error(`${kind} saw ${result.records} records, expected ${expected}`);
      if (!kind.startsWith('raw') && result.invalid !== fileOf(kind).invalidRows) {
        throw new Error(`${kind} found ${result.invalid} invalid rows, the generator planted ${fileOf(kind).invalidRows}`);
      }
    }
  }

  const ratio = byKind.validate.rowsPerSecond / byKind.raw.rowsPerSecond;
  const ratioCpu = byKind.raw.medianCpuSeconds / byKind.validate.medianCpuSeconds;
  // Raw and validate run back to back in each repeat: the median of the per-repeat
  // ratios is less swayed by load that comes and goes between repeats.
  const rawRuns = runs.get('raw')!;
  const ratioPaired = median(runs.get('validate')!.map((run, i) => rawRuns[i]!.seconds / run.seconds));
  const ratioGz = byKind['validate-gz'].rowsPerSecond / byKind['raw-gz'].rowsPerSecond;
  const pgpVsPlain = byKind['validate-pgp'].rowsPerSecond / byKind.validate.rowsPerSecond;
  const pgpVsPlainCpu = byKind.validate.medianCpuSeconds / byKind['validate-pgp'].medianCpuSeconds;
  const pgpRssVsGzip = byKind['validate-pgp'].peakRssMB / byKind['validate-gz'].peakRssMB;
  const maxRss = Math.max(...summaries.map((summary) => summary.peakRssMB));
  const targets = {
    ratio: { target: TARGET_RATIO, actual: Number(ratio.toFixed(3)), pass: ratio >= TARGET_RATIO },
    /** Informational: the median of per-repeat ratios (raw and validate run back to back). */
    ratioPairedMedian: { target: TARGET_RATIO, actual: Number(ratioPaired.toFixed(3)), pass: ratioPaired >= TARGET_RATIO },
    /** Informational: the same ratio from CPU time instead of wall time. */
    ratioByCpuTime: { target: TARGET_RATIO, actual: Number(ratioCpu.toFixed(3)), pass: ratioCpu >= TARGET_RATIO },
    ratioGzipVsRawGzip: { target: TARGET_RATIO, actual: Number(ratioGz.toFixed(3)), pass: ratioGz >= TARGET_RATIO },
    peakRssMB: { target: TARGET_RSS_MB, actual: Number(maxRss.toFixed(1)), pass: maxRss < TARGET_RSS_MB },
    /** Informational: an encrypted, signed file's validation against the plain file's (throughput), and its peak RSS against gzip's. */
    pgpVsPlain: { actual: Number(pgpVsPlain.toFixed(3)) },
    pgpVsPlainByCpuTime: { actual: Number(pgpVsPlainCpu.toFixed(3)) },
    pgpPeakRssVsGzip: { actual: Number(pgpRssVsGzip.toFixed(3)) },
  };

  // The real CLI once, start-up (node + tsx + config) included, for honesty.
  log(options, '  CLI: partner-ingest validate --json (once) …');
  const cliArgs = ['validate', '--partner', 'acme', '--feed', 'orders', path.relative(ROOT, files.plain.path), '--json'];
  const cliRun = runCli(cliArgs);
  const cliReport = JSON.parse(cliRun.stdout) as { status: string; counts: { records: number } };
  const startup = runCli(['--help']);
  const cli: CliRun & { command: string; startupSeconds: number } = {
    command: `node bin/partner-ingest.js ${cliArgs.join(' ')}`,
    seconds: cliRun.seconds,
    exitCode: cliRun.exitCode,
    peakRssMB: cliRun.peakRssMB,
    status: cliReport.status,
    records: cliReport.counts.records,
    startupSeconds: startup.seconds,
  };

  const result = {
    date: date.toISOString(),
    // 1-minute load average when the measurements started and ended: other work on the machine skews wall times.
    machine: { ...machine(), loadAverage: [loadBefore, os.loadavg()[0]!].map((load) => Number(load.toFixed(2))) },
    csvParseVersion: (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'csv-parse', 'package.json'), 'utf8')) as { version: string }).version,
    files: Object.fromEntries(
      Object.entries(files).map(([name, file]) => [
        name,
        { path: path.relative(ROOT, file.path), rows: file.rows, bytes: file.bytes, csvBytes: file.csvBytes, invalidRows: file.invalidRows, invalidByKind: file.invalidByKind },
      ]),
    ),
    repeats: options.repeats,
    cpuProfiling: options.cpuProf,
    measurements: summaries,
    cli,
    targets,
  };

  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const m = result.machine;
  const fmt = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const out: string[] = [];
  out.push(`partner-ingest validate benchmark — ${result.date}`);
  out.push(`machine: ${m.cpu}, ${m.cores} cores, ${m.totalMemoryGB} GB RAM, Node ${m.node}, ${m.platform}; csv-parse ${result.csvParseVersion}`);
  out.push(`load:    1-min load average ${m.loadAverage.join(' → ')} (start → end of the measurements)`);
  out.push(
    `file:    ${result.files.plain!.path}: ${fmt(options.rows)} rows, ${fmt(mb(files.plain.bytes), 1)} MB, ${fmt(files.plain.invalidRows)} invalid rows` +
      `; gzip ${fmt(mb(files.gzip.bytes), 1)} MB`,
  );
  if (options.cpuProf) out.push(`NOTE: --cpu-prof was on: times include profiler overhead (profiles in ${path.relative(ROOT, DATA_DIR)}/profiles/)`);
  out.push(`median of ${options.repeats} runs, each in its own process; MB/s = uncompressed CSV MiB/s; peak RSS = max of the runs' maxRSS; (at start) = RSS when the timed work began`);
  out.push('');
  out.push(
    table(
      ['measurement', 'rows/s', 'MB/s', 'seconds', 'CPU s', 'peak RSS MB', '(at start)', 'vs raw'],
      summaries.map((summary) => {
        const base = summary.kind.endsWith('-gz') ? byKind['raw-gz'] : byKind.raw;
        const vs = summary.kind.startsWith('raw') ? '1.00×' : `${(summary.rowsPerSecond / base.rowsPerSecond).toFixed(2)}×`;
        return [summary.label, fmt(summary.rowsPerSecond), fmt(summary.csvMBPerSecond, 1), summary.medianSeconds.toFixed(2), summary.medianCpuSeconds.toFixed(2), fmt(summary.peakRssMB, 0), fmt(summary.startRssMB, 0), vs];
      }),
    ),
  );
  out.push('');
  const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
  out.push(`validate / raw csv-parse:        ${ratio.toFixed(3)}×  (target ≥ ${TARGET_RATIO}×)  ${verdict(targets.ratio.pass)}`);
  out.push(`  (by CPU time instead of wall:  ${ratioCpu.toFixed(3)}×; median of per-repeat ratios: ${ratioPaired.toFixed(3)}×)`);
  out.push(`validate-gz / raw gunzip+parse:  ${ratioGz.toFixed(3)}×  (target ≥ ${TARGET_RATIO}×)  ${verdict(targets.ratioGzipVsRawGzip.pass)}`);
  out.push(`peak RSS, all measurements:      ${maxRss.toFixed(0)} MB (target < ${TARGET_RSS_MB} MB)  ${verdict(targets.peakRssMB.pass)}`);
  out.push(
    `validate-pgp / validate (plain):  ${pgpVsPlain.toFixed(3)}× throughput (by CPU time ${pgpVsPlainCpu.toFixed(3)}×); peak RSS ${byKind['validate-pgp'].peakRssMB.toFixed(0)} MB, ` +
      `${pgpRssVsGzip.toFixed(2)}× validate (gzip)'s ${byKind['validate-gz'].peakRssMB.toFixed(0)} MB`,
  );
  out.push('');
  out.push(
    `real CLI, once: ${cli.command}\n  wall ${cli.seconds.toFixed(2)} s (incl. ~${cli.startupSeconds.toFixed(2)} s node+tsx start-up, measured with --help), ` +
      `exit ${cli.exitCode}, ${cli.status}, ${fmt(cli.records)} records, peak RSS ${cli.peakRssMB.toFixed(0)} MB`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

/**
 * The plain file encrypted to a fresh key of ours and signed by a fresh partner
 * key, by gpg as a partner would (its default ZIP compression inside), the keys
 * written beside it. Made anew each run: gpg takes a few seconds for 80 MiB.
 */
function encryptForBench(plain: GeneratedFile): GeneratedFile {
  const target = plain.path.replace(/\.csv$/, '.csv.gpg');
  const gpg = new GpgPeer();
  try {
    gpg.encryptFile(plain.path, target);
    const keyFiles = pgpKeyFiles(target);
    writeFileSync(keyFiles.ours, gpg.privateKey('us'));
    writeFileSync(keyFiles.partner, gpg.publicKey('partner'));
  } finally {
    gpg.dispose();
  }
  return { ...plain, path: target, bytes: statSync(target).size, reused: false };
}

async function timed(options: Options, name: string, make: () => Promise<GeneratedFile>): Promise<GeneratedFile> {
  const started = performance.now();
  const file = await make();
  log(
    options,
    `${file.reused ? 'reusing' : `generated (${((performance.now() - started) / 1000).toFixed(1)} s)`} ${name}: ${path.relative(ROOT, file.path)}`,
  );
  return file;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      child: { type: 'string' },
      rows: { type: 'string', default: String(DEFAULT_OPTIONS.rows) },
      repeats: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  if (values.child !== undefined) {
    if (!Object.hasOwn(KINDS, values.child) || positionals.length !== 1) throw new Error(`usage: --child ${Object.keys(KINDS).join('|')} FILE`);
    statSync(positionals[0]!);
    await child(values.child as Kind, positionals[0]!);
    return;
  }
  const rows = Number(values.rows);
  const repeats = Number(values.repeats);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, got "${values.rows}"`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got "${values.repeats}"`);
  await parent({ rows, repeats, json: values.json, cpuProf: values['cpu-prof'] });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`validate.bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
