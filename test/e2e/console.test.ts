// The operator console end to end: the real CLI's `console` command against a
// moto stage, driven in headless Chromium, with ingestFile running the replay.
// Screenshots of each page go to test-artifacts/console/.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Browser, Page, Request } from 'playwright-core';
import { loadPartnerRegistry, type PartnerRegistry } from '../../src/config/load-partners';
import { expectationsOverview } from '../../src/expectations/overview';
import { launchChromium } from '../support/browser';
import { acmeYmlUpToOrders, tempDir } from '../support/csv-cases';
import { awsError, withFault } from '../support/faults';
import { ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, PROJECT_ROOT, putInbound, putWorkDeadLetters, receivedEvents, useTestStack, withIngestFileRunning } from '../support/stack';

const stack = useTestStack();
const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts', 'console');

let browser: Browser;
let consoleProcess: ChildProcess | undefined;
/** This checkout's partners with acme's orders feed expected weekdays 06:00 Berlin: the console's overview shows it. */
let configRoot: string;
let registry: PartnerRegistry;
let cleanupConfig: () => void;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const temp = tempDir('partner-ingest-console-e2e-');
  cleanupConfig = temp.cleanup;
  configRoot = temp.dir;
  for (const folder of ['partners', 'schemas']) cpSync(path.join(PROJECT_ROOT, folder), path.join(configRoot, folder), { recursive: true });
  const acme = path.join(configRoot, 'partners', 'acme.yml');
  writeFileSync(acme, `${acmeYmlUpToOrders().trimEnd()}\n    expect: { schedule: "0 6 * * MON-FRI", timezone: Europe/Berlin, graceMinutes: 60 }\n`);
  registry = loadPartnerRegistry({ root: configRoot });
  browser = await launchChromium();
});

afterAll(async () => {
  cleanupConfig?.();
  await browser?.close();
  if (consoleProcess && consoleProcess.exitCode === null) {
    const exited = new Promise((resolve) => consoleProcess!.once('exit', resolve));
    consoleProcess.kill('SIGINT');
    await exited;
  }
});

/** Starts `partner-ingest console` as an operator would (once for the file), and resolves to the URL it prints. */
let started: Promise<string> | undefined;
function consoleUrl(): Promise<string> {
  return (started ??= startConsoleCommand());
}

function startConsoleCommand(): Promise<string> {
  const child = spawn(process.execPath, ['bin/partner-ingest.js', 'console', '--stage', 'test', '--region', 'eu-west-1', '--endpoint-url', stack.moto.endpoint, '--json'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', PARTNER_INGEST_CONFIG_ROOT: configRoot },
  });
  consoleProcess = child;
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve((JSON.parse(stdout.split('\n')[0]!) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`partner-ingest console exited (${code}): ${stderr}`)));
  });
}

/** Every console error and uncaught exception of the page, to fail on. */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

/** The bodies of the replay requests the page sends, in order. */
function replayRequests(page: Page): Record<string, unknown>[] {
  const bodies: Record<string, unknown>[] = [];
  page.on('request', (request: Request) => {
    if (request.method() === 'POST' && /\/api\/batches\/[0-9a-f]{32}\/replay$/.test(request.url())) bodies.push(JSON.parse(request.postData() ?? '{}') as Record<string, unknown>);
  });
  return bodies;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

/** A batch of acme's orders that fails while sending: SQS refuses its third SendMessageBatch (as operations.test.ts does). */
async function failedBatch(name: string): Promise<string> {
  let sends = 0;
  const sqs = withFault(stack.clients.sqs, (command) =>
    command instanceof SendMessageBatchCommand && ++sends === 3 ? Promise.reject(awsError('AccessDenied', 403)) : undefined,
  );
  const key = `inbound/acme/${name}`;
  await putInbound(stack, key, ordersFile(50, ['ORD-1,x']));
  await drainFileEvents(stack, stack.deps({ sqs, maxReceiveCount: 1, settings: { ...stack.deps().settings, chunkItems: 10 } }));
  const batchId = await batchIdOfKey(stack, key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'FAILED', attempt: 1 });
  await receivedEvents(stack);
  return batchId;
}

