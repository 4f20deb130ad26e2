// The console's server over real HTTP against a moto stage: who may call it
// (the security rules) and that its API answers through the operations core.
import { cpSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { loadPartnerRegistry, type PartnerRegistry } from '../../src/config/load-partners';
import type { ConsoleApiDeps } from '../../src/console/api';
import { consoleApiDeps } from '../../src/console/connect';
import { startConsole, type RunningConsole } from '../../src/console/server';
import { RemoteFileLedger } from '../../src/sftp/remote-file-ledger';
import { connectStage, type StageConnection } from '../../src/operations/stage';
import { expectationsOverview } from '../../src/expectations/overview';
import { acmeYmlUpToOrders, tempDir } from '../support/csv-cases';
import { ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, PROJECT_ROOT, putInbound, putWorkDeadLetters, useTestStack } from '../support/stack';

const stack = useTestStack();
let connection: StageConnection;
let console_: RunningConsole;
let api: ConsoleApiDeps;
let registry: PartnerRegistry;
let cleanupConfig: () => void;

beforeAll(async () => {
  // This checkout's partners, with acme's orders feed due 06:00 Berlin on weekdays (for the overview's feed expectations).
  const temp = tempDir('partner-ingest-console-');
  cleanupConfig = temp.cleanup;
  for (const folder of ['partners', 'schemas']) cpSync(path.join(PROJECT_ROOT, folder), path.join(temp.dir, folder), { recursive: true });
  const acme = path.join(temp.dir, 'partners', 'acme.yml');
  writeFileSync(acme, `${acmeYmlUpToOrders().trimEnd()}\n    expect: { schedule: "0 6 * * MON-FRI", timezone: Europe/Berlin, graceMinutes: 60 }\n`);
  registry = loadPartnerRegistry({ root: temp.dir });
  connection = await connectStage({ stage: 'test', region: 'eu-west-1', endpoint: stack.moto.endpoint });
  api = consoleApiDeps(connection, registry, stack.moto.endpoint);
  console_ = await startConsole({
    api,
    assets: new Map([['/main.js', { contentType: 'text/javascript', body: 'export {};' }]]),
  });
});

afterAll(async () => {
  await console_?.close();
  for (const client of Object.values(connection?.clients ?? {})) client.destroy();
  api?.cloudWatch.destroy();
  cleanupConfig?.();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request as a browser (or anything else on this machine) could send it; Host defaults to the console's own. */
function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: console_.port, method, path, headers: { host: `127.0.0.1:${console_.port}`, ...headers } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const json = (answer: Answer) => JSON.parse(answer.body) as Record<string, any>;

/** Signs in once and keeps the cookie and CSRF token for the other tests. */
let cookie = '';
let csrf = '';
const signedIn = (headers: Record<string, string> = {}) => ({ cookie, ...headers });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call('POST', path, signedIn({ 'content-type': 'application/json', 'x-csrf-token': csrf, origin: console_.origin, ...headers }), JSON.stringify(body));

test('the printed URL signs in for the console\'s lifetime: its token becomes an HttpOnly SameSite=Strict cookie each time, and a wrong one gets a 401 page', async () => {
  expect(console_.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${console_.port}/\\?token=[A-Za-z0-9_-]{43}$`));
  const token = new URL(console_.url).searchParams.get('token')!;

  expect((await call('GET', '/api/session')).status).toBe(401);
  const wrong = await call('GET', '/?token=wrong');
  expect(wrong.status).toBe(401);
  expect(wrong.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(wrong.body).toContain("This console link's token is wrong");
  expect(wrong.headers['set-cookie']).toBeUndefined();
  // Nearly right is as wrong (and the page echoes nothing of the request).
  const nearly = await call('GET', `/?token=${token.slice(0, -1)}<b>`);
  expect([nearly.status, nearly.body.includes('<b>')]).toEqual([401, false]);

  const signIn = await call('GET', `/?token=${token}`);
  expect(signIn.status).toBe(303);
  expect(signIn.headers.location).toBe('/');
  const setCookie = String(signIn.headers['set-cookie']);
  expect(setCookie).toMatch(new RegExp(`^partner_ingest_console_${console_.port}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/$`));
  cookie = setCookie.split(';')[0]!;

  // A second tab or browser opens the same URL: its own session, and the first one still works.
  const again = await call('GET', `/?token=${token}`);
  expect(again.status).toBe(303);
  expect(again.headers.location).toBe('/');
  const secondCookie = String(again.headers['set-cookie']).split(';')[0]!;
  expect(secondCookie).not.toBe(cookie);
  expect((await call('GET', '/api/session', { cookie: secondCookie })).status).toBe(200);
  expect((await call('GET', '/api/session', { cookie: `${cookie.split('=')[0]}=${'x'.repeat(43)}` })).status).toBe(401);

  const session = await call('GET', '/api/session', signedIn());
  expect(session.status).toBe(200);
  expect(json(session)).toEqual({ csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), stage: 'test', region: 'eu-west-1', actor: connection.actor });
  expect(connection.actor).toMatch(/^arn:aws:/);
  csrf = json(session).csrfToken;
  expect(session.headers['content-security-policy']).toContain("default-src 'self'");
  expect(session.headers['access-control-allow-origin']).toBeUndefined();
});

test('requests not from the console\'s own page are refused, and change nothing', async () => {
  const key = 'inbound/acme/orders_guarded.csv';
  await putInbound(stack, key, ordersFile(3, ['ORD-1,x']));
  await drainFileEvents(stack);
  const batchId = await batchIdOfKey(stack, key);
  const before = await stack.ledger.get(batchId);
  expect(before).toMatchObject({ status: 'REJECTED', attempt: 1 });
  const replay = `/api/batches/${batchId}/replay`;

  // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host.
  const rebound = await call('GET', '/api/session', signedIn({ host: `evil.example:${console_.port}` }));
  expect([rebound.status, json(rebound).code]).toEqual([421, 'BAD_HOST']);
  // Another origin, even another port of this machine.
  for (const origin of ['https://evil.example', `http://127.0.0.1:${console_.port + 1}`]) {
    const crossOrigin = await post(replay, {}, { origin });
    expect([crossOrigin.status, json(crossOrigin).code]).toEqual([403, 'CROSS_ORIGIN']);
  }
  const crossSite = await post(replay, {}, { 'sec-fetch-site': 'cross-site' });
  expect([crossSite.status, json(crossSite).code]).toEqual([403, 'CROSS_ORIGIN']);
  const noCsrf = await post(replay, {}, { 'x-csrf-token': '' });
  expect([noCsrf.status, json(noCsrf).code]).toEqual([403, 'NO_CSRF_TOKEN']);
  const wrongCsrf = await post(replay, {}, { 'x-csrf-token': 'x'.repeat(43) });
  expect([wrongCsrf.status, json(wrongCsrf).code]).toEqual([403, 'NO_CSRF_TOKEN']);
  const noCookie = await post(replay, {}, { cookie: '' });
  expect([noCookie.status, json(noCookie).code]).toEqual([401, 'NO_SESSION']);
  // A form post (no preflight) cannot send JSON.
  const form = await post(replay, {}, { 'content-type': 'text/plain' });
  expect([form.status, json(form).code]).toEqual([415, 'NOT_JSON']);

  expect(await stack.ledger.get(batchId)).toEqual(before);
  expect(await stack.ledger.auditTrail(batchId)).toEqual([]);
});

test('the API lists a batch, shows its errors, links its raw file, and previews then queues its replay as the operator', async () => {
  const key = 'inbound/acme/orders_console.csv';
  await putInbound(stack, key, ordersFile(2, ['ORD-1,x']));
  await drainFileEvents(stack);
  const batchId = await batchIdOfKey(stack, key);

  const listed = await call('GET', '/api/batches?status=REJECTED&partner=acme&limit=1', signedIn());
  expect(listed.status).toBe(200);
  expect(json(listed).batches.map((batch: { batchId: string }) => batch.batchId)).toContain(batchId);

  const shown = json(await call('GET', `/api/batches/${batchId}`, signedIn()));
  expect(shown.batch).toMatchObject({ batchId, status: 'REJECTED' });
  expect(shown.firstErrors.length).toBeGreaterThan(0);
  expect(shown.firstErrors[0]).toMatchObject({ line: '4' });
  expect(shown.completionEvent).toMatchObject({ eventId: `${batchId}:1`, status: 'REJECTED', batchId });

  const link = await call('GET', `/api/batches/${batchId}/files/raw`, signedIn());
  expect(link.status).toBe(303);
  const download = await fetch(String(link.headers.location));
  expect(download.status).toBe(200);
  expect(await download.text()).toBe(ordersFile(2, ['ORD-1,x']));
  expect(String(link.headers.location)).toMatch(/X-Amz-Expires=300/);

  const preview = await post(`/api/batches/${batchId}/replay`, { dryRun: true });
  expect(preview.status).toBe(200);
  expect(json(preview)).toMatchObject({ dryRun: true, status: 'REJECTED', complete: true });
  const needsNothing = await post(`/api/batches/${batchId}/replay`, { dryRun: false });
  expect(needsNothing.status).toBe(202);
  expect(json(needsNothing)).toEqual({ dryRun: false, batchId, attempt: 2, status: 'QUEUED', tookOver: false });
  const audit = await stack.ledger.auditTrail(batchId);
  expect(audit.map((entry) => [entry.actor, entry.outcome])).toEqual([
    [connection.actor, expect.stringMatching(/^would be REJECTED/)],
    [connection.actor, 'queued attempt 2'],
  ]);
  await drainFileEvents(stack);

  const unknown = await call('GET', `/api/batches/${'f'.repeat(32)}`, signedIn());
  expect([unknown.status, json(unknown).code, json(unknown).hint]).toEqual([404, 'UNKNOWN_BATCH', 'find it on the Batches page']);
  const typo = await post(`/api/batches/${batchId}/replay`, { froce: true });
  expect([typo.status, json(typo).code]).toEqual([400, 'BAD_REQUEST']);
});

test('the listing pages newest first with a cursor, showing each batch once', async () => {
  for (let n = 1; n <= 5; n++) await putInbound(stack, `inbound/acme/orders_page_${n}.csv`, ordersFile(1));
  await drainFileEvents(stack);
  const seen: string[] = [];
  let next: string | null = null;
  let pages = 0;
  do {
    const page = json(await call('GET', `/api/batches?partner=acme&limit=2${next ? `&cursor=${next}` : ''}`, signedIn()));
    seen.push(...page.batches.map((batch: { batchId: string }) => batch.batchId));
    next = page.next;
    pages++;
  } while (next);
  const all = json(await call('GET', '/api/batches?partner=acme&limit=1000', signedIn())).batches.map((batch: { batchId: string }) => batch.batchId);
  expect(seen).toEqual(all);
  expect(all.length).toBeGreaterThanOrEqual(5);
  expect(pages).toBeGreaterThanOrEqual(3);
});

test('a redrive dry run counts one batch\'s dead letters and moves nothing; the overview shows the DLQ depth, the stage\'s alarms in ALARM and SFTP pulls', async () => {
  const batchId = 'c'.repeat(32);
  await putWorkDeadLetters(stack, batchId, 3);
  // One of the stage's alarms in ALARM, and another stage's, which the overview leaves out.
  const alarms = new CloudWatchClient({ region: 'eu-west-1', endpoint: stack.moto.endpoint });
  for (const name of ['test-partner-ingest-work-dlq-not-empty', 'prod-partner-ingest-work-dlq-not-empty']) {
    await alarms.send(
      new PutMetricAlarmCommand({ AlarmName: name, Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum', Period: 60, EvaluationPeriods: 1, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' }),
    );
    await alarms.send(new SetAlarmStateCommand({ AlarmName: name, StateValue: 'ALARM', StateReason: 'dead letters waiting' }));
  }
  alarms.destroy();
  // globex's last pull met a host key that is not pinned (as sftpPull records it).
  await new RemoteFileLedger(stack.clients.dynamo, stack.resources.ledgerTable).recordPull('globex', {
    ok: false,
    code: 'SFTP_HOST_KEY_MISMATCH',
    message: 'host key SHA256:x of partner globex is not pinned',
    hostKeyMismatch: true,
  });
  const overview = json(await call('GET', '/api/overview', signedIn()));
  expect(overview.queues.find((queue: { queue: string }) => queue.queue === 'work').deadLetters).toMatchObject({ visible: 3, oldestAgeSeconds: null });
  expect(overview.sftp).toEqual([
    {
      partner: 'globex',
      status: { lastPullAt: expect.any(String), lastError: expect.objectContaining({ code: 'SFTP_HOST_KEY_MISMATCH' }), hostKeyMismatches: 1, lastHostKeyMismatchAt: expect.any(String) },
    },
  ]);
  expect(overview.alarms).toEqual({ value: [{ name: 'test-partner-ingest-work-dlq-not-empty', reason: 'dead letters waiting', since: expect.any(String) }] });

  const dryRun = await post('/api/redrive', { queue: 'work', batchId, dryRun: true });
  expect(dryRun.status).toBe(200);
  expect(json(dryRun).results).toEqual([{ queue: 'work', moved: 3, kept: 0, complete: true, batches: { [batchId]: 3 } }]);
  expect(await drainQueue(stack, stack.resources.workQueueUrl)).toEqual([]);
  expect(await drainQueue(stack, stack.resources.workDlqUrl)).toHaveLength(3);
  expect((await stack.ledger.auditTrail(batchId)).map((entry) => [entry.actor, entry.outcome])).toEqual([
    [connection.actor, 'requested'],
    [connection.actor, 'would move 3'],
  ]);
});

test('the Dead letters view groups each DLQ by batch with the oldest message\'s age, and viewing it again and again moves and records nothing', async () => {
  const batchId = 'd'.repeat(32);
  const other = 'e'.repeat(32);
  await drainQueue(stack, stack.resources.workDlqUrl);
  const before = Date.now();
  await putWorkDeadLetters(stack, batchId, 2);
  await putWorkDeadLetters(stack, other, 1);
  const auditBefore = [await stack.ledger.auditTrail(), await stack.ledger.auditTrail(batchId)];

  for (let visit = 1; visit <= 3; visit++) {
    const view = await call('GET', '/api/dead-letters', signedIn());
    expect(view.status).toBe(200);
    const work = json(view).queues.find((queue: { queue: string }) => queue.queue === 'work');
    expect(work).toMatchObject({ depth: 3, complete: true });
    expect(work.batches).toEqual([
      { batchId, messages: 2, oldestSentAt: expect.any(String) },
      { batchId: other, messages: 1, oldestSentAt: expect.any(String) },
    ]);
    // SentTimestamp has second precision in moto; the age is real, not a placeholder.
    expect(Date.parse(work.oldestSentAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(work.oldestSentAt)).toBeLessThanOrEqual(Date.now());
    expect(json(view).queues.map((queue: { queue: string }) => queue.queue)).toEqual(['work', 'file-events', 'send-ranges']);
  }
  // Nothing recorded, nothing moved, every message visible again at once.
  expect([await stack.ledger.auditTrail(), await stack.ledger.auditTrail(batchId)]).toEqual(auditBefore);
  expect(await drainQueue(stack, stack.resources.workQueueUrl)).toEqual([]);
  expect(await drainQueue(stack, stack.resources.workDlqUrl)).toHaveLength(3);
  // A view is a GET: it needs the session, like every API call.
  expect((await call('GET', '/api/dead-letters')).status).toBe(401);
});

test('the overview shows each feed\'s expectation through the same core as GET /expectations', async () => {
  const overview = json(await call('GET', '/api/overview', signedIn()));
  expect(overview.expectations.value).toEqual([
    {
      partner: 'acme',
      feed: 'orders',
      expect: expect.objectContaining({ schedule: '0 6 * * MON-FRI', timezone: 'Europe/Berlin', graceMinutes: 60, files: 1 }),
      last: { dueAt: expect.any(String), localDay: expect.any(String), closesAt: expect.any(String), state: expect.stringMatching(/^(OK|LATE|MISSING|PENDING)$/), counted: expect.any(Number), expected: 1 },
      nextDueAt: expect.any(String),
    },
  ]);
  const direct = await expectationsOverview({ registry, ledger: stack.ledger, clock: () => new Date(overview.to) });
  expect(overview.expectations.value).toEqual(JSON.parse(JSON.stringify(direct)));
  // The next due time is a weekday 06:00 in Berlin (05:00 UTC in winter, 04:00 in summer).
  expect(new Date(overview.expectations.value[0].nextDueAt).getUTCHours()).toBeGreaterThanOrEqual(4);
  expect(new Date(overview.expectations.value[0].nextDueAt).getUTCMinutes()).toBe(0);
});
