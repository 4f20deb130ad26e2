/**
 * `npm run demo`: the whole story on this machine, in about a minute, no AWS
 * account. moto_server plays AWS, OpenSSH's sshd plays globex's SFTP server,
 * and the real ingest, sftp-pull, replay and expectations-checker code runs
 * against them.
 */
import './local-env';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { renderTable } from '../src/cli/table';
import { processFileEvents } from '../src/ingest/on-file-event';
import type { FileEventDeps } from '../src/ingest/types';
import { startLocalStack, type LocalStack } from '../dev/local-stack';
import { startLocalSftpPartner, type LocalSftpPartner } from '../dev/local-sftp';
import { MissingPrerequisiteError } from '../dev/moto-server';
import { pumpOnce } from '../dev/queue-pump';
import { replayBatch } from '../src/operations/replay';
import { drainQueue } from '../dev/drain-queue';
import { addDemoFeed, DEMO_FEED, demoExpectation } from '../dev/demo-feed';
import { loadPartnerRegistry } from '../src/config/load-partners';
import { checkExpectations } from '../src/expectations/check';
import type { FeedEvent } from '../src/expectations/events';
import { checkExpectationsDeps } from '../src/expectations/runtime';
import type { ServiceMetrics } from '../src/platform/telemetry';

const ROOT = path.resolve(__dirname, '..');
const logger = new Logger({ serviceName: 'partner-ingest-demo', logLevel: (process.env.LOG_LEVEL ?? 'SILENT') as 'SILENT' });

function step(title: string): void {
  console.log(`\n▶ ${title}`);
}

async function drop(stack: LocalStack, partner: string, name: string, body: Buffer): Promise<void> {
  await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.resources.landingBucket, Key: `inbound/${partner}/${name}`, Body: body }));
  console.log(`  ${partner} drops ${name} (${body.length} bytes) into s3://${stack.resources.landingBucket}/inbound/${partner}/`);
}

/** What Lambda's SQS trigger does: run ingest-file on every waiting file event. */
async function ingestWaiting(stack: LocalStack, deps: FileEventDeps): Promise<void> {
  while (
    await pumpOnce({
      sqs: stack.clients.sqs,
      queueUrl: stack.resources.fileEventsQueueUrl,
      handler: (event, context) => processFileEvents(event, context, deps),
    })
  );
}

/** A work queue that refuses every send: the infrastructure fault behind the demo's FAILED batch. */
function brokenWorkQueue(deps: FileEventDeps): FileEventDeps {
  const sqs = new Proxy(deps.sqs, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: object) =>
        command instanceof SendMessageBatchCommand
          ? Promise.reject(Object.assign(new Error('AccessDenied (injected by the demo)'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }))
          : target.send(command as never);
    },
  });
  return { ...deps, sqs, maxReceiveCount: 1 };
}

interface ConsumerEvent {
  readonly via: string;
  readonly detail: Record<string, any>;
}

/** Feed events carry a type and no batch status (see scripts/completion-line.ts). */
const isFeedEvent = (event: ConsumerEvent) => !('status' in event.detail) && 'type' in event.detail;

/** The metric the checker emits is for CloudWatch's alarm; its EMF JSON would only clutter the demo's output. */
const quietMetrics = {
  singleMetric: () => ({ addDimensions: () => undefined, addMetric: () => undefined }),
  publishStoredMetrics: () => undefined,
} as unknown as ServiceMetrics;

async function consumerEvents(stack: LocalStack): Promise<ConsumerEvent[]> {
  const sns = (await drainQueue(stack.clients.sqs, stack.snsConsumerUrl)).map((message) => ({
    via: 'SNS',
    detail: JSON.parse((JSON.parse(message.Body!) as { Message: string }).Message),
  }));
  const bus = (await drainQueue(stack.clients.sqs, stack.eventBridgeConsumerUrl)).map((message) => ({
    via: 'EventBridge',
    detail: (JSON.parse(message.Body!) as { detail: Record<string, any> }).detail,
  }));
  return [...sns, ...bus];
}

