// The operator console end to end: the real CLI's `console` command against a
// moto stage, driven in headless Chromium, with ingestFile running the replay.
// Screenshots of each page go to test-artifacts/console/.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { awsError, withFault } from '../support/faults';
import { ordersFile } from '../support/orders';
import { batchIdOfKey, drainFileEvents, drainQueue, PROJECT_ROOT, putInbound, putWorkDeadLetters, receivedEvents, useTestStack, withIngestFileRunning } from '../support/stack';

const stack = useTestStack();
const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts', 'console');

let browser: Browser;
let consoleProcess: ChildProcess | undefined;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (consoleProcess && consoleProcess.exitCode === null) {
    const exited = new Promise((resolve) => consoleProcess!.once('exit', resolve));
    consoleProcess.kill('SIGINT');
    await exited;
  }
});

/** Starts `partner-ingest console` as an operator would, and resolves to the URL it prints. */
function startConsoleCommand(): Promise<string> {
  const child = spawn(process.execPath, ['bin/partner-ingest.js', 'console', '--stage', 'test', '--region', 'eu-west-1', '--endpoint-url', stack.moto.endpoint, '--json'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
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

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

test('a FAILED batch is found on the overview, its errors read, replayed with preview and confirm to COMPLETED on attempt 2; a redrive dry run moves nothing', async () => {
  // A batch that fails while sending: SQS refuses the third SendMessageBatch (as operations.test.ts does).
  let sends = 0;
  const sqs = withFault(stack.clients.sqs, (command) =>
    command instanceof SendMessageBatchCommand && ++sends === 3 ? Promise.reject(awsError('AccessDenied', 403)) : undefined,
  );
  const key = 'inbound/acme/orders_console.csv';
  await putInbound(stack, key, ordersFile(50, ['ORD-1,x']));
  await drainFileEvents(stack, stack.deps({ sqs, maxReceiveCount: 1, settings: { ...stack.deps().settings, chunkItems: 10 } }));
  const batchId = await batchIdOfKey(stack, key);
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'FAILED', attempt: 1 });
  await receivedEvents(stack);

  const url = await startConsoleCommand();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = pageErrors(page);

  // Overview: the failed batch needs attention.
  await page.goto(url);
  expect(new URL(page.url()).search).toBe(''); // the token is gone from the address bar
  const attention = page.getByRole('table', { name: /Needs attention/ });
  await attention.getByRole('link', { name: 'orders_console.csv' }).waitFor();
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
  expect(JSON.parse((await page.locator('#completion-event').textContent())!)).toMatchObject({ eventId: `${batchId}:2`, status: 'COMPLETED', attempt: 2 });
  expect(await stack.ledger.get(batchId)).toMatchObject({ status: 'COMPLETED', attempt: 2 });
  await shot(page, '4-batch-completed');
  await receivedEvents(stack);
  await drainQueue(stack, stack.resources.workQueueUrl);

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
  await shot(page, '5-batches');

  // Dead letters: a dry run of one batch's redrive counts and moves nothing.
  await putWorkDeadLetters(stack, batchId, 3);
  await page.getByRole('link', { name: 'Dead letters' }).click();
  const workDlq = page.getByRole('table', { name: /^work: 3 dead letter/ });
  await workDlq.waitFor();
  await workDlq.getByRole('button', { name: `Dry run: redrive work dead letters of ${batchId}` }).click();
  await page.getByText('would move 3 message(s) back to work; nothing moved').waitFor();
  await shot(page, '6-dead-letters-dry-run');
  expect(await drainQueue(stack, stack.resources.workQueueUrl)).toEqual([]);
  expect(await drainQueue(stack, stack.resources.workDlqUrl)).toHaveLength(3);

  expect(errors).toEqual([]);
  await page.close();
}, 120_000);
