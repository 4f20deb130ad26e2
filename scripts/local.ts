/**
 * `npm start`: the service on this machine, no AWS account. Starts moto_server
 * with the stage's resources and serverless-offline running the real functions
 * against it: ingestFile on the file-events queue, as Lambda's SQS trigger would
 * (serverless-offline-sqs), the operator HTTP API and the Lambda invoke API.
 * Drops the sample partner files into the landing bucket and prints each
 * completion event as a consumer receives it. Then (unless `--once`) it keeps
 * going until Ctrl-C, with sshd as globex's SFTP server: every few seconds it
 * invokes the real sftpPull inside serverless-offline with the input of globex's
 * schedule (no schedule plugin works with osls; see the README).
 */
import './local-env';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { renderTable } from '../src/cli/table';
import type { CompletionEventDetail } from '../src/completion/completion-event';
import { startServerlessOffline, type OfflineServer } from '../dev/serverless-offline';
import { drainQueue } from '../dev/drain-queue';
import { startLocalSftpPartner, type LocalSftpPartner } from '../dev/local-sftp';
import { startLocalStack, type LocalStack } from '../dev/local-stack';
import { MissingPrerequisiteError } from '../dev/moto-server';

const ROOT = path.resolve(__dirname, '..');
const STAGE = 'local';
const once = process.argv.includes('--once');
/** How often globex's schedule fires locally (deployed: its `schedule`, rate(15 minutes)). */
const SFTP_PULL_EVERY_MS = 5_000;
/**
 * How long npm start waits for one sftpPull run. serverless-esbuild rebuilds the
 * functions when a source file changes, and serverless-offline never answers an
 * invocation that was running during the reload; the next run starts after this.
 */
const SFTP_PULL_TIMEOUT_MS = 120_000;
/** How long `--once` waits for the samples' completion events. */
const SAMPLES_TIMEOUT_MS = 120_000;

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

/** The completion events the SNS subscriber has received since the last call (SNS delivers the detail as the envelope's Message). */
async function completionEvents(stack: LocalStack): Promise<CompletionEventDetail[]> {
  return (await drainQueue(stack.clients.sqs, stack.snsConsumerUrl)).map(
    (message) => JSON.parse((JSON.parse(message.Body!) as { Message: string }).Message) as CompletionEventDetail,
  );
}

/**
 * What serverless-offline prints once it is up: the functions' logs, the plugins'
 * messages. Powertools' note that a run emitted no metrics (every idle sftpPull) is left out.
 */
function offlineLine(line: string): void {
  if (line.trim() === '' || line.startsWith('No application metrics to publish')) return;
  console.log(`  [serverless-offline] ${line}`);
}

