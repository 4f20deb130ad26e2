/**
 * SFTP fetch throughput: OpenSSH's own `sftp` client against our fetch path
 * (src/sftp/remote-read-stream.ts, src/sftp/fetch-to-s3.ts), all reading one
 * file of incompressible bytes that a real sshd serves over loopback. See
 * bench/README.md, section "SFTP fetch".
 *
 *   npm run bench:sftp [-- --mb N] [--repeats N] [--json]
 *                      [--chunk-kb N] [--concurrency N]     (knobs for "our fetch → discarding sink")
 *                      [--sweep] [--sweep-chunk-kb 32,64,…] [--sweep-concurrency 8,16,…]   (grid of fetch-discard knobs)
 *                      [--sweep --sweep-settings 64x32,128x16+nodelay,…]        (explicit CHUNK_KiBxCONCURRENCY pairs)
 *                      [--nagle]                            (leave Nagle's algorithm on: src/ turns it off with TCP_NODELAY)
 *                      [--sftp-cipher NAME]                 (`sftp -c NAME`; default: the client's own choice)
 *                      [--push-mb N] [--push-only] [--no-push]   (the push line: bench/sftp-push.ts, 200 MiB by default)
 *
 * Each measurement runs in its own child process (this script with --child), so
 * its peak RSS is its own. Measured:
 *   sftp-client    `sftp -b` with `get FILE /dev/null` (time of the whole sftp process; RSS of sftp + its ssh),
 *                  verified by exit status 0 and nothing on stderr (/dev/null cannot count bytes)
 *   fetch-discard  connect, remoteReadStream → a Writable that counts and drops the bytes, end
 *   fetch-s3       connect, fetchToS3 into the landing bucket of a moto_server, end; ContentLength verified
 * The sshd, the moto_server, the file and every temp file are removed at the end, also on failure or Ctrl-C.
 * Then the push line (bench/sftp-push.ts): `sftp put` through the local push endpoint into S3 against a
 * plain S3 upload of the same file, in the same run (in this process; a second moto_server and sshd).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { createAwsClients } from '../src/platform/aws-clients';
import { startLocalStack, type LocalStack } from '../dev/local-stack';
import { startSshd, type SshdServer } from '../dev/sshd';
import { within } from '../src/sftp/errors';
import { fetchToS3 } from '../src/sftp/fetch-to-s3';
import { pinnedHostVerifier } from '../src/sftp/host-key';
import { remoteReadStream } from '../src/sftp/remote-read-stream';
import { log, machine as host, median, peakRssMB, table } from './report';
import { pushBench, pushReport } from './sftp-push';
import { writeRandomFile } from './random-file';

const ROOT = path.resolve(__dirname, '..');
const TARGET_RATIO = 0.7;
const STALL_SECONDS = 60;
/** Every request under the same deadline, as sftp-pull's (src/sftp/deadlines.ts) would run it. */
const deadline = <T,>(call: Promise<T>, step: string) => within(call, STALL_SECONDS, step);

/** The file as a listing shows it: the reads stop at its size, and its mtime must not change meanwhile. */
async function listed(client: SftpClient, remotePath: string, size: number) {
  return { path: remotePath, size, mtime: (await client.stat(remotePath)).modifyTime };
}
/** remoteReadStream's defaults when no option is passed (src/sftp/remote-read-stream.ts), for labels only. */
const LIBRARY_DEFAULT = { chunkKb: 64, concurrency: 32 };
// 255 KiB is the largest READ OpenSSH's sftp-server answers whole (limits@openssh.com: 256 KiB - 1 KiB);
// ssh2 splits a larger request and sends the remainder only after the first part has arrived.
const SWEEP_CHUNK_KB = [32, 64, 128, 255, 256];
const SWEEP_CONCURRENCY = [8, 16, 32, 64];

const KINDS = {
  'sftp-client': 'OpenSSH sftp client → /dev/null',
  'fetch-discard': 'our fetch → discarding sink',
  'fetch-s3': 'our fetch → landing bucket (moto), default knobs',
} as const;
type Kind = keyof typeof KINDS;

