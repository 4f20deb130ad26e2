/**
 * The operator API as serverless.yml wires it, served by serverless-offline
 * (`sls offline start`, API Gateway REST events and the Lambda invoke API on
 * loopback) in a temporary copy of the project, with the functions pointed at a
 * private moto_server. Checks the routes, the path parameters and the
 * environment the functions get, over real HTTP.
 *
 * Offline, the functions cannot use the stack's !Ref settings: serverless.yml's
 * `--param resourceSettings=environment` switch makes them read LANDING_BUCKET,
 * WORK_QUEUE_URL, ... from this process's environment instead
 * (custom.resourceSettingSources), with `--localEnvironment` to pass them on.
 *
 * IAM authorization is NOT exercised here: serverless-offline does not support
 * `authorizer: aws_iam` ("Serverless Offline does not support the AWS_IAM
 * authorization type", src/events/authFunctionNameExtractor.js) and serves such
 * routes with no authorization at all, so these requests are unsigned. That every
 * route of the deployed API requires AWS_IAM is proven on the packaged template
 * (package-operator-api.test.ts).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startServerlessOffline, type OfflineServer } from '../../dev/serverless-offline';
import { ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, putInbound, useTestStack } from '../support/stack';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const PROJECT_ENTRIES = ['serverless.yml', 'resources', 'package.json', 'tsconfig.json', 'functions', 'src', 'dev', 'partners', 'schemas', 'scripts', 'bin'];
/** osls start-up, the partner registry and esbuild bundling four functions. */
const OFFLINE_START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 20_000;
const STAGE = 'dev';

// Started (and stopped) by its own hooks, registered first, so beforeAll below can use it.
const stack = useTestStack();
let copy: string;
let offline: OfflineServer | undefined;
let api: string;
let lambdaApi: string;
const offlineOutput = () => offline?.output() || '(none)';

/** A throwaway copy of the service (serverless-esbuild writes .esbuild/ into it), node_modules symlinked. */
function projectCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'partner-ingest-offline-'));
  for (const entry of PROJECT_ENTRIES) {
    const from = path.join(PROJECT_ROOT, entry);
    if (existsSync(from)) cpSync(from, path.join(dir, entry), { recursive: true });
  }
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  mkdirSync(path.join(dir, '.tmp'));
  return dir;
}

beforeAll(async () => {
  copy = projectCopy();
  offline = await startServerlessOffline({
    serviceDir: copy,
    stage: STAGE,
    endpoint: stack.moto.endpoint,
    resources: stack.resources,
    // serverless-offline sets LAMBDA_TASK_ROOT=/var/task; partners/ and schemas/ are in the copy.
    configRoot: copy,
    extraEnv: { TMPDIR: path.join(copy, '.tmp') },
    startTimeoutMs: OFFLINE_START_TIMEOUT_MS,
  });
  ({ api, lambdaApi } = offline);
}, OFFLINE_START_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await offline?.stop();
  if (copy && !process.env.KEEP_PACKAGE_COPIES) rmSync(copy, { recursive: true, force: true });
}, STOP_TIMEOUT_MS + 15_000);

interface Answer {
  status: number;
  body: any;
}

/** One request to the offline API; a non-JSON answer (a 502 from a crashed handler) fails with the osls output. */
async function call(method: 'GET' | 'POST', route: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${api}${route}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    throw new Error(
      `${method} ${route}: ${response.status} with a non-JSON body ${JSON.stringify(text)}. ` +
        `The handler's error, from the same function through the Lambda invoke API: ${await handlerError()}\n` +
        `osls output:\n${offlineOutput()}`,
    );
  }
}

/**
 * Why operatorApi fails: serverless-offline answers an API request whose handler threw with
 * an empty 502 and prints nothing, but its Lambda invoke API returns the error.
 */
