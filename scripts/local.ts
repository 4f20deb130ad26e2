/**
 * `npm start`: the service on this machine, no AWS account. Starts moto_server
 * with the stage's resources and serverless-offline running the real functions
 * against it: ingestFile on the file-events queue, as Lambda's SQS trigger would
 * (serverless-offline-sqs), the operator HTTP API and the Lambda invoke API.
 * Drops the sample partner files into the landing bucket and prints each
 * completion event, one line, as the SNS consumer receives it. Then (unless
 * `--once`) it keeps going until Ctrl-C or SIGTERM, with sshd as globex's SFTP
 * server: every few seconds it invokes the real sftpPull inside
 * serverless-offline with the input of globex's schedule (no schedule plugin
 * works with osls; see the README), and the operator console on 127.0.0.1,
 * whose URL (with its login token) it prints. A feed of acme's, due a minute
 * after start, never gets its file: the real checkExpectations, invoked on a
 * timer, reports it Missing, and the event is printed like the others
 * (dev/demo-feed.ts). How it stops: scripts/local-shutdown.ts.
 */
import './local-env';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CompletionEventDetail } from '../src/completion/completion-event';
import type { FeedEvent } from '../src/expectations/events';
import { addDemoFeed, DEMO_FEED, demoExpectation } from '../dev/demo-feed';
import { startServerlessOffline, type OfflineServer } from '../dev/serverless-offline';
import { drainQueue } from '../dev/drain-queue';
import { startLocalSftpPartner, type LocalSftpPartner } from '../dev/local-sftp';
import { startLocalStack, type LocalStack } from '../dev/local-stack';
import { MissingPrerequisiteError } from '../dev/moto-server';
import { eventLine, isFeedEvent } from './completion-line';
import { startLocalConsole } from './local-console';
import { LocalShutdown } from './local-shutdown';

const ROOT = path.resolve(__dirname, '..');
const STAGE = 'local';
/** The stack's region (scripts/local-env.ts sets a default), named in every printed command. */
const REGION = process.env.AWS_REGION!;
/** Any credentials do for the emulator; printed commands set them so no real profile is picked up. */
const LOCAL_CREDENTIALS = 'AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local';
const once = process.argv.includes('--once');
/** How often globex's schedule fires locally (deployed: its `schedule`, rate(15 minutes)). */
const SFTP_PULL_EVERY_MS = 5_000;
/**
 * How long npm start waits for one sftpPull run. serverless-esbuild rebuilds the
 * functions when a source file changes, and serverless-offline never answers an
 * invocation that was running during the reload; the next run starts after this.
 */
const SFTP_PULL_TIMEOUT_MS = 120_000;
/** How often checkExpectations runs locally (deployed: every 5 minutes); often, so the demo feed's Missing shows soon after its grace. */
const CHECK_EXPECTATIONS_EVERY_MS = 15_000;
/**
 * Minutes after start the demo feed's file is due (then a minute's grace).
 * Tests set a negative number, so the first checker run already finds it
 * missing instead of the test waiting two real minutes.
 */
const DEMO_DUE_MINUTES = Number(process.env.PARTNER_INGEST_LOCAL_DEMO_DUE_MINUTES ?? 1);
if (!Number.isInteger(DEMO_DUE_MINUTES)) throw new Error(`PARTNER_INGEST_LOCAL_DEMO_DUE_MINUTES must be a whole number of minutes, got "${process.env.PARTNER_INGEST_LOCAL_DEMO_DUE_MINUTES}"`);
/** How long `--once` waits for the samples' completion events. */
const SAMPLES_TIMEOUT_MS = 120_000;
/** How often the SNS consumer's queue is read: an event is printed at most this long after it arrived. */
const EVENT_POLL_MS = 500;

