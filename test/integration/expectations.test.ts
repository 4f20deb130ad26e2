/**
 * The expectations checker against moto_server's DynamoDB, SNS and EventBridge,
 * with an injected clock: what it publishes for on-time, early, late, missing,
 * duplicate and rejected files, each event valid against its schema and
 * published exactly once however many times the checker runs.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EventPublisher } from '../../src/completion/publisher';
import { loadPartnerRegistry, type PartnerRegistry } from '../../src/config/load-partners';
import { checkExpectations, type CheckExpectationsDeps } from '../../src/expectations/check';
import type { FeedEvent } from '../../src/expectations/events';
import { FeedEventPublisher, type FeedEventChannels } from '../../src/expectations/publish';
import { expectationsOverview, localTime } from '../../src/expectations/overview';
import { handleOperatorRequest } from '../../src/operations/api';
import { operatorDeps } from '../../src/operations/deps';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ExpectationRecords } from '../../src/expectations/records';
import { BatchStatus, type FinalStatus } from '../../src/ledger/types';
import { createAjv } from '../../src/records/ajv';
import type { ServiceMetrics } from '../../src/platform/telemetry';
import { spawn } from 'node:child_process';
import { acmeYmlUpToOrders, tempDir } from '../support/csv-cases';
import { invoke } from '../support/harness/invoke';
import { FAST_BACKOFF, PROJECT_ROOT, receivedEvents, useTestStack } from '../support/stack';

const stack = useTestStack();

const ajv = createAjv();
const validators = Object.fromEntries(
  (['missing', 'late', 'unexpected'] as const).map((kind) => [
    kind.toUpperCase(),
    ajv.compile(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'schemas', 'events', `feed-file-${kind}.v1.schema.json`), 'utf8'))),
  ]),
);
const DETAIL_TYPES: Record<string, string> = { MISSING: 'Feed File Missing', LATE: 'Feed File Late', UNEXPECTED: 'Feed File Unexpected' };

/** acme's orders feed, due 06:00 Europe/Berlin on weekdays with an hour's grace. */
let registry: PartnerRegistry;
let configRoot: string;
let cleanup: () => void;
beforeAll(() => {
  const temp = tempDir('partner-ingest-expectations-');
  cleanup = temp.cleanup;
  configRoot = temp.dir;
  cpSync(path.join(PROJECT_ROOT, 'partners'), path.join(temp.dir, 'partners'), { recursive: true });
  cpSync(path.join(PROJECT_ROOT, 'schemas'), path.join(temp.dir, 'schemas'), { recursive: true });
  const acme = path.join(temp.dir, 'partners', 'acme.yml');
  writeFileSync(acme, `${acmeYmlUpToOrders().trimEnd()}\n    expect: { schedule: "0 6 * * MON-FRI", timezone: Europe/Berlin, graceMinutes: 60 }\n`);
  registry = loadPartnerRegistry({ root: temp.dir });
});
afterAll(() => cleanup());

/** The metrics the checker emitted, by name and dimensions. */
function recordingMetrics(): ServiceMetrics & { readonly emitted: string[] } {
  const emitted: string[] = [];
  return {
    emitted,
    singleMetric() {
      let dimensions: Record<string, string> = {};
      return {
        addDimensions(added: Record<string, string>) {
          dimensions = { ...dimensions, ...added };
        },
        addMetric(name: string, _unit: unknown, value: number) {
          emitted.push(`${name} ${JSON.stringify(dimensions)} ${value}`);
        },
      } as unknown as ReturnType<ServiceMetrics['singleMetric']>;
    },
    publishStoredMetrics() {},
  } as unknown as ServiceMetrics & { readonly emitted: string[] };
}

let now: Date;
function deps(overrides: Partial<CheckExpectationsDeps> = {}): CheckExpectationsDeps & { metrics: ReturnType<typeof recordingMetrics> } {
  const { clients, resources } = stack;
  return {
    registry,
    ledger: stack.ledger,
    records: new ExpectationRecords(clients.dynamo, resources.ledgerTable),
    channels: new FeedEventPublisher(
      clients.sns,
      resources.eventsTopicArn,
      new EventPublisher(clients.sns, clients.eventBridge, { topicArn: resources.eventsTopicArn, busName: resources.eventBusName }, FAST_BACKOFF),
      FAST_BACKOFF,
    ),
    clock: () => now,
    metrics: recordingMetrics(),
    ...overrides,
  } as CheckExpectationsDeps & { metrics: ReturnType<typeof recordingMetrics> };
}

