import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../src/platform/aws-clients';
import { Ledger } from '../../src/ledger/batches';
import { projectCopy, removeCopies } from '../deploy/packaging';
import { PROJECT_ROOT } from '../support/stack';

/**
 * `npm start` runs in a throwaway copy of the project: serverless-esbuild writes
 * .esbuild/ into the service folder and, under serverless-offline, rebuilds on
 * every source change, so a checkout being edited (or a second `npm start` in
 * it) would disturb the run.
 */
let project: string;
beforeAll(() => {
  project = projectCopy('npm-start');
  cpSync(path.join(PROJECT_ROOT, 'samples'), path.join(project, 'samples'), { recursive: true });
});
afterAll(() => removeCopies());

/** The table rows `npm start` prints, as cells. */
function tableRows(stdout: string, prefix: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(`│ ${prefix}`))
    .map((row) => row.split('│').map((cell) => cell.trim()).filter(Boolean));
}

/** The JSON log lines the functions wrote inside serverless-offline, as npm start shows them. */
function functionLogs(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('  [serverless-offline] {'))
    .map((line) => JSON.parse(line.slice('  [serverless-offline] '.length)) as Record<string, unknown>);
}

// The README's first command must keep working: `npm start -- --once` ingests the samples end to end.
test('npm start --once ingests the sample drops and reports each completion event', () => {
  const run = spawnSync(process.execPath, ['bin/run.js', 'scripts/local.ts', '--once'], {
    cwd: project,
    encoding: 'utf8',
    timeout: 180_000,
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(tableRows(run.stdout, 'orders_')).toEqual([
    ['orders_2026-11-01.csv', 'COMPLETED', '3', '3', '0', '3'],
    ['orders_2026-11-02.csv', 'COMPLETED', '21', '19', '2', '19'],
    ['orders_2026-11-03.csv.gz', 'COMPLETED', '2', '2', '0', '2'],
    ['orders_2026-11-04.csv', 'REJECTED', '0', '0', '0', '0', 'HEADER_MISMATCH (line 1)'],
  ]);
  expect(run.stdout).toContain('4 batches, 24 work items on the work queue.');
  // No pump of its own: ingestFile ran inside serverless-offline, on its SQS trigger.
  const finished = functionLogs(run.stdout).filter((log) => log.message === 'batch finished');
  expect(finished.map((log) => log.status).sort()).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'REJECTED']);
}, 200_000);

// `npm start` keeps going: serverless-offline runs ingestFile on later S3 drops
// (serverless-offline-sqs on the file-events queue) and sftpPull on globex's
// schedule (played by the script), and Ctrl-C stops everything.
test('npm start ingests a later S3 drop and an SFTP file with the functions inside serverless-offline', async () => {
  const child = spawn(process.execPath, ['bin/run.js', 'scripts/local.ts'], {
    cwd: project,
    detached: true, // its own process group, so a failed test can kill everything it started
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = async (what: string, done: () => boolean, timeoutMs: number) => {
    for (const deadline = Date.now() + timeoutMs; !done(); await sleep(250)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`npm start: no ${what} (exit ${child.exitCode})\nstdout:\n${stdout}\nstderr:\n${stderr}`);
      }
    }
  };
  let clients: ReturnType<typeof createAwsClients> | undefined;
  try {
    await until('watch loop', () => stdout.includes('Watching for new files'), 180_000);
    const endpoint = /AWS emulator \(moto_server\)\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    const bucket = /landing bucket\s+s3:\/\/([^/]+)\//.exec(stdout)![1]!;
    const table = /ledger table\s+(\S+)/.exec(stdout)![1]!;
    const outbound = /files go into (\S+)/.exec(stdout)![1]!;
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:/);

    // An S3 drop after start, and a file published on globex's SFTP server.
    clients = createAwsClients({ endpoint, region: 'eu-west-1' });
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'inbound/acme/orders_2026-12-01.csv',
        Body: readFileSync(path.join(PROJECT_ROOT, 'samples', 'acme', 'orders_2026-11-01.csv')),
      }),
    );
    copyFileSync(path.join(PROJECT_ROOT, 'samples', 'globex', 'shipments_2026-11-02.csv.gz'), path.join(outbound, 'shipments_mine.csv.gz'));

    await until(
      'completion events for both files',
      () => tableRows(stdout, 'orders_2026-12-01.csv').length > 0 && tableRows(stdout, 'shipments_mine.csv.gz').length > 0,
      90_000,
    );
    expect(tableRows(stdout, 'orders_2026-12-01.csv')).toEqual([['orders_2026-12-01.csv', 'COMPLETED', '3', '3', '0', '3']]);
    expect(tableRows(stdout, 'shipments_mine.csv.gz')).toEqual([['shipments_mine.csv.gz', 'COMPLETED', '4', '4', '0', '4']]);

    // The functions' own log lines, from serverless-offline: sftpPull fetched the file, ingestFile finished both.
    const logs = functionLogs(stdout);
    expect(logs).toContainEqual(expect.objectContaining({ message: 'fetched', partner: 'globex', file: 'shipments_mine.csv.gz' }));
    const finished = logs.filter((log) => log.message === 'batch finished');
    expect(finished).toContainEqual(expect.objectContaining({ partner: 'acme', status: 'COMPLETED' }));
    expect(finished).toContainEqual(expect.objectContaining({ partner: 'globex', status: 'COMPLETED' }));

    // The ledger agrees; the SFTP file was moved aside after its verified copy.
    const ledger = new Ledger(clients.dynamo, table);
    const window = { from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 100 };
    const byFile = async (partner: string, name: string) =>
      (await ledger.listBatches({ ...window, partner })).filter((batch) => batch.file.name === name);
    expect((await byFile('acme', 'orders_2026-12-01.csv')).map((batch) => batch.status)).toEqual(['COMPLETED']);
    const [sftpBatch] = await byFile('globex', 'shipments_mine.csv.gz');
    expect(sftpBatch).toMatchObject({ status: 'COMPLETED', source: { type: 'sftp' } });
    expect(readdirSync(path.join(outbound, 'processed'))).toEqual(['shipments_mine.csv.gz']);

    // Ctrl-C: a clean exit that takes sshd and its folders with it.
    process.kill(child.pid!, 'SIGINT');
    expect(await Promise.race([exited, sleep(30_000).then(() => 'still running')])).toBe(0);
    expect(existsSync(outbound)).toBe(false);
    expect(stderr).toBe('');
  } finally {
    clients && Object.values(clients).forEach((client) => client.destroy());
    if (child.exitCode === null && child.signalCode === null) {
      // A failed test: ask it to clean up first, then make sure.
      process.kill(child.pid!, 'SIGINT');
      await Promise.race([exited, sleep(30_000)]);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}, 360_000);