/** The focused element's tag and accessible name (its label, aria-label or text), as a screen reader would announce it. */
function focused(page: Page): Promise<{ tag: string; name: string } | null> {
  // Runs in the page; this project's Node types have no DOM, hence the loose types.
  return page.evaluate(() => {
    const { document } = globalThis as unknown as { document: { activeElement: any; body: unknown } };
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const labels = [...(element.labels ?? [])] as { textContent: string | null }[];
    const label = labels.length ? labels.map((each) => each.textContent ?? '').join(' ') : null;
    return { tag: String(element.tagName).toLowerCase(), name: String(element.getAttribute('aria-label') ?? label ?? element.textContent ?? '').trim() };
  });
}

/** Presses Tab until the control named `name` has focus; every control focused on the way must have a name. */
async function tabTo(page: Page, name: RegExp): Promise<void> {
  for (let presses = 0; presses < 80; presses++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    expect(now?.name).toBeTruthy(); // a control without a name would be announced as nothing
    if (now && name.test(now.name)) return;
  }
  throw new Error(`Tab never reached a control named ${name}`);
}

test('a FAILED batch is found on the overview, its errors read, replayed with preview and confirm to COMPLETED on attempt 2, then with force; the overview shows feed expectations; dead letters are viewed, dry-run and redriven', async () => {
  const batchId = await failedBatch('orders_console.csv');

  const url = await consoleUrl();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  // The operator's zone is the browser's: New York here, the partner's Berlin.
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, timezoneId: 'America/New_York' });
  const errors = pageErrors(page);
  const replays = replayRequests(page);

  // Overview: the failed batch needs attention.
  await page.goto(url);
  expect(new URL(page.url()).search).toBe(''); // the token is gone from the address bar
  const attention = page.getByRole('table', { name: /Needs attention/ });
  await attention.getByRole('link', { name: 'orders_console.csv' }).waitFor();

  // Feed expectations: acme's orders, its last due time's state as the core computes it, the next due time in both zones.
  const expectations = page.getByRole('table', { name: 'Feed expectations' });
  const [view] = await expectationsOverview({ registry, ledger: stack.ledger, clock: () => new Date() });
  const row = expectations.getByRole('row').filter({ hasText: 'orders' });
  const cells = await row.getByRole('cell').allTextContents();
  expect(cells.slice(0, 2)).toEqual(['acme', 'orders']);
  expect(cells[2]).toMatch(/ GMT\+0[12]:00$/); // Berlin
  expect(cells[3]).toBe(view!.last!.state);
  expect(['OK', 'LATE', 'MISSING', 'PENDING']).toContain(cells[3]);
  expect(cells[4]).toBe(`${view!.last!.counted}/1`);
  expect(cells[5]).toMatch(/^\d{4}-\d\d-\d\d 0[01]:00 GMT-0[45]:00$/); // 06:00 Berlin is midnight or 01:00 in New York
  expect(cells[6]).toMatch(/^\d{4}-\d\d-\d\d 06:00 GMT\+0[12]:00 \(Europe\/Berlin\)$/);
  await expect(expectations.getByRole('columnheader').allTextContents()).resolves.toContain('next due (you, America/New_York)');
  await shot(page, '1-overview');

  // Batch page: FAILED, why, and the row errors.
  await attention.getByRole('link', { name: 'orders_console.csv' }).click();
  await page.waitForURL(`**/batches/${batchId}`);
  await expect(page.locator('#batch-status').textContent()).resolves.toMatch(/^FAILED attempt 1 — /);
  const rowErrors = page.getByRole('table', { name: /First row errors/ });
  await expect(rowErrors.getByRole('row').count()).resolves.toBeGreaterThan(1);
  await expect(rowErrors.textContent()).resolves.toContain('52'); // the bad row's line
  await shot(page, '2-batch-failed');

  // Replay: preview first, nothing changes.
  await page.getByRole('button', { name: 'Preview replay' }).click();
  await expect(page.locator('#replay-preview').textContent()).resolves.toMatch(/^Would be COMPLETED: 50 items/);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'FAILED', attempt: 1 });
  await shot(page, '3-replay-preview');

  // Confirm: the page follows attempt 2 to its end while ingestFile runs it.
  await withIngestFileRunning(
    stack,
    (async () => {
      await page.getByRole('button', { name: 'Confirm replay' }).click();
      await page.locator('#batch-status', { hasText: 'COMPLETED attempt 2' }).waitFor({ timeout: 30_000 });
    })(),
  );
  await expect(page.locator('#batch-counts').textContent()).resolves.toContain('50 work items sent');
  await expect(page.locator('#replay-ended').textContent()).resolves.toBe('Attempt 2 ended COMPLETED.');
  expect(JSON.parse((await page.locator('#completion-event').textContent())!)).toMatchObject({ eventId: `${batchId}:2`, status: 'COMPLETED', attempt: 2 });
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 2 });
  await shot(page, '4-batch-completed');
  await receivedEvents(stack);
  await drainQueue(stack, stack.resources.workQueueUrl);

  // Force: a COMPLETED batch is refused without it (nothing changes); the choice says what it does, needs a new preview, and the request carries it.
  await page.getByRole('button', { name: 'Preview replay' }).click();
  await page.locator('#replay-preview').waitFor();
  await page.getByRole('button', { name: 'Confirm replay' }).click();
  await page.getByRole('alert').filter({ hasText: 'NEEDS_FORCE' }).waitFor();
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 2 });
  const force = page.getByRole('checkbox', { name: /Force: replay even a COMPLETED batch/ });
  await expect(page.locator('label[for="replay-force"]').textContent()).resolves.toContain('replay even a COMPLETED batch — its work items are sent again (same ids)');
  await force.check();
  expect(await page.getByRole('button', { name: 'Confirm replay' }).isDisabled()).toBe(true);
  await page.getByRole('button', { name: 'Preview replay' }).click();
  await page.locator('#replay-preview').waitFor();
  await withIngestFileRunning(
    stack,
    (async () => {
      await page.getByRole('button', { name: 'Confirm replay' }).click();
      await page.locator('#batch-status', { hasText: 'COMPLETED attempt 3' }).waitFor({ timeout: 30_000 });
    })(),
  );
  expect(replays.at(-1)).toEqual({ force: true, fromScratch: false });
  expect(replays.filter((body) => body.force === false && body.dryRun === undefined)).toHaveLength(2); // the first replay and the refused one
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 3 });
  // Its work items went out again, with the same ids.
  const resent = await drainQueue(stack, stack.resources.workQueueUrl);
  expect(new Set(resent.map((message) => (JSON.parse(message.Body!) as { itemId: string }).itemId)).size).toBe(50);
  const actions = page.getByRole('table', { name: 'Operator actions' });
  await actions.getByRole('row').filter({ hasText: 'replay --force' }).filter({ hasText: 'queued attempt 3' }).waitFor();
  await shot(page, '5-batch-forced');
  await receivedEvents(stack);

  // Batches: filtered from the form; the filters are in the URL, so a reload (or a shared link) keeps them.
  await page.getByRole('link', { name: 'Batches', exact: true }).click();
  await page.getByLabel('Status').selectOption('COMPLETED');
  await page.getByLabel('Partner').fill('acme');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/\/batches\?status=COMPLETED&partner=acme/);
  await page.getByRole('table', { name: /Batches, newest first/ }).getByRole('link', { name: 'orders_console.csv' }).waitFor();
  await page.reload();
  await page.getByRole('table', { name: /Batches, newest first/ }).getByRole('link', { name: 'orders_console.csv' }).waitFor();
  expect(await page.getByLabel('Status').inputValue()).toBe('COMPLETED');
  expect(await page.getByLabel('Partner').inputValue()).toBe('acme');
  await shot(page, '6-batches');

  // Dead letters: viewing the page (again and again) moves and records nothing.
  await putWorkDeadLetters(stack, batchId, 3);
  const audit = async () => [await stack.ledger.auditTrail(), await stack.ledger.auditTrail(batchId)];
  const auditBefore = await audit();
  await page.getByRole('link', { name: 'Dead letters' }).click();
  const workDlq = page.getByRole('table', { name: /^work: 3 dead letter\(s\), oldest \d+ s$/ });
  await workDlq.waitFor();
  for (let visit = 0; visit < 3; visit++) {
    await page.reload();
    await workDlq.waitFor();
  }
  expect(await audit()).toEqual(auditBefore);

  // A dry run of one batch's redrive counts and moves nothing.
  await workDlq.getByRole('button', { name: `Dry run: redrive work dead letters of ${batchId}` }).click();
  await page.getByText('would move 3 message(s) back to work; nothing moved').waitFor();
  await shot(page, '7-dead-letters-dry-run');
  expect(await stack.ledger.auditTrail(batchId)).toHaveLength(auditBefore[1]!.length + 2); // the dry run is the operator's question: recorded
  await expect(page.getByRole('table', { name: /^work: 3 dead letter/ }).count()).resolves.toBe(1);

  // Then the redrive itself: the messages go back to the work queue and the DLQ count drops.
  await workDlq.getByRole('button', { name: `Redrive work dead letters of ${batchId}`, exact: true }).click();
  await page.getByText('moved 3 message(s) back to work').waitFor();
  await page.reload();
  await page.getByRole('table', { name: /^work: 0 dead letter\(s\)$/ }).waitFor();
  await shot(page, '8-dead-letters-redriven');
  expect(await drainQueue(stack, stack.resources.workDlqUrl)).toEqual([]);
  const redriven = await drainQueue(stack, stack.resources.workQueueUrl);
  expect(redriven.map((message) => message.MessageAttributes?.batchId?.StringValue)).toEqual([batchId, batchId, batchId]);

  // Chromium logs every non-2xx fetch: the refused replay's 409, and nothing else.
  expect(errors).toEqual(['console: Failed to load resource: the server responded with a status of 409 (Conflict)']);
  await page.close();
}, 180_000);

