/**
 * The push line of `npm run bench:sftp`: OpenSSH's `sftp put` of one file
 * through the local push endpoint (dev/sftp-push-endpoint.ts: sshd writes it
 * to the partner folder, the endpoint streams it into the landing bucket with
 * lib-storage once sftp-server logs the close, then the real hand-off copies it
 * to pushed/), against a plain upload of the same file to the same moto bucket
 * (lib-storage from a file stream, the endpoint's part size and queue: what
 * `aws s3 cp` does with the SDK), interleaved in the same run. See
 * bench/README.md, section "SFTP push".
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Logger } from '@aws-lambda-powertools/logger';
import { withPushingPartner } from '../dev/local-sftp-push';
import { startLocalStack, type LocalStack } from '../dev/local-stack';
import type { Dispatched } from '../dev/push-upload-dispatch';
import { startPushEndpoint, type PushEndpoint } from '../dev/sftp-push-endpoint';
import { handOffUpload } from '../src/sftp-push/handoff';
import { sftpPushHandoffDeps } from '../src/sftp-push/runtime';
import { createMetrics } from '../src/platform/telemetry';
import { median, table } from './report';
import { writeRandomFile } from './random-file';

const MiB = 1024 * 1024;
/** The endpoint's lib-storage settings (dev/sftp-push-endpoint.ts), used for the plain upload too. */
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 2;

export interface PushBenchOptions {
  readonly mb: number;
  readonly repeats: number;
  readonly log: (line: string) => void;
}

export interface PushBenchResult {
  readonly mib: number;
  readonly repeats: number;
  readonly isolation: string;
  /** Medians, seconds from the start of `sftp put` (or of the plain upload). */
  readonly seconds: { readonly sftpClientExit: number; readonly inS3: number; readonly handedOff: number; readonly plainS3: number };
  readonly mibPerSecond: { readonly sftpClientExit: number; readonly inS3: number; readonly handedOff: number; readonly plainS3: number };
  /** Push (sftp put → object in S3) MiB/s over the plain S3 upload's. */
  readonly pushVsPlain: number;
  readonly runs: ReadonlyArray<Record<string, number>>;
}

/** Every version of `key`, removed: moto keeps objects in memory, and the bucket is versioned. */
async function purge(stack: LocalStack, key: string): Promise<void> {
  const bucket = stack.resources.landingBucket;
  const { Versions = [], DeleteMarkers = [] } = await stack.clients.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  for (const version of [...Versions, ...DeleteMarkers]) {
    await stack.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: version.Key!, VersionId: version.VersionId! }));
  }
}

function sftpPut(endpoint: PushEndpoint, file: string, name: string): Promise<void> {
  const args = ['-b', '-', '-i', endpoint.privateKeyFile, '-P', String(endpoint.port), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'];
  args.push('-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${endpoint.knownHostsFile}`, `${endpoint.username}@${endpoint.host}`);
  return new Promise((resolve, reject) => {
    const child = spawn('sftp', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(`put ${file} ${name}\n`);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`sftp put exited ${code}: ${stderr}`))));
  });
}

