/**
 * `partner-ingest validate` as operators and partners run it: a child process,
 * its stdout, stderr and exit code.
 */
import { execFile } from 'node:child_process';
import { cpSync, createReadStream, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DiscardingItemSink } from '../../src/validate/sinks';
import { validateFile } from '../../src/validate/validate-file';
import { CollectingRejectSink } from '../../src/validate/collecting-reject-sink';
import { acmeYmlUpToOrders, HEADER, REPO_ROOT, line, order, ordersCsv, ordersFeed, tempDir, writeTemp } from '../support/csv-cases';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const runs = new Map<string, Promise<Run>>();

/** Runs the CLI once per distinct argument list (several tests look at the same run). */
function cli(...args: string[]): Promise<Run> {
  const key = JSON.stringify(args);
  let run = runs.get(key);
  if (!run) {
    run = spawnCli(args);
    runs.set(key, run);
  }
  return run;
}

function spawnCli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'partner-ingest.js'), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, PARTNER_INGEST_CONFIG_ROOT: undefined }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const validateArgs = (file: string, ...extra: string[]) => ['validate', '--partner', 'acme', '--feed', 'orders', file, ...extra];

let dir: string;
let cleanup: () => void;
const files: Record<string, string> = {};

beforeAll(() => {
  ({ dir, cleanup } = tempDir('partner-ingest-cli-'));
  files.valid = writeTemp(dir, 'orders_valid.csv', ordersCsv(20, new Set([7])));
  files.tooMany = writeTemp(dir, 'orders_too_many.csv', ordersCsv(9, new Set([3])));
  files.header = writeTemp(dir, 'orders_header.csv', `${HEADER},extra\n${line(order(1))},x\n`);
  files.gzip = writeTemp(dir, 'orders_valid.csv.gz', gzipSync(ordersCsv(20, new Set([7]))));
  files.manyErrors = writeTemp(dir, 'orders_many_errors.csv', ordersCsv(30, new Set(Array.from({ length: 30 }, (_, i) => i + 1))));
  files.badUtf8 = writeTemp(dir, 'orders_bad.csv', Buffer.concat([Buffer.from(ordersCsv(2)), Buffer.from([0xff, 0x0a])]));
  files.unclosed = writeTemp(dir, 'orders_unclosed.csv', `${ordersCsv(2)}ORD-000009,"open\n`);
  files.empty = writeTemp(dir, 'orders_empty.csv', '');
  files.otherName = writeTemp(dir, 'invoices.csv', ordersCsv(1));
});
afterAll(() => cleanup());

describe('validate --json', () => {
  it.concurrent('prints exactly {status, reason, reasonCode, counts, errors, errorsTruncated} and exits 0 when COMPLETED', async () => {
    const run = await cli(...validateArgs(files.valid!, '--json'));
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout.endsWith('\n')).toBe(true);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(run.stdout);
    expect(Object.keys(report).sort()).toEqual(['counts', 'errors', 'errorsTruncated', 'reason', 'reasonCode', 'status']);
    expect(report).toEqual({
      status: 'COMPLETED',
      reason: null,
      reasonCode: null,
      counts: { records: 20, valid: 19, invalid: 1 },
      errors: [{ line: 8, column: 'quantity', code: 'INVALID_TYPE', message: 'must be an integer (got "many")' }],
      errorsTruncated: false,
    });
  });

  it.concurrent('exits 1 with the reason when REJECTED for too many invalid rows', async () => {
    const run = await cli(...validateArgs(files.tooMany!, '--json'));
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.status).toBe('REJECTED');
    expect(report.reasonCode).toBe('TOO_MANY_INVALID_ROWS');
    expect(report.reason).toContain('1 of 9 rows are invalid');
    expect(report.counts).toEqual({ records: 9, valid: 8, invalid: 1 });
    expect(report.errors).toEqual([expect.objectContaining({ line: 4, column: 'quantity', code: 'INVALID_TYPE' })]);
  });

  it.concurrent('reports a file-level rejection with its line as an error', async () => {
    const run = await cli(...validateArgs(files.header!, '--json'));
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.reasonCode).toBe('HEADER_MISMATCH');
    expect(report.errors).toEqual([{ line: 1, column: '', code: 'HEADER_MISMATCH', message: report.reason }]);
  });

  it.concurrent('caps errors with --max-errors and says they were truncated', async () => {
    const run = await cli(...validateArgs(files.manyErrors!, '--json', '--max-errors', '5'));
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.errors).toHaveLength(5);
    expect(report.errors.map((error: { line: number }) => error.line)).toEqual([2, 3, 4, 5, 6]);
    expect(report.errorsTruncated).toBe(true);
    expect(report.counts).toEqual({ records: 30, valid: 0, invalid: 30 });
  });

  it.concurrent('reads gzip files like plain ones', async () => {
    const [plain, gz] = await Promise.all([cli(...validateArgs(files.valid!, '--json')), cli(...validateArgs(files.gzip!, '--json'))]);
    expect(gz.code).toBe(0);
    expect(JSON.parse(gz.stdout)).toEqual(JSON.parse(plain.stdout));
  });

  it.concurrent('finds the feed from the file name when --feed is left out', async () => {
    const run = await cli('validate', '--partner', 'acme', files.valid!, '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).counts.records).toBe(20);
  });
});