async function main(): Promise<void> {
  const logger = new Logger({ serviceName: 'partner-ingest', logLevel: (process.env.LOG_LEVEL ?? 'WARN') as 'WARN' });
  const stack = await startLocalStack({ stage: STAGE, logger, config: { root: ROOT } });
  let globex: LocalSftpPartner | undefined;
  let offline: OfflineServer | undefined;
  /** serverless-offline's lines are shown from its start until it is asked to stop. */
  let showOffline = false;
  // Ctrl-C ends the watch loop; everything started is stopped on the way out.
  let stopping = false;
  const stopped = new AbortController(); // also cuts short a running sftpPull invocation
  const requestStop = () => {
    stopping = true;
    stopped.abort();
  };
  process.on('SIGINT', requestStop);
  process.on('SIGTERM', requestStop);
  try {
    await run();
  } catch (error) {
    if (!stopping) throw error; // a child that got the terminal's Ctrl-C first is no failure
  } finally {
    showOffline = false;
    await offline?.stop();
    await globex?.dispose();
    await stack.stop();
  }

  async function run(): Promise<void> {
    const { resources } = stack;
    console.log(`partner-ingest is running locally (stage "${STAGE}")
  AWS emulator (moto_server)   ${stack.moto.endpoint}
  landing bucket               s3://${resources.landingBucket}/inbound/<partner>/
  work queue                   ${resources.workQueueUrl}
  ledger table                 ${resources.ledgerTable}
  events                       SNS ${resources.eventsTopicArn}, EventBridge bus ${resources.eventBusName}`);
    if (!once) {
      globex = await startLocalSftpPartner(stack, 'globex', logger); // sshd as globex's SFTP server
      console.log(`  globex SFTP server (sshd)    127.0.0.1:${globex.sshd.port}, files go into ${globex.outbound}`);
    }
    offline = await startServerlessOffline({
      serviceDir: ROOT,
      stage: STAGE,
      endpoint: stack.moto.endpoint,
      resources,
      // The partner files with globex pointed at the local sshd (the acme files as they are).
      configRoot: globex?.configRoot ?? ROOT,
      triggers: true,
      onLine: (line) => showOffline && offlineLine(line),
    });
    showOffline = true;
    console.log(`  functions (serverless-offline) ingestFile polls the file-events queue (serverless-offline-sqs)
  operator HTTP API (offline)  ${offline.api}/batches (IAM auth is not emulated)
  Lambda invoke API (offline)  ${offline.lambdaApi} (e.g. the replay function: partner-ingest-${STAGE}-replay)
`);

    const samples = readdirSync(path.join(ROOT, 'samples', 'acme')).sort();
    for (const name of samples) {
      await stack.clients.s3.send(
        new PutObjectCommand({
          Bucket: resources.landingBucket,
          Key: `inbound/acme/${name}`,
          Body: readFileSync(path.join(ROOT, 'samples', 'acme', name)),
        }),
      );
      console.log(`dropped samples/acme/${name} → s3://${resources.landingBucket}/inbound/acme/${name}`);
    }
    // ingestFile runs inside serverless-offline; its completion events reach the SNS subscriber.
    const events: CompletionEventDetail[] = [];
    for (const deadline = Date.now() + SAMPLES_TIMEOUT_MS; events.length < samples.length && !stopping; await sleep(500)) {
      if (Date.now() > deadline) {
        throw new Error(`${events.length} of ${samples.length} sample files ingested after ${SAMPLES_TIMEOUT_MS / 1000} s; serverless-offline:\n${offline.output()}`);
      }
      events.push(...(await completionEvents(stack)));
    }
    events.sort((a, b) => (a.file.name < b.file.name ? -1 : a.file.name > b.file.name ? 1 : 0));
    console.log(`\nCompletion events received by an SNS subscriber:\n${renderTable(HEADERS, eventRows(events))}`);
    const workItems = events.reduce((sum, event) => sum + event.counts.workItemsSent, 0);
    console.log(`${events.length} batches, ${workItems} work items on the work queue.`);
    if (once) return;
    console.log(`
Drop more files, e.g. (any credentials do for the emulator):
  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\
    npx partner-ingest drop --partner acme FILE --stage ${STAGE} --region eu-west-1 --endpoint-url ${stack.moto.endpoint}
  (or: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region eu-west-1 --endpoint-url ${stack.moto.endpoint} \\
         s3 cp FILE s3://${resources.landingBucket}/inbound/acme/orders_mine.csv)
or put a globex file on its SFTP server (sftpPull runs every ${SFTP_PULL_EVERY_MS / 1000} s and fetches a file once two runs saw it unchanged):
  cp samples/globex/shipments_2026-11-02.csv.gz ${globex!.outbound}/shipments_mine.csv.gz
Check a file without AWS:  npx partner-ingest validate --partner acme FILE
Operate:                   AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\
                             npx partner-ingest batches --stage ${STAGE} --region eu-west-1 --endpoint-url ${stack.moto.endpoint}
Watching for new files — Ctrl-C to stop.`);
    // globex's schedule, played here: the deployed rule invokes sftpPull with this input.
    // A run still going when the next is due is not doubled; completion events print meanwhile.
    const sftpPull = `partner-ingest-${STAGE}-sftpPull`;
    let pulling: Promise<void> | undefined;
    while (!stopping) {
      pulling ??= offline
        .invoke(sftpPull, { partners: ['globex'] }, { signal: stopped.signal, timeoutMs: SFTP_PULL_TIMEOUT_MS })
        .then(({ payload, functionError }) => {
          if (functionError) console.log(`${sftpPull} failed: ${JSON.stringify(payload)}`);
        })
        .catch((error: unknown) => {
          if (!stopping) console.log(`${sftpPull} run failed: ${String(error)}`);
        })
        .finally(() => {
          pulling = undefined;
        });
      for (const deadline = Date.now() + SFTP_PULL_EVERY_MS; Date.now() < deadline && !stopping; ) await sleep(250);
      const seen = await completionEvents(stack);
      if (seen.length) console.log(renderTable(HEADERS, eventRows(seen)));
    }
    await pulling;
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