/** The events the SNS subscriber has received since the last call, completion and feed events alike (SNS delivers the detail as the envelope's Message). */
async function receivedEvents(stack: LocalStack): Promise<(CompletionEventDetail | FeedEvent)[]> {
  return (await drainQueue(stack.clients.sqs, stack.snsConsumerUrl)).map(
    (message) => JSON.parse((JSON.parse(message.Body!) as { Message: string }).Message) as CompletionEventDetail | FeedEvent,
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

const queueName = (url: string) => url.slice(url.lastIndexOf('/') + 1);

function printStack(stack: LocalStack): void {
  const { resources } = stack;
  console.log(`partner-ingest is running locally (stage "${STAGE}", region ${REGION})
  AWS emulator (moto_server)   ${stack.moto.endpoint}
  landing bucket               s3://${resources.landingBucket}/inbound/<partner>/
  work queue                   ${resources.workQueueUrl}
  ledger table                 ${resources.ledgerTable}
  events                       SNS ${resources.eventsTopicArn}, EventBridge bus ${resources.eventBusName}
  event consumers (SQS)        ${queueName(stack.snsConsumerUrl)}: subscribed to the SNS topic; npm start reads it and prints each event
                               ${queueName(stack.eventBridgeConsumerUrl)}: a rule on the bus targets it; left for you to read`);
}

/** A ready `sftp` command into the partner's outbound folder: its key, and sshd's host key pinned (no prompt, no trust on first use). */
function sftpCommand(partner: LocalSftpPartner): string {
  const { sshd } = partner;
  return `sftp -i ${sshd.privateKeyFile} -P ${sshd.port} -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${sshd.knownHostsFile} ${sshd.username}@${sshd.host}:${partner.outbound}`;
}

function printSftpPartner(partnerId: string, partner: LocalSftpPartner): void {
  const { sshd } = partner;
  console.log(`  ${`${partnerId} SFTP server (sshd)`.padEnd(28)} ${sshd.host}:${sshd.port}, user ${sshd.username}, key ${sshd.privateKeyFile}
                               files go into ${partner.outbound}`);
}

function printHowToUse(stack: LocalStack, globex: LocalSftpPartner): void {
  const endpoint = stack.moto.endpoint;
  const aws = `${LOCAL_CREDENTIALS} aws --region ${REGION} --endpoint-url ${endpoint}`;
  const cli = (command: string) => `${LOCAL_CREDENTIALS} \\\n    npx partner-ingest ${command} --stage ${STAGE} --region ${REGION} --endpoint-url ${endpoint}`;
  const sample = 'samples/globex/shipments_2026-11-02.csv.gz';
  console.log(`
Drop more files (any credentials do for the emulator):
  ${cli('drop --partner acme FILE')}
  or with the AWS CLI:
  ${aws} \\
    s3 cp FILE s3://${stack.resources.landingBucket}/inbound/acme/orders_mine.csv
Put a globex file on its SFTP server (sftpPull runs every ${SFTP_PULL_EVERY_MS / 1000} s and fetches a file once two runs saw it unchanged):
  ${sftpCommand(globex)}
  sftp> put ${sample} shipments_mine.csv.gz
  or: cp ${sample} ${globex.outbound}/shipments_mine.csv.gz
Read what the EventBridge consumer received:
  ${aws} \\
    sqs receive-message --queue-url ${stack.eventBridgeConsumerUrl} --max-number-of-messages 10
Check a file without AWS:
  npx partner-ingest validate --partner acme FILE
Operate (BATCH: an event's batch=…):
  ${cli('batches')}
  ${cli('replay BATCH')}
Watching for new files — Ctrl-C to stop.`);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const shutdown = new LocalShutdown((line) => console.log(line));
  console.log(`npm start (pid ${process.pid}): Ctrl-C or \`kill ${process.pid}\` stops it and everything it starts`);
  try {
    await run(shutdown, startedAt);
  } catch (error) {
    if (!shutdown.requested) throw error; // a child that got the terminal's Ctrl-C first is no failure
  } finally {
    await shutdown.stopAll();
  }
}

async function run(shutdown: LocalShutdown, startedAt: Date): Promise<void> {
  const { signal } = shutdown;
  const logger = new Logger({ serviceName: 'partner-ingest', logLevel: (process.env.LOG_LEVEL ?? 'WARN') as 'WARN' });
  const stack = await shutdown.starting('moto_server', startLocalStack({ stage: STAGE, logger, config: { root: ROOT } }), (started) =>
    started.stop(),
  );
  signal.throwIfAborted();
  printStack(stack);
  let globex: LocalSftpPartner | undefined;
  if (!once) {
    // sshd as globex's SFTP server
    globex = await shutdown.starting('sshd', startLocalSftpPartner(stack, 'globex', logger), (started) => started.dispose());
    signal.throwIfAborted();
    printSftpPartner('globex', globex);
    // The functions read partners/ from this config root: the demo feed goes in before serverless-offline starts.
    const demo = demoExpectation(startedAt, DEMO_DUE_MINUTES);
    addDemoFeed(globex.configRoot, demo);
    console.log(`  ${`${DEMO_FEED.partner}/${DEMO_FEED.feed} (expected file)`.padEnd(28)} due ${demo.dueAt.toISOString()} (+${demo.graceMinutes} min grace); none will come, and checkExpectations reports it missing`);
  }
  console.log('  functions (serverless-offline) starting (esbuild builds them first) …');
  /** serverless-offline's lines are shown from its start until it is asked to stop. */
  let showOffline = false;
  const offline: OfflineServer = await shutdown.starting(
    'serverless-offline',
    startServerlessOffline({
      serviceDir: ROOT,
      stage: STAGE,
      endpoint: stack.moto.endpoint,
      resources: stack.resources,
      // The partner files with globex pointed at the local sshd (the acme files as they are).
      configRoot: globex?.configRoot ?? ROOT,
      triggers: true,
      onLine: (line) => showOffline && offlineLine(line),
      signal,
    }),
    (started) => {
      showOffline = false;
      return started.stop();
    },
  );
  showOffline = true;
  console.log(`  functions (serverless-offline) ingestFile polls the file-events queue (serverless-offline-sqs)
  operator HTTP API (offline)  ${offline.api}/batches (IAM auth is not emulated)
  Lambda invoke API (offline)  ${offline.lambdaApi} (e.g. the replay function: partner-ingest-${STAGE}-replay)

Events, one line each as the SNS consumer receives them (a replay: the same batch and file, the next attempt; a feed event: status=MISSING, LATE or UNEXPECTED):`);

  // ingestFile runs inside serverless-offline; its completion events reach the SNS subscriber.
  const events: CompletionEventDetail[] = [];
  const printArrivals = async () => {
    for (const event of await receivedEvents(stack)) {
      if (!isFeedEvent(event)) events.push(event);
      console.log(eventLine(event));
    }
  };
  const samples = readdirSync(path.join(ROOT, 'samples', 'acme')).sort();
  for (const name of samples) {
    await stack.clients.s3.send(
      new PutObjectCommand({
        Bucket: stack.resources.landingBucket,
        Key: `inbound/acme/${name}`,
        Body: readFileSync(path.join(ROOT, 'samples', 'acme', name)),
      }),
    );
    console.log(`dropped samples/acme/${name} → s3://${stack.resources.landingBucket}/inbound/acme/${name}`);
  }
  for (const deadline = Date.now() + SAMPLES_TIMEOUT_MS; events.length < samples.length; await sleep(EVENT_POLL_MS, undefined, { signal })) {
    if (Date.now() > deadline) {
      throw new Error(`${events.length} of ${samples.length} sample files ingested after ${SAMPLES_TIMEOUT_MS / 1000} s; serverless-offline:\n${offline.output()}`);
    }
    await printArrivals();
  }
  const workItems = events.reduce((sum, event) => sum + event.counts.workItemsSent, 0);
  console.log(`${events.length} batches, ${workItems} work items on the work queue.`);
  if (once) return;

  const operatorConsole = await shutdown.starting(
    'console',
    startLocalConsole({ stage: STAGE, region: REGION, endpoint: stack.moto.endpoint, configRoot: globex!.configRoot }),
    (started) => started.stop(),
  );
  console.log(`operator console (open in your browser; the link works until Ctrl-C):\n  ${operatorConsole.url}`);
  printHowToUse(stack, globex!);
  // globex's schedule and the checker's, played here: the deployed rules invoke sftpPull with this input, checkExpectations with none.
  const puller = repeatedInvocation(offline, `partner-ingest-${STAGE}-sftpPull`, { partners: ['globex'] }, SFTP_PULL_EVERY_MS, signal);
  const checker = repeatedInvocation(offline, `partner-ingest-${STAGE}-checkExpectations`, {}, CHECK_EXPECTATIONS_EVERY_MS, signal);
  for (;;) {
    puller.tick();
    checker.tick();
    await printArrivals();
    await sleep(EVENT_POLL_MS, undefined, { signal }); // ends the loop on Ctrl-C / SIGTERM
  }
}

/**
 * A function invoked in serverless-offline every `everyMs` (call tick() often):
 * a run still going when the next is due is not doubled (events print
 * meanwhile), a failure is printed. SFTP_PULL_TIMEOUT_MS says why runs get long.
 */
function repeatedInvocation(offline: OfflineServer, name: string, input: unknown, everyMs: number, signal: AbortSignal): { tick(): void } {
  let running: Promise<void> | undefined;
  let nextAt = 0;
  return {
    tick() {
      if (running || Date.now() < nextAt) return;
      nextAt = Date.now() + everyMs;
      running = offline
        .invoke(name, input, { signal, timeoutMs: SFTP_PULL_TIMEOUT_MS })
        .then(({ payload, functionError }) => {
          if (functionError) console.log(`${name} failed: ${JSON.stringify(payload)}`);
        })
        .catch((error: unknown) => {
          if (!signal.aborted) console.log(`${name} run failed: ${String(error)}`);
        })
        .finally(() => {
          running = undefined;
        });
    },
  };
}

main().catch((error: unknown) => {
  if (error instanceof MissingPrerequisiteError) {
    console.error(`partner-ingest: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