test('keyboard only: overview → batch → from-scratch replay preview → confirm, focus always on a labelled control; the request carries fromScratch and the batch starts over', async () => {
  const batchId = await failedBatch('orders_scratch.csv');
  await drainQueue(stack, stack.resources.workQueueUrl); // attempt 1's 20 items
  // A second browser (its own context) opens the same URL: the token is good until the console stops.
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = pageErrors(page);
  const replays = replayRequests(page);
  await page.goto(await consoleUrl());
  await page.getByRole('table', { name: /Needs attention/ }).getByRole('link', { name: 'orders_scratch.csv' }).waitFor();

  await tabTo(page, /^orders_scratch\.csv$/);
  await page.keyboard.press('Enter');
  await page.waitForURL(`**/batches/${batchId}`);
  await page.locator('#batch-status', { hasText: 'FAILED attempt 1' }).waitFor();

  await tabTo(page, /^From scratch:/);
  await expect(page.locator('label[for="replay-from-scratch"]').textContent()).resolves.toContain("start a FAILED batch over from its raw file instead of carrying on from its last attempt's progress");
  await page.keyboard.press('Space');
  expect(await page.getByRole('checkbox', { name: /From scratch: start a FAILED batch over/ }).isChecked()).toBe(true);
  await tabTo(page, /^Preview replay$/);
  await page.keyboard.press('Enter');
  await page.locator('#replay-preview').waitFor();
  // The preview hands focus to its confirmation.
  expect(await focused(page)).toEqual({ tag: 'button', name: 'Confirm replay' });
  await shot(page, '9-keyboard-from-scratch-preview');
  await withIngestFileRunning(
    stack,
    (async () => {
      await page.keyboard.press('Enter');
      await page.locator('#batch-status', { hasText: 'COMPLETED attempt 2' }).waitFor({ timeout: 30_000 });
    })(),
  );
  expect(replays).toEqual([
    { force: false, fromScratch: true, dryRun: true },
    { force: false, fromScratch: true },
  ]);
  // From scratch: all 50 items sent again (carrying on would have sent the 30 attempt 1 did not), and the audit says so.
  const sent = await drainQueue(stack, stack.resources.workQueueUrl);
  expect(sent).toHaveLength(50);
  const actions = page.getByRole('table', { name: 'Operator actions' });
  await expect(actions.getByRole('row').filter({ hasText: 'replay --from-scratch' }).last().textContent()).resolves.toMatch(/queued attempt 2$/);
  await receivedEvents(stack);

  expect(errors).toEqual([]);
  await page.close();
}, 120_000);