/** Everything a child needs, passed as JSON in an environment variable. */
interface ChildSpec {
  readonly kind: Kind;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly keyFile: string;
  readonly knownHostsFile: string;
  readonly fingerprint: string;
  readonly remotePath: string;
  readonly size: number;
  /** fetch-discard only; undefined = remoteReadStream's own default. */
  readonly chunkBytes?: number;
  readonly concurrency?: number;
  /** Ours only: set TCP_NODELAY on the SSH socket after connecting (src/ does not, as of this benchmark). */
  readonly noDelay?: boolean;
  /** fetch-s3 only. */
  readonly endpoint?: string;
  readonly bucket?: string;
  readonly key?: string;
  /** sftp-client only: `-c CIPHER` instead of the client's default choice. */
  readonly sftpCipher?: string;
}

interface ChildResult {
  readonly kind: Kind;
  /** Wall time of the whole fetch: process start to exit for sftp-client; connect to end() for ours (module loading excluded). */
  readonly seconds: number;
  /** Ours only: first READ to last byte (fetch-discard) or to the completed upload (fetch-s3), without connect/close. */
  readonly transferSeconds?: number;
  /** CPU (user + system) of the measured process(es): sftp + ssh for sftp-client, the node child for ours. The sshd and moto sides are not included. */
  readonly cpuSeconds: number;
  readonly peakRssMB: number;
  /** RSS when the measured work began (ours: node + modules loaded; sftp-client: null). */
  readonly startRssMB: number | null;
  /** Bytes verified: counted by the sink (fetch-discard), ContentLength of the object (fetch-s3); sftp-client trusts exit status 0. */
  readonly bytes: number | null;
  readonly chunkBytes?: number;
  readonly concurrency?: number;
  readonly noDelay?: boolean;
}

const MiB = 1024 * 1024;
// ---------------------------------------------------------------- child side

async function connect(spec: ChildSpec): Promise<{ client: SftpClient; sftp: SFTPWrapper }> {
  const client = new SftpClient('sftp-bench');
  await client.connect({
    host: spec.host,
    port: spec.port,
    username: spec.username,
    privateKey: readFileSync(spec.keyFile, 'utf8'),
    hostVerifier: pinnedHostVerifier([spec.fingerprint]).verify,
    readyTimeout: 20_000,
    retries: 0,
  });
  const internals = client as unknown as { sftp: SFTPWrapper; client: import('ssh2').Client };
  if (spec.noDelay) internals.client.setNoDelay(true);
  return { client, sftp: internals.sftp };
}

async function measureFetchDiscard(spec: ChildSpec): Promise<ChildResult> {
  const startRssMB = process.memoryUsage.rss() / MiB;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { client, sftp } = await connect(spec);
  const transferStarted = performance.now();
  let bytes = 0;
  await pipeline(
    remoteReadStream(sftp, await listed(client, spec.remotePath, spec.size), {
      deadline,
      ...(spec.chunkBytes !== undefined ? { chunkBytes: spec.chunkBytes } : {}),
      ...(spec.concurrency !== undefined ? { concurrency: spec.concurrency } : {}),
    }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback();
      },
    }),
  );
  const transferEnded = performance.now();
  await client.end();
  const ended = performance.now();
  const used = process.cpuUsage(cpu);
  if (bytes !== spec.size) throw new Error(`fetch-discard: the sink counted ${bytes} bytes, the file has ${spec.size}`);
  return {
    kind: 'fetch-discard',
    seconds: (ended - started) / 1000,
    transferSeconds: (transferEnded - transferStarted) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMB: peakRssMB(),
    startRssMB,
    bytes,
    ...(spec.chunkBytes !== undefined ? { chunkBytes: spec.chunkBytes } : {}),
    ...(spec.concurrency !== undefined ? { concurrency: spec.concurrency } : {}),
    ...(spec.noDelay ? { noDelay: true } : {}),
  };
}

