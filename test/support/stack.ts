import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { processFileEvents } from '../../src/ingest/on-file-event';
import type { FileEventDeps } from '../../src/ingest/types';
import { batchIdOf } from '../../src/ledger/batch-id';
import { drainQueue as drainFrom } from '../../dev/drain-queue';
import { startLocalStack, type LocalStack } from '../../dev/local-stack';
import { replayBatch, type ReplayRequest, type ReplayResult } from '../../src/operations/replay';
import type { BatchState } from '../../src/ledger/types';
import { createAjv } from '../../src/records/ajv';
import { instrumentClients } from './harness/instrument';
import { invoke, pumpAs, type InvokeOptions } from './harness/invoke';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Backoff short enough for tests that exercise retries. */
export const FAST_BACKOFF = { attempts: 4, baseMs: 1, maxMs: 5 };

export type TestStack = LocalStack;

/**
 * Starts a private moto_server with the stage's resources and two event consumers.
 * Its clients are as strict as AWS (test/support/harness): service limits are
 * enforced, and the calls each function makes are checked against its packaged role.
 */
export function startTestStack(): Promise<TestStack> {
  const logger = new Logger({ serviceName: 'partner-ingest-test', logLevel: (process.env.TEST_LOG_LEVEL ?? 'SILENT') as 'SILENT' });
  return startLocalStack({ stage: 'test', logger, config: { root: PROJECT_ROOT }, backoff: FAST_BACKOFF, instrument: instrumentClients });
}

/**
 * A private stack for one test file: started before its tests, stopped after
 * them, every queue emptied after each test so a test sees only what it caused.
 */
export function useTestStack(): TestStack {
  let current: TestStack | undefined;
  beforeAll(async () => {
    current = await startTestStack();
  }, 60_000);
  afterAll(async () => {
    await current?.stop();
  });
  afterEach(async () => {
    if (!current) return;
    const { resources } = current;
    for (const url of [
      resources.fileEventsQueueUrl,
      resources.fileEventsDlqUrl,
      resources.workQueueUrl,
      resources.workDlqUrl,
      resources.sendRangesQueueUrl,
      resources.sendRangesDlqUrl,
      current.snsConsumerUrl,
      current.eventBridgeConsumerUrl,
    ]) {
      await drainQueue(current, url);
    }
  });
  return new Proxy({} as TestStack, {
    get: (_, property) => {
      if (!current) throw new Error('the test stack is used before beforeAll started it');
      return Reflect.get(current, property);
    },
  });
}

/** The batch id of an inbound object as ingest-file computes it (bucket, key, version). */
export async function batchIdOfKey(stack: TestStack, key: string): Promise<string> {
  const head = await stack.clients.s3.send(new HeadObjectCommand({ Bucket: stack.resources.landingBucket, Key: key }));
  return batchIdOf({ bucket: stack.resources.landingBucket, key, versionId: head.VersionId, etag: head.ETag });
}

/** Item ids of every work item on the work queue (which is emptied). */
export async function workItemIds(stack: TestStack): Promise<string[]> {
  return (await drainQueue(stack, stack.resources.workQueueUrl)).map((message) => JSON.parse(message.Body!).itemId as string);
}

export async function putInbound(stack: TestStack, key: string, body: string | Buffer): Promise<void> {
  await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.resources.landingBucket, Key: key, Body: body }));
}

/**
 * Runs ingestFile on the file-events queue until it is empty, as its event source
 * mapping would: one invocation per message, each with ingestFile's packaged timeout.
 */
export async function drainFileEvents(stack: TestStack, deps: FileEventDeps = stack.deps(), options: InvokeOptions = {}): Promise<number> {
  let handled = 0;
  for (;;) {
    const count = await pumpAs(
      'ingestFile',
      { sqs: stack.clients.sqs, queueUrl: stack.resources.fileEventsQueueUrl, handler: (event, context) => processFileEvents(event, context, deps) },
      options,
    );
    if (!count) return handled;
    handled += count;
  }
}

/** An operator's replay request, as the replay function takes it (queued for ingestFile; answered at once). */
export function requestReplay(stack: TestStack, request: Omit<ReplayRequest, 'actor'>, operator = stack.operator()): Promise<ReplayResult> {
  return invoke('replay', (context) =>
    replayBatch({ ...request, actor: context.invokedFunctionArn }, operator, { remainingMs: () => context.getRemainingTimeInMillis(), optionStyle: 'json' }),
  );
}