function printEvents(events: readonly ConsumerEvent[]): void {
  for (const event of events) {
    const { detail } = event;
    if (isFeedEvent(event)) {
      console.log(`  ${event.via.padEnd(11)} ← ${detail.type.padEnd(9)} ${detail.partner}/${detail.feed} due ${detail.dueAt}: ${detail.countedFiles} of ${detail.expectedFiles} file(s)`);
      continue;
    }
    console.log(
      `  ${event.via.padEnd(11)} ← ${detail.status.padEnd(9)} ${detail.partner}/${detail.feed ?? '-'} ${detail.file.name} attempt ${detail.attempt}: ` +
        `${detail.counts.valid} valid, ${detail.counts.invalid} invalid, ${detail.counts.workItemsSent} sent${detail.reason ? ` — ${detail.reason.code}` : ''}`,
    );
  }
}

export interface DemoSummary {
  readonly batches: { file: string; status: string; attempt: number; records: number; valid: number; invalid: number; workItems: number }[];
  /** Completion events (one per attempt) each consumer received. */
  readonly events: { sns: number; eventBridge: number };
  /** Feed events (Feed File Missing…) each consumer received. */
  readonly feedEvents: { type: string; partner: string; feed: string; dueAt: string; via: string }[];
}

async function main(): Promise<DemoSummary> {
  const started = Date.now();
  const demo = demoExpectation(new Date(started));
  const stack = await startLocalStack({ stage: 'demo', logger, config: { root: ROOT } });
  let globex: LocalSftpPartner | undefined;
  try {
    globex = await startLocalSftpPartner(stack, 'globex', logger);
    const deps = stack.deps({ registry: globex.registry });
    console.log(`partner-ingest demo — AWS emulated by moto_server at ${stack.moto.endpoint}, globex's SFTP server is sshd on 127.0.0.1:${globex.sshd.port}`);

    step('acme drops a clean orders file and one with a few bad rows (S3)');
    const sample = (name: string) => readFileSync(path.join(ROOT, 'samples', 'acme', name));
    await drop(stack, 'acme', 'orders_2026-11-01.csv', sample('orders_2026-11-01.csv'));
    await drop(stack, 'acme', 'orders_2026-11-02.csv', sample('orders_2026-11-02.csv'));
    await ingestWaiting(stack, deps);

    step('acme drops a file with the wrong delimiter: it breaks the contract');
    await drop(stack, 'acme', 'orders_2026-11-04.csv', sample('orders_2026-11-04.csv'));
    await ingestWaiting(stack, deps);

    step('globex publishes a Latin-1 shipments file on its SFTP server; sftp-pull fetches it once it is stable');
    writeFileSync(path.join(globex.outbound, 'shipments_2026-11-02.csv.gz'), readFileSync(path.join(ROOT, 'samples', 'globex', 'shipments_2026-11-02.csv.gz')));
    for (const run of ['first', 'second']) {
      const outcome = await globex.pull();
      if (outcome?.outcome === 'pulled') {
        console.log(`  ${run} run: ${outcome.fetched.length ? `fetched ${outcome.fetched.map((file) => file.name).join(', ')}` : `waiting for ${outcome.waiting.join(', ')} to be seen unchanged`}`);
      } else {
        throw new Error(`sftp-pull failed: ${outcome?.outcome === 'failed' ? outcome.error : 'no outcome'}`);
      }
    }
    await ingestWaiting(stack, deps);

    step('an infrastructure fault: the work queue refuses sends while acme drops another file');
    await drop(stack, 'acme', 'orders_2026-11-03.csv.gz', sample('orders_2026-11-03.csv.gz'));
    await ingestWaiting(stack, brokenWorkQueue(deps));

    step('the operator lists the last hour of batches');
    const now = new Date();
    const listed = await stack.ledger.listBatches({ from: new Date(now.getTime() - 3_600_000).toISOString(), to: now.toISOString(), limit: 50 });
    console.log(
      renderTable(
        ['batch', 'partner', 'file', 'status', 'attempt', 'reason'],
        listed.map((batch) => [batch.batchId.slice(0, 12), batch.partner, batch.file.name, batch.status, batch.attempt, batch.reason?.code ?? '']),
      ),
    );

    step('the operator replays the FAILED batch (the fault is gone; nothing else changed)');
    const failed = listed.find((batch) => batch.status === 'FAILED');
    if (!failed) throw new Error('the demo expected one FAILED batch');
    const replay = await replayBatch({ batchId: failed.batchId, actor: 'demo-operator' }, stack.operator(), { remainingMs: () => Number.POSITIVE_INFINITY, optionStyle: 'cli' });
    if (replay.dryRun) throw new Error('unexpected dry run');
    console.log(`  ${failed.file.name}: attempt ${replay.attempt} queued; ingestFile runs it like any file`);
    await ingestWaiting(stack, deps);
    const replayed = (await stack.ledger.get(failed.batchId))!;
    console.log(`  ${failed.file.name}: attempt ${replayed.attempt} ${replayed.status}, ${replayed.counts?.workItemsSent} work items sent`);

    step(`acme's returns file was due at ${demo.dueAt.toISOString()} (a minute after the demo started, a minute's grace): it never comes`);
    // The demo feed goes into the local config root (with globex's local settings), as npm start does.
    addDemoFeed(globex.configRoot, demo);
    const checkerAt = new Date(demo.dueAt.getTime() + (demo.graceMinutes + 1) * 60_000);
    console.log(`  checkExpectations runs (clock set to ${checkerAt.toISOString()}: the demo does not wait two minutes), then again five minutes later`);
    for (const at of [checkerAt, new Date(checkerAt.getTime() + 300_000)]) {
      const checker = checkExpectationsDeps(
        stack.clients,
        loadPartnerRegistry({ root: globex.configRoot }),
        { ledgerTable: stack.resources.ledgerTable, eventsTopicArn: stack.resources.eventsTopicArn, eventBusName: stack.resources.eventBusName },
        quietMetrics,
        () => at,
      );
      const published = (await checkExpectations(checker, { partner: DEMO_FEED.partner })).flatMap((check) => check.published as FeedEvent[]);
      console.log(`  run at ${at.toISOString()}: ${published.length ? published.map((event) => `${event.type} ${event.partner}/${event.feed} due ${event.dueAt}`).join(', ') : 'nothing new (each event is published once per due time)'}`);
    }

    step('completion and feed events, as two consumers received them');
    const events = await consumerEvents(stack);
    printEvents(events);

    step('work items on the work queue, per batch');
    const items = (await drainQueue(stack.clients.sqs, stack.resources.workQueueUrl)).map((message) => JSON.parse(message.Body!) as { batchId: string });
    const perBatch = new Map<string, number>();
    for (const item of items) perBatch.set(item.batchId, (perBatch.get(item.batchId) ?? 0) + 1);
    for (const batch of listed) console.log(`  ${batch.file.name.padEnd(28)} ${perBatch.get(batch.batchId) ?? 0} work item(s)`);

    const finalStates = await Promise.all(listed.map((batch) => stack.ledger.get(batch.batchId)));
    const summary: DemoSummary = {
      batches: finalStates.map((state) => ({
        file: state!.file.name,
        status: state!.status,
        attempt: state!.attempt,
        records: state!.counts?.records ?? 0,
        valid: state!.counts?.valid ?? 0,
        invalid: state!.counts?.invalid ?? 0,
        workItems: perBatch.get(state!.batchId) ?? 0,
      })),
      events: {
        sns: events.filter((event) => event.via === 'SNS' && !isFeedEvent(event)).length,
        eventBridge: events.filter((event) => event.via === 'EventBridge' && !isFeedEvent(event)).length,
      },
      feedEvents: events.filter(isFeedEvent).map(({ via, detail }) => ({ type: detail.type, partner: detail.partner, feed: detail.feed, dueAt: detail.dueAt, via })),
    };
    summary.batches.sort((a, b) => a.file.localeCompare(b.file));
    step(`summary (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(
      renderTable(
        ['file', 'status', 'attempt', 'records', 'valid', 'invalid', 'work items'],
        summary.batches.map((batch) => [batch.file, batch.status, batch.attempt, batch.records, batch.valid, batch.invalid, batch.workItems]),
      ),
    );
    console.log(`events: ${summary.events.sns} via SNS, ${summary.events.eventBridge} via EventBridge; feed events: ${summary.feedEvents.map((event) => `${event.type} ${event.partner}/${event.feed} via ${event.via}`).join(', ')}`);
    console.log(`SUMMARY ${JSON.stringify(summary)}`);
    return summary;
  } finally {
    await globex?.dispose();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof MissingPrerequisiteError ? `partner-ingest demo: ${error.message}` : error);
    process.exit(1);
  },
);