let sequence = 0;
/** A batch of acme's orders feed received at `receivedAt`, taken to `status`. */
async function arrive(receivedAt: string, status: FinalStatus | 'RECEIVED' = BatchStatus.COMPLETED): Promise<string> {
  const batchId = `${(++sequence).toString(16).padStart(8, '0')}${'e'.repeat(24)}`;
  const bucket = stack.resources.landingBucket;
  const key = `inbound/acme/orders_${sequence}.csv`;
  await stack.ledger.register({
    batchId,
    partner: 'acme',
    feed: 'orders',
    source: { type: 's3', uri: `s3://${bucket}/${key}`, bucket, key },
    file: { name: `orders_${sequence}.csv` },
    receivedAt: new Date(receivedAt).toISOString(),
  });
  if (status !== 'RECEIVED') {
    await stack.ledger.acquire(batchId, 'test', 60_000);
    await stack.ledger.finish(batchId, 'test', status, {});
  }
  return batchId;
}

/** One scheduled run of the function: its AWS calls checked against its packaged role. */
const runChecker = (overrides: Partial<CheckExpectationsDeps> = {}) => invoke('checkExpectations', () => checkExpectations(deps(overrides)));

/** Runs the checker `times` at `at`; returns what consumers received, each event checked against its schema and across channels. */
async function checkAt(at: string, times = 1, overrides: Partial<CheckExpectationsDeps> = {}): Promise<FeedEvent[]> {
  now = new Date(at);
  for (let run = 0; run < times; run++) await runChecker(overrides);
  const { sns, eventBridge } = await receivedEvents(stack);
  const events = sns.map((delivery) => delivery.detail as unknown as FeedEvent);
  for (const event of events) {
    const validate = validators[event.type]!;
    expect({ eventId: event.eventId, valid: validate(event), errors: validate.errors ?? null }).toEqual({ eventId: event.eventId, valid: true, errors: null });
  }
  const sortById = <T extends { eventId: string }>(list: T[]) => [...list].sort((a, b) => a.eventId.localeCompare(b.eventId));
  expect(sortById(eventBridge.map((delivery) => delivery.detail as unknown as FeedEvent))).toEqual(sortById(events));
  for (const delivery of eventBridge) {
    expect(delivery.source).toBe('partner-ingest');
    expect(delivery.detailType).toBe(DETAIL_TYPES[(delivery.detail as { type: string }).type]);
  }
  for (const delivery of sns) {
    const event = delivery.detail as unknown as FeedEvent;
    expect(delivery.attributes.detailType?.Value).toBe(DETAIL_TYPES[event.type]);
    expect(delivery.attributes.feed?.Value).toBe('orders');
  }
  return events;
}