/** `work` (e.g. the CLI waiting for a replay) with ingestFile consuming its queue meanwhile, as a deployed stage's would. */
export async function withIngestFileRunning<T>(stack: TestStack, work: Promise<T>, deps: FileEventDeps = stack.deps()): Promise<T> {
  let done = false;
  const finished = work.finally(() => (done = true));
  while (!done) {
    await drainFileEvents(stack, deps);
    await Promise.race([finished.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 200))]);
  }
  return finished;
}

/** A replay requested, then run to its end by ingestFile draining its queue with `deps`: the batch as it ended. */
export async function replayToEnd(stack: TestStack, request: Omit<ReplayRequest, 'actor'>, deps: FileEventDeps = stack.deps()): Promise<BatchState> {
  const queued = await requestReplay(stack, request);
  if (queued.dryRun) throw new Error('replayToEnd is for replays that run; use requestReplay for a dry run');
  await drainFileEvents(stack, deps);
  return (await stack.ledger.get(request.batchId))!;
}

/** Receives (and deletes) everything currently on a queue. */
export function drainQueue(stack: TestStack, queueUrl: string): Promise<Message[]> {
  return drainFrom(stack.clients.sqs, queueUrl);
}

/** Completion events as a consumer receives them: SNS envelopes and EventBridge events, unwrapped to the detail. */
export async function receivedEvents(stack: TestStack): Promise<{ sns: SnsDelivery[]; eventBridge: EventBridgeDelivery[] }> {
  const sns = (await drainQueue(stack, stack.snsConsumerUrl)).map((message) => {
    const envelope = JSON.parse(message.Body!) as { Message: string; MessageAttributes: Record<string, { Value: string }> };
    return { detail: JSON.parse(envelope.Message), attributes: envelope.MessageAttributes };
  });
  const eventBridge = (await drainQueue(stack, stack.eventBridgeConsumerUrl)).map((message) => {
    const event = JSON.parse(message.Body!) as { source: string; 'detail-type': string; detail: Record<string, unknown> };
    return { source: event.source, detailType: event['detail-type'], detail: event.detail };
  });
  return { sns, eventBridge };
}

export interface SnsDelivery {
  readonly detail: Record<string, unknown>;
  readonly attributes: Record<string, { Value: string }>;
}
export interface EventBridgeDelivery {
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
}

const eventAjv = createAjv();
/** The published event contract, compiled once. */
export const validateEvent = eventAjv.compile(
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'schemas', 'events', 'batch-event.v1.schema.json'), 'utf8')),
);

/** Both channels delivered exactly one event per finished batch, each valid against the published schema. */
export async function expectSingleEvent(stack: TestStack, status: string): Promise<Record<string, any>> {
  const { sns, eventBridge } = await receivedEvents(stack);
  expect(sns).toHaveLength(1);
  expect(eventBridge).toHaveLength(1);
  const detail = sns[0]!.detail;
  expect(validateEvent(detail)).toBe(true);
  expect(validateEvent.errors ?? null).toBeNull();
  expect(eventBridge[0]!.detail).toEqual(detail);
  expect(eventBridge[0]!.source).toBe('partner-ingest');
  expect(eventBridge[0]!.detailType).toBe(`Batch ${status.charAt(0)}${status.slice(1).toLowerCase()}`);
  expect(sns[0]!.attributes.status?.Value).toBe(status);
  expect(sns[0]!.attributes.partner?.Value).toBe(detail.partner);
  return detail as Record<string, any>;
}

/** `ids` are exactly the item ids of records 1…count of `batchId`, each once. */
export function expectExactlyOnce(ids: string[], batchId: string, count: number): void {
  expect(ids).toHaveLength(count);
  expect(new Set(ids)).toEqual(new Set(Array.from({ length: count }, (_, index) => `${batchId}:${index + 1}`)));
}

/** `count` of a batch's work items in the work DLQ, as failed consumers leave them. */
export async function putWorkDeadLetters(stack: TestStack, batchId: string, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) {
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.resources.workDlqUrl,
        MessageBody: JSON.stringify({ envelopeVersion: 1, itemId: `${batchId}:${n}`, batchId }),
        MessageAttributes: { batchId: { DataType: 'String', StringValue: batchId } },
      }),
    );
  }
}
