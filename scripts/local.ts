/**
 * `npm start`: the service on this machine, no AWS account. Starts moto_server
 * with the stage's resources, drops the sample partner files into the landing
 * bucket, runs the real ingest function on the file events exactly as Lambda's
 * SQS trigger would, and prints each completion event as a consumer receives it.
 * Then (unless `--once`) it starts sshd as globex's SFTP server and
 * serverless-offline with the operator API and the functions, and keeps
 * ingesting S3 drops and pulling globex's folder until Ctrl-C.
 */
import './local-env';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { renderTable } from '../src/cli/table';
import type { CompletionEventDetail } from '../src/events/completion-event';
import { processFileEvents, type FileEventDeps } from '../src/ingest/file-events';
import { startServerlessOffline, type OfflineServer } from '../src/local/serverless-offline';
import { drainQueue } from '../src/local/drain-queue';
import { startLocalSftpPartner, type LocalSftpPartner } from '../src/local/local-sftp';
import { startLocalStack, type LocalStack } from '../src/local/local-stack';
import { MissingPrerequisiteError } from '../src/local/moto-server';
import { pumpOnce } from '../src/local/queue-pump';

const ROOT = path.resolve(__dirname, '..');
const once = process.argv.includes('--once');

function eventRows(events: readonly CompletionEventDetail[]) {
  return events.map((event) => [
    event.file.name,
    event.status,
    event.counts.records,
    event.counts.valid,
    event.counts.invalid,
    event.counts.workItemsSent,
    event.reason ? `${event.reason.code}${event.reason.line ? ` (line ${event.reason.line})` : ''}` : '',
  ]);
}

const HEADERS = ['file', 'status', 'records', 'valid', 'invalid', 'work items', 'reason'];

/** Runs the ingest function over every file event waiting on the queue; returns the completion events seen. */
async function processWaiting(stack: LocalStack, deps: FileEventDeps, waitSeconds: number): Promise<CompletionEventDetail[]> {
  while (
    await pumpOnce({
      sqs: stack.clients.sqs,
      queueUrl: stack.resources.fileEventsQueueUrl,
      handler: (event, context) => processFileEvents(event, context, deps),
      waitSeconds,
    })
  );
  // SNS delivers the event detail as the Message of its envelope.
  return (await drainQueue(stack.clients.sqs, stack.snsConsumerUrl)).map(
    (message) => JSON.parse((JSON.parse(message.Body!) as { Message: string }).Message) as CompletionEventDetail,
  );
}

async function main(): Promise<void> {
  const logger = new Logger({ serviceName: 'partner-ingest', logLevel: (process.env.LOG_LEVEL ?? 'WARN') as 'WARN' });
  const stack = await startLocalStack({ stage: 'local', logger, config: { root: ROOT } });
  let globex: LocalSftpPartner | undefined;
  let offline: OfflineServer | undefined;
  // Ctrl-C ends the watch loop; everything started is stopped on the way out.
  let stopping = false;
  const requestStop = () => {
    stopping = true;
  };
  process.on('SIGINT', requestStop);
  process.on('SIGTERM', requestStop);
  try {
    await run();
  } catch (error) {
    if (!stopping) throw error; // a child that got the terminal's Ctrl-C first is no failure
  } finally {
    await offline?.stop();
    await globex?.sshd.dispose();
    await stack.stop();
  }

  async function run(): Promise<void> {
    const { resources } = stack;
    console.log(`partner-ingest is running locally (stage "local")
  AWS emulator (moto_server)   ${stack.moto.endpoint}
  landing bucket               s3://${resources.landingBucket}/inbound/<partner>/
  work queue                   ${resources.workQueueUrl}
  ledger table                 ${resources.ledgerTable}
  events                       SNS ${resources.eventsTopicArn}, EventBridge bus ${resources.eventBusName}
`);
    if (!once) {
      globex = await startLocalSftpPartner(stack, 'globex', logger); // sshd as globex's SFTP server
      console.log(`  globex SFTP server (sshd)    127.0.0.1:${globex.sshd.port}, files go into ${globex.outbound}`);
      offline = await startServerlessOffline({
        serviceDir: ROOT,
        stage: 'local',
        endpoint: stack.moto.endpoint,
        resources,
        configRoot: ROOT,
      });
      console.log(`  operator HTTP API (offline)  ${offline.api}/batches (serverless-offline; IAM auth is not emulated)
  Lambda invoke API (offline)  ${offline.lambdaApi} (e.g. the replay function: partner-ingest-local-replay)
`);
    }

    const samples = path.join(ROOT, 'samples', 'acme');
    for (const name of readdirSync(samples).sort()) {
      await stack.clients.s3.send(
        new PutObjectCommand({ Bucket: resources.landingBucket, Key: `inbound/acme/${name}`, Body: readFileSync(path.join(samples, name)) }),
      );
      console.log(`dropped samples/acme/${name} → s3://${resources.landingBucket}/inbound/acme/${name}`);
    }
    const events = await processWaiting(stack, stack.deps(), 1);
    console.log(`\nCompletion events received by an SNS subscriber:\n${renderTable(HEADERS, eventRows(events))}`);
    const workItems = events.reduce((sum, event) => sum + event.counts.workItemsSent, 0);
    console.log(`${events.length} batches, ${workItems} work items on the work queue.`);
    if (once) return;
    console.log(`
Drop more files, e.g.:
  npx partner-ingest drop --partner acme FILE --stage local --region eu-west-1 --endpoint-url ${stack.moto.endpoint}
  (or: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region eu-west-1 --endpoint-url ${stack.moto.endpoint} \\
         s3 cp FILE s3://${resources.landingBucket}/inbound/acme/orders_mine.csv)
or put a globex file on its SFTP server:
  cp samples/globex/shipments_2026-11-02.csv.gz ${globex!.outbound}/shipments_mine.csv.gz
Check a file without AWS:  npx partner-ingest validate --partner acme FILE
Operate:                   npx partner-ingest batches --stage local --region eu-west-1 --endpoint-url ${stack.moto.endpoint}
Watching for new files — Ctrl-C to stop.`);
    const deps = stack.deps({ registry: globex!.registry });
    while (!stopping) {
      await globex!.pull();
      const seen = await processWaiting(stack, deps, 5);
      if (seen.length) console.log(renderTable(HEADERS, eventRows(seen)));
    }
  }
}

main().catch((error: unknown) => {
  if (error instanceof MissingPrerequisiteError) {
    console.error(`partner-ingest: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