async function measureFetchS3(spec: ChildSpec): Promise<ChildResult> {
  // The service's own client configuration (path-style against an emulator).
  const { s3 } = createAwsClients({ endpoint: spec.endpoint!, region: process.env.AWS_REGION ?? 'eu-west-1' });
  const startRssMB = process.memoryUsage.rss() / MiB;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { client, sftp } = await connect(spec);
  const transferStarted = performance.now();
  const fetched = await fetchToS3(
    sftp,
    await listed(client, spec.remotePath, spec.size),
    {
      s3,
      bucket: spec.bucket!,
      key: spec.key!,
      sourceUri: `sftp://${spec.host}:${spec.port}${spec.remotePath}`,
    },
    { deadline },
  );
  const transferEnded = performance.now();
  await client.end();
  const ended = performance.now();
  const used = process.cpuUsage(cpu);
  const rss = peakRssMB();
  // Verify, then delete the version so moto does not keep every repeat's copy.
  const head = await s3.send(new HeadObjectCommand({ Bucket: fetched.bucket, Key: fetched.key, ...(fetched.versionId ? { VersionId: fetched.versionId } : {}) }));
  await s3.send(new DeleteObjectCommand({ Bucket: fetched.bucket, Key: fetched.key, ...(fetched.versionId ? { VersionId: fetched.versionId } : {}) }));
  s3.destroy();
  if (fetched.bytes !== spec.size || head.ContentLength !== spec.size) {
    throw new Error(`fetch-s3: moved ${fetched.bytes} bytes, object ContentLength ${head.ContentLength}, the file has ${spec.size}`);
  }
  return {
    kind: 'fetch-s3',
    seconds: (ended - started) / 1000,
    transferSeconds: (transferEnded - transferStarted) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMB: rss,
    startRssMB,
    bytes: head.ContentLength,
  };
}

/** utime + stime of this process's reaped children (and theirs), in clock ticks: /proc/self/stat fields 16 and 17. */
function childrenCpuTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[13]) + Number(fields[14]);
}

function vmHwmKb(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // gone
  }
}

function childPidsOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function sftpArgs(spec: Pick<ChildSpec, 'keyFile' | 'knownHostsFile' | 'port' | 'username' | 'host'>, batchFile: string, extra: string[] = []): string[] {
  return [
    '-q',
    '-b', batchFile,
    '-i', spec.keyFile,
    '-F', '/dev/null', // no user or system ssh_config: only what is given here
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${spec.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-P', String(spec.port),
    ...extra,
    `${spec.username}@${spec.host}`,
  ];
}

async function measureSftpClient(spec: ChildSpec): Promise<ChildResult> {
  const batchFile = `${spec.keyFile}.batch-${process.pid}`;
  await writeFile(batchFile, `get "${spec.remotePath}" /dev/null\n`);
  const clkTck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  try {
    const ticksBefore = childrenCpuTicks();
    const started = performance.now();
    const child = spawn('sftp', sftpArgs(spec, batchFile, spec.sftpCipher ? ['-c', spec.sftpCipher] : []), { stdio: ['ignore', 'pipe', 'pipe'] });
    // stdout only echoes the batch commands ("sftp> get …"); anything on stderr is a problem.
    let output = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ended: number }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal, ended: performance.now() }));
    });
    // Peak RSS of sftp and the ssh it runs: VmHWM (a high-water mark) of each, sampled until they exit.
    const peaks = new Map<number, number>();
    let running = true;
    void exited.finally(() => (running = false));
    const sftpPid = child.pid!;
    let sshPids: number[] = [];
    while (running) {
      if (!sshPids.length) sshPids = childPidsOf(sftpPid);
      for (const pid of [sftpPid, ...sshPids]) {
        const kb = vmHwmKb(pid);
        if (kb > (peaks.get(pid) ?? 0)) peaks.set(pid, kb);
      }
      await sleep(50);
    }
    const { code, signal, ended } = await exited;
    const cpuSeconds = (childrenCpuTicks() - ticksBefore) / clkTck;
    if (code !== 0) throw new Error(`sftp exited with ${code ?? signal}: ${output.trim()}`);
    if (output.trim()) throw new Error(`sftp printed: ${output.trim()}`);
    return {
      kind: 'sftp-client',
      seconds: (ended - started) / 1000,
      cpuSeconds,
      peakRssMB: [...peaks.values()].reduce((sum, kb) => sum + kb, 0) / 1024,
      startRssMB: null,
      bytes: null,
    };
  } finally {
    await rm(batchFile, { force: true });
  }
}