describe('validate (human output)', () => {
  it.concurrent('prints the summary', async () => {
    const run = await cli(...validateArgs(files.valid!));
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`${files.valid} (acme/orders)`);
    expect(run.stdout).toContain('status:   COMPLETED');
    expect(run.stdout).toContain('records:  20 (valid 19, invalid 1)');
    expect(run.stdout).toContain('line 8 quantity: INVALID_TYPE must be an integer (got "many")');
  });

  it.concurrent('prints the rejection reason and the first errors', async () => {
    const run = await cli(...validateArgs(files.manyErrors!));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/status: {3}REJECTED — TOO_MANY_INVALID_ROWS: 30 of 30 rows are invalid/);
    expect(run.stdout).toContain('first errors:');
    expect(run.stdout).toContain('line 2 quantity: INVALID_TYPE');
    expect(run.stdout).toContain('line 21 quantity: INVALID_TYPE');
    expect(run.stdout).not.toContain('line 22 quantity');
    expect(run.stdout).toContain('more errors not shown (use --json)');
  });

  it.concurrent('prints a file-level reason with its line', async () => {
    const run = await cli(...validateArgs(files.unclosed!));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('REJECTED — MALFORMED_CSV');
    expect(run.stdout).toContain('line 4: MALFORMED_CSV');
  });
});

describe('validate: bad usage exits 2 with a one-line message naming the problem', () => {
  const cases: [string, string[], RegExp][] = [
    ['missing --partner', ['validate', '--feed', 'orders', '@valid'], /--partner is required/],
    ['unknown partner', ['validate', '--partner', 'initech', '--feed', 'orders', '@valid'], /unknown partner "initech"/],
    ['unknown feed', ['validate', '--partner', 'acme', '--feed', 'invoices', '@valid'], /unknown feed "invoices"/],
    ['no feed matches the file name', ['validate', '--partner', 'acme', '@otherName'], /invoices\.csv matches no feed of partner acme/],
    ['missing file', ['validate', '--partner', 'acme', '--feed', 'orders', '/nonexistent/orders_1.csv'], /cannot read \/nonexistent\/orders_1\.csv/],
    ['a folder instead of a file', ['validate', '--partner', 'acme', '--feed', 'orders', '@dir'], /not a regular file/],
    ['unknown option', ['validate', '--partner', 'acme', '--feed', 'orders', '--colour', '@valid'], /--colour/],
    ['two files', ['validate', '--partner', 'acme', '--feed', 'orders', '@valid', '@tooMany'], /expected exactly one FILE, got 2/],
    ['no file', ['validate', '--partner', 'acme', '--feed', 'orders'], /expected exactly one FILE, got 0/],
    ['a bad --max-errors', ['validate', '--partner', 'acme', '--feed', 'orders', '--max-errors', 'lots', '@valid'], /--max-errors/],
    ['an empty --max-errors', ['validate', '--partner', 'acme', '--feed', 'orders', '--max-errors=', '@valid'], /--max-errors/],
    ['unknown command', ['validat', '@valid'], /unknown command "validat"/],
  ];
  it.concurrent.each(cases)('%s', async (_name, args, problem) => {
    const resolved = args.map((arg) => (arg === '@dir' ? dir : arg.startsWith('@') ? files[arg.slice(1)]! : arg));
    const run = await cli(...resolved);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const [first] = run.stderr.split('\n');
    expect(first).toMatch(/^partner-ingest( validate)?: /);
    expect(first).toMatch(problem);
  });
});

