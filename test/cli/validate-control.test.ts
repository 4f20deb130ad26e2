/**
 * `partner-ingest validate` on files with header and trailer records and with
 * a control file (`--control-file`): a child process, as an operator runs it,
 * against a config whose feeds have them.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT, tempDir } from '../support/csv-cases';
import { ORDERS_HEADER, orderRow, ordersFile } from '../support/orders';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let root: string;
let cleanup: () => void;

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'partner-ingest.js'), 'validate', '--config-root', root, '--partner', 'initech', '--json', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, PARTNER_INGEST_CONFIG_ROOT: undefined }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

const write = (name: string, content: string) => {
  const file = path.join(root, name);
  writeFileSync(file, content);
  return file;
};

beforeAll(() => {
  ({ dir: root, cleanup } = tempDir('partner-ingest-cli-control-'));
  cpSync(path.join(REPO_ROOT, 'schemas'), path.join(root, 'schemas'), { recursive: true });
  mkdirSync(path.join(root, 'partners'));
  const base = { format: { type: 'csv', encoding: 'utf-8' }, schema: { id: 'orders', version: 1 }, key: 'order_id', errorPolicy: { maxInvalidRatio: 0.1 } };
  const feeds = [
    {
      ...base,
      id: 'trailed',
      files: ['trailed_*.txt'],
      format: { ...base.format, trailerRecord: { match: '^TRL\\|(?<n>\\d+)$', fields: { recordCount: 'n' } } },
    },
    { ...base, id: 'controlled', files: ['controlled_*.csv'], controlFile: { name: '{name}.ctl', format: 'csv', fields: { recordCount: 'rows' } } },
  ];
  writeFileSync(path.join(root, 'partners', 'initech.yml'), stringify({ id: 'initech', name: 'Initech', sources: { s3: {} }, feeds }));
});
afterAll(() => cleanup?.());

test('a trailer record: its count checked, exit 1 with the code when it differs', async () => {
  const rows = [ORDERS_HEADER, orderRow(1), orderRow(2)].join('\n');
  const good = await cli([write('trailed_1.txt', `${rows}\nTRL|2\n`)]);
  expect(good).toMatchObject({ code: 0, stderr: '' });
  expect(JSON.parse(good.stdout)).toMatchObject({ status: 'COMPLETED', counts: { records: 2 } });
  const bad = await cli([write('trailed_2.txt', `${rows}\nTRL|3\n`)]);
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.stdout)).toMatchObject({ status: 'REJECTED', reasonCode: 'CONTROL_COUNT_MISMATCH', reason: 'the trailer record (line 4) gives 3 data rows; the file has 2' });
});

test('--control-file: its count checked; one that is not a control file rejects unread; the option on a feed without one is bad usage', async () => {
  const data = write('controlled_1.csv', ordersFile(3));
  expect(JSON.parse((await cli([data, '--control-file', write('ok.ctl', 'rows\n3\n')])).stdout)).toMatchObject({ status: 'COMPLETED' });
  const mismatch = await cli([data, '--control-file', write('bad.ctl', 'rows\n4\n')]);
  expect(mismatch.code).toBe(1);
  expect(JSON.parse(mismatch.stdout)).toMatchObject({ reasonCode: 'CONTROL_COUNT_MISMATCH', reason: 'the control file "bad.ctl" gives 4 data rows; the file has 3' });
  const invalid = await cli([data, '--control-file', write('empty.ctl', 'rows\n')]);
  expect(JSON.parse(invalid.stdout)).toMatchObject({ status: 'REJECTED', reasonCode: 'CONTROL_RECORD_INVALID', counts: { records: 0 } });
  const usage = await cli(['--feed', 'trailed', data, '--control-file', write('x.ctl', 'rows\n3\n')]);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain('has no controlFile; --control-file is for feeds that have one');
});
