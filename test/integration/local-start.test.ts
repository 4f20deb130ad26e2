import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../src/platform/aws-clients';
import { Ledger } from '../../src/ledger/batches';
import { drainQueue } from '../../dev/drain-queue';
import { projectCopy, removeCopies } from '../deploy/packaging';
import { PROJECT_ROOT } from '../support/stack';
import { processTable, stillRunning, watchDescendants, type ProcessInfo } from '../support/process-tree';

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

const COMMAND = ['bin/run.js', 'scripts/local.ts'];
/** How long npm start may take to stop everything after a signal: generous, it usually takes a few seconds. */
const STOP_BOUND_MS = 20_000;

/** The completion event lines `npm start` prints (`event key=value …`), as objects; quoted values unquoted. */
function eventLines(stdout: string): Array<Record<string, string>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('event '))
    .map((line) =>
      Object.fromEntries([...line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)].map(([, key, value]) => [key!, value!.startsWith('"') ? (JSON.parse(value!) as string) : value!])),
    );
}

/** The JSON log lines the functions wrote inside serverless-offline, as npm start shows them. */
function functionLogs(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('  [serverless-offline] {'))
    .map((line) => JSON.parse(line.slice('  [serverless-offline] '.length)) as Record<string, unknown>);
}

/** The first capture of `pattern` in what npm start printed. */
function printed(stdout: string, pattern: RegExp): string {
  const match = pattern.exec(stdout);
  if (!match) throw new Error(`npm start did not print ${pattern}:\n${stdout}`);
  return match[1]!;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const portOf = (url: string) => Number(new URL(url).port);
const withoutBatch = ({ batch: _batch, ...rest }: Record<string, string>) => rest;

// The README's first command must keep working: `npm start -- --once` ingests the samples end to end.
test('npm start --once prints a line per completion event (partner, feed, file, attempt, status, counts) and stops what it started', () => {
  const run = spawnSync(process.execPath, [...COMMAND, '--once'], { cwd: project, encoding: 'utf8', timeout: 180_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const events = eventLines(run.stdout);
  const byFile = (a: Record<string, string>, b: Record<string, string>) => a.file!.localeCompare(b.file!);
  const acme = { partner: 'acme', feed: 'orders', attempt: '1' };
  expect(events.map(withoutBatch).sort(byFile)).toEqual([
    { ...acme, file: 'orders_2026-11-01.csv', status: 'COMPLETED', records: '3', valid: '3', invalid: '0', workItems: '3' },
    { ...acme, file: 'orders_2026-11-02.csv', status: 'COMPLETED', records: '21', valid: '19', invalid: '2', workItems: '19' },
    { ...acme, file: 'orders_2026-11-03.csv.gz', status: 'COMPLETED', records: '2', valid: '2', invalid: '0', workItems: '2' },
    { ...acme, file: 'orders_2026-11-04.csv', status: 'REJECTED', records: '0', valid: '0', invalid: '0', workItems: '0', reason: 'HEADER_MISMATCH', line: '1' },
    { ...acme, feed: 'remittances', file: 'remittances_2026-11-06.txt', status: 'COMPLETED', records: '12', valid: '9', invalid: '3', workItems: '9' },
  ]);
  expect(new Set(events.map((event) => event.batch)).size).toBe(5);
  expect(events.every((event) => /^[0-9a-f]{32}$/.test(event.batch!))).toBe(true);
  expect(run.stdout).toContain('5 batches, 33 work items on the work queue.');
  // No pump of its own: ingestFile ran inside serverless-offline, on its SQS trigger.
  const finished = functionLogs(run.stdout).filter((log) => log.message === 'batch finished');
  expect(finished.map((log) => log.status).sort()).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED', 'REJECTED']);
  expect(run.stdout).toMatch(/\nstopping: serverless-offline, moto_server …\nstopped\n$/);
}, 200_000);

/** `npm start` (without --once) in its own process group, and every process seen below it. */
function startNpmStart(env: Record<string, string> = {}, args: string[] = []) {
  const child: ChildProcess = spawn(process.execPath, [...COMMAND, ...args], {
    cwd: project,
    env: { ...process.env, ...env },
    detached: true, // its own process group, so a failed test can kill everything it started
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const descendants = watchDescendants(child.pid!);
  const run = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = async (what: string, done: () => boolean, timeoutMs: number) => {
    for (const deadline = Date.now() + timeoutMs; !done(); await sleep(250)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`npm start: no ${what} (exit ${child.exitCode})\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
      }
    }
  };
  /** The process running scripts/local.ts, as it says: the one a user would `kill`. */
  const pid = () => Number(printed(run.stdout, /^npm start \(pid (\d+)\)/m));
  /** What is still running of what npm start started: the processes seen below it, and any left in its process groups. */
  const leftovers = (): ProcessInfo[] => {
    const seen = descendants.seen();
    const groups = new Set([child.pid!, ...seen.map((proc) => proc.pid)]);
    const inGroups = processTable().filter((proc) => !proc.zombie && groups.has(proc.pgid) && proc.pid !== child.pid);
    return [...new Map([...stillRunning(seen), ...inGroups].map((proc) => [proc.pid, proc])).values()];
  };
  /** Sends `signal` to the npm start process only, not to its group (as `kill PID` does). */
  const signal = (name: NodeJS.Signals) => process.kill(pid(), name);
  /** Its exit code, once it has exited (within STOP_BOUND_MS). */
  const exit = async () => {
    const code = await Promise.race([exited, sleep(STOP_BOUND_MS, 'still running', { ref: false })]);
    descendants.stop();
    return code;
  };
  /** After a failed test: ask it to clean up, then make sure. */
  const cleanUp = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGINT');
      await Promise.race([exited, sleep(STOP_BOUND_MS, undefined, { ref: false })]);
    }
    descendants.stop();
    for (const proc of leftovers()) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  };
  return { run, until, signal, exit, leftovers, cleanUp };
}

// `npm start` keeps going: serverless-offline runs ingestFile on later S3 drops
// (serverless-offline-sqs on the file-events queue), sftpPull on globex's schedule
// (played by the script) and replays; with `--push acme`, acme's local SFTP push
// endpoint; SIGTERM to its process stops everything.
test('npm start prints later drops, an SFTP put with its printed command, a push with its printed command, a replay (attempt 2 of the same file) and the demo feed\'s missing file as they arrive; SIGTERM stops every child', async () => {
  // The demo feed's file was due two minutes before start (one minute's grace): the first checker run finds it missing, so the test waits no real minutes.
  const npmStart = startNpmStart({ PARTNER_INGEST_LOCAL_DEMO_DUE_MINUTES: '-2' }, ['--push', 'acme']);
  const { run, until } = npmStart;
  let clients: ReturnType<typeof createAwsClients> | undefined;
  try {
    await until('watch loop', () => run.stdout.includes('Watching for new files'), 180_000);
    const endpoint = printed(run.stdout, /AWS emulator \(moto_server\)\s+(http:\/\/127\.0\.0\.1:\d+)/);
    const bucket = printed(run.stdout, /landing bucket\s+s3:\/\/([^/]+)\//);
    const table = printed(run.stdout, /ledger table\s+(\S+)/);
    const outbound = printed(run.stdout, /files go into (\S+)/);
    const api = printed(run.stdout, /operator HTTP API \(offline\)\s+(http:\/\/\S+)\/batches/);
    const lambdaApi = printed(run.stdout, /Lambda invoke API \(offline\)\s+(http:\/\/\S+)/);
    const sshdPort = Number(printed(run.stdout, /globex SFTP server \(sshd\)\s+127\.0\.0\.1:(\d+)/));
    const sftpCommand = printed(run.stdout, /^ {2}(sftp -i .+)$/m);
    const pushPort = Number(printed(run.stdout, /acme SFTP push endpoint\s+127\.0\.0\.1:(\d+), user \S+, key \S+/));
    const pushCommand = printed(run.stdout, /Push a file as acme to its SFTP endpoint[^\n]*\n {2}(sftp -i .+)$/m);
    expect(pushCommand).toContain(`-P ${pushPort} `);
    const pushFolder = printed(run.stdout, /^ {31}its folder (\S+) \(/m);
    const eventBridgeQueue = printed(run.stdout, /sqs receive-message --queue-url (\S+)/);

    // The operator console it started: its URL signs in, and its session is the local stage's.
    const consoleUrl = printed(run.stdout, /operator console \(open in your browser; the link works until Ctrl-C\):\n {2}(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/);
    const signIn = await fetch(consoleUrl, { redirect: 'manual' });
    expect(signIn.status).toBe(303);
    const session = await fetch(new URL('/api/session', consoleUrl), { headers: { cookie: signIn.headers.get('set-cookie')!.split(';')[0]! } });
    expect(await session.json()).toMatchObject({ stage: 'local', region: 'eu-west-1' });

    // Every printed command against the emulator names its region (continuation lines joined).
    const commands = run.stdout.replace(/\\\n\s*/g, ' ').split('\n').filter((line) => line.includes('--endpoint-url'));
    expect(commands.length).toBeGreaterThanOrEqual(5); // drop, s3 cp, sqs receive-message, batches, replay
    expect(commands.filter((line) => !line.includes('--region eu-west-1'))).toEqual([]);

    // The samples, once each, attempt 1.
    const rejectedSample = eventLines(run.stdout).find((event) => event.file === 'orders_2026-11-04.csv')!;
    expect(rejectedSample).toMatchObject({ partner: 'acme', feed: 'orders', attempt: '1', status: 'REJECTED', reason: 'HEADER_MISMATCH' });

    // The EventBridge consumer the output names received the samples' events (npm start leaves it to the user).
    clients = createAwsClients({ endpoint, region: 'eu-west-1' });
    const onBus = (await drainQueue(clients.sqs, eventBridgeQueue)).map((message) => JSON.parse(message.Body!) as { 'detail-type': string; detail: { file: { name: string } } });
    expect(onBus.map((event) => event.detail.file.name).sort()).toEqual(['orders_2026-11-01.csv', 'orders_2026-11-02.csv', 'orders_2026-11-03.csv.gz', 'orders_2026-11-04.csv', 'remittances_2026-11-06.txt']);
    expect(onBus.filter((event) => event['detail-type'] === 'Batch Rejected')).toHaveLength(1);

    // An S3 drop after start; a globex file put on its SFTP server with the printed command (key 0600, host key pinned).
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'inbound/acme/orders_2026-12-01.csv',
        Body: readFileSync(path.join(PROJECT_ROOT, 'samples', 'acme', 'orders_2026-11-01.csv')),
      }),
    );
    expect(statSync(printed(sftpCommand, /-i (\S+)/)).mode & 0o777).toBe(0o600);
    const put = spawnSync('sh', ['-c', sftpCommand.replace(/^sftp /, 'sftp -b - ')], {
      cwd: project,
      input: 'put samples/globex/shipments_2026-11-02.csv.gz shipments_mine.csv.gz\n',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect({ status: put.status, stderr: put.stderr }).toEqual({ status: 0, stderr: '' });
    // A push to acme's endpoint with its printed command: handed off once complete, ingested as an sftp-push batch.
    const push = spawnSync('sh', ['-c', pushCommand.replace(/^sftp /, 'sftp -b - ')], {
      cwd: project,
      input: 'put samples/acme/orders_2026-11-01.csv orders_pushed.csv\n',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect({ status: push.status, stderr: push.stderr }).toEqual({ status: 0, stderr: '' });
    // A replay of the rejected sample through the replay function in serverless-offline.
    const replay = await fetch(`${lambdaApi}/2015-03-31/functions/partner-ingest-local-replay/invocations`, {
      method: 'POST',
      body: JSON.stringify({ batchId: rejectedSample.batch }),
    });
    expect(await replay.json()).toMatchObject({ batchId: rejectedSample.batch, attempt: 2, status: 'QUEUED' });

    const eventsOf = (file: string) => eventLines(run.stdout).filter((event) => event.file === file);
    await until(
      'completion events for the drop, the SFTP file and the replay',
      () =>
        eventsOf('orders_2026-12-01.csv').length > 0 &&
        eventsOf('shipments_mine.csv.gz').length > 0 &&
        eventsOf('orders_pushed.csv').length > 0 &&
        eventsOf('orders_2026-11-04.csv').length > 1,
      90_000,
    );
    expect(eventsOf('orders_2026-12-01.csv').map(withoutBatch)).toEqual([
      { partner: 'acme', feed: 'orders', file: 'orders_2026-12-01.csv', attempt: '1', status: 'COMPLETED', records: '3', valid: '3', invalid: '0', workItems: '3' },
    ]);
    expect(eventsOf('shipments_mine.csv.gz').map(withoutBatch)).toEqual([
      { partner: 'globex', feed: 'shipments', file: 'shipments_mine.csv.gz', attempt: '1', status: 'COMPLETED', records: '4', valid: '4', invalid: '0', workItems: '4' },
    ]);
    expect(eventsOf('orders_pushed.csv').map(withoutBatch)).toEqual([
      { partner: 'acme', feed: 'orders', file: 'orders_pushed.csv', attempt: '1', status: 'COMPLETED', records: '3', valid: '3', invalid: '0', workItems: '3' },
    ]);
    expect(run.stdout).toMatch(/^push acme: pushed-uploads\/acme\/orders_pushed\.csv completed \(\d+ bytes\) → handed-off pushed\/acme\/[0-9a-f]{32}\/orders_pushed\.csv$/m);
    // The replay is attempt 2 of the same batch and file, not a new file.
    expect(eventsOf('orders_2026-11-04.csv')).toEqual([rejectedSample, { ...rejectedSample, attempt: '2' }]);

    // The functions' own log lines, from serverless-offline: sftpPull fetched the file, ingestFile finished both.
    const logs = functionLogs(run.stdout);
    expect(logs).toContainEqual(expect.objectContaining({ message: 'fetched', partner: 'globex', file: 'shipments_mine.csv.gz' }));
    const finished = logs.filter((log) => log.message === 'batch finished');
    expect(finished).toContainEqual(expect.objectContaining({ partner: 'acme', status: 'COMPLETED' }));
    expect(finished).toContainEqual(expect.objectContaining({ partner: 'globex', status: 'COMPLETED' }));

    // checkExpectations, run by npm start's timer inside serverless-offline, reported the demo feed's missing file: once, as its own event line.
    const due = printed(run.stdout, /acme\/returns \(expected file\)\s+due (\S+) \(\+1 min grace\)/);
    await until('the Feed File Missing event', () => eventLines(run.stdout).some((event) => event.status === 'MISSING'), 60_000);
    expect(eventLines(run.stdout).filter((event) => event.feed === 'returns')).toEqual([{ partner: 'acme', feed: 'returns', status: 'MISSING', due, files: '0/1' }]);
    expect(Date.parse(due)).toBeLessThan(Date.now() - 60_000);

    // The ledger agrees; the SFTP file was moved aside after its verified copy.
    const ledger = new Ledger(clients.dynamo, table);
    const window = { from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z', limit: 100 };
    const byFile = async (partner: string, name: string) =>
      (await ledger.listBatches({ ...window, partner })).filter((batch) => batch.file.name === name);
    expect((await byFile('acme', 'orders_2026-12-01.csv')).map((batch) => batch.status)).toEqual(['COMPLETED']);
    const [sftpBatch] = await byFile('globex', 'shipments_mine.csv.gz');
    expect(sftpBatch).toMatchObject({ status: 'COMPLETED', source: { type: 'sftp' } });
    expect(readdirSync(path.join(outbound, 'processed'))).toEqual(['shipments_mine.csv.gz']);
    expect(await ledger.get(rejectedSample.batch!)).toMatchObject({ status: 'REJECTED', attempt: 2 });
    const [pushBatch] = await byFile('acme', 'orders_pushed.csv');
    expect(pushBatch).toMatchObject({ status: 'COMPLETED', source: { type: 'sftp-push', uri: `sftp://127.0.0.1:${pushPort}/orders_pushed.csv`, user: 'acme' } });

    // SIGTERM to the npm start process alone: it says so, stops every child and exits cleanly.
    npmStart.signal('SIGTERM');
    expect(await npmStart.exit()).toBe(0);
    expect(run.stdout).toMatch(/\nSIGTERM received[^\n]*\nstopping: console, serverless-offline, sftp push endpoints, sshd, moto_server …\n(.*\n)*stopped\n$/);
    expect(npmStart.leftovers()).toEqual([]);
    for (const port of [portOf(endpoint), sshdPort, pushPort, portOf(api), portOf(lambdaApi), portOf(consoleUrl)]) expect(await listening(port)).toBe(false);
    expect(existsSync(outbound)).toBe(false);
    expect(existsSync(pushFolder)).toBe(false);
    expect(run.stderr).toBe('');
  } finally {
    clients && Object.values(clients).forEach((client) => client.destroy());
    await npmStart.cleanUp();
  }
}, 360_000);

/** Waits until npm start is starting serverless-offline: it said so, and osls runs. */
async function untilOfflineStarting(npmStart: ReturnType<typeof startNpmStart>): Promise<void> {
  const slsRunning = () => npmStart.leftovers().some((proc) => proc.command.includes('sls offline start'));
  await npmStart.until('serverless-offline starting', () => npmStart.run.stdout.includes('functions (serverless-offline) starting') && slsRunning(), 120_000);
}

// Ctrl-C while serverless-offline is still starting (esbuild building): what has started is stopped too.
test('SIGINT to npm start while it is starting stops moto_server, sshd and the serverless-offline being started', async () => {
  const npmStart = startNpmStart();
  const { run } = npmStart;
  try {
    await untilOfflineStarting(npmStart);
    const endpoint = printed(run.stdout, /AWS emulator \(moto_server\)\s+(http:\/\/127\.0\.0\.1:\d+)/);
    const sshdPort = Number(printed(run.stdout, /globex SFTP server \(sshd\)\s+127\.0\.0\.1:(\d+)/));

    npmStart.signal('SIGINT');
    expect(await npmStart.exit()).toBe(0);
    expect(run.stdout).toMatch(/\nSIGINT received[^\n]*\nstopping: serverless-offline, sshd, moto_server …\n(.*\n)*stopped\n$/);
    expect(run.stdout).not.toContain('Completion events');
    expect(npmStart.leftovers()).toEqual([]);
    for (const port of [portOf(endpoint), sshdPort]) expect(await listening(port)).toBe(false);
    expect(run.stderr).toBe('');
  } finally {
    await npmStart.cleanUp();
  }
}, 200_000);

// A second signal does not wait for the orderly stop: the exit hooks SIGKILL every child.
test('a second SIGTERM while npm start is stopping exits at once and leaves no child behind', async () => {
  const npmStart = startNpmStart();
  const { run, until } = npmStart;
  try {
    await untilOfflineStarting(npmStart);
    // A serverless-offline that does not stop when asked (frozen here): npm start waits for it (10 s, then SIGKILL)
    // unless a second signal comes.
    for (const proc of npmStart.leftovers().filter((proc) => proc.command.includes('offline start'))) process.kill(proc.pid, 'SIGSTOP');
    npmStart.signal('SIGTERM');
    await until('the stop line', () => run.stdout.includes('stopping: '), STOP_BOUND_MS);
    npmStart.signal('SIGTERM');
    expect(await npmStart.exit()).toBe(128 + 15);
    expect(run.stdout).toContain('\nSIGTERM again: killing serverless-offline, sshd, moto_server now\n');
    expect(run.stdout).not.toMatch(/^stopped$/m);
    // SIGKILLed, not awaited: gone a moment after the exit.
    for (const deadline = Date.now() + 10_000; npmStart.leftovers().length && Date.now() < deadline; ) await sleep(100);
    expect(npmStart.leftovers()).toEqual([]);
    expect(run.stderr).toBe('');
  } finally {
    await npmStart.cleanUp();
  }
}, 200_000);