// Each test uses its own week, so their due times (and the records of them) are apart.
describe('the expectations checker', () => {
  it('on time: no event, before and after the grace', async () => {
    // The due times the checker looks back over have their files.
    await arrive('2026-06-05T04:10:00Z');
    await arrive('2026-06-04T04:10:00Z');
    await arrive('2026-06-03T04:10:00Z');
    await arrive('2026-06-08T04:05:00Z'); // Monday 06:05 CEST
    expect(await checkAt('2026-06-08T05:10:00Z', 3)).toEqual([]);
  });

  it('missing: one Feed File Missing once the grace is over, however often the checker runs; a late file then one Feed File Late resolving it', async () => {
    for (const day of ['2026-06-10', '2026-06-11', '2026-06-12']) await arrive(`${day}T04:10:00Z`);
    expect(await checkAt('2026-06-15T04:59:00Z')).toEqual([]); // Monday, within the grace
    const metrics = recordingMetrics();
    const [missing, ...others] = await checkAt('2026-06-15T05:01:00Z', 3, { metrics });
    expect(others).toEqual([]);
    expect(missing).toEqual(
      expect.objectContaining({
        type: 'MISSING',
        eventId: 'acme:orders:2026-06-15T04:00:00.000Z:MISSING',
        dueAt: '2026-06-15T04:00:00.000Z',
        localDay: '2026-06-15',
        timezone: 'Europe/Berlin',
        window: { opensAfter: '2026-06-12T05:00:00.000Z', closesAt: '2026-06-15T05:00:00.000Z' },
        expectedFiles: 1,
        countedFiles: 0,
        notCounted: [],
        detectedAt: '2026-06-15T05:01:00.000Z',
      }),
    );
    expect(metrics.emitted).toEqual(['FeedFileEvents {"type":"MISSING"} 1', 'FeedFileEvents {"partner":"acme","feed":"orders","type":"MISSING"} 1']);
    expect(await checkAt('2026-06-15T05:30:00Z', 2)).toEqual([]);

    const batchId = await arrive('2026-06-15T07:15:00Z');
    const [late, ...more] = await checkAt('2026-06-15T07:20:00Z', 3);
    expect(more).toEqual([]);
    expect(late).toEqual(
      expect.objectContaining({
        type: 'LATE',
        eventId: 'acme:orders:2026-06-15T04:00:00.000Z:LATE',
        lateMinutes: 135,
        countedFiles: 1,
        resolves: missing!.eventId,
        files: [expect.objectContaining({ batchId, status: 'COMPLETED', lateMinutes: 135 })],
      }),
    );
    // The next day's checks still owe nothing for Monday.
    expect(await checkAt('2026-06-16T04:30:00Z', 2)).toEqual([]);
  });

  it('a rejected file does not satisfy the due time, and the Feed File Missing says so', async () => {
    for (const day of ['2026-06-17', '2026-06-18', '2026-06-19']) await arrive(`${day}T04:10:00Z`);
    const rejected = await arrive('2026-06-22T04:10:00Z', BatchStatus.REJECTED);
    const [missing, ...others] = await checkAt('2026-06-22T05:05:00Z', 2);
    expect(others).toEqual([]);
    expect(missing).toEqual(
      expect.objectContaining({
        type: 'MISSING',
        countedFiles: 0,
        notCounted: [expect.objectContaining({ batchId: rejected, status: 'REJECTED', name: expect.stringMatching(/^orders_/) })],
      }),
    );
  });

  it('a duplicate: one Feed File Unexpected for the extra file, none for the first', async () => {
    for (const day of ['2026-06-24', '2026-06-25', '2026-06-26']) await arrive(`${day}T04:10:00Z`);
    await arrive('2026-06-29T03:00:00Z'); // early: Monday 05:00 CEST
    const extra = await arrive('2026-06-29T04:20:00Z');
    const events = await checkAt('2026-06-29T05:10:00Z', 3);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'UNEXPECTED',
        eventId: `acme:orders:2026-06-29T04:00:00.000Z:UNEXPECTED:${extra}`,
        reason: 'EXTRA_FILE',
        countedFiles: 1,
        file: expect.objectContaining({ batchId: extra }),
      }),
    ]);
  });

  it('a run that dies after SNS took the event: the next run publishes on EventBridge only, the event unchanged', async () => {
    for (const day of ['2026-07-01', '2026-07-02', '2026-07-03']) await arrive(`${day}T04:10:00Z`);
    const real = deps().channels;
    const dying: FeedEventChannels = {
      publishSns: (event) => real.publishSns(event),
      publishEventBridge: () => Promise.reject(new Error('the invocation timed out')),
    };
    now = new Date('2026-07-06T05:02:00Z');
    await expect(runChecker({ channels: dying })).rejects.toThrow('timed out');
    const half = await receivedEvents(stack);
    expect(half.sns.map((delivery) => (delivery.detail as { eventId: string }).eventId)).toEqual(['acme:orders:2026-07-06T04:00:00.000Z:MISSING']);
    expect(half.eventBridge).toEqual([]);

    now = new Date('2026-07-06T05:07:00Z');
    await runChecker();
    await runChecker();
    const rest = await receivedEvents(stack);
    expect(rest.sns).toEqual([]);
    expect(rest.eventBridge.map((delivery) => delivery.detail)).toEqual([half.sns[0]!.detail]);
    // detectedAt is the first run's.
    expect((rest.eventBridge[0]!.detail as { detectedAt: string }).detectedAt).toBe('2026-07-06T05:02:00.000Z');
  });

  it('its records stay out of the batch indexes: listing the partner\'s batches returns batches only', async () => {
    const batches = await stack.ledger.listBatches({ partner: 'acme', from: '2026-06-01T00:00:00Z', to: '2026-07-31T00:00:00Z', limit: 1000 });
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((batch) => /^[0-9a-f]{32}$/.test(batch.batchId))).toBe(true);
    const byDay = await stack.ledger.listBatches({ from: '2026-06-15T00:00:00Z', to: '2026-06-15T23:59:59Z', limit: 1000 });
    expect(byDay.every((batch) => batch.batchId !== undefined && batch.status !== undefined)).toBe(true);
  });
});

