import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../support/stack';

// `npm run demo` tells the product's story end to end; its summary must stay true.
test('the demo ingests S3 and SFTP drops, rejects the broken file, replays the failed one, announces every attempt, and reports the file that never came', () => {
  const run = spawnSync(process.execPath, ['bin/run.js', 'scripts/demo.ts'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 150_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const line = run.stdout.split('\n').find((text) => text.startsWith('SUMMARY '));
  const summary = JSON.parse(line!.slice('SUMMARY '.length));
  expect(summary.batches).toEqual([
    { file: 'orders_2026-11-01.csv', status: 'COMPLETED', attempt: 1, records: 3, valid: 3, invalid: 0, workItems: 3 },
    { file: 'orders_2026-11-02.csv', status: 'COMPLETED', attempt: 1, records: 21, valid: 19, invalid: 2, workItems: 19 },
    { file: 'orders_2026-11-03.csv.gz', status: 'COMPLETED', attempt: 2, records: 2, valid: 2, invalid: 0, workItems: 2 },
    { file: 'orders_2026-11-04.csv', status: 'REJECTED', attempt: 1, records: 0, valid: 0, invalid: 0, workItems: 0 },
    { file: 'shipments_2026-11-02.csv.gz', status: 'COMPLETED', attempt: 1, records: 4, valid: 4, invalid: 0, workItems: 4 },
  ]);
  // One event per attempt on each channel: five first attempts and the replay.
  expect(summary.events).toEqual({ sns: 6, eventBridge: 6 });
  // The demo feed's file never came: one Feed File Missing on each channel, however often the checker ran (twice).
  const missing = { type: 'MISSING', partner: 'acme', feed: 'returns', dueAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/) };
  expect(summary.feedEvents).toEqual([
    { ...missing, via: 'SNS' },
    { ...missing, via: 'EventBridge' },
  ]);
  expect(run.stdout).toContain('nothing new (each event is published once per due time)');
  expect(run.stdout).toContain('FAILED');
}, 180_000);