async function child(spec: ChildSpec): Promise<void> {
  const result =
    spec.kind === 'sftp-client' ? await measureSftpClient(spec) : spec.kind === 'fetch-discard' ? await measureFetchDiscard(spec) : await measureFetchS3(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// --------------------------------------------------------------- parent side

interface Options {
  readonly mb: number;
  readonly repeats: number;
  readonly json: boolean;
  readonly chunkKb?: number;
  readonly concurrency?: number;
  readonly sweep: boolean;
  readonly sweepChunkKb: number[];
  readonly sweepConcurrency: number[];
  /** Explicit settings; replace the grid when given. */
  readonly sweepSettings?: Setting[];
  readonly noDelay: boolean;
  readonly sftpCipher?: string;
}

let interrupted = false;

/** Everything started or created, undone by cleanup() whatever happens. */
const resources: { sshd?: SshdServer; stack?: LocalStack; tempDir?: string; child?: ChildProcess } = {};

async function cleanup(): Promise<void> {
  const { child: running, stack, sshd, tempDir } = resources;
  resources.child = undefined;
  resources.stack = undefined;
  resources.sshd = undefined;
  resources.tempDir = undefined;
  if (running && running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
  await Promise.allSettled([
    stack?.stop(),
    sshd?.dispose(), // removes its rootDir, hence the test file
    tempDir ? rm(tempDir, { recursive: true, force: true }) : undefined,
  ]);
}

function runChild(spec: ChildSpec): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'run-ts.js'), __filename, '--child'], {
      cwd: ROOT,
      env: { ...process.env, SFTP_BENCH_CHILD: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    resources.child = child;
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resources.child = undefined;
      if (code !== 0) {
        reject(new Error(`child ${spec.kind} failed (exit ${code ?? signal})`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildResult);
      } catch (error) {
        reject(new Error(`child ${spec.kind} printed no result: ${(error as Error).message}`));
      }
    });
  });
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function machine() {
  const ssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  return {
    ...host(),
    openssh: `${ssh.stderr ?? ''}${ssh.stdout ?? ''}`.trim(),
    ssh2: packageVersion('ssh2'),
    ssh2SftpClient: packageVersion('ssh2-sftp-client'),
    awsLibStorage: packageVersion('@aws-sdk/lib-storage'),
    moto: spawnSync('python', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' }).stdout?.trim() || 'unknown',
  };
}

/** The server→client cipher and MAC each client negotiates with this sshd (by its defaults): they set the ceiling. */
async function negotiated(spec: Omit<ChildSpec, 'kind' | 'remotePath' | 'size'>, batchFile: string, sftpCipher: string | undefined) {
  const ours: string[] = [];
  const client = new SftpClient('sftp-bench-probe');
  await client.connect({
    host: spec.host,
    port: spec.port,
    username: spec.username,
    privateKey: readFileSync(spec.keyFile, 'utf8'),
    hostVerifier: pinnedHostVerifier([spec.fingerprint]).verify,
    retries: 0,
    debug: (line: string) => {
      const match = /^Handshake: S->C (cipher|MAC): (\S+)/i.exec(line);
      if (match) ours.push(match[2]!);
    },
  });
  await client.end();
  await writeFile(batchFile, 'pwd\n');
  const probe = spawnSync('sftp', sftpArgs(spec, batchFile, ['-v', ...(sftpCipher ? ['-c', sftpCipher] : [])]), { encoding: 'utf8' });
  const theirs = /kex: server->client cipher: (\S+) MAC: (\S+)/.exec(probe.stderr ?? '');
  return {
    ours: ours.filter((name) => name !== '<implicit>').join(' / ') || 'unknown',
    sftpClient: theirs ? (theirs[2] === '<implicit>' ? theirs[1]! : `${theirs[1]} / ${theirs[2]}`) : 'unknown',
  };
}

interface Variant {
  /** Unique name: the kind, plus the knobs for fetch-discard variants. */
  readonly id: string;
  readonly kind: Kind;
  readonly label: string;
  readonly chunkBytes?: number;
  readonly concurrency?: number;
  readonly noDelay?: boolean;
}

/** One fetch-discard setting of the sweep. */
interface Setting {
  readonly chunkKb: number;
  readonly concurrency: number;
  readonly noDelay: boolean;
}

interface Summary {
  readonly id: string;
  readonly kind: Kind;
  readonly label: string;
  readonly chunkKb: number | null;
  readonly concurrency: number | null;
  readonly noDelay: boolean | null;
  readonly medianSeconds: number;
  readonly medianTransferSeconds: number | null;
  readonly medianCpuSeconds: number;
  readonly mibPerSecond: number;
  readonly transferMibPerSecond: number | null;
  /** The largest peak RSS of the repeats. */
  readonly peakRssMB: number;
  readonly startRssMB: number | null;
  /** This variant's MiB/s over the sftp client's (medians). */
  readonly vsSftpClient: number;
  /** Median of per-repeat ratios (each against the sftp client run of the same repeat). */
  readonly vsSftpClientPaired: number;
  readonly runsSeconds: number[];
}

function variantsOf(options: Options): Variant[] {
  const sftp: Variant = {
    id: 'sftp-client',
    kind: 'sftp-client',
    label: `${KINDS['sftp-client']}${options.sftpCipher ? ` (-c ${options.sftpCipher})` : ''}`,
  };
  if (options.sweep) {
    const grid: Variant[] = [];
    const settings =
      options.sweepSettings ??
      options.sweepChunkKb.flatMap((chunkKb) => options.sweepConcurrency.map((concurrency): Setting => ({ chunkKb, concurrency, noDelay: options.noDelay })));
    for (const { chunkKb, concurrency, noDelay } of settings) {
      grid.push({
        id: `fetch-discard:${chunkKb}x${concurrency}${noDelay ? '+nodelay' : ''}`,
        kind: 'fetch-discard',
        label: `our fetch → discard, ${chunkKb} KiB × ${concurrency}${noDelay ? ', TCP_NODELAY' : ''}`,
        chunkBytes: chunkKb * 1024,
        concurrency,
        noDelay,
      });
    }
    return [sftp, ...grid];
  }
  const knobs =
    (options.chunkKb !== undefined || options.concurrency !== undefined
      ? ` (${options.chunkKb ?? LIBRARY_DEFAULT.chunkKb} KiB × ${options.concurrency ?? LIBRARY_DEFAULT.concurrency})`
      : '') + (options.noDelay ? ' +TCP_NODELAY' : '');
  return [
    sftp,
    {
      id: 'fetch-discard',
      kind: 'fetch-discard',
      label: `${KINDS['fetch-discard']}${knobs}`,
      ...(options.chunkKb !== undefined ? { chunkBytes: options.chunkKb * 1024 } : {}),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      noDelay: options.noDelay,
    },
    // fetchToS3 takes no pipelining options: it always reads with remoteReadStream's defaults.
    { id: 'fetch-s3', kind: 'fetch-s3', label: `${KINDS['fetch-s3']}${options.noDelay ? ' +TCP_NODELAY' : ''}`, noDelay: options.noDelay },
  ];
}

/** The fetch measurements: the JSON result and its text report (printed by main with the push line). */
async function parent(options: Options): Promise<{ result: Record<string, unknown>; text: string[] }> {
  const date = new Date();
  const size = options.mb * MiB;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    process.stderr.write(`\nsftp.bench: ${signal}, cleaning up …\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    resources.tempDir = await mkdtemp(path.join(os.tmpdir(), 'partner-ingest-sftp-bench-'));
    const sshd = (resources.sshd = await startSshd());
    log(options, `sshd on ${sshd.host}:${sshd.port}`);
    const keyFile = path.join(resources.tempDir, 'id_ed25519');
    const knownHostsFile = path.join(resources.tempDir, 'known_hosts');
    await writeFile(keyFile, sshd.privateKey, { mode: 0o600 });
    await writeFile(knownHostsFile, `[${sshd.host}]:${sshd.port} ${sshd.hostPublicKey}\n`, { mode: 0o600 });
    const connection = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      keyFile,
      knownHostsFile,
      fingerprint: sshd.hostKeyFingerprint,
    };

    const remotePath = path.join(sshd.rootDir, `sftp-bench-${options.mb}MiB.bin`);
    const generating = performance.now();
    await writeRandomFile(remotePath, size);
    log(options, `generated ${remotePath}: ${options.mb} MiB of random bytes (${((performance.now() - generating) / 1000).toFixed(1)} s)`);

    const variants = variantsOf(options);
    let bucket: string | undefined;
    let endpoint: string | undefined;
    if (variants.some((variant) => variant.kind === 'fetch-s3')) {
      const stack = (resources.stack = await startLocalStack({ logger: new Logger({ serviceName: 'sftp-bench', logLevel: 'SILENT' }) }));
      bucket = stack.resources.landingBucket;
      endpoint = stack.moto.endpoint;
      log(options, `moto_server on ${endpoint}, landing bucket ${bucket}`);
    }
    const ciphers = await negotiated(connection, path.join(resources.tempDir, 'probe.batch'), options.sftpCipher);
    log(options, `negotiated server→client cipher: ours ${ciphers.ours}; sftp client ${ciphers.sftpClient}`);

    const loadBefore = os.loadavg()[0]!;
    const runs = new Map<string, ChildResult[]>(variants.map((variant) => [variant.id, []]));
    // Interleaved, so a drift in machine load spreads over every variant alike.
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      for (const variant of variants) {
        const result = await runChild({
          kind: variant.kind,
          ...connection,
          remotePath,
          size,
          ...(variant.chunkBytes !== undefined ? { chunkBytes: variant.chunkBytes } : {}),
          ...(variant.concurrency !== undefined ? { concurrency: variant.concurrency } : {}),
          ...(variant.noDelay ? { noDelay: true } : {}),
          ...(variant.kind === 'fetch-s3' ? { endpoint, bucket, key: `inbound/sftp-bench/run-${repeat}.bin` } : {}),
          ...(variant.kind === 'sftp-client' && options.sftpCipher ? { sftpCipher: options.sftpCipher } : {}),
        });
        runs.get(variant.id)!.push(result);
        log(
          options,
          `  run ${repeat}/${options.repeats} ${variant.id.padEnd(24)} ${result.seconds.toFixed(2)} s  ${(options.mb / result.seconds).toFixed(1)} MiB/s` +
            `  CPU ${result.cpuSeconds.toFixed(2)} s  peak RSS ${result.peakRssMB.toFixed(0)} MB  (load ${os.loadavg()[0]!.toFixed(2)})`,
        );
      }
    }
    const loadAfter = os.loadavg()[0]!;

    const sftpRuns = runs.get('sftp-client')!;
    const sftpMibPerSecond = options.mb / median(sftpRuns.map((run) => run.seconds));
    const summaries: Summary[] = variants.map((variant) => {
      const results = runs.get(variant.id)!;
      const seconds = median(results.map((run) => run.seconds));
      const transfer = results.every((run) => run.transferSeconds !== undefined) ? median(results.map((run) => run.transferSeconds!)) : null;
      return {
        id: variant.id,
        kind: variant.kind,
        label: variant.label,
        chunkKb: variant.kind === 'fetch-discard' ? (variant.chunkBytes ?? LIBRARY_DEFAULT.chunkKb * 1024) / 1024 : null,
        concurrency: variant.kind === 'fetch-discard' ? (variant.concurrency ?? LIBRARY_DEFAULT.concurrency) : null,
        noDelay: variant.kind === 'sftp-client' ? null : Boolean(variant.noDelay),
        medianSeconds: seconds,
        medianTransferSeconds: transfer,
        medianCpuSeconds: median(results.map((run) => run.cpuSeconds)),
        mibPerSecond: options.mb / seconds,
        transferMibPerSecond: transfer === null ? null : options.mb / transfer,
        peakRssMB: Math.max(...results.map((run) => run.peakRssMB)),
        startRssMB: results.every((run) => run.startRssMB !== null) ? median(results.map((run) => run.startRssMB!)) : null,
        vsSftpClient: options.mb / seconds / sftpMibPerSecond,
        vsSftpClientPaired: median(results.map((run, i) => sftpRuns[i]!.seconds / run.seconds)),
        runsSeconds: results.map((run) => Number(run.seconds.toFixed(3))),
      };
    });

    const discardSummaries = summaries.filter((summary) => summary.kind === 'fetch-discard');
    const best = discardSummaries.reduce((a, b) => (b.mibPerSecond > a.mibPerSecond ? b : a));
    const fetchDiscard = options.sweep ? best : discardSummaries[0]!;
    const fetchS3 = summaries.find((summary) => summary.kind === 'fetch-s3');
    const result = {
      date: date.toISOString(),
      machine: { ...machine(), loadAverage: [loadBefore, loadAfter].map((load) => Number(load.toFixed(2))) },
      file: { path: remotePath, mib: options.mb, bytes: size, content: 'random (incompressible)' },
      negotiatedCipher: { ...ciphers, sftpClientForced: options.sftpCipher ?? null },
      repeats: options.repeats,
      sweep: options.sweep,
      measurements: summaries,
      targets: {
        fetchDiscardVsSftpClient: {
          target: TARGET_RATIO,
          variant: fetchDiscard.id,
          actual: Number(fetchDiscard.vsSftpClient.toFixed(3)),
          paired: Number(fetchDiscard.vsSftpClientPaired.toFixed(3)),
          pass: fetchDiscard.vsSftpClient >= TARGET_RATIO,
        },
        ...(fetchS3
          ? { fetchS3VsSftpClient: { target: null, actual: Number(fetchS3.vsSftpClient.toFixed(3)), note: 'reported only: the emulated S3 may be slower' } }
          : {}),
      },
      ...(options.sweep
        ? { bestSetting: { chunkKb: best.chunkKb, concurrency: best.concurrency, noDelay: best.noDelay, mibPerSecond: Number(best.mibPerSecond.toFixed(1)) } }
        : {}),
    };

    if (options.json) return { result, text: [] };
    const m = result.machine;
    const out: string[] = [];
    out.push(`partner-ingest SFTP fetch benchmark — ${result.date}${options.sweep ? ' (sweep)' : ''}`);
    out.push(`machine: ${m.cpu}, ${m.cores} cores, ${m.totalMemoryGB} GB RAM, Node ${m.node}, ${m.platform}`);
    out.push(`         ${m.openssh}; ssh2 ${m.ssh2}, ssh2-sftp-client ${m.ssh2SftpClient}, @aws-sdk/lib-storage ${m.awsLibStorage}, moto ${m.moto}`);
    out.push(`load:    1-min load average ${m.loadAverage.join(' → ')} (start → end of the measurements)`);
    out.push(`file:    ${options.mb} MiB (${size.toLocaleString('en-US')} bytes) of random bytes, served by sshd (internal-sftp) on 127.0.0.1`);
    out.push(
      `cipher:  server→client, as negotiated: ours ${ciphers.ours} (ssh2 default); sftp client ${ciphers.sftpClient}` +
        (options.sftpCipher ? ` (forced with -c ${options.sftpCipher})` : ' (its default)'),
    );
    out.push(
      `median of ${options.repeats} runs, each in its own process; MiB/s = file MiB / seconds; seconds = connect + transfer + close ` +
        '(whole process for sftp); "transfer" = READs only; peak RSS = max of the runs (sftp: sftp + ssh processes); (at start) = RSS when the timed work began',
    );
    out.push('');
    out.push(
      table(
        ['measurement', 'seconds', 'MiB/s', 'transfer MiB/s', 'CPU s', 'peak RSS MB', '(at start)', 'vs sftp', '(paired)'],
        summaries.map((summary) => [
          summary.label,
          summary.medianSeconds.toFixed(2),
          summary.mibPerSecond.toFixed(1),
          summary.transferMibPerSecond === null ? '—' : summary.transferMibPerSecond.toFixed(1),
          summary.medianCpuSeconds.toFixed(2),
          summary.peakRssMB.toFixed(0),
          summary.startRssMB === null ? '—' : summary.startRssMB.toFixed(0),
          `${summary.vsSftpClient.toFixed(2)}×`,
          `${summary.vsSftpClientPaired.toFixed(2)}×`,
        ]),
      ),
    );
    out.push('');
    const target = result.targets.fetchDiscardVsSftpClient;
    out.push(
      `our fetch (discard) / sftp client: ${target.actual.toFixed(3)}×  (target ≥ ${TARGET_RATIO}×)  ${target.pass ? 'PASS' : 'FAIL'}` +
        `${options.sweep ? `  [best setting: ${best.chunkKb} KiB × ${best.concurrency}${best.noDelay ? ', TCP_NODELAY' : ''}]` : ''}`,
    );
    out.push(`  (median of per-repeat ratios: ${target.paired.toFixed(3)}×)`);
    if (fetchS3) {
      out.push(`our fetch → landing bucket (moto) / sftp client: ${fetchS3.vsSftpClient.toFixed(3)}×  (reported separately, no target: the emulated S3 may be slower)`);
    }
    return { result, text: out };
  } finally {
    await cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return number;
}

function list(name: string, value: string | undefined, fallback: number[]): number[] {
  return value === undefined ? fallback : value.split(',').map((item) => positiveInteger(name, item.trim())!);
}

/** `64x32,128x16+nodelay`: chunk KiB × concurrency, optionally with TCP_NODELAY (or all of them with --nodelay). */
function settings(value: string, noDelay: boolean): Setting[] {
  return value.split(',').map((item) => {
    const match = /^\s*(\d+)\s*x\s*(\d+)\s*(\+nodelay)?\s*$/i.exec(item);
    if (!match) throw new Error(`--sweep-settings takes CHUNK_KiBxCONCURRENCY[+nodelay] items such as 64x32,128x16+nodelay; got "${item}"`);
    return { chunkKb: positiveInteger('sweep-settings', match[1])!, concurrency: positiveInteger('sweep-settings', match[2])!, noDelay: noDelay || Boolean(match[3]) };
  });
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      child: { type: 'boolean', default: false },
      mb: { type: 'string', default: '500' },
      repeats: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      'chunk-kb': { type: 'string' },
      concurrency: { type: 'string' },
      sweep: { type: 'boolean', default: false },
      'sweep-chunk-kb': { type: 'string' },
      'sweep-concurrency': { type: 'string' },
      'sftp-cipher': { type: 'string' },
      'sweep-settings': { type: 'string' },
      nagle: { type: 'boolean', default: false },
      'push-mb': { type: 'string', default: '200' },
      'push-only': { type: 'boolean', default: false },
      'no-push': { type: 'boolean', default: false },
    },
  });
  if (values.child) {
    await child(JSON.parse(process.env.SFTP_BENCH_CHILD ?? 'null') as ChildSpec);
    return;
  }
  const chunkKb = positiveInteger('chunk-kb', values['chunk-kb']);
  const concurrency = positiveInteger('concurrency', values.concurrency);
  const fetched = values['push-only']
    ? undefined
    : await parent({
        mb: positiveInteger('mb', values.mb)!,
        repeats: positiveInteger('repeats', values.repeats)!,
        json: values.json,
        ...(chunkKb !== undefined ? { chunkKb } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
        sweep: values.sweep,
        sweepChunkKb: list('sweep-chunk-kb', values['sweep-chunk-kb'], SWEEP_CHUNK_KB),
        sweepConcurrency: list('sweep-concurrency', values['sweep-concurrency'], SWEEP_CONCURRENCY),
        ...(values['sftp-cipher'] ? { sftpCipher: values['sftp-cipher'] } : {}),
        ...(values['sweep-settings'] !== undefined ? { sweepSettings: settings(values['sweep-settings'], !values.nagle) } : {}),
        noDelay: !values.nagle,
      });
  const json = values.json;
  const repeats = positiveInteger('repeats', values.repeats)!;
  const pushed = values['no-push'] ? undefined : await pushBench({ mb: positiveInteger('push-mb', values['push-mb'])!, repeats, log: (line) => log({ json }, line) });
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...(fetched?.result ?? { date: new Date().toISOString(), machine: host() }), ...(pushed ? { push: pushed } : {}) }, null, 2)}\n`);
    return;
  }
  const m = host();
  const out = fetched?.text ?? [
    `partner-ingest SFTP push benchmark — ${new Date().toISOString()}`,
    `machine: ${m.cpu}, ${m.cores} cores, ${m.totalMemoryGB} GB RAM, Node ${m.node}, ${m.platform}; 1-min load average ${os.loadavg()[0]!.toFixed(2)}`,
  ];
  if (pushed) out.push('', ...pushReport(pushed));
  process.stdout.write(`${out.join('\n')}\n`);
}

// Emulator credentials (moto accepts any); the SDK reads them when the first request is signed.
process.env.AWS_ACCESS_KEY_ID ??= 'bench';
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
process.env.AWS_REGION ??= 'eu-west-1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

main(process.argv.slice(2)).catch((error: unknown) => {
  if (interrupted) return; // the child was killed on purpose; cleanup() reports and exits
  process.stderr.write(`sftp.bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