async function handlerError(): Promise<string> {
  try {
    const response = await fetch(`${lambdaApi}/2015-03-31/functions/partner-ingest-${STAGE}-operatorApi/invocations`, {
      method: 'POST',
      body: JSON.stringify({ httpMethod: 'GET', resource: '/batches', queryStringParameters: null, requestContext: { identity: {} } }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return await response.text();
  } catch (error) {
    return `(could not invoke it: ${String(error)})`;
  }
}

const UNKNOWN_BATCH = 'f'.repeat(32);

test('GET /batches lists batches (none yet)', async () => {
  expect(await call('GET', '/batches')).toEqual({ status: 200, body: { batches: [] } });
});

test('an unknown batch is 404 UNKNOWN_BATCH, for GET and for a replay', async () => {
  expect(await call('GET', `/batches/${UNKNOWN_BATCH}`)).toMatchObject({ status: 404, body: { code: 'UNKNOWN_BATCH' } });
  expect(await call('POST', `/batches/${UNKNOWN_BATCH}/replay`, {})).toMatchObject({
    status: 404,
    body: { code: 'UNKNOWN_BATCH' },
  });
});

test('a processed file is listed, shown and dry-run replayed over the API, and by the replay function', async () => {
  const key = 'inbound/acme/orders_x.csv';
  await putInbound(stack, key, ordersFile(3));
  expect(await drainFileEvents(stack)).toBe(1);
  const batchId = await batchIdOfKey(stack, key);
  // Its work items; the redrive test below wants the work queue empty.
  expect(await drainQueue(stack, stack.resources.workQueueUrl)).toHaveLength(3);

  const listed = await call('GET', '/batches?status=COMPLETED');
  expect(listed.status).toBe(200);
  expect(listed.body.batches.map((batch: { batchId: string }) => batch.batchId)).toEqual([batchId]);
  expect(await call('GET', '/batches?status=REJECTED')).toEqual({ status: 200, body: { batches: [] } });

  const shown = await call('GET', `/batches/${batchId}`);
  expect(shown).toMatchObject({ status: 200, body: { batch: { batchId, status: 'COMPLETED', partner: 'acme' } } });

  // A COMPLETED batch is replayed only with force; a dry run (which needs none) sends and changes nothing.
  expect(await call('POST', `/batches/${batchId}/replay`, {})).toMatchObject({ status: 409, body: { code: 'NEEDS_FORCE', hint: 'add {"force":true} if that is what you want' } });
  expect(await call('POST', `/batches/${batchId}/replay`, { dryRun: true })).toMatchObject({
    status: 200,
    body: { dryRun: true, batchId, status: 'COMPLETED', counts: { records: 3, valid: 3, invalid: 0 } },
  });

  // The replay function, through serverless-offline's Lambda invoke API (as `aws lambda invoke` would).
  const invoked = await fetch(`${lambdaApi}/2015-03-31/functions/partner-ingest-${STAGE}-replay/invocations`, {
    method: 'POST',
    body: JSON.stringify({ batchId, dryRun: true }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const invokedText = await invoked.text();
  expect({ status: invoked.status, error: invoked.headers.get('x-amz-function-error') }).toEqual({ status: 200, error: null });
  expect(JSON.parse(invokedText)).toMatchObject({ dryRun: true, batchId, status: 'COMPLETED' });
  // The actor is who is authenticated (here the function itself), never a name in the payload.
  const actors = (await call('GET', `/batches/${batchId}`)).body.audit.map((entry: { actor: string }) => entry.actor);
  expect(actors[actors.length - 1]).toMatch(/replay/);
});

test('POST /redrive moves the work DLQ back to the work queue', async () => {
  await stack.clients.sqs.send(
    new SendMessageCommand({ QueueUrl: stack.resources.workDlqUrl, MessageBody: JSON.stringify({ batchId: UNKNOWN_BATCH, item: 1 }) }),
  );
  expect(await call('POST', '/redrive', { queue: 'work' })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
  const redriven = await call('POST', '/redrive', { queue: 'work', all: true });
  expect(redriven).toMatchObject({ status: 200, body: { results: [{ queue: 'work', moved: 1, kept: 0, complete: true }] } });
  expect(redriven.body.results).toHaveLength(1);
  const { Messages = [] } = await stack.clients.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: stack.resources.workQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  expect(Messages.map((message) => JSON.parse(message.Body!))).toEqual([{ batchId: UNKNOWN_BATCH, item: 1 }]);

  expect(await call('POST', '/redrive', { queue: 'everything' })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
});