describe('validate: a broken config exits 2 naming file and field', () => {
  let root: string;
  let cleanupRoot: () => void;
  beforeAll(() => {
    ({ dir: root, cleanup: cleanupRoot } = tempDir('partner-ingest-cli-config-'));
    cpSync(path.join(REPO_ROOT, 'partners'), path.join(root, 'partners'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
    const acme = path.join(root, 'partners', 'acme.yml');
    writeFileSync(acme, readFileSync(acme, 'utf8').replace('encoding: utf-8', 'encoding: ISO-8859-1'));
  });
  afterAll(() => cleanupRoot());

  it('--config-root with a bad encoding value', async () => {
    const run = await cli(...validateArgs(files.valid!, '--json', '--config-root', root));
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const [first] = run.stderr.split('\n');
    expect(first).toContain(path.join(root, 'partners', 'acme.yml'));
    expect(first).toContain('feeds[0].format.encoding');
    expect(first).toContain('latin1');
  });
});

describe('validate: the feed limits on a whole file (limits.maxFileBytes, errorPolicy.minRecords)', () => {
  let root: string;
  let cleanupRoot: () => void;
  beforeAll(() => {
    ({ dir: root, cleanup: cleanupRoot } = tempDir('partner-ingest-cli-limits-'));
    cpSync(path.join(REPO_ROOT, 'partners'), path.join(root, 'partners'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
    const acme = path.join(root, 'partners', 'acme.yml');
    const yml = acmeYmlUpToOrders().replace(/ {4}errorPolicy:\n {6}maxInvalidRatio: 0.10\n/, '    errorPolicy: { maxInvalidRatio: 0.1, minRecords: 1 }\n');
    writeFileSync(acme, `${yml.trimEnd()}\n    limits: { maxFileBytes: 2000 }\n`);
    files.big = writeTemp(dir, 'orders_big.csv', ordersCsv(100));
    files.headerOnly = writeTemp(dir, 'orders_header_only.csv', `${HEADER}\n`);
  });
  afterAll(() => cleanupRoot());

  it('exits 1 with FILE_TOO_LARGE for a file past maxFileBytes', async () => {
    const run = await cli(...validateArgs(files.big!, '--json', '--config-root', root));
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual(expect.objectContaining({ status: 'REJECTED', reasonCode: 'FILE_TOO_LARGE' }));
  });

  it('exits 1 with NO_RECORDS for a header-only file when the feed wants at least one row', async () => {
    const run = await cli(...validateArgs(files.headerOnly!, '--json', '--config-root', root));
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual(expect.objectContaining({ status: 'REJECTED', reasonCode: 'NO_RECORDS', counts: { records: 0, valid: 0, invalid: 0 } }));
    // The shipped feed (no minRecords) completes it.
    expect((await cli(...validateArgs(files.headerOnly!, '--json'))).code).toBe(0);
  });
});

describe('validate agrees with validateFile', () => {
  const corpus = ['valid', 'tooMany', 'header', 'gzip', 'manyErrors', 'badUtf8', 'unclosed', 'empty'];
  it.concurrent.each(corpus)('on %s', async (name) => {
    const file = files[name]!;
    const rejects = new CollectingRejectSink(100);
    const direct = await validateFile({
      source: createReadStream(file),
      feed: ordersFeed(),
      batchId: 'local',
      items: new DiscardingItemSink(),
      rejects,
    });
    const run = await cli(...validateArgs(file, '--json'));
    const report = JSON.parse(run.stdout);
    expect(run.code).toBe(direct.status === 'COMPLETED' ? 0 : 1);
    expect(report).toEqual({
      status: direct.status,
      reason: direct.reason?.message ?? null,
      reasonCode: direct.reason?.code ?? null,
      counts: direct.counts,
      errors: rejects.errors,
      errorsTruncated: rejects.truncated,
    });
  });
});
