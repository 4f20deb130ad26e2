// Runs one SFTP → S3 fetch in its own process (node --expose-gc) and prints the
// peak of what it holds live, so a test can check that memory stays bounded
// whatever the file size. Live memory (heap + buffers, sampled after a forced
// collection) rather than RSS: RSS also counts garbage not yet collected, which
// depends on the machine's load and heap sizing, not on the code.
import SftpClient from 'ssh2-sftp-client';
import { createAwsClients } from '../../src/platform/aws-clients';
import { within } from '../../src/sftp/errors';
import { fetchToS3 } from '../../src/sftp/fetch-to-s3';
import { pinnedHostVerifier } from '../../src/sftp/host-key';

interface Job {
  endpoint: string;
  bucket: string;
  key: string;
  port: number;
  username: string;
  privateKey: string;
  fingerprint: string;
  path: string;
  size: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.FETCH_JOB!) as Job;
  const clients = createAwsClients({ endpoint: job.endpoint, region: 'eu-west-1' });
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const live = () => {
    gc();
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.external;
  };
  const baselineLive = live();
  let peakLive = baselineLive;
  const sampler = setInterval(() => (peakLive = Math.max(peakLive, live())), 50);
  const client = new SftpClient('fetch-child');
  await client.connect({
    host: '127.0.0.1',
    port: job.port,
    username: job.username,
    privateKey: job.privateKey,
    hostVerifier: pinnedHostVerifier([job.fingerprint]).verify,
  });
  const fetched = await fetchToS3(
    (client as unknown as { sftp: import('ssh2').SFTPWrapper }).sftp,
    { path: job.path, size: job.size, mtime: (await client.stat(job.path)).modifyTime },
    { s3: clients.s3, bucket: job.bucket, key: job.key, sourceUri: `sftp://127.0.0.1${job.path}` },
    { deadline: (call, step) => within(call, 30, step) },
  );
  clearInterval(sampler);
  await client.end();
  process.stdout.write(JSON.stringify({ bytes: fetched.bytes, baselineLive, peakLive, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
  for (const aws of Object.values(clients)) aws.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