export async function pushBench(options: PushBenchOptions): Promise<PushBenchResult> {
  const size = options.mb * MiB;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'partner-ingest-push-bench-'));
  let stack: LocalStack | undefined;
  let endpoint: PushEndpoint | undefined;
  try {
    const file = path.join(dir, `push-bench-${options.mb}MiB.bin`);
    await writeRandomFile(file, size);
    options.log(`push: generated ${file} (${options.mb} MiB of random bytes)`);
    const logger = new Logger({ serviceName: 'sftp-push-bench', logLevel: 'SILENT' });
    stack = await startLocalStack({ logger });
    const registry = withPushingPartner(stack.registry, 'acme', []);
    const bucket = stack.resources.landingBucket;
    const handoffDeps = sftpPushHandoffDeps(stack.clients, registry, { landingBucket: bucket, hostOf: (serverId) => serverId }, logger, createMetrics());
    let inS3At = 0;
    let done: ((entry: Dispatched) => void) | undefined;
    const s3 = stack.clients.s3;
    endpoint = await startPushEndpoint({
      partner: 'acme',
      publicKeys: [],
      s3,
      bucket,
      handOff: (event) => {
        inS3At = performance.now(); // the endpoint's put is done: the object is where Transfer Family writes it
        return handOffUpload(event, handoffDeps);
      },
      onDispatched: (entry) => done?.(entry),
    });
    options.log(`push: endpoint ${endpoint.host}:${endpoint.port} (${endpoint.isolation}), moto ${stack.moto.endpoint}`);

    const runs: Array<Record<string, number>> = [];
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      const name = `push-bench-${repeat}.bin`;
      const dispatched = new Promise<Dispatched>((resolve) => (done = resolve));
      const start = performance.now();
      await sftpPut(endpoint, file, name);
      const clientExit = performance.now();
      const entry = await dispatched;
      const handedOff = performance.now();
      if (entry.kind !== 'upload' || entry.result.outcome !== 'handed-off' || entry.bytes !== size) {
        throw new Error(`push run ${repeat}: ${JSON.stringify(entry)}`);
      }

      const plainKey = `bench/plain-${repeat}.bin`;
      const plainStart = performance.now();
      await new Upload({ client: s3, params: { Bucket: bucket, Key: plainKey, Body: createReadStream(file) }, partSize: PART_SIZE, queueSize: QUEUE_SIZE }).done();
      const plainEnd = performance.now();
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: plainKey }));
      if (head.ContentLength !== size) throw new Error(`plain upload stored ${head.ContentLength} bytes, not ${size}`);

      const run = {
        sftpClientExit: (clientExit - start) / 1000,
        inS3: (inS3At - start) / 1000,
        handedOff: (handedOff - start) / 1000,
        plainS3: (plainEnd - plainStart) / 1000,
      };
      runs.push(run);
      options.log(
        `  push run ${repeat}/${options.repeats}: sftp exit ${run.sftpClientExit.toFixed(2)} s, in S3 ${run.inS3.toFixed(2)} s, handed off ${run.handedOff.toFixed(2)} s; plain S3 upload ${run.plainS3.toFixed(2)} s (load ${os.loadavg()[0]!.toFixed(2)})`,
      );
      for (const key of [entry.key, entry.result.key, plainKey]) await purge(stack, key);
      await rm(path.join(endpoint.folder, name), { force: true });
    }
    const seconds = {
      sftpClientExit: median(runs.map((run) => run.sftpClientExit!)),
      inS3: median(runs.map((run) => run.inS3!)),
      handedOff: median(runs.map((run) => run.handedOff!)),
      plainS3: median(runs.map((run) => run.plainS3!)),
    };
    const rate = (value: number) => Number((options.mb / value).toFixed(1));
    return {
      mib: options.mb,
      repeats: options.repeats,
      isolation: endpoint.isolation,
      seconds,
      mibPerSecond: { sftpClientExit: rate(seconds.sftpClientExit), inS3: rate(seconds.inS3), handedOff: rate(seconds.handedOff), plainS3: rate(seconds.plainS3) },
      pushVsPlain: Number((seconds.plainS3 / seconds.inS3).toFixed(3)),
      runs,
    };
  } finally {
    await endpoint?.dispose();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The push measurements as text lines. */
export function pushReport(result: PushBenchResult): string[] {
  const row = (label: string, key: keyof PushBenchResult['seconds']) => [label, result.seconds[key].toFixed(2), result.mibPerSecond[key].toFixed(1)];
  return [
    `push: ${result.mib} MiB of random bytes, median of ${result.repeats} run(s), push and plain upload interleaved; endpoint ${result.isolation === 'chroot' ? 'chrooted (internal-sftp, syslog socket)' : 'not chrooted (sftp-server -e, log file)'}`,
    table(['push measurement', 'seconds', 'MiB/s'], [
      row('sftp put → local endpoint: client exits (file on disk)', 'sftpClientExit'),
      row('sftp put → local endpoint → landing bucket (pushed-uploads/)', 'inS3'),
      row('  … → hand-off copy to pushed/ done', 'handedOff'),
      row(`plain S3 upload, lib-storage ${PART_SIZE / MiB} MiB × ${QUEUE_SIZE} (cp equivalent)`, 'plainS3'),
    ]),
    `push (sftp put → S3) / plain S3 upload: ${result.pushVsPlain.toFixed(3)}×  (reported, no target: the push writes the file twice, to disk then to S3)`,
  ];
}
