import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../support/stack';

// The README's first command must keep working: `npm start -- --once` ingests the samples end to end.
test('npm start --once ingests the sample drops and reports each completion event', () => {
  const run = spawnSync(process.execPath, ['bin/run-ts.js', 'scripts/local.ts', '--once'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const rows = run.stdout.split('\n').filter((line) => line.startsWith('│ orders_'));
  expect(rows.map((row) => row.split('│').map((cell) => cell.trim()).filter(Boolean))).toEqual([
    ['orders_2026-11-01.csv', 'COMPLETED', '3', '3', '0', '3'],
    ['orders_2026-11-02.csv', 'COMPLETED', '21', '19', '2', '19'],
    ['orders_2026-11-03.csv.gz', 'COMPLETED', '2', '2', '0', '2'],
    ['orders_2026-11-04.csv', 'REJECTED', '0', '0', '0', '0', 'HEADER_MISMATCH (line 1)'],
  ]);
  expect(run.stdout).toContain('4 batches, 24 work items on the work queue.');
}, 150_000);
