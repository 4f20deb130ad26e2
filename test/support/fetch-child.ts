// Runs one SFTP → S3 fetch in its own process and prints its peak RSS, so a
// test can check that memory stays bounded whatever the file size.
import SftpClient from 'ssh2-sftp-client';
import { createAwsClients } from '../../src/platform/aws-clients';
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
  const baselineRss = process.memoryUsage().rss;
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
    job.path,
    job.size,
    { s3: clients.s3, bucket: job.bucket, key: job.key, sourceUri: `sftp://127.0.0.1${job.path}`, mtime: Date.now() },
    { stallSeconds: 30 },
  );
  await client.end();
  process.stdout.write(JSON.stringify({ bytes: fetched.bytes, baselineRss, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
  for (const aws of Object.values(clients)) aws.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