describe('what operators see: the last due time\'s state and the next due time', () => {
  it('per feed, from the ledger at the clock\'s time (the weeks the checker tests above left)', async () => {
    const at = (iso: string) => expectationsOverview({ registry, ledger: stack.ledger, clock: () => new Date(iso) });
    expect(await at('2026-06-15T07:20:00Z')).toEqual([
      {
        partner: 'acme',
        feed: 'orders',
        expect: expect.objectContaining({ schedule: '0 6 * * MON-FRI', timezone: 'Europe/Berlin' }),
        last: { dueAt: '2026-06-15T04:00:00.000Z', localDay: '2026-06-15', closesAt: '2026-06-15T05:00:00.000Z', state: 'LATE', counted: 1, expected: 1 },
        nextDueAt: '2026-06-16T04:00:00.000Z',
      },
    ]);
    expect((await at('2026-06-22T05:05:00Z'))[0]!.last).toEqual(expect.objectContaining({ state: 'MISSING', counted: 0 }));
    expect((await at('2026-06-22T04:30:00Z'))[0]!.last).toEqual(expect.objectContaining({ state: 'PENDING' }));
    expect((await at('2026-06-08T05:10:00Z'))[0]!.last).toEqual(expect.objectContaining({ state: 'OK' }));
    expect(await expectationsOverview({ registry, ledger: stack.ledger, clock: () => new Date() }, { partner: 'globex' })).toEqual([]);
  });

  it('the operator API: GET /expectations, the same view, under operatorApi\'s packaged role', async () => {
    const get = (query: Record<string, string> | null) =>
      invoke('operatorApi', () =>
        handleOperatorRequest(
          { httpMethod: 'GET', resource: '/expectations', queryStringParameters: query, pathParameters: null, body: null, requestContext: {} } as unknown as APIGatewayProxyEvent,
          {
            operator: { ...operatorDeps(stack.clients, stack.resources, registry), clock: () => new Date('2026-06-15T07:20:00Z') },
            remainingMs: () => 20_000,
          },
        ),
      ).then((response) => ({ status: response.statusCode, body: JSON.parse(response.body) }));
    const all = await get(null);
    expect(all).toEqual({
      status: 200,
      body: { at: '2026-06-15T07:20:00.000Z', expectations: [expect.objectContaining({ partner: 'acme', feed: 'orders', nextDueAt: '2026-06-16T04:00:00.000Z' })] },
    });
    expect(all.body.expectations[0].last).toEqual(expect.objectContaining({ state: 'LATE', dueAt: '2026-06-15T04:00:00.000Z' }));
    expect(await get({ partner: 'globex' })).toEqual({ status: 200, body: expect.objectContaining({ expectations: [] }) });
    expect(await get({ partner: 'nobody' })).toEqual({ status: 400, body: expect.objectContaining({ message: 'partner "nobody" is not configured' }) });
  });

  it('times as read in a zone, daylight saving included', () => {
    expect(localTime('2026-06-16T04:00:00.000Z', 'Europe/Berlin')).toBe('2026-06-16 06:00 GMT+02:00');
    expect(localTime('2026-12-01T05:00:00.000Z', 'Europe/Berlin')).toBe('2026-12-01 06:00 GMT+01:00');
    expect(localTime('2026-06-16T04:00:00.000Z', 'America/New_York')).toBe('2026-06-16 00:00 GMT-04:00');
  });

  it('the CLI: partner-ingest expectations, as a table in both zones and as JSON', async () => {
    const run = (...args: string[]) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['bin/partner-ingest.js', 'expectations', ...args, '--stage', 'test', '--region', 'eu-west-1', '--endpoint-url', stack.moto.endpoint], {
          cwd: PROJECT_ROOT,
          env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', PARTNER_INGEST_CONFIG_ROOT: configRoot, TZ: 'America/New_York' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
      });
    const json = await run('--json');
    expect(json).toMatchObject({ status: 0, stderr: '' });
    const [view] = JSON.parse(json.stdout);
    expect(view).toMatchObject({ partner: 'acme', feed: 'orders', last: { expected: 1 } });
    expect(['OK', 'LATE', 'MISSING', 'PENDING']).toContain(view.last.state);
    expect(Date.parse(view.nextDueAt)).toBeGreaterThan(Date.now());
    const table = await run('--partner', 'acme');
    expect(table.status).toBe(0);
    expect(table.stdout).toContain(`${localTime(view.nextDueAt, 'Europe/Berlin')} (Europe/Berlin)`);
    expect(table.stdout).toContain(localTime(view.nextDueAt, 'America/New_York'));
    expect(table.stdout).toContain('1 feed(s) with expectations');
    const unknown = await run('--partner', 'nobody');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('--partner "nobody" is not in partners/');
  });
});
